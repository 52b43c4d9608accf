// POP3 against the real Dovecot on both ports (STLS on POP3_PORT, implicit TLS on POP3S_PORT).
// Messages are delivered through Postfix (port 25 style, no auth for local users) to Dovecot over
// LMTP, then read back over POP3: the bodies must come back byte-exact after the trace headers.
// Every test uses bob and removes the messages it delivered; it never touches other messages,
// because other test binaries deliver to bob at the same time.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <random>
#include <thread>

#include "mailwire/pop3/client.hpp"
#include "mailwire/smtp/client.hpp"
#include "support/server_env.hpp"

namespace mailwire::pop3 {
namespace {

using namespace std::chrono_literals;
using test::server_env;

std::unique_ptr<client> session(bool implicit_tls = true) {
    const auto& env = server_env::get();
    auto c = std::make_unique<client>();
    c->tls().ca_file = env.str("CA_FILE");
    c->timeouts().io = 30s;
    if (implicit_tls) c->connect(env.str("HOST"), env.port("POP3S_PORT"), security::implicit_tls);
    else c->connect(env.str("HOST"), env.port("POP3_PORT"), security::starttls);
    c->authenticate(env.str("USER2"), env.str("PASS2"));
    return c;
}

std::string unique_id() {
    static std::mt19937_64 rng(std::random_device{}());
    return "pop3-" + std::to_string(rng());
}

// A message whose body has dot-led lines of every kind and `body_bytes` of filler.
std::string make_message(const std::string& id, std::size_t body_bytes = 0) {
    std::string m = "From: alice@localhost\r\nTo: bob@localhost\r\nSubject: pop3 " + id + "\r\nMessage-ID: <" + id +
                    "@mailwire.test>\r\n\r\n";
    m += ".\r\n..\r\n...\r\n. space\r\n.leading dot\r\nnot a dot .\r\n\r\n.\r\n";
    std::size_t i = 0;
    while (m.size() < body_bytes) {
        m +=
            (i % 7 == 0 ? "." : "") + std::to_string(i) + " the quick brown fox jumps over the lazy dog 0123456789\r\n";
        ++i;
    }
    m += "last line\r\n";
    return m;
}

void deliver(const std::string& message) {
    const auto& env = server_env::get();
    smtp::client s;
    s.timeouts().io = 60s;
    s.connect(env.str("HOST"), env.port("SMTP_PORT"), security::none);
    smtp::envelope e;
    e.from = "alice@localhost";
    e.to = {env.str("ADDR2")};
    auto r = s.send(e, message);
    ASSERT_TRUE(r.all_accepted());
    s.disconnect();
}

// The number of the message with this Message-ID in the session, scanning from the newest.
std::optional<std::uint32_t> find(client& c, const std::string& id) {
    const auto needle = "Message-ID: <" + id + "@mailwire.test>";
    const auto all = c.list();  // messages marked deleted are not listed
    for (auto it = all.rbegin(); it != all.rend(); ++it) {
        if (c.top(it->number, 0).find(needle) != std::string::npos) return it->number;
    }
    return std::nullopt;
}

// Waits until every id has arrived (delivery through Postfix is asynchronous).
void await(const std::vector<std::string>& ids) {
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    for (;;) {
        auto c = session();
        bool all = true;
        for (const auto& id : ids) all = all && find(*c, id).has_value();
        c->disconnect();
        if (all) return;
        ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "messages did not arrive in bob's mailbox";
        std::this_thread::sleep_for(200ms);
    }
}

// Deletes the messages with these ids (if present) and commits with QUIT.
void remove(const std::vector<std::string>& ids) {
    auto c = session();
    for (const auto& id : ids)
        if (auto n = find(*c, id)) c->dele(*n);
    c->quit();
}

class pop3_real : public ::testing::TestWithParam<bool> {};

TEST_P(pop3_real, retr_is_byte_exact_with_dot_lines) {
    const auto id = unique_id();
    const auto msg = make_message(id, 20'000);
    deliver(msg);
    await({id});
    auto c = session(GetParam());
    EXPECT_EQ(c->is_secure(), true);
    EXPECT_EQ(c->security_used(), GetParam() ? security::implicit_tls : security::starttls);
    EXPECT_TRUE(c->capabilities().top && c->capabilities().uidl && c->capabilities().pipelining);
    const auto n = find(*c, id);
    ASSERT_TRUE(n);
    std::string got;
    std::size_t chunks = 0;
    const auto bytes = c->retr(*n, [&](std::string_view b) {
        got.append(b);
        ++chunks;
    });
    EXPECT_EQ(bytes, got.size());
    ASSERT_GE(got.size(), msg.size());
    EXPECT_EQ(got.substr(got.size() - msg.size()), msg) << "not byte-exact";
    EXPECT_EQ(c->retr(*n), got);
    EXPECT_EQ(c->list(*n).size, got.size());  // Dovecot's LIST size is the exact CRLF size
    const auto head = c->top(*n, 2);
    EXPECT_NE(head.find(id + "@mailwire.test>\r\n\r\n.\r\n..\r\n"), std::string::npos) << head;  // unstuffed
    EXPECT_TRUE(head.ends_with("\r\n\r\n.\r\n..\r\n")) << head;
    c->disconnect();
    remove({id});
}

TEST_P(pop3_real, stat_list_uidl_agree_and_uidl_is_stable_across_sessions) {
    const std::vector<std::string> ids{unique_id(), unique_id(), unique_id()};
    for (const auto& id : ids) deliver(make_message(id, 1000));
    await(ids);
    std::vector<message_uid> first;
    std::map<std::string, std::string> uid_of;  // our ids -> their UIDL in the first session
    {
        auto c = session(GetParam());
        const auto st = c->stat();
        const auto all = c->list();
        ASSERT_EQ(all.size(), st.count);
        std::uint64_t total = 0;
        for (const auto& m : all) total += m.size;
        EXPECT_EQ(total, st.size);
        first = c->uidl();
        ASSERT_EQ(first.size(), st.count);
        std::vector<std::uint32_t> numbers;
        for (const auto& m : all) numbers.push_back(m.number);
        numbers.push_back(st.count + 1000);  // no such message
        const auto sizes = c->list(numbers);
        const auto uids = c->uidl(numbers);
        ASSERT_EQ(sizes.size(), numbers.size());
        for (std::size_t i = 0; i < all.size(); ++i) {
            EXPECT_EQ(sizes[i], all[i]);
            EXPECT_EQ(uids[i], first[i]);
            if (i == 0) {
                EXPECT_EQ(c->list(all[i].number), all[i]);
                EXPECT_EQ(c->uidl(all[i].number), first[i]);
            }
        }
        EXPECT_EQ(sizes.back(), std::nullopt);
        EXPECT_EQ(uids.back(), std::nullopt);
        try {
            (void)c->list(st.count + 1000);
            FAIL();
        } catch (const pop3_error& e) {
            EXPECT_EQ(e.code(), errc::command_failed);
        }
        for (const auto& id : ids) {
            const auto n = find(*c, id);
            ASSERT_TRUE(n);
            uid_of[id] = c->uidl(*n).uid;
        }
        c->noop();  // the session lives on
        c->quit();
    }
    {
        // Other tests deliver and delete bob's messages meanwhile, so only our own messages are
        // compared: each keeps its UIDL in a new session over the other port.
        auto c = session(!GetParam());
        const auto second = c->uidl();
        for (const auto& id : ids) {
            const auto n = find(*c, id);
            ASSERT_TRUE(n) << id;
            EXPECT_EQ(c->uidl(*n).uid, uid_of[id]) << id;
            const auto it =
                std::find_if(second.begin(), second.end(), [&](const message_uid& u) { return u.number == *n; });
            ASSERT_NE(it, second.end());
            EXPECT_EQ(it->uid, uid_of[id]);
        }
        c->disconnect();
    }
    remove(ids);
}

INSTANTIATE_TEST_SUITE_P(ports, pop3_real, ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool>& p) { return p.param ? "implicit_tls" : "stls"; });

TEST(pop3_real_delete, dele_commits_only_on_quit) {
    const std::vector<std::string> ids{unique_id(), unique_id(), unique_id()};
    for (const auto& id : ids) deliver(make_message(id));
    await(ids);
    std::string uid_rset, uid_drop, uid_quit;
    {  // DELE + RSET: nothing deleted
        auto c = session();
        const auto n = find(*c, ids[0]);
        ASSERT_TRUE(n);
        uid_rset = c->uidl(*n).uid;
        const auto before = c->stat();
        c->dele(*n);
        EXPECT_EQ(c->stat().count, before.count - 1);  // marked: hidden from STAT and LIST
        EXPECT_THROW((void)c->retr(*n), pop3_error);   // RFC 1939: a deleted message may not be used
        c->rset();
        EXPECT_EQ(c->stat(), before);
        c->quit();
    }
    {  // DELE without QUIT (connection dropped): nothing deleted
        auto c = session();
        const auto n = find(*c, ids[1]);
        ASSERT_TRUE(n);
        uid_drop = c->uidl(*n).uid;
        c->dele(*n);
        c->disconnect(false);
    }
    {  // DELE + QUIT: deleted
        auto c = session();
        const auto n = find(*c, ids[2]);
        ASSERT_TRUE(n);
        uid_quit = c->uidl(*n).uid;
        c->dele(*n);
        c->quit();
        EXPECT_FALSE(c->is_connected());
    }
    {
        auto c = session();
        std::vector<std::string> uids;
        for (const auto& u : c->uidl()) uids.push_back(u.uid);
        auto has = [&](const std::string& u) { return std::find(uids.begin(), uids.end(), u) != uids.end(); };
        EXPECT_TRUE(has(uid_rset)) << "DELE+RSET deleted the message";
        EXPECT_TRUE(has(uid_drop)) << "DELE without QUIT deleted the message";
        EXPECT_FALSE(has(uid_quit)) << "DELE+QUIT did not delete the message";
        c->disconnect();
    }
    remove(ids);
}

TEST(pop3_real_bulk, pipelined_retrieve_of_many_messages) {
    std::vector<std::string> ids, msgs;
    for (int i = 0; i < 12; ++i) {
        ids.push_back(unique_id());
        msgs.push_back(make_message(ids.back(), static_cast<std::size_t>(i) * 7000));
        deliver(msgs.back());
    }
    await(ids);
    auto c = session();
    ASSERT_TRUE(c->pipelining());
    c->pipeline_window(5);
    std::vector<std::uint32_t> numbers;
    for (const auto& id : ids) {
        auto n = find(*c, id);
        ASSERT_TRUE(n);
        numbers.push_back(*n);
    }
    numbers.insert(numbers.begin() + 3, 999'999);  // refused in the middle of the batch
    struct handler : message_handler {
        std::map<std::uint32_t, std::string> bodies;
        std::map<std::uint32_t, std::optional<std::uint64_t>> announced;
        std::uint32_t current = 0;
        void begin(std::uint32_t n, std::optional<std::uint64_t> size) override {
            current = n;
            announced[n] = size;
        }
        void data(std::uint32_t n, std::string_view chunk) override {
            EXPECT_EQ(n, current);
            bodies[n].append(chunk);
        }
    } h;
    const auto r = c->retrieve(numbers, h);
    EXPECT_EQ(r.retrieved, ids.size());
    EXPECT_EQ(r.refused, (std::vector<std::uint32_t>{999'999}));
    for (std::size_t i = 0, k = 0; i < numbers.size(); ++i) {
        if (numbers[i] == 999'999) continue;
        const auto& got = h.bodies[numbers[i]];
        const auto& want = msgs[k++];
        ASSERT_GE(got.size(), want.size());
        EXPECT_EQ(got.substr(got.size() - want.size()), want);
        EXPECT_EQ(h.announced[numbers[i]], got.size());  // Dovecot: "+OK n octets", exact
    }
    c->noop();
    c->disconnect();
    remove(ids);
}

TEST(pop3_real_bulk, fifty_megabyte_message_streams_byte_exact) {
    const auto id = unique_id();
    const auto msg = make_message(id, 50u << 20);
    deliver(msg);
    await({id});
    auto c = session();
    const auto n = find(*c, id);
    ASSERT_TRUE(n);
    std::string got;
    got.reserve(msg.size() + 4096);
    std::size_t chunks = 0, largest = 0;
    std::uint64_t last_progress = 0;
    std::optional<std::uint64_t> total;
    c->on_progress([&](std::uint32_t, std::uint64_t received, std::optional<std::uint64_t> t) {
        EXPECT_GE(received, last_progress);
        last_progress = received;
        total = t;
    });
    const auto bytes = c->retr(*n, [&](std::string_view b) {
        got.append(b);
        ++chunks;
        largest = std::max(largest, b.size());
    });
    EXPECT_EQ(bytes, got.size());
    EXPECT_EQ(last_progress, got.size());
    EXPECT_EQ(total, got.size());
    ASSERT_GE(got.size(), msg.size());
    EXPECT_TRUE(got.compare(got.size() - msg.size(), msg.size(), msg) == 0) << "50 MB message not byte-exact";
    EXPECT_LE(largest, 64u * 1024) << "a chunk larger than the read buffer";
    EXPECT_GT(chunks, 100u);
    c->disconnect();
    remove({id});
}

TEST(pop3_real_utf8, utf8_when_advertised) {
    const auto& env = server_env::get();
    client c;
    c.tls().ca_file = env.str("CA_FILE");
    c.connect(env.str("HOST"), env.port("POP3S_PORT"), security::implicit_tls);
    if (c.capabilities().utf8) {
        c.utf8();
        EXPECT_TRUE(c.utf8_enabled());
    } else {
        EXPECT_THROW(c.utf8(), config_error);
    }
    c.authenticate(env.str("USER2"), env.str("PASS2"));
    c.noop();
    c.quit();
}

}  // namespace
}  // namespace mailwire::pop3
