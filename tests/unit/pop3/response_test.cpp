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
    EXPECT_EQ(apop_timestamp("POP3 server ready <1896.697170952@dbc.mtview.ca.us>"),
              "<1896.697170952@dbc.mtview.ca.us>");
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

namespace mailwire::pop3 {
namespace {

TEST(pop3_listing, stat_list_and_uidl_lines) {
    EXPECT_EQ(parse_stat("2 320"), (mailbox_stat{2, 320}));
    EXPECT_EQ(parse_stat("0 0"), (mailbox_stat{0, 0}));
    EXPECT_EQ(parse_list_line("1 120"), (message_info{1, 120}));
    EXPECT_EQ(parse_list_line("7 5000000000 extra"), (message_info{7, 5000000000ull}));
    EXPECT_EQ(parse_uidl_line("3 000000017a8f3c21"), (message_uid{3, "000000017a8f3c21"}));
    EXPECT_EQ(parse_uidl_line("1 QhdPYR:00WBw1Ph7x7"), (message_uid{1, "QhdPYR:00WBw1Ph7x7"}));
}

TEST(pop3_listing, garbage_is_a_protocol_error) {
    for (std::string_view bad : {"", "x 1", "1", "1 x", "-1 20", "0 20", "99999999999 1", "1 99999999999999999999999"})
        EXPECT_THROW(parse_list_line(bad), protocol_error) << bad;
    for (std::string_view bad : {"", "2", "a b", "1 two words", "0 uid", "1 \x7f", "1 a\x01"})
        EXPECT_THROW(parse_uidl_line(bad), protocol_error) << bad;
    EXPECT_THROW(parse_uidl_line("1 " + std::string(71, 'u')), protocol_error);
    EXPECT_NO_THROW(parse_uidl_line("1 " + std::string(70, 'u')));
    for (std::string_view bad : {"", "1", "a 2", "1 b"}) EXPECT_THROW(parse_stat(bad), protocol_error) << bad;
}

TEST(pop3_listing, announced_octets) {
    EXPECT_EQ(announced_octets("1234 octets"), 1234u);
    EXPECT_EQ(announced_octets("1234"), 1234u);
    EXPECT_EQ(announced_octets("message follows"), std::nullopt);
    EXPECT_EQ(announced_octets(""), std::nullopt);
}

TEST(pop3_response_codes, classified_with_sub_levels) {
    EXPECT_EQ(classify_response_code(""), response_code::none);
    EXPECT_EQ(classify_response_code("IN-USE"), response_code::in_use);
    EXPECT_EQ(classify_response_code("LOGIN-DELAY"), response_code::login_delay);
    EXPECT_EQ(classify_response_code("AUTH"), response_code::auth);
    EXPECT_EQ(classify_response_code("SYS/TEMP"), response_code::sys_temp);
    EXPECT_EQ(classify_response_code("sys/perm"), response_code::sys_perm);
    EXPECT_EQ(classify_response_code("SYS/TEMP/DISK"), response_code::sys_temp);
    EXPECT_EQ(classify_response_code("UTF8"), response_code::utf8);
    EXPECT_EQ(classify_response_code("SYS"), response_code::other);
    EXPECT_EQ(classify_response_code("IN-USED"), response_code::other);
}

TEST(pop3_response, capa_sasl_mechanisms_are_bounded) {
    auto c = parse_capa({"SASL PLAIN LOGIN"}, 2);
    EXPECT_EQ(c.sasl, (std::vector<std::string>{"PLAIN", "LOGIN"}));
    try {
        (void)parse_capa({"SASL A B", "SASL C"}, 2);
        FAIL();
    } catch (const protocol_error& e) {
        EXPECT_EQ(e.code(), errc::limit_exceeded);
    }
}

}  // namespace
}  // namespace mailwire::pop3
