// The wording rules of net/diagnose: which protocol a foreign greeting belongs to, server text made
// safe for a message, and standard ports named as standard ones.
#include <gtest/gtest.h>

#include <string>

#include "mailwire/error.hpp"
#include "net/diagnose.hpp"

namespace mailwire::net {
namespace {

error_context at(const std::string& protocol, std::uint16_t port) {
    error_context c;
    c.host = "mail.example.com";
    c.port = port;
    c.protocol = protocol;
    c.stage = stage::greeting;
    return c;
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(diagnose, every_protocol_recognises_the_other_two) {
    struct row {
        const char* client;
        const char* greeting;
        const char* found;
        const char* ports;
    };
    for (const auto& r : {row{"imap", "220 mx.example ESMTP", "SMTP", "587 with starttls, 465"},
                          row{"imap", "+OK Dovecot ready.", "POP3", "110 with starttls, 995"},
                          row{"imap", "-ERR go away", "POP3", "110"},
                          row{"pop3", "* OK [CAPABILITY IMAP4rev1] ready", "IMAP", "143 with starttls, 993"},
                          row{"pop3", "* PREAUTH welcome", "IMAP", "143"}, row{"pop3", "554 no service", "SMTP", "587"},
                          row{"smtp", "* OK ready", "IMAP", "993"}, row{"smtp", "+OK", "POP3", "995"}}) {
        const auto d = diagnose_foreign_greeting(at(r.client, 4000), r.greeting);
        EXPECT_EQ(d.code, errc::protocol_violation);
        EXPECT_TRUE(has(d.detail, std::string(" ") + r.found + " server")) << r.client << ": " << d.detail;
        EXPECT_TRUE(has(d.detail, r.greeting)) << d.detail;
        EXPECT_TRUE(has(d.ctx.hint, r.ports)) << r.client << ": " << d.ctx.hint;
        EXPECT_EQ(d.ctx.server_text, r.greeting);
    }
}

TEST(diagnose, articles_follow_how_the_names_are_said) {
    EXPECT_TRUE(
        has(diagnose_foreign_greeting(at("smtp", 25), "+OK").detail, "like a POP3 server (`+OK`), not an SMTP"));
    EXPECT_TRUE(has(diagnose_foreign_greeting(at("pop3", 110), "220 x").detail, "like an SMTP server"));
    EXPECT_TRUE(has(diagnose_foreign_greeting(at("pop3", 110), "* OK").detail, "like an IMAP server"));
}

TEST(diagnose, an_unknown_greeting_is_not_attributed_to_a_protocol) {
    const auto d = diagnose_foreign_greeting(at("imap", 143), "HTTP/1.1 400 Bad Request");
    EXPECT_EQ(d.detail, "the greeting is not an IMAP greeting");
    EXPECT_EQ(d.ctx.hint, "check that port 143 serves IMAP");
    // A greeting of the client's own protocol that failed for another reason is not "foreign".
    EXPECT_EQ(diagnose_foreign_greeting(at("pop3", 110), "+OK").detail, "the greeting is not a POP3 greeting");
}

TEST(diagnose, server_text_is_printable_and_bounded) {
    EXPECT_EQ(sanitize_server_text("NO failed\r\n* injected"), "NO failed");
    EXPECT_EQ(sanitize_server_text(std::string("a\x1b[2Jb\x7f\xc3\xa9", 9)), "a?[2Jb???");
    EXPECT_EQ(sanitize_server_text(std::string(500, 'x')).size(), 123u);
}

TEST(diagnose, standard_ports_are_named_as_standard_on_a_custom_port) {
    const auto d = diagnose_unexpected_greeting(at("imap", 10993), std::string("\x15\x03\x03\x00\x02", 5));
    EXPECT_TRUE(d.ctx.hint.starts_with("use implicit_tls on port 10993")) << d.ctx.hint;
    EXPECT_TRUE(has(d.ctx.hint, "standard: 143")) << d.ctx.hint;
    const auto t = diagnose_handshake_failure(at("imap", 10143), "* OK ready\r\n", 0, "", 1, false, 0, "TLSv1.2");
    EXPECT_TRUE(t.ctx.hint.starts_with("use starttls on port 10143")) << t.ctx.hint;
    EXPECT_FALSE(has(t.ctx.hint, "port 993")) << "993 is not the user's port to use: " << t.ctx.hint;
    EXPECT_TRUE(has(t.ctx.hint, "standard: 993")) << t.ctx.hint;
}

TEST(diagnose, silence_then_close_reads_like_silence) {
    const auto silent = diagnose_greeting_timeout(at("pop3", 995), std::chrono::milliseconds(1000));
    const auto closed = diagnose_silent_close(at("pop3", 995), std::chrono::milliseconds(10000));
    EXPECT_EQ(closed.code, silent.code);
    EXPECT_EQ(closed.ctx.hint, silent.ctx.hint);
    EXPECT_TRUE(has(closed.detail, "expects TLS first")) << closed.detail;
}

}  // namespace
}  // namespace mailwire::net
