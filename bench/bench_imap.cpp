// IMAP fetch benchmark (driven by bench/imap.py, which prepares the mailbox and runs the peers).
//
//   bench_imap ENV_FILE fetch ROUNDS [FIRST]   over one implicit-TLS connection, alternately
//     (round r runs parsed first when r is even; rounds are numbered from FIRST, default 0):
//       parsed: UID FETCH 1:* (UID FLAGS RFC822.SIZE ENVELOPE BODYSTRUCTURE) into fetch_data
//       raw:    the same command, bytes only read and counted (the lower bound)
//     prints one JSON line per run: {"kind":..., "seconds":..., "bytes"/"messages":...}
//   bench_imap ENV_FILE big USER PASS MAILBOX PATH
//       fetches the last message of MAILBOX to PATH; prints seconds, bytes and peak RSS (KiB)
#include <sys/resource.h>
#include <time.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <string>

#include "mailwire/imap/client.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

std::map<std::string, std::string> load_env(const char* path) {
    std::map<std::string, std::string> env;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#') continue;
        const auto eq = line.find('=');
        if (eq != std::string::npos) env[line.substr(0, eq)] = line.substr(eq + 1);
    }
    return env;
}

// The raw reader needs the connection's bytes: a subclass may use the base's input access.
class bench_client : public mailwire::imap::client {
public:
    /// Sends `tag command` and reads until the tagged completion, only counting bytes.
    std::size_t raw_exchange(const std::string& tag, const std::string& command) {
        send_line(tag + " " + command);
        const std::string prefix = tag + " ";
        std::size_t total = 0;
        std::string head;  // the first bytes of the line still being received
        for (;;) {
            read_more(mailwire::stage::command);
            const auto in = input();
            total += in.size();
            const char* begin = in.data();
            const char* end = begin + in.size();
            const auto* last = static_cast<const char*>(memrchr(begin, '\n', in.size()));
            if (last == nullptr) {
                if (head.size() < prefix.size()) head.append(begin, std::min<std::size_t>(in.size(), prefix.size()));
            } else {
                // The line ending at `last` began after the previous newline (or in earlier chunks).
                const auto* prev =
                    static_cast<const char*>(memrchr(begin, '\n', static_cast<std::size_t>(last - begin)));
                std::string line_head =
                    prev != nullptr
                        ? std::string(prev + 1,
                                      std::min<std::size_t>(static_cast<std::size_t>(last - prev - 1), prefix.size()))
                        : head + std::string(begin, std::min<std::size_t>(static_cast<std::size_t>(last - begin),
                                                                          prefix.size()));
                const bool done = last == end - 1 && line_head.starts_with(prefix);
                head.assign(last + 1, std::min<std::size_t>(static_cast<std::size_t>(end - last - 1), prefix.size()));
                if (done) {
                    consume(in.size());
                    return total;
                }
            }
            consume(in.size());
        }
    }
};

double cpu_seconds() {
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

long peak_rss_kib() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return u.ru_maxrss;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr,
                     "usage: bench_imap ENV fetch ROUNDS [FIRST] | bench_imap ENV big USER PASS MAILBOX PATH\n");
        return 2;
    }
    auto env = load_env(argv[1]);
    const std::string mode = argv[2];
    bench_client c;
    c.tls().ca_file = env["CA_FILE"];
    c.connect(env["HOST"], static_cast<std::uint16_t>(std::stoi(env["IMAPS_PORT"])), mailwire::security::implicit_tls);
    try {
        if (mode == "fetch") {
            const int rounds = argc > 3 ? std::atoi(argv[3]) : 5;
            const int first = argc > 4 ? std::atoi(argv[4]) : 0;
            c.authenticate(env["USER1"], env["PASS1"]);
            c.examine("INBOX");
            const std::string items = "UID FLAGS RFC822.SIZE ENVELOPE BODYSTRUCTURE";
            for (int r = first; r < first + rounds; ++r) {
                // Alternate which goes first so neither always meets a warm server cache.
                for (int k = 0; k < 2; ++k) {
                    const bool parsed = (k == 0) == (r % 2 == 0);
                    const auto t0 = clock_type::now();
                    const double cpu0 = cpu_seconds();
                    if (parsed) {
                        std::size_t messages = 0, envelopes = 0, parts = 0;
                        c.fetch(mailwire::imap::sequence_set::all(), items, [&](const mailwire::imap::fetch_data& f) {
                            ++messages;
                            if (f.env) ++envelopes;
                            if (f.body) parts += f.body->parts.size() + 1;
                        });
                        const double s = std::chrono::duration<double>(clock_type::now() - t0).count();
                        std::printf(
                            "{\"kind\":\"parsed\",\"seconds\":%.6f,\"cpu\":%.6f,\"messages\":%zu,\"envelopes\":%zu,"
                            "\"parts\":%zu}\n",
                            s, cpu_seconds() - cpu0, messages, envelopes, parts);
                    } else {
                        const auto bytes = c.raw_exchange("R" + std::to_string(r), "UID FETCH 1:* (" + items + ")");
                        const double s = std::chrono::duration<double>(clock_type::now() - t0).count();
                        std::printf("{\"kind\":\"raw\",\"seconds\":%.6f,\"cpu\":%.6f,\"bytes\":%zu}\n", s,
                                    cpu_seconds() - cpu0, bytes);
                    }
                    std::fflush(stdout);
                }
            }
        } else if (mode == "big" && argc >= 7) {
            c.authenticate(argv[3], argv[4]);
            const auto& st = c.examine(argv[5]);
            const auto uid = st.uidnext - 1;
            const long before = peak_rss_kib();
            const auto t0 = clock_type::now();
            const auto n = c.fetch_body_to_file(uid, argv[6]);
            const double s = std::chrono::duration<double>(clock_type::now() - t0).count();
            std::printf(
                "{\"kind\":\"big\",\"seconds\":%.6f,\"bytes\":%llu,\"peak_rss_kib\":%ld,\"rss_before_kib\":%ld}\n", s,
                static_cast<unsigned long long>(n), peak_rss_kib(), before);
        } else {
            std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
            return 2;
        }
        c.disconnect();
    } catch (const mailwire::error& e) {
        std::fprintf(stderr, "bench_imap: %s\n", e.what());
        return 1;
    }
    return 0;
}
