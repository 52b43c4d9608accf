// SMTP against hostile input (issue #12 items 6 and 8): no envelope value, EHLO name or raw
// command can put a line break on the wire (each is refused with a typed invalid_argument naming
// it, nothing is sent and the session goes on), and a reply — greeting or EHLO — is bounded by
// limits() in lines and bytes, ending the connection with protocol_error(limit_exceeded).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "mailwire/smtp/client.hpp"
#include "mailwire/smtp/data.hpp"
#include "scripted_helpers.hpp"
#include "support/scripted_server.hpp"

namespace mailwire::smtp {
namespace {

using namespace std::chrono_literals;
using test::connect;
using test::expect_refused;
using test::script;
using test::scripted_server;

script ehlo(const std::string& keywords) {
    return std::move(script{}
                         .send("220 scripted ESMTP\r\n")
                         .expect_line_matching("^EHLO ")
                         .send("250-scripted\r\n" + keywords + "250 8BITMIME\r\n"));
}

template <class F>
void expect_limit(client& c, F&& f, const std::string& limit) {
    try {
        f();
        ADD_FAILURE() << "no limit hit";
    } catch (const protocol_error& e) {
        EXPECT_EQ(e.code(), errc::limit_exceeded) << e.what();
        EXPECT_NE(e.detail().find(limit), std::string::npos) << e.detail();
    }
    EXPECT_FALSE(c.is_connected());
}

// ---- injection ---------------------------------------------------------------------------------

TEST(smtp_hostile, ehlo_name_is_checked_when_set) {
    client c;
    expect_refused([&] { c.set_ehlo_name("client.example\r\nMAIL FROM:<x@evil>"); }, "EHLO name");
    expect_refused([&] { c.set_ehlo_name(std::string("client\0x", 8)); }, "EHLO name");
    expect_refused([&] { c.set_ehlo_name("client.example RCPT"); }, "EHLO name");
    expect_refused([&] { c.set_ehlo_name("client\texample"); }, "EHLO name");
    c.set_ehlo_name("client.example");
    expect_refused([&] { c.set_ehlo_name("bad\nname"); }, "EHLO name");
    // The refused value left the previous name in place.
    scripted_server srv(script{}
                            .send("220 scripted ESMTP\r\n")
                            .expect_line("EHLO client.example")
                            .send("250 scripted\r\n")
                            .expect_line("QUIT")
                            .send("221 bye\r\n"));
    connect(c, srv);
    c.disconnect();
    EXPECT_EQ(srv.wait(), "");
}

TEST(smtp_hostile, envelope_values_with_line_breaks_send_nothing) {
    // DSN offered, so NOTIFY, ENVID and ORCPT would all be sent if they got through.
    scripted_server srv(ehlo("250-DSN\r\n")
                            .expect_line("NOOP")
                            .send("250 ok\r\n")
                            .expect_line("MAIL FROM:<a@x> ENVID=id+2B1")
                            .send("250 ok\r\n")
                            .expect_line("RCPT TO:<b@x> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b@x")
                            .send("250 ok\r\n")
                            .expect_line("DATA")
                            .send("354 go\r\n")
                            .read_dot_body()
                            .send("250 queued\r\n")
                            .expect_line("QUIT")
                            .send("221 bye\r\n"));
    client c;
    connect(c, srv);
    auto env = [] {
        envelope e{"a@x", {"b@x"}};
        e.notify = "SUCCESS,FAILURE";
        e.envid = "id+1";
        e.orcpt = true;
        return e;
    };
    const std::string msg = "Subject: s\r\n\r\nhi\r\n";
    {
        auto e = env();
        e.from = "a@x>\r\nRCPT TO:<evil@x";
        expect_refused([&] { c.send(e, msg); }, "envelope.from");
    }
    {
        auto e = env();
        e.from = std::string("a@x\0", 4);
        expect_refused([&] { c.send(e, msg); }, "envelope.from");
    }
    {
        auto e = env();
        e.to.push_back("c@x\r\nDATA");
        expect_refused([&] { c.send(e, msg); }, "envelope.to[1]");
    }
    {
        auto e = env();
        e.to.push_back("c@x\x1b[2J");  // other controls have no place in an address either
        expect_refused([&] { c.send(e, msg); }, "envelope.to[1]");
    }
    {
        auto e = env();
        e.to[0] = "b@x> NOTIFY=NEVER";
        expect_refused([&] { c.send(e, msg); }, "envelope.to[0]");
    }
    {
        auto e = env();
        e.notify = "SUCCESS\r\nRSET";
        expect_refused([&] { c.send(e, msg); }, "envelope.notify");
    }
    for (const char* bad : {"SUCCESS ORCPT=rfc822;x@y", "NEVER,SUCCESS", "SUCCESS,", "ALWAYS", ",DELAY"}) {
        auto e = env();
        e.notify = bad;
        expect_refused([&] { c.send(e, msg); }, "envelope.notify");
    }
    {
        auto e = env();
        e.envid = "id\r\nRSET";
        expect_refused([&] { c.send(e, msg); }, "envelope.envid");
    }
    expect_refused([&] { (void)c.vrfy("bob\r\nRSET"); }, "VRFY");
    expect_refused([&] { (void)c.exchange("NOOP\r\nRSET"); }, "command line");
    EXPECT_TRUE(c.is_connected());
    c.noop();
    // A well-formed envelope still goes through, with every DSN parameter.
    const auto r = c.send(env(), msg);
    EXPECT_EQ(r.final_reply.code, 250);
    c.disconnect();
    EXPECT_EQ(srv.wait(), "");
    EXPECT_EQ(srv.received().find("evil"), std::string::npos);
    EXPECT_EQ(srv.received().find("RSET"), std::string::npos);
}

TEST(smtp_hostile, pipelined_send_checks_every_line_before_the_first_write) {
    scripted_server srv(ehlo("250-PIPELINING\r\n250-DSN\r\n")
                            .expect_line("MAIL FROM:<a@x>")
                            .expect_line("RCPT TO:<b@x>")
                            .expect_line("RCPT TO:<\"john doe\"@x>")
                            .expect_line("DATA")
                            .send("250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n")
                            .read_dot_body()
                            .send("250 queued\r\n")
                            .expect_line("QUIT")
                            .send("221 bye\r\n"));
    client c;
    connect(c, srv);
    envelope bad{"a@x", {"b@x", "c@x", std::string("d@x\0", 4)}};
    expect_refused([&] { c.send(bad, "x\r\n"); }, "envelope.to[2]");
    envelope spaced{"a@x", {"b@x", "\"john doe\" SIZE=1@x"}};  // a space after the quoted part
    expect_refused([&] { c.send(spaced, "x\r\n"); }, "envelope.to[1]");
    // A space inside a quoted local part is legal (RFC 5321 §4.1.2).
    const auto r = c.send(envelope{"a@x", {"b@x", "\"john doe\"@x"}}, "x\r\n");
    EXPECT_EQ(r.accepted(), 2u);
    c.disconnect();
    EXPECT_EQ(srv.wait(), "");
}

TEST(smtp_hostile, send_many_refuses_a_bad_message_and_goes_on) {
    // PIPELINING + CHUNKING: small messages go as MAIL, RCPT, "BDAT n LAST" in one write.
    scripted_server srv(ehlo("250-PIPELINING\r\n250-CHUNKING\r\n")
                            .expect_line("MAIL FROM:<a@x>")
                            .expect_line("RCPT TO:<b@x>")
                            .expect_line("BDAT 3 LAST")
                            .expect_exact("1\r\n")
                            .send("250 ok\r\n250 ok\r\n250 queued 1\r\n")
                            .expect_line("MAIL FROM:<a@x>")
                            .expect_line("RCPT TO:<c@x>")
                            .expect_line("BDAT 3 LAST")
                            .expect_exact("3\r\n")
                            .send("250 ok\r\n250 ok\r\n250 queued 3\r\n")
                            .expect_line("QUIT")
                            .send("221 bye\r\n"));
    client c;
    connect(c, srv);
    std::vector<outgoing> batch(3);
    batch[0].env = envelope{"a@x", {"b@x"}};
    batch[0].message = memory_source("1\r\n");
    batch[1].env = envelope{"a@x", {"evil@x\r\nRCPT TO:<more@x>"}};
    batch[1].message = memory_source("2\r\n");
    batch[2].env = envelope{"a@x", {"c@x"}};
    batch[2].message = memory_source("3\r\n");
    const auto out = c.send_many(std::move(batch));
    ASSERT_EQ(out.size(), 3u);
    EXPECT_TRUE(out[0].ok());
    ASSERT_FALSE(out[1].ok());
    try {
        std::rethrow_exception(out[1].error);
    } catch (const error& e) {
        EXPECT_EQ(e.code(), errc::invalid_argument);
        EXPECT_NE(e.detail().find("envelope.to[0]"), std::string::npos) << e.detail();
    }
    EXPECT_TRUE(out[2].ok());
    c.disconnect();
    EXPECT_EQ(srv.wait(), "");
    EXPECT_EQ(srv.received().find("evil"), std::string::npos);
}

// ---- bounded replies ---------------------------------------------------------------------------

std::string continuation_lines(int n, std::size_t width, const std::string& code = "250") {
    std::string out;
    for (int i = 0; i < n; ++i) {
        std::string kw = "X-KEYWORD-" + std::to_string(i);
        kw.resize(std::max(kw.size(), width), 'x');
        out += code + "-" + kw + "\r\n";
    }
    return out;
}

TEST(smtp_hostile, giant_ehlo_many_lines) {
    scripted_server srv(ehlo(continuation_lines(300, 0)).stall(3s));
    client c;
    c.limits().max_list_items = 100;
    expect_limit(
        c, [&] { connect(c, srv); }, "max_list_items");
    srv.stop();  // the client hung up, possibly with bytes unread
}

TEST(smtp_hostile, giant_ehlo_beyond_4096_lines_with_default_limits) {
    scripted_server srv(ehlo(continuation_lines(5000, 0)).stall(3s));
    client c;
    expect_limit(
        c, [&] { connect(c, srv); }, "4096");
    srv.stop();  // the client hung up, possibly with bytes unread
}

TEST(smtp_hostile, giant_ehlo_one_huge_line) {
    scripted_server srv(ehlo("250-" + std::string(200'000, 'A') + "\r\n").stall(3s));
    client c;
    c.limits().max_line_length = 64 * 1024;
    expect_limit(
        c, [&] { connect(c, srv); }, "bytes");
    srv.stop();  // the client hung up, possibly with bytes unread
}

TEST(smtp_hostile, giant_ehlo_total_bytes_over_max_multiline_bytes) {
    // Every line is short and there are few of them; only the total is too much.
    scripted_server srv(ehlo(continuation_lines(40, 200)).stall(3s));
    client c;
    c.limits().max_multiline_bytes = 4096;
    expect_limit(
        c, [&] { connect(c, srv); }, "max_multiline_bytes");
    srv.stop();  // the client hung up, possibly with bytes unread
}

TEST(smtp_hostile, endless_greeting_is_bounded_too) {
    scripted_server srv(script{}.send(continuation_lines(200, 100, "220")).stall(3s));
    client c;
    c.limits().max_multiline_bytes = 8192;
    expect_limit(
        c, [&] { connect(c, srv); }, "max_multiline_bytes");
    srv.stop();  // the client hung up, possibly with bytes unread
}

TEST(smtp_hostile, auth_mechanism_flood) {
    std::string mechs;
    for (int i = 0; i < 300; ++i) mechs += " X-MECH-" + std::to_string(i);
    scripted_server srv(ehlo("250-AUTH" + mechs + "\r\n").stall(3s));
    client c;
    c.limits().max_list_items = 100;
    expect_limit(
        c, [&] { connect(c, srv); }, "max_list_items");
    srv.stop();  // the client hung up, possibly with bytes unread
}

TEST(smtp_hostile, a_reply_at_the_limits_is_fine) {
    const std::string lines = continuation_lines(20, 0);
    scripted_server srv(ehlo(lines).expect_line("QUIT").send("221 bye\r\n"));
    client c;
    c.limits().max_list_items = 22;  // 1 greeting-name line + 20 keywords + 8BITMIME
    connect(c, srv);
    EXPECT_TRUE(c.capabilities().eight_bit_mime);
    EXPECT_TRUE(c.capabilities().has("X-KEYWORD-19"));
    c.disconnect();
    EXPECT_EQ(srv.wait(), "");
}

// ---- what MAIL FROM says about the message (issue #13 item 8) ------------------------------------

script ehlo_exact(const std::string& keywords) {
    return std::move(script{}
                         .send("220 scripted ESMTP\r\n")
                         .expect_line_matching("^EHLO ")
                         .send("250-scripted\r\n" + keywords + "250 HELP\r\n"));
}

// MAIL, RCPT, DATA one at a time, the body read up to its dot; then QUIT.
script& one_transaction(script& s, const std::string& mail, const std::string& rcpt) {
    return s.expect_line(mail)
        .send("250 ok\r\n")
        .expect_line(rcpt)
        .send("250 ok\r\n")
        .expect_line("DATA")
        .send("354 go\r\n")
        .read_dot_body()
        .send("250 2.0.0 Ok: queued as 4QX1Z\r\n");
}

TEST(smtp_compose, size_counts_line_ends_as_crlf) {
    // RFC 1870 §4: SIZE= is the message as transmitted, each line end a CRLF. A message with LF
    // line ends used to be announced with its LF size. Three ways: read whole before MAIL FROM,
    // a large message in memory, a large file.
    const std::string small = "Subject: s\nX: y\n\nline one\nline two";  // 4 LF, an open last line
    const std::string small_wire = "SIZE=" + std::to_string(small.size() + 4 + 2);
    std::string large;
    for (int i = 0; i < 3000; ++i) large += std::string(99, 'a') + "\n";  // 300000 bytes, over 256 KiB
    const std::string large_wire = "SIZE=303000";
    const std::string path = ::testing::TempDir() + "/mw_size_lf.eml";
    {
        std::ofstream out(path, std::ios::binary);
        out << large;
    }
    script s = ehlo_exact("250-SIZE 10000000\r\n250-8BITMIME\r\n");
    one_transaction(s, "MAIL FROM:<a@x> " + small_wire, "RCPT TO:<b@x>");
    one_transaction(s, "MAIL FROM:<a@x> " + large_wire, "RCPT TO:<b@x>");
    one_transaction(s, "MAIL FROM:<a@x> " + large_wire, "RCPT TO:<b@x>");
    s.expect_line("QUIT").send("221 bye\r\n");
    scripted_server srv(s);
    client c;
    c.use_pipelining(false);
    connect(c, srv);
    const envelope env{"a@x", {"b@x"}};
    EXPECT_EQ(c.send(env, small).bytes, small.size());
    EXPECT_EQ(c.send(env, large).bytes, large.size());
    auto file = file_source(path);
    EXPECT_EQ(file->transmitted_size(), 303000u);
    EXPECT_EQ(c.send(env, *file).bytes, large.size());
    c.disconnect();
    EXPECT_EQ(srv.wait(), "");
    std::remove(path.c_str());
    EXPECT_EQ(transmitted_size("a\r\nb\rc\n"), 9u);
    EXPECT_EQ(transmitted_size(""), 0u);
}

TEST(smtp_compose, size_counts_crlf_in_a_pipelined_batch) {
    const std::string msg = "Subject: s\n\nbody\n";  // 17 bytes, 3 LF → 20
    scripted_server srv(ehlo_exact("250-SIZE 10000000\r\n250-PIPELINING\r\n250-CHUNKING\r\n")
                            .expect_line("MAIL FROM:<a@x> SIZE=20")
                            .expect_line("RCPT TO:<b@x>")
                            .expect_line("BDAT 20 LAST")
                            .expect_exact("Subject: s\r\n\r\nbody\r\n")
                            .send("250 ok\r\n250 ok\r\n250 2.0.0 Ok: queued as 4QX1Z\r\n")
                            .expect_line("QUIT")
                            .send("221 bye\r\n"));
    client c;
    connect(c, srv);
    std::vector<outgoing> batch(1);
    batch[0].env = envelope{"a@x", {"b@x"}};
    batch[0].message = memory_source(msg);
    const auto out = c.send_many(std::move(batch));
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(out[0].ok());
    EXPECT_EQ(queue_id(out[0].result.final_reply), "4QX1Z");
    c.disconnect();
    EXPECT_EQ(srv.wait(), "");
}

TEST(smtp_compose, utf8_headers_need_smtputf8) {
    // RFC 6531 §3.4: raw UTF-8 in the header section means SMTPUTF8 on MAIL FROM, even when every
    // envelope address is ASCII; a server without it gets nothing (it used to get the message).
    const std::string msg = "From: J\xc3\xb6rg <j@x>\r\nSubject: s\r\n\r\nbody\r\n";
    script s = ehlo_exact("250-8BITMIME\r\n250-SMTPUTF8\r\n");
    one_transaction(s, "MAIL FROM:<a@x> SMTPUTF8", "RCPT TO:<b@x>");
    s.expect_line("QUIT").send("221 bye\r\n");
    scripted_server srv(s);
    client c;
    connect(c, srv);
    EXPECT_EQ(c.send(envelope{"a@x", {"b@x"}}, msg).final_reply.code, 250);
    c.disconnect();
    EXPECT_EQ(srv.wait(), "");

    scripted_server plain(
        ehlo_exact("250-8BITMIME\r\n").expect_line("NOOP").send("250 ok\r\n").expect_line("QUIT").send("221 bye\r\n"));
    client d;
    connect(d, plain);
    expect_refused([&] { d.send(envelope{"a@x", {"b@x"}}, msg); }, "SMTPUTF8");
    d.noop();  // nothing was sent; the session goes on
    d.disconnect();
    EXPECT_EQ(plain.wait(), "");
}

TEST(smtp_compose, eight_bit_body_needs_8bitmime) {
    // RFC 6152: 8-bit body bytes go with BODY=8BITMIME (the caller said nothing), and not at all
    // to a server without 8BITMIME (they used to go unlabelled).
    const std::string msg =
        "Subject: s\r\nContent-Transfer-Encoding: 8bit\r\n\r\nGr\xc3\xbc\xc3\x9f"
        "e\r\n";
    script s = ehlo_exact("250-8BITMIME\r\n");
    one_transaction(s, "MAIL FROM:<a@x> BODY=8BITMIME", "RCPT TO:<b@x>");
    s.expect_line("QUIT").send("221 bye\r\n");
    scripted_server srv(s);
    client c;
    connect(c, srv);
    EXPECT_EQ(c.send(envelope{"a@x", {"b@x"}}, msg).final_reply.code, 250);
    c.disconnect();
    EXPECT_EQ(srv.wait(), "");

    scripted_server old(
        ehlo_exact("250-SIZE 1000\r\n").expect_line("NOOP").send("250 ok\r\n").expect_line("QUIT").send("221 bye\r\n"));
    client d;
    connect(d, old);
    envelope e{"a@x", {"b@x"}};
    e.body = body_type::eight_bit_mime;
    expect_refused([&] { d.send(e, msg); }, "8BITMIME");
    d.noop();
    d.disconnect();
    EXPECT_EQ(old.wait(), "");
}

TEST(smtp_compose, utf8_domains_become_a_labels_without_smtputf8) {
    // An ASCII local part at a UTF-8 domain can go to any server, as an A-label; the results
    // name the recipient as the caller gave it. A UTF-8 local part still needs SMTPUTF8.
    script s = ehlo_exact("250-8BITMIME\r\n");
    one_transaction(s, "MAIL FROM:<a@xn--bcher-kva.example>", "RCPT TO:<x@xn--bcher-kva.example>");
    s.expect_line("QUIT").send("221 bye\r\n");
    scripted_server srv(s);
    client c;
    connect(c, srv);
    const auto r = c.send(envelope{"a@b\xc3\xbc"
                                   "cher.example",
                                   {"x@b\xc3\xbc"
                                    "cher.example"}},
                          "Subject: s\r\n\r\nx\r\n");
    ASSERT_EQ(r.recipients.size(), 1u);
    EXPECT_EQ(r.recipients[0].address,
              "x@b\xc3\xbc"
              "cher.example");
    expect_refused([&] { c.send(envelope{"a@x", {"j\xc3\xb6rg@x"}}, "Subject: s\r\n\r\nx\r\n"); }, "SMTPUTF8");
    c.disconnect();
    EXPECT_EQ(srv.wait(), "");
}

}  // namespace
}  // namespace mailwire::smtp
