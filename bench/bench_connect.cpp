// Connection latency: connect + handshake + greeting + capabilities (connect()) and LOGOUT/QUIT
// (disconnect()), timed separately, one line of JSON per iteration. Driven by bench/connect.py,
// which interleaves it with python's imaplib/poplib/smtplib and a raw TLS socket.
//
//   bench_connect PROTOCOL MODE HOST PORT CAFILE ITERATIONS
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "mailwire/imap/client.hpp"
#include "mailwire/pop3/client.hpp"
#include "mailwire/smtp/client.hpp"

int main(int argc, char** argv) {
    if (argc != 7) {
        std::fprintf(stderr, "usage: %s imap|pop3|smtp MODE HOST PORT CAFILE ITERATIONS\n", argv[0]);
        return 2;
    }
    const std::string proto = argv[1];
    const auto mode = mailwire::parse_security(argv[2]);
    if (!mode) return 2;
    const std::string host = argv[3];
    const auto port = static_cast<std::uint16_t>(std::atoi(argv[4]));
    const int iterations = std::atoi(argv[6]);
    using clock = std::chrono::steady_clock;
    for (int i = 0; i < iterations; ++i) {
        std::unique_ptr<mailwire::client_base> c;
        if (proto == "imap") c = std::make_unique<mailwire::imap::client>();
        else if (proto == "pop3") c = std::make_unique<mailwire::pop3::client>();
        else c = std::make_unique<mailwire::smtp::client>();
        c->tls().ca_file = argv[5];
        c->tls().use_system_store = false;
        // Python's clients do not resume sessions; compare like with like unless asked.
        c->tls().session_resumption = std::getenv("MAILWIRE_BENCH_RESUME") != nullptr;
        const auto t0 = clock::now();
        c->connect(host, port, *mode);
        const auto t1 = clock::now();
        c->disconnect();
        const auto t2 = clock::now();
        auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
        std::printf("{\"connect_ms\": %.3f, \"logout_ms\": %.3f, \"total_ms\": %.3f}\n", ms(t1 - t0), ms(t2 - t1),
                    ms(t2 - t0));
    }
    return 0;
}
