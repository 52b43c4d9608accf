#include "mailwire/error.hpp"

#include <gtest/gtest.h>

namespace mailwire {
namespace {

TEST(error, what_names_host_port_stage_and_hint) {
    error_context ctx{.host = "mail.example.com",
                      .port = 993,
                      .protocol = "imap",
                      .stage = stage::tls_handshake,
                      .server_text = "",
                      .hint = "use starttls"};
    tls_error e(errc::tls_plaintext_greeting, "port 993 greeted in plaintext", ctx);
    EXPECT_STREQ(e.what(), "imap mail.example.com:993 (TLS handshake): port 993 greeted in plaintext — use starttls");
    EXPECT_EQ(e.code(), errc::tls_plaintext_greeting);
    EXPECT_EQ(e.host(), "mail.example.com");
    EXPECT_EQ(e.port(), 993);
    EXPECT_EQ(e.stage(), stage::tls_handshake);
    EXPECT_EQ(e.detail(), "port 993 greeted in plaintext");
}

TEST(error, every_exception_is_a_mailwire_error) {
    EXPECT_THROW(throw auth_error(errc::auth_failed, "no"), error);
    EXPECT_THROW(throw timeout_error(errc::timeout, "slow"), error);
    EXPECT_THROW(throw parse_error(errc::parse_error, "bad"), error);
}

TEST(error, category_messages_are_distinct) {
    EXPECT_EQ(std::error_code(errc::timeout).category().name(), std::string("mailwire"));
    EXPECT_NE(make_error_code(errc::timeout).message(), make_error_code(errc::auth_failed).message());
}

}  // namespace
}  // namespace mailwire
