// Name resolution honours the connect deadline.
//
// No honest way exists to make the system resolver slow from inside a test: the name servers
// come from /etc/resolv.conf alone (RES_OPTIONS and LOCALDOMAIN change timeouts and search
// domains, not servers), and LD_PRELOAD or namespaces are out of bounds. So these tests swap
// only the getaddrinfo() call (detail::set_lookup) for one that blocks until released, and run
// everything around it — the thread, the timed wait, the abandonment and late cleanup, the error
// — for real. The system resolver itself is exercised with "localhost" (/etc/hosts, no network).
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "mailwire/net/stream.hpp"
#include "net/resolve.hpp"
#include "unit/net/loopback.hpp"

namespace mailwire::net {
namespace {

using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;
using test::listener;

// The fake resolver's controls. Globals, because a lookup may outlive the test that started it.
std::mutex gate_mutex;
std::condition_variable gate_cv;
bool gate_open = false;
std::atomic<int> lookups{0};
std::atomic<std::uint16_t> answer_port{0};

void open_gate() {
    {
        std::lock_guard lock(gate_mutex);
        gate_open = true;
    }
    gate_cv.notify_all();
}

void add_loopback(std::vector<detail::address>& out) {
    detail::address a;
    auto* sin = reinterpret_cast<sockaddr_in*>(&a.storage);
    sin->sin_family = AF_INET;
    sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sin->sin_port = htons(answer_port.load());
    a.length = sizeof *sin;
    a.family = AF_INET;
    a.socktype = SOCK_STREAM;
    out.push_back(a);
}

/// Blocks like a resolver whose DNS server never answers, until the test opens the gate; then
/// answers with 127.0.0.1 so that the late result has memory to free.
int blocking_lookup(const std::string&, const std::string&, std::vector<detail::address>& out) {
    ++lookups;
    std::unique_lock lock(gate_mutex);
    gate_cv.wait(lock, [] { return gate_open; });
    add_loopback(out);
    return 0;
}

int quick_lookup(const std::string&, const std::string&, std::vector<detail::address>& out) {
    ++lookups;
    add_loopback(out);
    return 0;
}

int failing_lookup(const std::string&, const std::string&, std::vector<detail::address>&) {
    ++lookups;
    return EAI_NONAME;
}

class resolve : public ::testing::Test {
protected:
    void SetUp() override {
        lookups = 0;
        std::lock_guard lock(gate_mutex);
        gate_open = false;
    }
    void TearDown() override {
        open_gate();
        detail::set_lookup(nullptr);
        // Every resolver thread must finish and free its job; LSan checks the rest at exit.
        const auto until = clock::now() + 10s;
        while (detail::lookups_in_flight() != 0 && clock::now() < until) std::this_thread::sleep_for(5ms);
        EXPECT_EQ(detail::lookups_in_flight(), 0u);
    }
};

TEST_F(resolve, a_lookup_that_hangs_times_out_at_the_connect_deadline) {
    listener l;
    ASSERT_TRUE(l.ok());
    answer_port = l.port();
    detail::set_lookup(&blocking_lookup);
    stream s;
    s.set_context("dead-dns.example", 993, "imap");
    const auto start = clock::now();
    try {
        s.connect("dead-dns.example", 993, 300ms);
        FAIL() << "connected although the lookup never returned";
    } catch (const timeout_error& e) {
        const auto took = clock::now() - start;
        EXPECT_GE(took, 290ms);
        EXPECT_LT(took, 3s);
        EXPECT_EQ(e.code(), errc::timeout);
        EXPECT_EQ(e.context().stage, stage::resolve);
        EXPECT_EQ(e.context().host, "dead-dns.example");
        EXPECT_EQ(e.context().port, 993);
        EXPECT_FALSE(e.hint().empty());
        EXPECT_NE(std::string(e.what()).find("dead-dns.example"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("300 ms"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(s.is_open());
    EXPECT_EQ(lookups.load(), 1);
    EXPECT_EQ(detail::lookups_in_flight(), 1u);  // abandoned, still blocked
    // The stream is usable again at once; the abandoned lookup finishes later and cleans up.
    detail::set_lookup(&quick_lookup);
    s.connect("other.example", l.port(), 2s);
    EXPECT_TRUE(s.is_open());
    EXPECT_EQ(s.peer_address(), "127.0.0.1");
    open_gate();
}

TEST_F(resolve, deadline_covers_lookup_and_connect_together) {
    listener l;
    ASSERT_TRUE(l.ok());
    answer_port = l.port();
    detail::set_lookup(&blocking_lookup);
    std::thread releaser([] {
        std::this_thread::sleep_for(100ms);
        open_gate();
    });
    stream s;
    const auto start = clock::now();
    s.connect("slow-dns.example", l.port(), 5s);  // the lookup takes 100 ms of the 5 s
    releaser.join();
    EXPECT_TRUE(s.is_open());
    EXPECT_GE(clock::now() - start, 90ms);
    EXPECT_EQ(lookups.load(), 1);
}

TEST_F(resolve, numeric_addresses_skip_the_resolver) {
    detail::set_lookup(&failing_lookup);
    listener l4;
    ASSERT_TRUE(l4.ok());
    stream s;
    s.connect("127.0.0.1", l4.port(), 2s);
    EXPECT_TRUE(s.is_open());
    EXPECT_EQ(s.peer_address(), "127.0.0.1");
    listener l6(AF_INET6);
    if (l6.ok()) {  // no IPv6 loopback in some containers
        s.connect("::1", l6.port(), 2s);
        EXPECT_TRUE(s.is_open());
        EXPECT_EQ(s.peer_address(), "::1");
    }
    // Even with no time left a literal needs no lookup (the connect itself may still time out).
    try {
        s.connect("127.0.0.1", l4.port(), 0ms);
    } catch (const timeout_error& e) {
        EXPECT_EQ(e.context().stage, stage::connect) << e.what();
    }
    EXPECT_EQ(lookups.load(), 0);
    EXPECT_EQ(detail::lookups_in_flight(), 0u);
}

TEST_F(resolve, failure_is_a_resolve_failed_connect_error) {
    detail::set_lookup(&failing_lookup);
    stream s;
    try {
        s.connect("no-such-host.invalid", 143, 2s);
        FAIL() << "resolved a name the lookup refused";
    } catch (const connect_error& e) {
        EXPECT_EQ(e.code(), errc::resolve_failed);
        EXPECT_EQ(e.context().stage, stage::resolve);
        EXPECT_EQ(e.context().host, "no-such-host.invalid");
        EXPECT_FALSE(e.hint().empty());
    }
    EXPECT_EQ(lookups.load(), 1);
}

TEST_F(resolve, expired_deadline_fails_before_starting_a_lookup) {
    detail::set_lookup(&blocking_lookup);
    stream s;
    EXPECT_THROW(s.connect("any.example", 143, 0ms), timeout_error);
    EXPECT_EQ(lookups.load(), 0);
}

TEST_F(resolve, abandoned_lookups_are_capped) {
    detail::set_lookup(&blocking_lookup);
    std::size_t timeouts = 0;
    for (std::size_t i = 0; i < detail::max_abandoned_lookups; ++i) {
        try {
            (void)detail::resolve("stuck.example", 25, clock::now() + 1ms, 1ms, {});
        } catch (const timeout_error&) {
            ++timeouts;
        }
    }
    EXPECT_EQ(timeouts, detail::max_abandoned_lookups);
    EXPECT_EQ(detail::lookups_in_flight(), detail::max_abandoned_lookups);
    // With that many threads stuck on a dead DNS server, the next one fails without a thread.
    try {
        (void)detail::resolve("stuck.example", 25, clock::now() + 10s, 10000ms, {});
        FAIL() << "a lookup started past the cap";
    } catch (const connect_error& e) {
        EXPECT_EQ(e.code(), errc::resolve_failed);
        EXPECT_NE(std::string(e.what()).find("still waiting"), std::string::npos) << e.what();
    }
    EXPECT_EQ(detail::lookups_in_flight(), detail::max_abandoned_lookups);
    // Once the stuck lookups return, new ones are possible again.
    open_gate();
    const auto drained = clock::now() + 10s;
    while (detail::lookups_in_flight() != 0 && clock::now() < drained) std::this_thread::sleep_for(5ms);
    detail::set_lookup(&quick_lookup);
    EXPECT_FALSE(detail::resolve("back.example", 25, clock::now() + 2s, 2000ms, {}).empty());
}

TEST_F(resolve, localhost_through_the_system_resolver) {
    listener l;
    ASSERT_TRUE(l.ok());
    stream s;
    s.connect("localhost", l.port(), 5s);  // /etc/hosts; may also yield ::1 first, which refuses
    EXPECT_TRUE(s.is_open());
}

}  // namespace
}  // namespace mailwire::net
