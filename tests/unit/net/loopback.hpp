// A loopback listener for transport tests that need a peer but no server.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <string>

namespace mailwire::net::test {

/// A listening socket on 127.0.0.1 (or ::1) and a free port. Connections queue in the backlog
/// until accept_one() takes one.
class listener {
public:
    explicit listener(int family = AF_INET) {
        fd_ = ::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd_ < 0) return;
        sockaddr_storage ss{};
        socklen_t len = 0;
        if (family == AF_INET6) {
            auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
            a->sin6_family = AF_INET6;
            a->sin6_addr = in6addr_loopback;
            len = sizeof *a;
        } else {
            auto* a = reinterpret_cast<sockaddr_in*>(&ss);
            a->sin_family = AF_INET;
            a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            len = sizeof *a;
        }
        if (::bind(fd_, reinterpret_cast<sockaddr*>(&ss), len) != 0 || ::listen(fd_, 8) != 0) {
            ::close(fd_);
            fd_ = -1;
            return;
        }
        len = sizeof ss;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&ss), &len);
        port_ = ntohs(family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                                         : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
    }
    ~listener() {
        if (fd_ >= 0) ::close(fd_);
    }
    listener(const listener&) = delete;
    listener& operator=(const listener&) = delete;

    bool ok() const { return fd_ >= 0; }
    std::uint16_t port() const { return port_; }

    /// The next queued connection (caller closes it), or -1.
    int accept_one() const { return ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC); }

    /// Everything `fd` receives within `wait_ms` (or until the peer closes), and whether the peer
    /// closed its end.
    static std::string drain(int fd, int wait_ms, bool& peer_closed) {
        std::string got;
        peer_closed = false;
        for (;;) {
            pollfd p{fd, POLLIN, 0};
            if (::poll(&p, 1, wait_ms) <= 0) return got;
            char buf[4096];
            const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
            if (n <= 0) {
                peer_closed = n == 0;
                return got;
            }
            got.append(buf, static_cast<std::size_t>(n));
        }
    }

private:
    int fd_ = -1;
    std::uint16_t port_ = 0;
};

}  // namespace mailwire::net::test
