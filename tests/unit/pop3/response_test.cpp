#include "mailwire/pop3/response.hpp"

#include <gtest/gtest.h>

#include "mailwire/error.hpp"

namespace mailwire::pop3 {
namespace {

TEST(pop3_status, ok_and_err_with_codes) {
    EXPECT_EQ(parse_status("+OK Dovecot ready."), (status{true, "", "Dovecot ready."}));
    EXPECT_EQ(parse_status("+OK"), (status{true, "", ""}));
    EXPECT_EQ(parse_status("-ERR [IN-USE] Mailbox locked"), (status{false, "IN-USE", "Mailbox locked"}));
    EXPECT_EQ(parse_status("-ERR [SYS/TEMP] try later"), (status{false, "SYS/TEMP", "try later"}));
    EXPECT_EQ(parse_status("-ERR [auth] bad password"), (status{false, "AUTH", "bad password"}));
    EXPECT_EQ(parse_status("-ERR [unterminated"), (status{false, "", "[unterminated"}));
}

TEST(pop3_status, garbage_is_a_protocol_error) {
    for (std::string_view bad : {"", "OK", "+ok", "* OK imap", "220 smtp", "+OKAY", "-ERRx"})
        EXPECT_THROW(parse_status(bad), protocol_error) << bad;
}

TEST(pop3_apop, timestamp_needs_angle_brackets_and_at) {
    EXPECT_EQ(apop_timestamp("POP3 server ready <1896.697170952@dbc.mtview.ca.us>"), "<1896.697170952@dbc.mtview.ca.us>");
    EXPECT_EQ(apop_timestamp("Dovecot ready."), "");
    EXPECT_EQ(apop_timestamp("ready <no-at-sign>"), "");
    EXPECT_EQ(apop_timestamp("ready <unterminated@x"), "");
}

TEST(pop3_multiline, unstuffing) {
    EXPECT_FALSE(unstuff_line(".").has_value());
    EXPECT_EQ(*unstuff_line("..hidden"), ".hidden");
    EXPECT_EQ(*unstuff_line("plain"), "plain");
    EXPECT_EQ(*unstuff_line(""), "");
    EXPECT_EQ(*unstuff_line(". "), " ");
}

TEST(pop3_capa, typed_capabilities) {
    auto c = parse_capa({"CAPA", "TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING", "USER",
                         "SASL PLAIN LOGIN scram-sha-256", "STLS", "UTF8 USER", "EXPIRE NEVER", "LOGIN-DELAY 900",
                         "IMPLEMENTATION Dovecot"});
    EXPECT_TRUE(c.top && c.uidl && c.resp_codes && c.auth_resp_code && c.pipelining && c.user && c.stls && c.utf8);
    EXPECT_EQ(c.sasl, (std::vector<std::string>{"PLAIN", "LOGIN", "SCRAM-SHA-256"}));
    EXPECT_EQ(c.expire, "NEVER");
    EXPECT_EQ(c.login_delay, "900");
    EXPECT_EQ(c.implementation, "Dovecot");
    EXPECT_TRUE(c.has("capa"));
    EXPECT_FALSE(c.has("APOP"));
    auto empty = parse_capa({});
    EXPECT_FALSE(empty.stls);
    EXPECT_TRUE(empty.sasl.empty());
}

}  // namespace
}  // namespace mailwire::pop3
