// POP3 download benchmark driver for bench/pop3.py (which compares it with poplib and curl).
//
//   bench_pop3 all HOST PORT CAFILE USER PASS pipelined|sequential
//       RETR every message over implicit TLS; prints one JSON line: messages, bytes, seconds
//       (RETR phase only, after login), peak RSS in kB.
//   bench_pop3 file HOST PORT CAFILE USER PASS N PATH
//       streams message N to the file PATH; prints bytes, seconds, peak RSS (VmHWM) in kB.
#include <sys/resource.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "mailwire/pop3/client.hpp"

namespace {

long peak_rss_kb() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6);
    return -1;
}

// User + system CPU seconds of this process so far.
double cpu_seconds() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

struct counter : mailwire::pop3::message_handler {
    std::uint64_t bytes = 0;
    unsigned long checksum = 0;
    void data(std::uint32_t, std::string_view chunk) override {
        bytes += chunk.size();
        checksum += static_cast<unsigned char>(chunk.back());  // touch the bytes
    }
};

}  // namespace

int main(int argc, char** argv) {
    if (argc < 8) {
        std::fprintf(stderr,
                     "usage: %s all HOST PORT CAFILE USER PASS pipelined|sequential\n"
                     "       %s file HOST PORT CAFILE USER PASS N PATH\n",
                     argv[0], argv[0]);
        return 2;
    }
    const std::string what = argv[1];
    try {
        mailwire::pop3::client c;
        c.tls().ca_file = argv[4];
        c.connect(argv[2], static_cast<std::uint16_t>(std::atoi(argv[3])), mailwire::security::implicit_tls);
        c.authenticate(argv[5], argv[6]);
        const auto t0 = std::chrono::steady_clock::now();
        const double cpu0 = cpu_seconds();
        if (what == "all") {
            c.use_pipelining(std::string(argv[7]) == "pipelined");
            std::vector<std::uint32_t> numbers;
            for (const auto& m : c.list()) numbers.push_back(m.number);
            counter h;
            const auto r = c.retrieve(numbers, h);
            const std::chrono::duration<double> dt = std::chrono::steady_clock::now() - t0;
            std::printf(
                "{\"messages\": %zu, \"bytes\": %llu, \"seconds\": %.4f, \"cpu_seconds\": %.4f, \"peak_rss_kb\": "
                "%ld}\n",
                r.retrieved, static_cast<unsigned long long>(r.bytes), dt.count(), cpu_seconds() - cpu0, peak_rss_kb());
        } else if (what == "file" && argc >= 9) {
            std::FILE* f = std::fopen(argv[8], "wb");
            if (f == nullptr) return 3;
            const auto n = c.retr(static_cast<std::uint32_t>(std::atoi(argv[7])), [&](std::string_view chunk) {
                if (std::fwrite(chunk.data(), 1, chunk.size(), f) != chunk.size())
                    throw std::runtime_error("write failed");
            });
            std::fclose(f);
            const std::chrono::duration<double> dt = std::chrono::steady_clock::now() - t0;
            std::printf("{\"bytes\": %llu, \"seconds\": %.4f, \"peak_rss_kb\": %ld}\n",
                        static_cast<unsigned long long>(n), dt.count(), peak_rss_kb());
        } else {
            return 2;
        }
        c.disconnect();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_pop3: %s\n", e.what());
        return 1;
    }
    return 0;
}
