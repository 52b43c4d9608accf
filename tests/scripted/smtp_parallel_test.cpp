// smtp::send_parallel against smtp_sink (many connections at once, a message's headers choose its
// fate) and the scripted server: every message arrives exactly once, outcomes come in input order
// even when a later message finishes first, a connection that closes mid-batch fails exactly the
// messages it had in hand and the others carry on, a failed connect loses no message. Plus the
// rule under it: client::send_many gives every message `next` handed out exactly one outcome.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "mailwire/smtp/parallel.hpp"
#include "scripted_helpers.hpp"
#include "support/scripted_server.hpp"
#include "support/smtp_sink.hpp"

namespace mailwire::smtp {
namespace {

using namespace std::chrono_literals;
using test::script;
using test::scripted_server;
using test::smtp_sink;

connect_function connect_to(const smtp_sink& sink) {
    return [&sink](std::size_t) {
        auto c = std::make_unique<client>();
        c->timeouts().greeting = 5s;
        c->timeouts().io = 5s;
        c->connect("127.0.0.1", sink.port(), security::none);
        return c;
    };
}

// Message i: a unique marker in its Message-ID, and `extra` header lines.
std::string message(std::size_t i, const std::string& extra = {}) {
    return "From: a@x\r\nTo: b@x\r\n" + extra + "Message-ID: <par-" + std::to_string(i) +
           "@mailwire.test>\r\n\r\nmessage " + std::to_string(i) + "\r\n";
}

// Which message a sink record is (-1: none of ours).
int marker_of(const std::string& data) {
    const auto p = data.find("<par-");
    return p == std::string::npos ? -1 : std::stoi(data.substr(p + 5));
}

struct run {
    std::vector<batch_outcome> outcomes;
    parallel_summary summary;
};

// Sends bodies[i] for every i over `connections` connections; outcomes in the order `done` got them.
run send_all(const connect_function& connect, const std::vector<std::string>& bodies, std::size_t connections) {
    run r;
    std::size_t i = 0;
    r.summary = send_parallel(
        connect,
        [&](outgoing& m) {
            if (i == bodies.size()) return false;
            m.env = envelope{"a@x", {"b@x"}};
            m.message = memory_source(bodies[i++]);
            return true;
        },
        connections, [&](batch_outcome&& o) { r.outcomes.push_back(std::move(o)); });
    return r;
}

// Each message of ours the sink took, with how many times.
std::map<int, int> taken(const smtp_sink& sink) {
    std::map<int, int> n;
    for (const auto& m : sink.messages()) ++n[marker_of(m.data)];
    return n;
}

void expect_input_order(const std::vector<batch_outcome>& outcomes, std::size_t n) {
    ASSERT_EQ(outcomes.size(), n);
    for (std::size_t i = 0; i < n; ++i) EXPECT_EQ(outcomes[i].index, i);
}

TEST(smtp_parallel, every_message_arrives_once_over_every_connection) {
    smtp_sink sink;
    std::vector<std::string> bodies;
    for (std::size_t i = 0; i < 300; ++i) bodies.push_back(message(i));
    const auto r = send_all(connect_to(sink), bodies, 3);
    expect_input_order(r.outcomes, bodies.size());
    for (const auto& o : r.outcomes) EXPECT_TRUE(o.ok());
    const auto n = taken(sink);
    ASSERT_EQ(n.size(), bodies.size());
    for (const auto& [id, count] : n) EXPECT_EQ(count, 1) << "message " << id;
    // A connection opens for a message already in hand, so each of the three carried some.
    EXPECT_EQ(sink.connections(), 3);
    EXPECT_EQ(r.summary.opened, 3u);
    std::set<int> used;
    for (const auto& m : sink.messages()) used.insert(m.connection);
    EXPECT_EQ(used.size(), 3u);
    EXPECT_EQ(r.summary.messages, bodies.size());
    for (const auto& e : r.summary.errors) EXPECT_FALSE(e);
}

TEST(smtp_parallel, outcomes_come_in_input_order_when_a_later_message_finishes_first) {
    // No CHUNKING: one message at a time per connection. Message 0 is answered after 700 ms; the
    // other connection meanwhile sends 1 … 5, which the sink takes first.
    smtp_sink sink(false);
    std::vector<std::string> bodies{message(0, "X-Sink-Delay: 700\r\n")};
    for (std::size_t i = 1; i < 6; ++i) bodies.push_back(message(i));
    const auto r = send_all(connect_to(sink), bodies, 2);
    expect_input_order(r.outcomes, bodies.size());
    for (const auto& o : r.outcomes) EXPECT_TRUE(o.ok());
    const auto got = sink.messages();
    ASSERT_EQ(got.size(), bodies.size());
    EXPECT_EQ(marker_of(got.back().data), 0) << "message 0 was not the last to finish";
}

TEST(smtp_parallel, a_connection_closing_mid_batch_fails_exactly_its_message) {
    // One at a time per connection: the connection that takes message 3 is closed instead of an
    // answer; message 3 fails with that error, every other message goes over the other connection.
    smtp_sink sink(false);
    std::vector<std::string> bodies;
    for (std::size_t i = 0; i < 10; ++i) bodies.push_back(message(i, i == 3 ? "X-Sink-Close: yes\r\n" : ""));
    const auto r = send_all(connect_to(sink), bodies, 2);
    expect_input_order(r.outcomes, bodies.size());
    for (std::size_t i = 0; i < bodies.size(); ++i) EXPECT_EQ(r.outcomes[i].ok(), i != 3) << "message " << i;
    try {
        std::rethrow_exception(r.outcomes[3].error);
    } catch (const error& e) {
        EXPECT_EQ(e.code(), errc::connection_closed) << e.what();
    }
    const auto n = taken(sink);
    EXPECT_EQ(n.count(3), 0u);
    EXPECT_EQ(n.size(), bodies.size() - 1);
    for (const auto& [id, count] : n) EXPECT_EQ(count, 1) << "message " << id;
    ASSERT_EQ(r.summary.errors.size(), 2u);
    EXPECT_EQ(static_cast<int>(static_cast<bool>(r.summary.errors[0])) +
                  static_cast<int>(static_cast<bool>(r.summary.errors[1])),
              1);
}

TEST(smtp_parallel, a_pipelined_connection_closing_reports_what_arrived_and_nothing_else) {
    // Pipelined: the closed connection had several messages on the wire. What it reports as sent
    // is exactly what the sink took, each once; the message that closed it is among the failed.
    smtp_sink sink;
    std::vector<std::string> bodies;
    for (std::size_t i = 0; i < 400; ++i) bodies.push_back(message(i, i == 150 ? "X-Sink-Close: yes\r\n" : ""));
    const auto r = send_all(connect_to(sink), bodies, 3);
    expect_input_order(r.outcomes, bodies.size());
    const auto n = taken(sink);
    for (const auto& [id, count] : n) EXPECT_EQ(count, 1) << "message " << id;
    std::size_t failed = 0;
    for (std::size_t i = 0; i < bodies.size(); ++i) {
        const bool arrived = n.count(static_cast<int>(i)) != 0;
        EXPECT_EQ(r.outcomes[i].ok(), arrived) << "message " << i;
        if (!r.outcomes[i].ok()) ++failed;
    }
    EXPECT_FALSE(r.outcomes[150].ok());
    EXPECT_LE(failed, 64u) << "only what one pipeline holds can fail";
}

TEST(smtp_parallel, more_connections_than_messages_opens_no_idle_session) {
    smtp_sink sink;
    const auto r = send_all(connect_to(sink), {message(0), message(1)}, 8);
    expect_input_order(r.outcomes, 2);
    for (const auto& o : r.outcomes) EXPECT_TRUE(o.ok());
    EXPECT_GE(sink.connections(), 1);
    EXPECT_LE(sink.connections(), 2);
    EXPECT_EQ(r.summary.opened, static_cast<std::size_t>(sink.connections()));
    EXPECT_EQ(r.summary.errors.size(), 8u);
}

TEST(smtp_parallel, zero_connections_is_refused_before_anything) {
    bool asked = false;
    try {
        send_parallel(
            [&](std::size_t) -> std::unique_ptr<client> {
                asked = true;
                return nullptr;
            },
            [&](outgoing&) {
                asked = true;
                return false;
            },
            0, [](batch_outcome&&) {});
        ADD_FAILURE() << "accepted 0 connections";
    } catch (const error& e) {
        EXPECT_EQ(e.code(), errc::invalid_argument);
    }
    EXPECT_FALSE(asked);
}

TEST(smtp_parallel, a_failed_connect_hands_its_message_to_another_connection) {
    smtp_sink sink;
    const auto good = connect_to(sink);
    const connect_function flaky = [&](std::size_t k) -> std::unique_ptr<client> {
        if (k != 0) throw error(errc::connect_failed, "connection refused (test)");
        std::this_thread::sleep_for(200ms);  // the others take their first message and fail meanwhile
        return good(k);
    };
    std::vector<std::string> bodies;
    for (std::size_t i = 0; i < 40; ++i) bodies.push_back(message(i));
    const auto r = send_all(flaky, bodies, 3);
    expect_input_order(r.outcomes, bodies.size());
    for (const auto& o : r.outcomes) EXPECT_TRUE(o.ok());
    EXPECT_EQ(taken(sink).size(), bodies.size());
    EXPECT_EQ(r.summary.opened, 1u);
    EXPECT_FALSE(r.summary.errors[0]);
    EXPECT_TRUE(r.summary.errors[1]);
    EXPECT_TRUE(r.summary.errors[2]);
}

TEST(smtp_parallel, every_connect_failing_reports_what_was_handed_out_and_throws) {
    std::vector<batch_outcome> outcomes;
    std::size_t handed = 0;
    try {
        send_parallel([](std::size_t) -> std::unique_ptr<client> { throw error(errc::connect_failed, "refused"); },
                      [&](outgoing& m) {
                          m.env = envelope{"a@x", {"b@x"}};
                          m.message = memory_source("x\r\n");
                          ++handed;
                          return true;  // an endless source: only the failure stops it
                      },
                      3, [&](batch_outcome&& o) { outcomes.push_back(std::move(o)); });
        ADD_FAILURE() << "no error";
    } catch (const error& e) {
        EXPECT_EQ(e.code(), errc::connect_failed);
    }
    // Each connection took one message before connecting; each of those got an outcome.
    EXPECT_GE(handed, 1u);
    EXPECT_LE(handed, 3u);
    expect_input_order(outcomes, handed);
    for (const auto& o : outcomes) EXPECT_FALSE(o.ok());
}

TEST(smtp_parallel, an_exception_from_next_stops_after_answering_the_wire) {
    smtp_sink sink;
    std::vector<batch_outcome> outcomes;
    std::size_t i = 0;
    EXPECT_THROW(send_parallel(
                     connect_to(sink),
                     [&](outgoing& m) {
                         if (i == 50) throw std::runtime_error("the caller's source failed");
                         m.env = envelope{"a@x", {"b@x"}};
                         m.message = memory_source(std::string_view("x\r\n"));
                         ++i;
                         return true;
                     },
                     2, [&](batch_outcome&& o) { outcomes.push_back(std::move(o)); }),
                 std::runtime_error);
    expect_input_order(outcomes, 50);
    for (const auto& o : outcomes) EXPECT_TRUE(o.ok());
}

// ---- client::send_many: one outcome per message handed out -----------------------------------

TEST(smtp_parallel, send_many_reports_the_message_a_421_ended_the_session_on) {
    // Without CHUNKING each message goes alone (MAIL, RCPT, DATA); the server closes at DATA with
    // 421. The message in hand gets that outcome before the error is thrown.
    scripted_server srv(script{}
                            .send("220 scripted ESMTP\r\n")
                            .expect_line_matching("^EHLO ")
                            .send("250-scripted\r\n250 8BITMIME\r\n")
                            .expect_line_matching("^MAIL FROM:<a@x>")
                            .send("250 ok\r\n")
                            .expect_line("RCPT TO:<b@x>")
                            .send("250 ok\r\n")
                            .expect_line("DATA")
                            .send("421 4.3.2 shutting down\r\n")
                            .close());
    client c;
    test::connect(c, srv);
    std::vector<batch_outcome> out;
    int handed = 0;
    try {
        c.send_many(
            [&](outgoing& m) {
                if (handed == 2) return false;
                ++handed;
                m.env = envelope{"a@x", {"b@x"}};
                m.message = memory_source("x\r\n");
                return true;
            },
            [&](batch_outcome&& o) { out.push_back(std::move(o)); });
        ADD_FAILURE() << "no error";
    } catch (const smtp_error& e) {
        EXPECT_EQ(e.status(), 421);
    }
    EXPECT_EQ(handed, 1);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].index, 0u);
    EXPECT_FALSE(out[0].ok());
    EXPECT_EQ(srv.wait(), "");
}

}  // namespace
}  // namespace mailwire::smtp
