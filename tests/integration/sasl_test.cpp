// SASL through the one client-base driver: every mechanism Dovecot offers over IMAP, POP3 and
// Postfix submission (SASL by Dovecot); wrong passwords; and, with the scripted server, what
// Dovecot will not do here (XOAUTH2/OAUTHBEARER errors, a server that never proves itself).
#include <gtest/gtest.h>

#include <memory>

#include "mailwire/imap/client.hpp"
#include "mailwire/pop3/client.hpp"
#include "mailwire/sasl/base64.hpp"
#include "mailwire/smtp/client.hpp"
#include "support/scripted_server.hpp"
#include "support/server_env.hpp"

namespace mailwire {
namespace {

using namespace std::chrono_literals;
using test::server_env;

struct target {
    protocol proto;
    const char* port_key;
};

std::unique_ptr<client_base> connect_starttls(const target& t) {
    const auto& env = server_env::get();
    std::unique_ptr<client_base> c;
    if (t.proto == protocol::imap) c = std::make_unique<imap::client>();
    if (t.proto == protocol::pop3) c = std::make_unique<pop3::client>();
    if (t.proto == protocol::smtp) c = std::make_unique<smtp::client>();
    c->tls().ca_file = env.str("CA_FILE");
    c->connect(env.str("HOST"), env.port(t.port_key), security::starttls);
    return c;
}

sasl::credentials creds(const std::string& n) {
    const auto& env = server_env::get();
    sasl::credentials c;
    c.user = env.str("USER" + n);
    c.password = env.str("PASS" + n);
    return c;
}

class sasl_real : public ::testing::TestWithParam<target> {};

TEST_P(sasl_real, every_mechanism_logs_in) {
    for (std::string mech : {"SCRAM-SHA-256", "SCRAM-SHA-1", "CRAM-MD5", "PLAIN", "LOGIN"}) {
        auto c = connect_starttls(GetParam());
        c->authenticate(creds("1"), {mech});
        EXPECT_TRUE(c->is_authenticated()) << mech;
        EXPECT_EQ(c->authenticated_with(), mech);
        c->disconnect();
    }
}

TEST_P(sasl_real, strongest_offered_is_chosen_by_default) {
    auto c = connect_starttls(GetParam());
    c->authenticate(creds("2").user, creds("2").password);
    EXPECT_EQ(c->authenticated_with(), "SCRAM-SHA-256");
    c->disconnect();
}

TEST_P(sasl_real, non_ascii_password) {
    for (std::string mech : {"SCRAM-SHA-256", "PLAIN"}) {
        auto c = connect_starttls(GetParam());
        c->authenticate(creds("3"), {mech});
        EXPECT_TRUE(c->is_authenticated()) << mech;
        c->disconnect();
    }
}

TEST_P(sasl_real, wrong_password_is_an_auth_error_with_the_servers_words) {
    for (std::string mech : {"SCRAM-SHA-256", "PLAIN"}) {
        auto c = connect_starttls(GetParam());
        auto bad = creds("1");
        bad.password = "not-the-password";
        try {
            c->authenticate(bad, {mech});
            FAIL() << mech;
        } catch (const auth_error& e) {
            EXPECT_EQ(e.code(), errc::auth_failed) << e.what();
            EXPECT_EQ(e.stage(), stage::authenticate);
            EXPECT_FALSE(e.server_text().empty()) << e.what();
        }
        EXPECT_TRUE(c->is_connected()) << "a refused login keeps the session";
        EXPECT_FALSE(c->is_authenticated());
        c->disconnect();
    }
}

INSTANTIATE_TEST_SUITE_P(servers, sasl_real,
                         ::testing::Values(target{protocol::imap, "IMAP_PORT"}, target{protocol::pop3, "POP3_PORT"},
                                           target{protocol::smtp, "SUBMISSION_PORT"}),
                         [](const auto& p) { return std::string(to_string(p.param.proto)); });

TEST(sasl_real_plain, in_clear_mechanisms_refused_without_tls) {
    const auto& env = server_env::get();
    imap::client c;
    c.connect(env.str("HOST"), env.port("IMAP_PORT"), security::none);
    try {
        c.authenticate(creds("1"), {"PLAIN"});
        FAIL();
    } catch (const auth_error& e) {
        EXPECT_EQ(e.code(), errc::plaintext_auth_refused);
    }
    // SCRAM never reveals the password, so it is allowed on a plain connection.
    c.authenticate(creds("1"), {"SCRAM-SHA-256"});
    EXPECT_TRUE(c.is_authenticated());
    c.disconnect();
}

TEST(sasl_real_plain, pop3_legacy_user_pass_when_no_sasl_fits) {
    const auto& env = server_env::get();
    pop3::client c;
    c.tls().ca_file = env.str("CA_FILE");
    c.connect(env.str("HOST"), env.port("POP3S_PORT"), security::implicit_tls);
    c.login(env.str("USER1"), env.str("PASS1"));
    EXPECT_EQ(c.authenticated_with(), "USER");
    c.disconnect();
}

// ---- scripted servers: what Dovecot will not do -------------------------------------------

using test::script;
using test::scripted_server;

TEST(sasl_scripted, xoauth2_error_json_is_reported) {
    const std::string json = R"({"status":"401","schemes":"bearer","scope":"https://mail.example.com/"})";
    scripted_server srv(script{}
                            .send("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=XOAUTH2] oauth\r\n")
                            .expect_line_matching(R"(^(\S+) AUTHENTICATE XOAUTH2 \S+$)")
                            .send("+ " + sasl::base64_encode(json) + "\r\n")
                            .expect_line("")
                            .send("$1 NO [AUTHENTICATIONFAILED] Invalid credentials\r\n")
                            .expect_line_matching(R"(^(\S+) LOGOUT$)")
                            .send("* BYE\r\n$1 OK bye\r\n"));
    imap::client c;
    c.allow_plaintext_auth(true);  // scripted server is plaintext
    c.connect(srv.host(), srv.port(), security::none);
    sasl::credentials cr;
    cr.user = "alice@example.com";
    cr.oauth_token = "ya29.token";
    try {
        c.authenticate(cr);
        FAIL();
    } catch (const auth_error& e) {
        EXPECT_EQ(e.code(), errc::auth_failed);
        EXPECT_EQ(e.response_code(), "AUTHENTICATIONFAILED");
        EXPECT_NE(std::string(e.what()).find("401"), std::string::npos) << e.what();
    }
    c.disconnect();
    EXPECT_EQ(srv.wait(), "");
    EXPECT_EQ(srv.received().find("ya29.token"), std::string::npos) << "token must be base64 on the wire, never logged";
}

TEST(sasl_scripted, xoauth2_success_over_smtp) {
    scripted_server srv(script{}
                            .send("220 oauth ESMTP\r\n")
                            .expect_line_matching("^EHLO ")
                            .send("250-oauth\r\n250 AUTH XOAUTH2 OAUTHBEARER\r\n")
                            .expect_line_matching(R"(^AUTH OAUTHBEARER \S+$)")
                            .send("235 2.7.0 Authentication successful\r\n")
                            .expect_line("QUIT")
                            .send("221 bye\r\n"));
    smtp::client c;
    c.allow_plaintext_auth(true);
    c.connect(srv.host(), srv.port(), security::none);
    sasl::credentials cr;
    cr.user = "alice@example.com";
    cr.oauth_token = "token-1";
    c.authenticate(cr);
    EXPECT_EQ(c.authenticated_with(), "OAUTHBEARER");
    c.disconnect();
    EXPECT_EQ(srv.wait(), "");
}

TEST(sasl_scripted, scram_server_that_never_proves_itself_is_rejected) {
    // The server says OK right after the client-first message: it never showed it knows the
    // password (no server signature). The driver must refuse and drop the connection.
    scripted_server srv(script{}
                            .send("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=SCRAM-SHA-256] evil\r\n")
                            .expect_line_matching(R"(^(\S+) AUTHENTICATE SCRAM-SHA-256 \S+$)")
                            .send("$1 OK [CAPABILITY IMAP4rev1] Logged in\r\n")
                            .expect_eof());
    imap::client c;
    c.connect(srv.host(), srv.port(), security::none);
    try {
        c.authenticate(sasl::credentials{"alice", "secret", {}, {}, {}, 0});
        FAIL();
    } catch (const auth_error& e) {
        EXPECT_EQ(e.code(), errc::auth_failed);
        EXPECT_NE(e.hint().find("mutual authentication"), std::string::npos);
    }
    EXPECT_FALSE(c.is_connected());
    EXPECT_EQ(srv.wait(), "");
}

TEST(sasl_scripted, malformed_challenge_cancels_the_exchange) {
    scripted_server srv(script{}
                            .send("+OK pop\r\n")
                            .expect_line("CAPA")
                            .send("+OK\r\nSASL CRAM-MD5\r\n.\r\n")
                            .expect_line("AUTH CRAM-MD5")
                            .send("+ !!!not-base64!!!\r\n")
                            .expect_line("*")
                            .send("-ERR [AUTH] cancelled\r\n")
                            .expect_line("QUIT")
                            .send("+OK bye\r\n"));
    pop3::client c;
    c.connect(srv.host(), srv.port(), security::none);
    EXPECT_THROW(c.authenticate(sasl::credentials{"alice", "secret", {}, {}, {}, 0}), auth_error);
    EXPECT_TRUE(c.is_connected());
    c.disconnect();
    EXPECT_EQ(srv.wait(), "");
}

}  // namespace
}  // namespace mailwire
