// Whole-session fuzzing: a real mailwire client (imap::client, pop3::client, smtp::client) talks
// to a loopback "server" that plays the fuzz input back, so every byte a hostile server could send
// reaches the same code paths as in production — greeting, capabilities, SASL, pipelining,
// literals, multi-line replies, IDLE — not just one parser in isolation.
//
// Input layout (shared by fuzz_session_imap/pop3/smtp):
//
//   byte 0, 1   operation mask: bit i (byte 0 = bits 0-7, byte 1 = bits 8-15) runs operation i of
//               the target's fixed script, in order; unknown bits are ignored
//   byte 2      option bits, target specific (login style, streaming threshold, ...)
//   byte 3..    what the server sends. A 0xFF byte ends one "server turn": turn 0 is written as soon
//               as the client connects (the greeting), and each later turn only once the client
//               has written something (its next command), so replies arrive as a real server's
//               would. 0xFF never occurs in a real transcript (it is not valid UTF-8), so seeds are
//               readable transcripts with 0xFF between the replies.
//
// Rules that keep one input well under 50 ms:
//  - the client connects with security::none to 127.0.0.1 and gets short deadlines (kIoTimeout);
//  - when the client writes nothing within kTurnWait after a turn (it is still waiting for more
//    of a reply the input cut short), the next turn goes anyway; after kMaxStalls such waits the
//    rest of the input is written at once;
//  - after the last turn the server half-closes (FIN), so a client that wants more sees end of
//    stream at once instead of waiting for a deadline; what the client still sends is discarded.
//
// Verdict: mailwire::error (and derived) is an expected outcome of any hostile input. Any other
// exception is reported and aborts (a finding), as do crashes, sanitizer reports, hangs (libFuzzer
// -timeout) and unbounded memory (libFuzzer -rss_limit_mb / -malloc_limit_mb).
//
// MWFUZZ_TRACE=1 in the environment prints, to stderr, the client's protocol log (C:/S: lines),
// each operation's outcome and the time the input took: the way to check that a seed drives the
// session as intended (run the GCC-built fuzz_session_*_replay on it).
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <typeinfo>
#include <utility>
#include <vector>

#include "mailwire/client.hpp"
#include "mailwire/error.hpp"

namespace mwfuzz {

using namespace std::chrono_literals;

/// Ends one server turn in the input (see the file comment).
inline constexpr char kTurnDelimiter = '\xff';
/// How long the server waits for the client's next command before sending the next turn anyway.
inline constexpr std::chrono::milliseconds kTurnWait{2};
/// Waits for a command that never came, per input, before the rest of the input goes at once.
inline constexpr int kMaxStalls = 2;
/// The client's deadline for connect, greeting and each read/write. The server never leaves the
/// client waiting this long (it half-closes after the last turn), so reaching it is a finding.
inline constexpr std::chrono::milliseconds kIoTimeout{400};
/// How long the server keeps draining what the client sends after the last turn.
inline constexpr std::chrono::milliseconds kDrainLimit{2000};

/// What the first three input bytes select, and the server bytes after them.
struct input {
    std::uint16_t ops = 0;
    std::uint8_t options = 0;
    std::string_view server;

    static input parse(const std::uint8_t* data, std::size_t size) {
        input in;
        const auto* p = reinterpret_cast<const char*>(data);
        if (size >= 1) in.ops = data[0];
        if (size >= 2) in.ops = static_cast<std::uint16_t>(in.ops | (data[1] << 8));
        if (size >= 3) in.options = data[2];
        if (size > 3) in.server = std::string_view(p + 3, size - 3);
        return in;
    }
    [[nodiscard]] bool op(int bit) const { return (ops >> bit) & 1u; }
    [[nodiscard]] bool option(int bit) const { return (options >> bit) & 1u; }
};

inline bool trace_enabled() {
    static const bool on = [] {
        const char* v = std::getenv("MWFUZZ_TRACE");
        return v != nullptr && *v != '\0' && *v != '0';
    }();
    return on;
}

[[noreturn]] inline void fatal(const char* what) {
    std::fprintf(stderr, "session harness: %s: %s\n", what, std::strerror(errno));
    std::abort();
}

/// The server side, one for the whole process: a listening socket on 127.0.0.1 (kernel-chosen
/// port) and one thread that plays each input's turns to the client's connection, discards what
/// the client sends, then closes. One thread for the process, not one per input: every new thread
/// leaves glibc's per-thread block (its DTV) allocated in the cached stack, which libFuzzer counts
/// as a leak on every input and answers with a slow LeakSanitizer pass.
class loopback_server {
public:
    static loopback_server& get() {
        static loopback_server s;
        return s;
    }
    loopback_server(const loopback_server&) = delete;
    loopback_server& operator=(const loopback_server&) = delete;

