// What real servers will not do, played by the scripted server: STARTTLS missing or refused,
// response injection, PREAUTH, stalls, TLS where plaintext was expected, unknown tags, huge lines.
#include <gtest/gtest.h>

#include "mailwire/imap/client.hpp"
#include "mailwire/pop3/client.hpp"
#include "mailwire/smtp/client.hpp"
#include "support/scripted_server.hpp"

namespace mailwire {
namespace {

using namespace std::chrono_literals;
using test::script;
using test::scripted_server;

constexpr const char* imap_greeting = "* OK [CAPABILITY IMAP4rev1 STARTTLS AUTH=PLAIN] scripted ready\r\n";

template <class Client>
void fast(Client& c) {
    c.timeouts().greeting = 800ms;
    c.timeouts().io = 800ms;
    c.timeouts().connect = 2000ms;
    c.timeouts().auto_detect_wait = 300ms;
}

TEST(hostile, imap_starttls_not_offered_never_falls_back) {
    scripted_server srv(script{}.send("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] no tls here\r\n").expect_eof());
    imap::client c;
    fast(c);
    try {
        c.connect(srv.host(), srv.port(), security::starttls);
        FAIL() << "connected without TLS";
    } catch (const tls_error& e) {
        EXPECT_EQ(e.code(), errc::starttls_unavailable);
        EXPECT_EQ(e.stage(), stage::starttls);
        EXPECT_NE(e.hint().find("993"), std::string::npos);
    }
    EXPECT_FALSE(c.is_connected());
    EXPECT_EQ(srv.wait(), "");
}

TEST(hostile, imap_starttls_refused_closes_the_connection) {
    scripted_server srv(script{}
                            .send(imap_greeting)
                            .expect_line_matching(R"(^(\S+) STARTTLS$)")
                            .send("$1 NO [UNAVAILABLE] not today\r\n")
                            .expect_eof());
    imap::client c;
    fast(c);
    try {
        c.connect(srv.host(), srv.port(), security::starttls);
        FAIL();
    } catch (const command_error& e) {
        EXPECT_EQ(e.code(), errc::starttls_refused);
        EXPECT_EQ(e.server_text(), "not today");
    }
    EXPECT_FALSE(c.is_connected());
    EXPECT_EQ(srv.wait(), "");
}

TEST(hostile, bytes_injected_after_starttls_reply_abort) {
    scripted_server srv(
        script{}
            .send(imap_greeting)
            .expect_line_matching(R"(^(\S+) STARTTLS$)")
            .send("$1 OK begin TLS now\r\n* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN LOGINDISABLED] injected\r\n")
            .expect_eof());
    imap::client c;
    fast(c);
    try {
        c.connect(srv.host(), srv.port(), security::starttls);
        FAIL();
    } catch (const protocol_error& e) {
        EXPECT_EQ(e.code(), errc::starttls_injection);
        EXPECT_NE(e.server_text().find("injected"), std::string::npos);
    }
    EXPECT_FALSE(c.is_connected());
    EXPECT_EQ(srv.wait(), "");
}

TEST(hostile, injection_in_a_separate_packet_is_caught_too) {
    scripted_server srv(script{}
                            .send("+OK scripted POP3\r\n")
                            .expect_line_matching("^CAPA$")
                            .send("+OK\r\nSTLS\r\nUSER\r\n.\r\n")
                            .expect_line_matching("^STLS$")
                            .send_split({"+OK go ahead\r\n", "+OK injected\r\n"}, 1ms)
                            .stall(2s));
    pop3::client c;
    fast(c);
    // Give the second packet time to arrive before the check (it is sent 1 ms after the first).
    EXPECT_THROW(c.connect(srv.host(), srv.port(), security::starttls), error);
    EXPECT_FALSE(c.is_connected());
    srv.stop();
}

TEST(hostile, preauth_greeting_aborts_starttls_mode) {
    scripted_server srv(
        script{}.send("* PREAUTH [CAPABILITY IMAP4rev1 STARTTLS] welcome, you are in\r\n").expect_eof());
    imap::client c;
    fast(c);
    try {
        c.connect(srv.host(), srv.port(), security::starttls);
        FAIL();
    } catch (const protocol_error& e) {
        EXPECT_EQ(e.code(), errc::preauth_without_tls);
    }
    EXPECT_EQ(srv.wait(), "");
}

TEST(hostile, preauth_is_fine_when_no_tls_was_asked_for) {
    scripted_server srv(script{}
                            .send("* PREAUTH [CAPABILITY IMAP4rev1] welcome\r\n")
                            .expect_line_matching(R"(^(\S+) LOGOUT$)")
                            .send("* BYE\r\n$1 OK bye\r\n"));
    imap::client c;
    fast(c);
    c.connect(srv.host(), srv.port(), security::none);
    EXPECT_TRUE(c.preauthenticated());
    EXPECT_TRUE(c.is_authenticated());
    c.disconnect();
    EXPECT_EQ(srv.wait(), "");
}

TEST(hostile, stall_mid_greeting_times_out) {
    scripted_server srv(script{}.send("* OK [CAPABILITY IMAP4rev1 ").stall(3s));
    imap::client c;
    fast(c);
    const auto t0 = std::chrono::steady_clock::now();
    try {
        c.connect(srv.host(), srv.port(), security::none);
        FAIL();
    } catch (const timeout_error& e) {
        EXPECT_EQ(e.code(), errc::timeout);
        EXPECT_EQ(e.stage(), stage::greeting);
    }
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 2500ms);
    EXPECT_FALSE(c.is_connected());
}

TEST(hostile, tls_record_instead_of_greeting) {
    scripted_server srv(script{}.send(std::string("\x15\x03\x01\x00\x02\x02\x46", 7)).expect_eof());
    smtp::client c;
    fast(c);
    try {
        c.connect(srv.host(), srv.port(), security::starttls);
        FAIL();
    } catch (const tls_error& e) {
        EXPECT_EQ(e.code(), errc::tls_expected);
        EXPECT_NE(e.hint().find("implicit_tls"), std::string::npos);
    }
    EXPECT_EQ(srv.wait(), "");
}

TEST(hostile, silent_port_diagnosed_as_tls_first) {
    scripted_server srv(script{}.stall(3s));
    pop3::client c;
    fast(c);
    try {
        c.connect(srv.host(), srv.port(), security::none);
        FAIL();
    } catch (const timeout_error& e) {
        EXPECT_EQ(e.code(), errc::tls_expected);
        EXPECT_NE(e.hint().find("implicit_tls"), std::string::npos);
    }
}

TEST(hostile, auto_mode_handshakes_on_a_silent_port) {
    scripted_server srv(script{}
                            .tls_first()
                            .send("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] tls first\r\n")
                            .expect_line_matching(R"(^(\S+) LOGOUT$)")
                            .send("* BYE\r\n$1 OK bye\r\n"));
    imap::client c;
    fast(c);
    c.tls().ca_file = scripted_server::default_cert_file();
    c.connect(srv.host(), srv.port(), security::auto_detect);
    EXPECT_EQ(c.security_used(), security::implicit_tls);
    c.disconnect();
    EXPECT_EQ(srv.wait(), "");
}

TEST(hostile, upgrade_forgets_plaintext_capabilities) {
    scripted_server srv(script{}
                            .send(imap_greeting)
                            .expect_line_matching(R"(^(\S+) STARTTLS$)")
                            .send("$1 OK begin\r\n")
                            .start_tls()
                            .expect_line_matching(R"(^(\S+) CAPABILITY$)")
                            .send("* CAPABILITY IMAP4rev1 AUTH=SCRAM-SHA-256\r\n$1 OK done\r\n")
                            .expect_line_matching(R"(^(\S+) LOGOUT$)")
                            .send("* BYE\r\n$1 OK bye\r\n"));
    imap::client c;
    fast(c);
    c.tls().ca_file = scripted_server::default_cert_file();
    c.connect(srv.host(), srv.port(), security::starttls);
    EXPECT_TRUE(c.is_secure());
    EXPECT_FALSE(c.has_capability("AUTH=PLAIN")) << "pre-TLS capability survived the upgrade";
    EXPECT_TRUE(c.has_capability("AUTH=SCRAM-SHA-256"));
    c.disconnect();
    EXPECT_EQ(srv.wait(), "");
}

TEST(hostile, starttls_when_available_stays_plain_but_guards_credentials) {
    scripted_server srv(script{}
                            .send("+OK scripted\r\n")
                            .expect_line_matching("^CAPA$")
                            .send("+OK\r\nUSER\r\n.\r\n")
                            .expect_line_matching("^QUIT$")
                            .send("+OK bye\r\n"));
    pop3::client c;
    fast(c);
    c.connect(srv.host(), srv.port(), security::starttls_when_available);
    EXPECT_FALSE(c.is_secure());
    try {
        c.login("alice", "secret");
        FAIL();
    } catch (const auth_error& e) {
        EXPECT_EQ(e.code(), errc::plaintext_auth_refused);
    }
    c.disconnect();
    EXPECT_EQ(srv.wait(), "");
    EXPECT_EQ(srv.received().find("secret"), std::string::npos);
}

TEST(hostile, pop3_stls_and_smtp_starttls_refusals) {
    {
        scripted_server srv(script{}
                                .send("+OK scripted\r\n")
                                .expect_line_matching("^CAPA$")
                                .send("+OK\r\nSTLS\r\n.\r\n")
                                .expect_line_matching("^STLS$")
                                .send("-ERR [SYS/TEMP] TLS broken\r\n")
                                .expect_eof());
        pop3::client c;
        fast(c);
        try {
            c.connect(srv.host(), srv.port(), security::starttls);
            FAIL();
        } catch (const command_error& e) {
            EXPECT_EQ(e.code(), errc::starttls_refused);
        }
        EXPECT_EQ(srv.wait(), "");
    }
    {
        scripted_server srv(script{}
                                .send("220 scripted ESMTP\r\n")
                                .expect_line_matching("^EHLO ")
                                .send("250-scripted\r\n250 STARTTLS\r\n")
                                .expect_line_matching("^STARTTLS$")
                                .send("454 4.7.0 TLS not available due to temporary reason\r\n")
                                .expect_eof());
        smtp::client c;
        fast(c);
        try {
            c.connect(srv.host(), srv.port(), security::starttls);
            FAIL();
        } catch (const command_error& e) {
            EXPECT_EQ(e.code(), errc::starttls_refused);
            EXPECT_NE(std::string(e.what()).find("454"), std::string::npos);
        }
        EXPECT_EQ(srv.wait(), "");
    }
}

TEST(hostile, smtp_falls_back_to_helo) {
    scripted_server srv(script{}
                            .send("220 old server\r\n")
                            .expect_line_matching("^EHLO ")
                            .send("502 5.5.2 what is EHLO\r\n")
                            .expect_line_matching("^HELO ")
                            .send("250 old.example\r\n")
                            .expect_line_matching("^QUIT$")
                            .send("221 bye\r\n"));
    smtp::client c;
    fast(c);
    c.connect(srv.host(), srv.port(), security::none);
    EXPECT_FALSE(c.capabilities().extended);
    EXPECT_EQ(c.capabilities().domain, "old.example");
    c.disconnect();
    EXPECT_EQ(srv.wait(), "");
}

TEST(hostile, unknown_tag_is_a_protocol_error) {
    scripted_server srv(script{}
                            .send("* OK [CAPABILITY IMAP4rev1] hi\r\n")
                            .expect_line_matching(R"(^(\S+) NOOP$)")
                            .send("ZZZ9 OK not yours\r\n")
                            .expect_eof());
    imap::client c;
    fast(c);
    c.connect(srv.host(), srv.port(), security::none);
    try {
        c.noop();
        FAIL();
    } catch (const protocol_error& e) {
        EXPECT_EQ(e.code(), errc::protocol_violation);
    }
    EXPECT_FALSE(c.is_connected());
    EXPECT_EQ(srv.wait(), "");
}

TEST(hostile, oversized_line_hits_the_limit) {
    scripted_server srv(script{}.send("* OK " + std::string(5000, 'x') + "\r\n").expect_eof());
    imap::client c;
    fast(c);
    c.limits().max_line_length = 1024;
    try {
        c.connect(srv.host(), srv.port(), security::none);
        FAIL();
    } catch (const protocol_error& e) {
        EXPECT_EQ(e.code(), errc::limit_exceeded);
    }
    EXPECT_EQ(srv.wait(), "");
}

TEST(hostile, garbage_greeting) {
    scripted_server srv(script{}.send("HTTP/1.1 400 Bad Request\r\n\r\n").expect_eof());
    imap::client c;
    fast(c);
    try {
        c.connect(srv.host(), srv.port(), security::none);
        FAIL();
    } catch (const protocol_error& e) {
        EXPECT_EQ(e.code(), errc::protocol_violation);
        EXPECT_EQ(e.server_text(), "HTTP/1.1 400 Bad Request");
    }
    EXPECT_EQ(srv.wait(), "");
}

}  // namespace
}  // namespace mailwire
