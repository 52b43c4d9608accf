// smtp_sink: a small SMTP server that serves many connections at once, for the tests of parallel
// submission (scripted_server runs its connections one after another). It speaks EHLO (PIPELINING,
// SIZE without a limit, 8BITMIME, and CHUNKING unless told not to), MAIL, RCPT, DATA, BDAT, RSET, NOOP and QUIT, and
// takes every message, except that a header in the message changes its fate:
//
//   X-Sink-Delay: 300     wait 300 ms before answering the end of its data
//   X-Sink-Close: yes     close the connection instead of answering (the message is not taken)
//
// Every message taken is recorded (its bytes, its connection) before its 250 is written, so a
// test can check that what the client reports as sent is exactly what arrived. Each read is bounded
// by a timeout and the destructor shuts every socket down, so a broken test fails, never hangs.
#pragma once

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace mailwire::test {

class smtp_sink {
public:
    struct message {
        int connection = 0;  ///< 1 for the first connection accepted, …
        std::string data;    ///< as received (DATA: dot-stuffed, without the final dot line)
    };

    explicit smtp_sink(bool chunking = true) : chunking_(chunking) {
        fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof a;
        if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 64) != 0 ||
            ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
            throw std::runtime_error("smtp_sink: cannot listen on 127.0.0.1");
        port_ = ntohs(a.sin_port);
        acceptor_ = std::thread([this] { accept_loop(); });
    }
    ~smtp_sink() {
        stop_ = true;
        acceptor_.join();
        {
            std::lock_guard lock(mutex_);
            for (const int c : open_) ::shutdown(c, SHUT_RDWR);
        }
        for (auto& t : sessions_) t.join();
        ::close(fd_);
    }
    smtp_sink(const smtp_sink&) = delete;
    smtp_sink& operator=(const smtp_sink&) = delete;

    [[nodiscard]] std::uint16_t port() const { return port_; }
    /// The messages taken so far, in the order their replies were written.
    [[nodiscard]] std::vector<message> messages() const {
        std::lock_guard lock(mutex_);
        return taken_;
    }
    /// Every MAIL command received, in arrival order (its SIZE= is what the client announced).
    [[nodiscard]] std::vector<std::string> mail_commands() const {
        std::lock_guard lock(mutex_);
        return mail_;
    }
    /// Connections accepted so far.
    [[nodiscard]] int connections() const { return accepted_.load(); }

private:
    void accept_loop() {
        while (!stop_) {
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, 50) <= 0) continue;
            const int c = ::accept(fd_, nullptr, nullptr);
            if (c < 0) continue;
            const int n = ++accepted_;
            std::lock_guard lock(mutex_);
            open_.push_back(c);
            sessions_.emplace_back([this, c, n] { serve(c, n); });
        }
    }

    // One connection: reads with a 10 s bound, answers each command as it comes.
    void serve(int fd, int n) {
        std::string in;
        auto fill = [&] {
            pollfd p{fd, POLLIN, 0};
            if (::poll(&p, 1, 10'000) <= 0) return false;
            char buf[65536];
            const auto got = ::recv(fd, buf, sizeof buf, 0);
            if (got <= 0) return false;
            in.append(buf, static_cast<std::size_t>(got));
            return true;
        };
        auto line = [&](std::string& out) {
            for (;;) {
                const auto e = in.find("\r\n");
                if (e != std::string::npos) {
                    out = in.substr(0, e);
                    in.erase(0, e + 2);
                    return true;
                }
                if (!fill()) return false;
            }
        };
        auto say = [&](const std::string& s) { return ::send(fd, s.data(), s.size(), MSG_NOSIGNAL) >= 0; };
        // The end of a message: its fate from its headers. Returns false when the connection closes.
        auto finish = [&](const std::string& data) {
            const auto delay = data.find("X-Sink-Delay: ");
            if (delay != std::string::npos)
                std::this_thread::sleep_for(std::chrono::milliseconds(std::stoi(data.substr(delay + 14))));
            if (data.find("X-Sink-Close: yes") != std::string::npos) return false;
            int id = 0;
            {
                std::lock_guard lock(mutex_);
                taken_.push_back({n, data});
                id = static_cast<int>(taken_.size());
            }
            return say("250 2.0.0 Ok: queued as S" + std::to_string(id) + "\r\n");
        };
        bool ok = say("220 sink ESMTP\r\n");
        std::string cmd, chunks;
        while (ok && !stop_ && line(cmd)) {
            std::string verb = cmd.substr(0, cmd.find(' '));
            for (auto& c : verb) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
            if (verb == "EHLO") {
                ok = say(std::string("250-sink\r\n250-PIPELINING\r\n250-SIZE\r\n") +
                         (chunking_ ? "250-CHUNKING\r\n" : "") + "250 8BITMIME\r\n");
            } else if (verb == "QUIT") {
                say("221 2.0.0 bye\r\n");
                break;
            } else if (verb == "DATA") {
                ok = say("354 go ahead\r\n");
                std::string data, l;
                while (ok && line(l) && l != ".") data += l + "\r\n";
                ok = ok && finish(data);
            } else if (verb == "BDAT") {
                const auto rest = cmd.substr(5);
                const auto size = std::stoul(rest);
                while (in.size() < size && fill()) {}
                if (in.size() < size) break;
                chunks.append(in, 0, size);
                in.erase(0, size);
                if (rest.find("LAST") != std::string::npos) {
                    ok = finish(chunks);
                    chunks.clear();
                } else {
                    ok = say("250 2.0.0 chunk\r\n");
                }
            } else if (verb == "RSET") {
                chunks.clear();
                ok = say("250 2.0.0 Ok\r\n");
            } else {  // MAIL, RCPT, NOOP, HELO: always fine
                if (verb == "MAIL") {
                    std::lock_guard lock(mutex_);
                    mail_.push_back(cmd);
                }
                ok = say("250 2.1.0 Ok\r\n");
            }
        }
        std::lock_guard lock(mutex_);
        for (auto& c : open_)
            if (c == fd) c = -1;
        ::close(fd);
    }

    bool chunking_;
    int fd_ = -1;
    std::uint16_t port_ = 0;
    std::atomic<bool> stop_{false};
    std::atomic<int> accepted_{0};
    mutable std::mutex mutex_;
    std::vector<int> open_;
    std::vector<std::thread> sessions_;
    std::vector<message> taken_;
    std::vector<std::string> mail_;
    std::thread acceptor_;
};

}  // namespace mailwire::test