    [[nodiscard]] std::uint16_t port() const { return port_; }

    /// Serves the next connection with `server` (split into turns at kTurnDelimiter); returns at
    /// once. The bytes must stay valid until end().
    void begin(std::string_view server) {
        std::vector<std::string_view> turns;
        std::size_t start = 0;
        for (;;) {
            const auto cut = server.find(kTurnDelimiter, start);
            turns.push_back(server.substr(start, cut == std::string_view::npos ? cut : cut - start));
            if (cut == std::string_view::npos) break;
            start = cut + 1;
        }
        std::lock_guard lock(mutex_);
        turns_ = std::move(turns);
        busy_ = true;
        wake_.notify_all();
    }

    /// Waits until the connection begin() announced is over (the client closed it, or the drain
    /// limit passed).
    void end() {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [this] { return !busy_; });
    }

private:
    using clock = std::chrono::steady_clock;

    loopback_server() {
        listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (listen_fd_ < 0) fatal("socket");
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = 0;
        if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) fatal("bind 127.0.0.1:0");
        if (::listen(listen_fd_, 16) != 0) fatal("listen");
        socklen_t len = sizeof a;
        if (::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0) fatal("getsockname");
        port_ = ntohs(a.sin_port);
        thread_ = std::thread([this] { work(); });
    }
    ~loopback_server() {
        {
            std::lock_guard lock(mutex_);
            stop_ = true;
            wake_.notify_all();
        }
        thread_.join();
        ::close(listen_fd_);
    }

    void work() {
        for (;;) {
            {
                std::unique_lock lock(mutex_);
                wake_.wait(lock, [this] { return busy_ || stop_; });
                if (stop_) return;
            }
            serve_connection();
            std::lock_guard lock(mutex_);
            busy_ = false;
            wake_.notify_all();
        }
    }

    void serve_connection() {
        pollfd lp{listen_fd_, POLLIN, 0};
        // The client connects right after begin(); the bound only matters if it never does.
        if (::poll(&lp, 1, 2000) <= 0) return;
        fd_ = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd_ < 0) return;
        const int one = 1;
        ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        play();
        ::close(fd_);
        fd_ = -1;
    }

    void play() {
        int stalls = 0;
        for (std::size_t i = 0; i < turns_.size(); ++i) {
            if (i > 0 && stalls < kMaxStalls) {
                // Answer only once the client asked: wait for its next command (or give up waiting).
                switch (wait_client(kTurnWait)) {
                case client_state::gone:
                    return;
                case client_state::silent:
                    ++stalls;
                    break;
                case client_state::wrote:
                    break;
                }
            }
            if (!write_all(turns_[i])) return;
        }
        // Nothing more to say: end of stream, so a client waiting for more fails now, not at a
        // deadline. Keep reading (and dropping) until it closes, so it never sees a reset.
        ::shutdown(fd_, SHUT_WR);
        const auto until = clock::now() + kDrainLimit;
        while (clock::now() < until)
            if (wait_client(std::chrono::duration_cast<std::chrono::milliseconds>(until - clock::now())) ==
                client_state::gone)
                return;
    }

    enum class client_state { wrote, silent, gone };

    /// Waits up to `limit` for the client to write; drops what it wrote.
    client_state wait_client(std::chrono::milliseconds limit) {
        pollfd p{fd_, POLLIN, 0};
        const int r = ::poll(&p, 1, static_cast<int>(limit.count()));
        if (r == 0) return client_state::silent;
        if (r < 0) return client_state::gone;
        return drain() ? client_state::wrote : client_state::gone;
    }

    /// Reads and discards everything available; false when the client closed or reset.
    bool drain() {
        char buf[16384];
        for (;;) {
            const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
            if (n > 0) continue;
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;
            if (n < 0 && errno == EINTR) continue;
            return false;
        }
    }

    /// Writes `bytes` completely, draining the client meanwhile so neither side can block on a
    /// full socket buffer. False when the client is gone.
    bool write_all(std::string_view bytes) {
        while (!bytes.empty()) {
            const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
            if (n > 0) {
                bytes.remove_prefix(static_cast<std::size_t>(n));
                continue;
            }
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) return false;
            pollfd p{fd_, POLLIN | POLLOUT, 0};
            if (::poll(&p, 1, static_cast<int>(kDrainLimit.count())) <= 0) return false;
            if ((p.revents & POLLIN) != 0 && !drain()) return false;
            if ((p.revents & (POLLERR | POLLHUP)) != 0) return false;
        }
        return true;
    }

    int listen_fd_ = -1;
    std::uint16_t port_ = 0;
    int fd_ = -1;  // the client's connection; used by the worker thread only
    std::mutex mutex_;
    std::condition_variable wake_;
    bool busy_ = false;  // an input is being served
    bool stop_ = false;
    std::vector<std::string_view> turns_;  // written under mutex_ before busy_, read by the worker
    std::thread thread_;
};

