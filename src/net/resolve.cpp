// Name resolution with a deadline; see resolve.hpp for why a thread.
#include "net/resolve.hpp"

#include <netdb.h>

#include <fmt/format.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <system_error>
#include <thread>

namespace mailwire::net::detail {
namespace {

using clock = std::chrono::steady_clock;

std::atomic<lookup_fn> lookup_override{nullptr};
std::atomic<std::size_t> in_flight{0};
std::atomic<std::size_t> abandoned_count{0};

// Everything a resolver thread touches. Shared by the thread and the waiting caller; whichever
// lets go last frees it, so a caller that gave up leaves nothing dangling.
struct job {
    std::string host;
    std::string service;
    lookup_fn fn = nullptr;
    std::mutex mutex;
    std::condition_variable finished;
    bool done = false;       // guarded by mutex
    bool abandoned = false;  // guarded by mutex
    int rc = 0;
    std::vector<address> out;
};

void copy_addresses(const addrinfo* list, std::vector<address>& out) {
    for (const addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
        if (ai->ai_addr == nullptr || ai->ai_addrlen > sizeof(sockaddr_storage)) continue;
        address a;
        std::memcpy(&a.storage, ai->ai_addr, ai->ai_addrlen);
        a.length = ai->ai_addrlen;
        a.family = ai->ai_family;
        a.socktype = ai->ai_socktype;
        a.protocol = ai->ai_protocol;
        out.push_back(a);
    }
}

int lookup(const std::string& host, const std::string& service, int flags, std::vector<address>& out) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = flags | AI_NUMERICSERV;
    addrinfo* res = nullptr;
    const int rc = ::getaddrinfo(host.c_str(), service.c_str(), &hints, &res);
    if (rc != 0) return rc;
    std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard(res, freeaddrinfo);
    copy_addresses(res, out);
    return out.empty() ? EAI_NONAME : 0;
}

// The body of a resolver thread. Takes its own reference to the job and drops it before
// leaving in_flight, so lookups_in_flight() == 0 means every job is freed.
void run(std::shared_ptr<job> j) noexcept {
    {
        std::vector<address> out;
        int rc = 0;
        try {
            rc = j->fn(j->host, j->service, out);
        } catch (...) {  // bad_alloc while copying, or a test lookup that throws
            rc = EAI_MEMORY;
        }
        std::lock_guard lock(j->mutex);
        j->rc = rc;
        j->out = std::move(out);
        j->done = true;
        if (j->abandoned) abandoned_count.fetch_sub(1);
        j->finished.notify_one();
    }
    j.reset();
    in_flight.fetch_sub(1);
}

const char* resolve_hint = "check the host name spelling and DNS";

}  // namespace

int system_lookup(const std::string& host, const std::string& service, std::vector<address>& out) {
    int rc = lookup(host, service, AI_ADDRCONFIG, out);
    if (rc == EAI_ADDRFAMILY || rc == EAI_NONAME) {  // AI_ADDRCONFIG hides loopback without a network
        out.clear();
        rc = lookup(host, service, 0, out);
    }
    return rc;
}

void set_lookup(lookup_fn fn) noexcept { lookup_override.store(fn); }

std::size_t lookups_in_flight() noexcept { return in_flight.load(); }

std::vector<address> resolve(const std::string& host, std::uint16_t port, clock::time_point deadline,
                             std::chrono::milliseconds timeout, error_context ctx) {
    ctx.stage = stage::resolve;
    const auto service = std::to_string(port);
    std::vector<address> out;
    // AI_NUMERICHOST never consults DNS, /etc/hosts or NSS: a literal costs no thread.
    if (lookup(host, service, AI_NUMERICHOST, out) == 0) return out;
    out.clear();

    auto timed_out = [&]() -> timeout_error {
        ctx.hint =
            "the DNS server did not answer in time: check the network and the resolver configuration, "
            "raise timeouts::connect, or connect to a numeric address";
        return timeout_error(errc::timeout,
                             fmt::format("resolving {} (port {}) timed out after {} ms", host, port, timeout.count()),
                             ctx);
    };
    if (clock::now() >= deadline) throw timed_out();
    if (abandoned_count.load() >= max_abandoned_lookups) {
        ctx.hint = "the DNS server is not answering; check the network and the resolver configuration";
        throw connect_error(errc::resolve_failed,
                            fmt::format("cannot resolve {}: {} earlier lookups are still waiting for the DNS server",
                                        host, abandoned_count.load()),
                            ctx);
    }

    auto j = std::make_shared<job>();
    j->host = host;
    j->service = service;
    j->fn = lookup_override.load();
    if (j->fn == nullptr) j->fn = &system_lookup;
    in_flight.fetch_add(1);
    try {
        std::thread([j]() mutable { run(std::move(j)); }).detach();
    } catch (const std::system_error& e) {
        in_flight.fetch_sub(1);
        ctx.hint = "the process may be out of threads or memory";
        throw connect_error(errc::resolve_failed,
                            fmt::format("cannot resolve {}: no thread for the lookup ({})", host, e.what()), ctx);
    }

    std::unique_lock lock(j->mutex);
    if (!j->finished.wait_until(lock, deadline, [&] { return j->done; })) {
        // The thread keeps its reference and frees the job (and any late result) when the
        // resolver finally returns.
        j->abandoned = true;
        abandoned_count.fetch_add(1);
        lock.unlock();
        throw timed_out();
    }
    if (j->rc == 0 && j->out.empty()) j->rc = EAI_NONAME;
    if (j->rc != 0) {
        ctx.hint = resolve_hint;
        throw connect_error(errc::resolve_failed, fmt::format("cannot resolve {}: {}", host, gai_strerror(j->rc)), ctx);
    }
    return std::move(j->out);
}

}  // namespace mailwire::net::detail
