// Name resolution bounded by the connect deadline.
//
// getaddrinfo() cannot be interrupted, and a dead DNS server makes it wait for the resolver's
// own timeouts (resolv.conf `timeout` × `attempts` × servers, easily 30 s and more). So a name
// is looked up on a detached thread that owns everything it touches; the caller waits for it
// until the deadline and, on expiry, walks away. The thread finishes on its own later and frees
// its result. Numeric addresses never reach the resolver.
#pragma once

#include <sys/socket.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "mailwire/error.hpp"

namespace mailwire::net::detail {

/// One address to try, copied out of getaddrinfo's list.
struct address {
    sockaddr_storage storage{};
    socklen_t length = 0;
    int family = 0;
    int socktype = 0;
    int protocol = 0;
};

/// Looks `host` up for TCP port `service`; fills `out` and returns 0, or returns an EAI_* code.
/// The default is getaddrinfo(); tests substitute a lookup that blocks, to exercise the deadline.
using lookup_fn = int (*)(const std::string& host, const std::string& service, std::vector<address>& out);

/// The system resolver: getaddrinfo(AI_ADDRCONFIG), retried without it for hosts whose only
/// address family is configured nowhere but on loopback.
int system_lookup(const std::string& host, const std::string& service, std::vector<address>& out);

/// Test seam: the lookup that later resolve() calls use; nullptr restores system_lookup.
/// Lookups already running keep the function they started with.
void set_lookup(lookup_fn fn) noexcept;

/// Lookups still running on their own thread, including abandoned ones (for tests and
/// diagnostics: it returns to 0 once every resolver thread has finished and freed its state).
std::size_t lookups_in_flight() noexcept;

/// Most lookups left running after their deadline at once; past this, resolve() fails at once
/// rather than starting yet another thread that a dead DNS server would keep blocked.
inline constexpr std::size_t max_abandoned_lookups = 32;

/// The addresses of host:port, in resolver order. A numeric address (IPv4, IPv6, with or without
/// a scope) is converted in place, without the resolver. Throws timeout_error (errc::timeout)
/// when the lookup has not finished by `deadline`, connect_error (errc::resolve_failed) when it
/// fails; both with `ctx` at stage::resolve. `timeout` is only quoted in the message.
std::vector<address> resolve(const std::string& host, std::uint16_t port,
                             std::chrono::steady_clock::time_point deadline, std::chrono::milliseconds timeout,
                             error_context ctx);

}  // namespace mailwire::net::detail