/// Short deadlines, plaintext credentials allowed, and the protocol log when tracing.
inline void configure(mailwire::client_base& c) {
    c.timeouts().connect = kIoTimeout;
    c.timeouts().greeting = kIoTimeout;
    c.timeouts().io = kIoTimeout;
    c.timeouts().auto_detect_wait = kIoTimeout;
    c.allow_plaintext_auth(true);
    if (trace_enabled())
        c.set_logger([](mailwire::log_direction d, std::string_view line) {
            std::fprintf(stderr, "%s: %.*s\n", d == mailwire::log_direction::client ? "C" : "S",
                         static_cast<int>(line.size()), line.data());
        });
}

/// Runs one step of the script: a mailwire::error is an expected outcome; anything else aborts.
inline void step(const char* name, const std::function<void()>& fn) {
    try {
        fn();
        if (trace_enabled()) std::fprintf(stderr, "-- %s: ok\n", name);
    } catch (const mailwire::error& e) {
        if (trace_enabled()) std::fprintf(stderr, "-- %s: %s\n", name, e.what());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "session harness: %s threw %s (not a mailwire::error): %s\n", name, typeid(e).name(),
                     e.what());
        std::abort();
    } catch (...) {
        std::fprintf(stderr, "session harness: %s threw a non-std exception\n", name);
        std::abort();
    }
}

/// One fuzz input against a fresh client of type `Client`: connect (security::none), then
/// `script(client, input)`, then a polite disconnect.
template <class Client, class Script>
void run_session(const std::uint8_t* data, std::size_t size, Script&& script) {
    const input in = input::parse(data, size);
    auto& server = loopback_server::get();
    const auto started = std::chrono::steady_clock::now();
    server.begin(in.server);
    {
        Client c;
        configure(c);
        bool connected = false;
        step("connect", [&] {
            c.connect("127.0.0.1", server.port(), mailwire::security::none);
            connected = true;
        });
        if (connected) script(c, in);
        step("disconnect", [&] { c.disconnect(true); });
    }  // the client's socket is closed here, which ends the server's drain
    server.end();
    if (trace_enabled())
        std::fprintf(stderr, "-- input of %zu bytes took %lld us\n", size,
                     static_cast<long long>(std::chrono::duration_cast<std::chrono::microseconds>(
                                                std::chrono::steady_clock::now() - started)
                                                .count()));
}

/// Runs `fn` as operation `bit` of the script when the input selects it and the session is
/// still up (after a protocol_error the client is closed and every later call would only throw
/// not_connected).
template <class Client, class Fn>
void op(Client& c, const input& in, int bit, const char* name, Fn&& fn) {
    if (!in.op(bit) || !c.is_connected()) return;
    step(name, [&] { fn(); });
}

}  // namespace mwfuzz
