// Whole-operation deadlines (issue #12 item 7): timeouts().io bounds each read, so a server that
// trickles one byte per interval or answers with "* OK still working" for ever would hold a call
// indefinitely; timeouts().greeting and timeouts().command bound the greeting and each command with
// its whole response. Bodies streamed to a sink earn time at timeouts().min_transfer_rate.
// Also the command-line gate (item 8): a line with CR, LF or NUL never reaches the server.
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "mailwire/imap/client.hpp"
#include "mailwire/pop3/client.hpp"
#include "mailwire/smtp/client.hpp"
#include "support/scripted_server.hpp"

namespace mailwire {
namespace {

using namespace std::chrono_literals;
using test::script;
using test::scripted_server;
using steady = std::chrono::steady_clock;

// Each single read gets a byte well within `io`; only a whole-operation deadline can end these.
template <class Client>
void short_deadlines(Client& c) {
    c.timeouts().connect = 2000ms;
    c.timeouts().greeting = 600ms;
    c.timeouts().io = 2000ms;
    c.timeouts().command = 600ms;
}

std::string text_of(const error& e) { return e.what(); }

// Generous: the deadlines are 600 ms, the scripts would run for 10 s or more without them.
constexpr auto upper_bound = 5s;

TEST(deadline, greeting_trickled_byte_by_byte_times_out) {
    scripted_server srv(script{}.trickle("* OK [CAPABILITY IMAP4rev1] " + std::string(200, 'x') + "\r\n", 50ms));
    imap::client c;
    short_deadlines(c);
    c.timeouts().greeting = 700ms;
    const auto t0 = steady::now();
    try {
        c.connect(srv.host(), srv.port(), security::none);
        FAIL() << "the trickled greeting was accepted";
    } catch (const timeout_error& e) {
        EXPECT_EQ(e.code(), errc::timeout);
        EXPECT_EQ(e.stage(), stage::greeting);
        EXPECT_NE(text_of(e).find("the greeting did not complete within 700 ms (timeouts().greeting)"),
                  std::string::npos)
            << e.what();
    }
    EXPECT_LT(steady::now() - t0, upper_bound);
    EXPECT_FALSE(c.is_connected());
    srv.stop();
}

TEST(deadline, smtp_multiline_greeting_trickled_line_by_line_times_out) {
    // Each line arrives quickly, but the 220 never ends: the greeting as a whole is bounded.
    scripted_server srv(script{}.send("220-mx.example ESMTP\r\n").repeat("220-still greeting\r\n", 30ms, 10s));
    smtp::client c;
    short_deadlines(c);
    const auto t0 = steady::now();
    EXPECT_THROW(c.connect(srv.host(), srv.port(), security::none), timeout_error);
    EXPECT_LT(steady::now() - t0, upper_bound);
    srv.stop();
}

TEST(deadline, imap_command_response_trickled_times_out) {
    scripted_server srv(script{}
                            .send("* PREAUTH [CAPABILITY IMAP4rev1] hi\r\n")
                            .expect_line_matching(R"(^(\S+) NOOP$)")
                            .trickle("$1 OK NOOP completed, slowly " + std::string(200, '.') + "\r\n", 50ms));
    imap::client c;
    short_deadlines(c);
    c.connect(srv.host(), srv.port(), security::none);
    const auto t0 = steady::now();
    try {
        c.noop();
        FAIL() << "the trickled response was accepted";
    } catch (const timeout_error& e) {
        EXPECT_EQ(e.code(), errc::timeout);
        EXPECT_NE(text_of(e).find("the NOOP response did not complete within 600 ms (timeouts().command)"),
                  std::string::npos)
            << e.what();
    }
    EXPECT_LT(steady::now() - t0, upper_bound);
    EXPECT_FALSE(c.is_connected());
    srv.stop();
}

TEST(deadline, imap_endless_untagged_stream_times_out) {
    scripted_server srv(script{}
                            .send("* PREAUTH [CAPABILITY IMAP4rev1] hi\r\n")
                            .expect_line_matching(R"(^(\S+) NOOP$)")
                            .repeat("* OK still working\r\n", 10ms, 15s));
    imap::client c;
    short_deadlines(c);
    c.connect(srv.host(), srv.port(), security::none);
    const auto t0 = steady::now();
    try {
        c.noop();
        FAIL() << "an endless response completed";
    } catch (const timeout_error& e) {
        EXPECT_NE(text_of(e).find("the NOOP response did not complete"), std::string::npos) << e.what();
    }
    EXPECT_LT(steady::now() - t0, upper_bound);
    srv.stop();
}

TEST(deadline, pop3_multiline_reply_trickled_in_the_middle_times_out) {
    scripted_server srv(script{}
                            .send("+OK ready\r\n")
                            .expect_line("CAPA")
                            .send("+OK\r\nUIDL\r\n.\r\n")
                            .expect_line("UIDL")
                            .send("+OK\r\n1 first\r\n2 second\r\n")
                            .trickle("3 " + std::string(300, 'u') + "\r\n.\r\n", 40ms));
    pop3::client c;
    short_deadlines(c);
    c.connect(srv.host(), srv.port(), security::none);
    const auto t0 = steady::now();
    try {
        (void)c.uidl();
        FAIL() << "the trickled listing was accepted";
    } catch (const timeout_error& e) {
        EXPECT_NE(text_of(e).find("the UIDL response did not complete within 600 ms"), std::string::npos) << e.what();
    }
    EXPECT_LT(steady::now() - t0, upper_bound);
    EXPECT_FALSE(c.is_connected());
    srv.stop();
}

TEST(deadline, smtp_multiline_reply_trickled_in_the_middle_times_out) {
    scripted_server srv(script{}
                            .send("220 mx.example ESMTP\r\n")
                            .expect_line_matching("^EHLO ")
                            .send("250-mx.example\r\n250-PIPELINING\r\n")
                            .trickle("250-" + std::string(300, 'x') + "\r\n250 SIZE 1000\r\n", 40ms));
    smtp::client c;
    short_deadlines(c);
    const auto t0 = steady::now();
    try {
        c.connect(srv.host(), srv.port(), security::none);
        FAIL() << "the trickled EHLO reply was accepted";
    } catch (const timeout_error& e) {
        EXPECT_NE(text_of(e).find("the EHLO response did not complete"), std::string::npos) << e.what();
    }
    EXPECT_LT(steady::now() - t0, upper_bound);
    srv.stop();
}

TEST(deadline, a_deadline_is_per_command_not_per_session) {
    // Several commands, each quick, together longer than timeouts().command: all succeed.
    script s;
    s.send("* PREAUTH [CAPABILITY IMAP4rev1] hi\r\n");
    for (int i = 0; i < 4; ++i) s.expect_line_matching(R"(^(\S+) NOOP$)").stall(250ms).send("$1 OK NOOP completed\r\n");
    scripted_server srv(s);
    imap::client c;
    short_deadlines(c);
    c.connect(srv.host(), srv.port(), security::none);
    for (int i = 0; i < 4; ++i) EXPECT_NO_THROW(c.noop());
    EXPECT_TRUE(c.is_connected());
    c.disconnect(false);
    srv.stop();
}

// A body streamed to a sink earns time: 40 KiB over ~1.4 s against a 600 ms command budget.
script slow_body(std::size_t chunks, std::size_t chunk) {
    script s;
    s.send("* PREAUTH [CAPABILITY IMAP4rev1] hi\r\n")
        .expect_line_matching(R"(^(\S+) UID FETCH 7 )")
        .send("* 1 FETCH (UID 7 BODY[] {" + std::to_string(chunks * chunk) + "}\r\n");
    std::vector<std::string> parts(chunks, std::string(chunk, 'b'));
    s.send_split(parts, 150ms).send(")\r\n$1 OK FETCH completed\r\n");
    return s;
}

TEST(deadline, slow_but_moving_streamed_body_survives) {
    scripted_server srv(slow_body(10, 4096));
    imap::client c;
    short_deadlines(c);
    c.timeouts().min_transfer_rate = 16384;  // 40 KiB earn 2.5 s
    c.connect(srv.host(), srv.port(), security::none);
    std::uint64_t got = 0;
    EXPECT_EQ(c.fetch_body(7, [&](std::string_view b) { got += b.size(); }), 40960u);
    EXPECT_EQ(got, 40960u);
    EXPECT_TRUE(c.is_connected());
    c.disconnect(false);
    srv.stop();
}

TEST(deadline, streamed_body_without_transfer_credit_times_out) {
    // The same transfer with min_transfer_rate = 0: the body earns nothing, the budget runs out.
    scripted_server srv(slow_body(10, 4096));
    imap::client c;
    short_deadlines(c);
    c.timeouts().min_transfer_rate = 0;
    c.connect(srv.host(), srv.port(), security::none);
    const auto t0 = steady::now();
    EXPECT_THROW(c.fetch_body(7, [](std::string_view) {}), timeout_error);
    EXPECT_LT(steady::now() - t0, upper_bound);
    srv.stop();
}

TEST(deadline, zero_command_timeout_means_only_the_per_read_bound) {
    scripted_server srv(script{}
                            .send("* PREAUTH [CAPABILITY IMAP4rev1] hi\r\n")
                            .expect_line_matching(R"(^(\S+) NOOP$)")
                            .send("* OK working\r\n")
                            .stall(900ms)
                            .send("$1 OK NOOP completed\r\n"));
    imap::client c;
    short_deadlines(c);
    c.timeouts().command = 0ms;
    c.connect(srv.host(), srv.port(), security::none);
    EXPECT_NO_THROW(c.noop());
    c.disconnect(false);
    srv.stop();
}

TEST(deadline, endless_sasl_challenges_end_the_exchange) {
    // Every client write restarts the command deadline, so a server must not be able to make the
    // client write for ever: challenges are capped, and "*" (cancel) is sent once.
    scripted_server srv(script{}
                            .send("+OK ready\r\n")
                            .expect_line("CAPA")
                            .send("+OK\r\nSASL CRAM-MD5\r\n.\r\n")
                            .expect_line("AUTH CRAM-MD5")
                            .repeat("+ PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UuZXhhbXBsZS5uZXQ+\r\n", 5ms, 15s));
    pop3::client c;
    short_deadlines(c);
    c.connect(srv.host(), srv.port(), security::none);
    const auto t0 = steady::now();
    EXPECT_THROW(c.authenticate(sasl::credentials{"alice", "secret", {}, {}, {}, 0}), protocol_error);
    EXPECT_LT(steady::now() - t0, upper_bound);
    EXPECT_FALSE(c.is_connected());
    srv.stop();
}

TEST(deadline, tls_handshake_trickled_times_out_as_a_whole) {
    // A TLS record header announcing 16 KiB, then one byte per 50 ms: every read gets something,
    // the handshake as a whole is bounded by timeouts().greeting.
    scripted_server srv(script{}.trickle(std::string("\x16\x03\x03\x40\x00", 5) + std::string(300, 'A'), 50ms));
    imap::client c;
    short_deadlines(c);
    const auto t0 = steady::now();
    try {
        c.connect(srv.host(), srv.port(), security::implicit_tls);
        FAIL() << "the trickled handshake succeeded";
    } catch (const timeout_error& e) {
        EXPECT_EQ(e.stage(), stage::tls_handshake) << e.what();
    }
    EXPECT_LT(steady::now() - t0, upper_bound);
    srv.stop();
}

// ---- the command-line gate (item 8) ------------------------------------------------------------

struct pop3_probe : pop3::client {
    using client_base::send_line;
    using client_base::send_line_masked;
};

TEST(command_gate, lines_with_cr_lf_or_nul_are_refused_before_sending) {
    scripted_server srv(script{}
                            .send("+OK ready\r\n")
                            .expect_line("CAPA")
                            .send("+OK\r\nUIDL\r\n.\r\n")
                            .expect_line("NOOP")
                            .send("+OK\r\n")
                            .expect_eof());
    pop3_probe c;
    short_deadlines(c);
    std::vector<std::string> logged;
    c.set_logger([&](log_direction d, std::string_view l) {
        if (d == log_direction::client) logged.emplace_back(l);
    });
    c.connect(srv.host(), srv.port(), security::none);
    const std::vector<std::string> bad = {"NOOP\r\nDELE 1", "NOOP\nDELE 1", "NOOP\rDELE 1",
                                          std::string("NOOP\0DELE 1", 11), "\r\n"};
    for (const auto& line : bad) {
        try {
            c.send_line(line);
            FAIL() << "sent a line with a control character";
        } catch (const error& e) {
            EXPECT_EQ(e.code(), errc::invalid_argument);
            EXPECT_EQ(e.stage(), stage::command);
        }
        try {
            c.send_line_masked(line, "PASS ****");
            FAIL() << "sent a masked line with a control character";
        } catch (const error& e) {
            EXPECT_EQ(e.code(), errc::invalid_argument);
        }
    }
    // Nothing was sent or logged, and the session is still in step with the server.
    EXPECT_TRUE(c.is_connected());
    EXPECT_EQ(logged, std::vector<std::string>{"CAPA"});
    c.noop();
    c.disconnect(false);
    EXPECT_EQ(srv.wait(), "");
    EXPECT_EQ(srv.received().find("DELE"), std::string::npos);
    EXPECT_EQ(srv.received(), "CAPA\r\nNOOP\r\n");
}

}  // namespace
}  // namespace mailwire
