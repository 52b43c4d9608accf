// POP3 against hostile input (issue #12 items 6 and 8): command injection through USER, PASS,
// APOP and run() must never reach the server, and every collection a server fills (CAPA, LIST,
// UIDL and their lines) is bounded by limits() with a clean protocol_error(limit_exceeded).
#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

#include "mailwire/pop3/client.hpp"
#include "scripted_helpers.hpp"
#include "support/scripted_server.hpp"

namespace mailwire::pop3 {
namespace {

using namespace std::chrono_literals;
using test::connect;
using test::expect_refused;
using test::script;
using test::scripted_server;

const char* const plain_capa = "+OK\r\nTOP\r\nUIDL\r\nUSER\r\nRESP-CODES\r\n.\r\n";

script greeted(std::string greeting = "+OK scripted POP3 ready\r\n", std::string capa = plain_capa) {
    return std::move(script{}.send(std::move(greeting)).expect_line("CAPA").send(std::move(capa)));
}

// The whole exchange the server sees: only NOOP and QUIT, whatever the client was asked to send.
script only_noop_then_quit(script s) {
    return std::move(s.expect_line("NOOP").send("+OK still here\r\n").expect_line("QUIT").send("+OK bye\r\n"));
}

TEST(pop3_hostile, user_and_pass_with_line_breaks_send_nothing) {
    scripted_server srv(only_noop_then_quit(greeted()));
    client c;
    connect(c, srv);
    c.allow_plaintext_auth(true);
    expect_refused([&] { c.login("alice\r\nDELE 1", "pw"); }, "user name");
    // The password is checked before USER goes out: a refusal after USER was accepted would leave
    // the server waiting for PASS.
    expect_refused([&] { c.login("alice", "pw\r\nDELE 1"); }, "password");
    expect_refused([&] { c.login("alice", std::string("pw\0DELE 1", 9)); }, "password");
    // authenticate() reaches USER/PASS when CAPA offers no SASL mechanism.
    expect_refused([&] { c.authenticate("alice\nDELE 1", "pw"); }, "user name");
    expect_refused([&] { c.authenticate("alice", "pw\rDELE 1"); }, "password");
    EXPECT_TRUE(c.is_connected());
    EXPECT_FALSE(c.is_authenticated());
    c.noop();  // the session is usable and in step
    c.quit();
    EXPECT_EQ(srv.wait(), "");
    EXPECT_EQ(srv.received(), "CAPA\r\nNOOP\r\nQUIT\r\n");
}

TEST(pop3_hostile, apop_user_name_with_line_breaks_sends_nothing) {
    scripted_server srv(only_noop_then_quit(greeted("+OK ready <1896.697170952@dbc.mtview.ca.us>\r\n")));
    client c;
    connect(c, srv);
    ASSERT_FALSE(c.apop_timestamp().empty());
    c.allow_plaintext_auth(true);
    expect_refused([&] { c.authenticate("mrose\r\nDELE 1", "tanstaaf"); }, "user name");
    c.noop();
    c.quit();
    EXPECT_EQ(srv.wait(), "");
    EXPECT_EQ(srv.received(), "CAPA\r\nNOOP\r\nQUIT\r\n");
}

TEST(pop3_hostile, raw_commands_with_line_breaks_send_nothing) {
    scripted_server srv(only_noop_then_quit(greeted()));
    client c;
    connect(c, srv);
    expect_refused([&] { c.run("NOOP\r\nDELE 1"); }, "command line");
    expect_refused([&] { c.run(std::string_view("STAT\0DELE 1", 11)); }, "command line");
    c.noop();
    c.quit();
    EXPECT_EQ(srv.wait(), "");
    EXPECT_EQ(srv.received(), "CAPA\r\nNOOP\r\nQUIT\r\n");
}

std::string uidl_lines(int n) {
    std::string out;
    for (int i = 1; i <= n; ++i) out += std::to_string(i) + " uid-" + std::to_string(i) + "\r\n";
    return out;
}

// Expects protocol_error(limit_exceeded) naming `limit`, and the connection closed.
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

TEST(pop3_hostile, uidl_flood_beyond_max_list_items) {
    // A complete, well-formed listing: only its length is hostile.
    scripted_server srv(greeted().expect_line("UIDL").send("+OK\r\n" + uidl_lines(500) + ".\r\n").stall(3s));
    client c;
    connect(c, srv);
    c.limits().max_list_items = 100;
    expect_limit(
        c, [&] { (void)c.uidl(); }, "max_list_items");
    srv.stop();  // the client hung up, possibly with bytes unread
}

TEST(pop3_hostile, list_flood_beyond_max_list_items) {
    std::string lines;
    for (int i = 1; i <= 500; ++i) lines += std::to_string(i) + " 1000\r\n";
    scripted_server srv(greeted().expect_line("LIST").send("+OK\r\n" + lines + ".\r\n").stall(3s));
    client c;
    connect(c, srv);
    c.limits().max_list_items = 100;
    expect_limit(
        c, [&] { (void)c.list(); }, "max_list_items");
    srv.stop();  // the client hung up, possibly with bytes unread
}

TEST(pop3_hostile, the_limit_itself_is_allowed) {
    scripted_server srv(greeted()
                            .expect_line("UIDL")
                            .send("+OK\r\n" + uidl_lines(100) + ".\r\n")
                            .expect_line("QUIT")
                            .send("+OK bye\r\n"));
    client c;
    connect(c, srv);
    c.limits().max_list_items = 100;
    const auto uids = c.uidl();
    ASSERT_EQ(uids.size(), 100u);
    EXPECT_EQ(uids.back(), (message_uid{100, "uid-100"}));
    c.quit();
    EXPECT_EQ(srv.wait(), "");
}

TEST(pop3_hostile, terminated_listing_over_max_multiline_bytes) {
    scripted_server srv(greeted().expect_line("UIDL").send("+OK\r\n" + uidl_lines(500) + ".\r\n").stall(3s));
    client c;
    connect(c, srv);
    c.limits().max_multiline_bytes = 2048;
    expect_limit(
        c, [&] { (void)c.uidl(); }, "max_multiline_bytes");
    srv.stop();  // the client hung up, possibly with bytes unread
}

TEST(pop3_hostile, capa_flood_ends_the_connect) {
    std::string capa = "+OK\r\n";
    for (int i = 0; i < 300; ++i) capa += "X-CAP-" + std::to_string(i) + "\r\n";
    capa += ".\r\n";
    scripted_server srv(greeted("+OK ready\r\n", capa).stall(3s));
    client c;
    c.limits().max_list_items = 100;
    expect_limit(
        c, [&] { connect(c, srv); }, "max_list_items");
    srv.stop();  // the client hung up, possibly with bytes unread
}

TEST(pop3_hostile, one_sasl_line_with_endless_mechanisms) {
    std::string mechs;
    for (int i = 0; i < 300; ++i) mechs += " X-MECH-" + std::to_string(i);
    scripted_server srv(greeted("+OK ready\r\n", "+OK\r\nSASL" + mechs + "\r\nUSER\r\n.\r\n").stall(3s));
    client c;
    c.limits().max_list_items = 100;
    expect_limit(
        c, [&] { connect(c, srv); }, "max_list_items");
    srv.stop();  // the client hung up, possibly with bytes unread
}

}  // namespace
}  // namespace mailwire::pop3
