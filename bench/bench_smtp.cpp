// SMTP throughput: N small messages over one connection, or one big message file streamed (peak
// memory). Prints one JSON object. Driven by bench/smtp.py.
//
//   bench_smtp many   HOST PORT CAFILE USER PASS COUNT MESSAGE_FILE   send_many: pipelined across messages
//   bench_smtp serial HOST PORT CAFILE USER PASS COUNT MESSAGE_FILE   send() in a loop: one round trip each
//   bench_smtp big    HOST PORT CAFILE USER PASS 1     MESSAGE_FILE   one file_source, streamed
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>

#include "mailwire/smtp/client.hpp"

namespace {
double cpu_seconds() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}
// Peak RSS of this process image. Not getrusage's ru_maxrss: after fork+exec from a large parent
// (the python driver) Linux reports the parent's peak there. VmHWM starts afresh at exec.
long peak_kib() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line))
        if (line.rfind("VmHWM:", 0) == 0) return std::stol(line.substr(6));
    return -1;
}
}  // namespace

int main(int argc, char** argv) {
    if (argc != 9) {
        std::fprintf(stderr, "usage: %s many|serial|big HOST PORT CAFILE USER PASS COUNT FILE\n", argv[0]);
        return 2;
    }
    const std::string mode = argv[1];
    const int count = std::atoi(argv[7]);
    mailwire::smtp::client c;
    c.tls().ca_file = argv[4];
    c.connect(argv[2], static_cast<std::uint16_t>(std::atoi(argv[3])), mailwire::security::starttls);
    c.authenticate(argv[5], argv[6]);
    const mailwire::smtp::envelope env{"alice@localhost", {"bob@localhost"}};
    const auto t0 = std::chrono::steady_clock::now();
    const double c0 = cpu_seconds();
    std::uint64_t bytes = 0;
    int failed = 0;
    if (mode == "many" || mode == "serial") {
        std::ifstream in(argv[8], std::ios::binary);
        const std::string msg((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (mode == "serial") {
            for (int i = 0; i < count; ++i) bytes += c.send(env, msg).bytes;
        } else {
            int handed = 0;
            c.send_many(
                [&](mailwire::smtp::outgoing& m) {
                    if (handed == count) return false;
                    ++handed;
                    m.env = env;
                    m.message = mailwire::smtp::memory_source(msg);
                    return true;
                },
                [&](mailwire::smtp::batch_outcome&& o) {
                    if (o.ok()) bytes += o.result.bytes;
                    else ++failed;
                });
        }
    } else {
        auto src = mailwire::smtp::file_source(argv[8]);
        bytes = c.send(env, *src).bytes;
    }
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double cpu = cpu_seconds() - c0;
    c.disconnect();
    std::printf(
        "{\"messages\": %d, \"failed\": %d, \"seconds\": %.4f, \"cpu_seconds\": %.4f, \"bytes\": %llu, "
        "\"peak_kib\": %ld}\n",
        count, failed, wall, cpu, static_cast<unsigned long long>(bytes), peak_kib());
    return failed == 0 ? 0 : 1;
}
