// Diagnoses that say what happened (#13 items 4, 5, 6, 9): a TLS-first port that waits and then
// hangs up, STARTTLS accepted and then answered in plaintext, a server that wants a client
// certificate or whose TLS is broken, another mail protocol's greeting, and mechanisms mailwire
// does not implement or cannot use. The peers play what real servers here will not.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "mailwire/imap/client.hpp"
#include "mailwire/pop3/client.hpp"
#include "mailwire/smtp/client.hpp"
#include "support/scripted_server.hpp"

namespace mailwire {
namespace {

using namespace std::chrono_literals;
using test::script;
using test::scripted_server;
using test::tls_proto;
using test::tls_server_options;

void fast(client_base& c) {
    c.timeouts().connect = 5000ms;
    c.timeouts().greeting = 5000ms;
    c.timeouts().io = 5000ms;
    c.tls().ca_file = scripted_server::default_cert_file();
    c.tls().session_resumption = false;
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// ---- item 4: silence, then a close ------------------------------------------------------------

TEST(diagnosis, silence_then_close_is_a_tls_first_port) {
    // GNU Mailutils on its implicit-TLS port: no greeting, and after a while (10 s there) a close.
    scripted_server srv(script{}.stall(2500ms).close());
    imap::client c;
    fast(c);
    try {
        c.connect(srv.host(), srv.port(), security::none);
        ADD_FAILURE() << "connected to a port that said nothing";
    } catch (const tls_error& e) {
        EXPECT_EQ(e.code(), errc::tls_expected) << e.what();
        EXPECT_EQ(e.stage(), stage::greeting);
        EXPECT_TRUE(has(e.detail(), "expects TLS first")) << e.detail();
        EXPECT_TRUE(e.hint().starts_with("use implicit_tls on port " + std::to_string(srv.port()))) << e.hint();
    } catch (const error& e) {
        ADD_FAILURE() << "wrong class: " << e.what();
    }
    EXPECT_FALSE(c.is_connected());
    srv.stop();
}

TEST(diagnosis, close_right_away_stays_a_closed_connection) {
    scripted_server srv(script{}.close());
    pop3::client c;
    fast(c);
    try {
        c.connect(srv.host(), srv.port(), security::none);
        ADD_FAILURE() << "connected to a port that closed";
    } catch (const protocol_error& e) {
        EXPECT_EQ(e.code(), errc::connection_closed) << e.what();
        EXPECT_TRUE(has(e.detail(), "before greeting")) << e.detail();
    } catch (const error& e) {
        ADD_FAILURE() << "wrong class: " << e.what();
    }
    srv.stop();
}

// ---- item 5: STARTTLS accepted, then no TLS ----------------------------------------------------

template <class Client>
void expect_starttls_not_started(const script& s, const std::string& server_words) {
    scripted_server srv(s);
    Client c;
    fast(c);
    try {
        c.connect(srv.host(), srv.port(), security::starttls);
        ADD_FAILURE() << "connected although TLS never started";
    } catch (const tls_error& e) {
        EXPECT_EQ(e.code(), errc::tls_handshake_failed) << e.what();
        EXPECT_TRUE(has(e.detail(), "accepted")) << e.detail();
        EXPECT_TRUE(has(e.detail(), "failed to start TLS")) << e.detail();
        EXPECT_TRUE(has(e.server_text(), server_words)) << e.server_text();
        EXPECT_TRUE(has(e.hint(), "fault on the server")) << e.hint();
        EXPECT_FALSE(has(e.hint(), "use starttls")) << "the user just did: " << e.hint();
    } catch (const error& e) {
        ADD_FAILURE() << "wrong class: " << e.what();
    }
    EXPECT_FALSE(c.is_connected());
    srv.stop();
}

TEST(diagnosis, starttls_accepted_then_plaintext_is_a_server_fault_in_every_protocol) {
    // Courier-IMAP without couriertls: OK, then a NO in answer to the ClientHello.
    expect_starttls_not_started<imap::client>(script{}
                                                  .send("* OK [CAPABILITY IMAP4rev1 STARTTLS] Courier\r\n")
                                                  .expect_line_matching(R"(^(\S+) STARTTLS$)")
                                                  .send("$1 OK Begin SSL/TLS negotiation now.\r\n")
                                                  .expect_tls_client_hello()
                                                  .send("$1 NO STARTTLS failed: 500 Error starting couriertls.\r\n")
                                                  .close(),
                                              "Error starting couriertls");
    expect_starttls_not_started<pop3::client>(script{}
                                                  .send("+OK ready\r\n")
                                                  .expect_line("CAPA")
                                                  .send("+OK\r\nSTLS\r\nUSER\r\n.\r\n")
                                                  .expect_line("STLS")
                                                  .send("+OK Begin SSL/TLS negotiation now.\r\n")
                                                  .expect_tls_client_hello()
                                                  .send("-ERR STLS failed: cannot start TLS\r\n")
                                                  .close(),
                                              "cannot start TLS");
    expect_starttls_not_started<smtp::client>(script{}
                                                  .send("220 scripted ESMTP\r\n")
                                                  .expect_line_matching("^EHLO ")
                                                  .send("250-scripted\r\n250 STARTTLS\r\n")
                                                  .expect_line("STARTTLS")
                                                  .send("220 2.0.0 Ready to start TLS\r\n")
                                                  .expect_tls_client_hello()
                                                  .send("454 4.7.0 TLS not available\r\n")
                                                  .close(),
                                              "TLS not available");
}

TEST(diagnosis, internal_error_alert_blames_the_servers_tls) {
    // OpenSMTPD on Debian 12 with a broken key: a fatal internal_error alert (RFC 8446 §6.2, 80).
    scripted_server srv(script{}.expect_tls_client_hello().send_raw(std::string("\x15\x03\x03\x00\x02\x02\x50", 7)));
    smtp::client c;
    fast(c);
    try {
        c.connect(srv.host(), srv.port(), security::implicit_tls);
        ADD_FAILURE() << "connected through an alert";
    } catch (const tls_error& e) {
        EXPECT_EQ(e.code(), errc::tls_handshake_failed) << e.what();
        EXPECT_TRUE(has(e.detail(), "internal_error")) << e.detail();
        EXPECT_TRUE(has(e.hint(), "server's TLS setup")) << e.hint();
    } catch (const error& e) {
        ADD_FAILURE() << "wrong class: " << e.what();
    }
    srv.stop();
}

// ---- item 6: a client certificate wanted -------------------------------------------------------

void expect_client_cert_wanted(tls_proto max_version) {
    tls_server_options tls;
    tls.require_client_cert = true;
    tls.max_version = max_version;
    scripted_server srv(script{}.tls_first(tls).send("* OK [CAPABILITY IMAP4rev1] ready\r\n"));
    imap::client c;
    fast(c);
    try {
        c.connect(srv.host(), srv.port(), security::implicit_tls);
        ADD_FAILURE() << "connected without the certificate the server demands";
    } catch (const tls_error& e) {
        EXPECT_EQ(e.code(), errc::tls_handshake_failed) << e.what();
        EXPECT_TRUE(has(e.hint(), "client certificate")) << e.what();
        EXPECT_TRUE(has(e.hint(), "--client-cert")) << e.hint();
        EXPECT_TRUE(has(e.hint(), "client_cert_file")) << e.hint();
    } catch (const error& e) {
        ADD_FAILURE() << "wrong class: " << e.what();
    }
    EXPECT_FALSE(c.is_connected());
    srv.stop();  // the server's handshake failed, as it should
}

TEST(diagnosis, tls13_certificate_required_on_the_first_read_asks_for_a_client_certificate) {
    expect_client_cert_wanted(tls_proto::v1_3);
}

TEST(diagnosis, tls12_handshake_failure_after_certificate_request_asks_for_a_client_certificate) {
    expect_client_cert_wanted(tls_proto::v1_2);
}

// ---- item 6: another protocol's greeting --------------------------------------------------------

template <class Client>
void expect_foreign(const std::string& greeting, const std::string& found, const std::string& ports) {
    scripted_server srv(script{}.send(greeting).stall(3000ms));
    Client c;
    fast(c);
    try {
        c.connect(srv.host(), srv.port(), security::none);
        ADD_FAILURE() << "accepted " << greeting;
    } catch (const protocol_error& e) {
        EXPECT_EQ(e.code(), errc::protocol_violation) << e.what();
        EXPECT_EQ(e.stage(), stage::greeting);
        EXPECT_TRUE(has(e.detail(), "greeted like a" + std::string(found == "POP3" ? " " : "n ") + found + " server"))
            << e.detail();
        EXPECT_TRUE(has(e.hint(), ports)) << e.hint();
    } catch (const error& e) {
        ADD_FAILURE() << "wrong class: " << e.what();
    }
    srv.stop();
}

TEST(diagnosis, every_protocol_names_the_protocol_it_found) {
    expect_foreign<imap::client>("220 mx.example ESMTP Postfix\r\n", "SMTP", "587");
    expect_foreign<imap::client>("+OK Dovecot ready.\r\n", "POP3", "110");
    expect_foreign<pop3::client>("* OK [CAPABILITY IMAP4rev1] Dovecot ready.\r\n", "IMAP", "143");
    expect_foreign<pop3::client>("220 mx.example ESMTP\r\n", "SMTP", "465");
    expect_foreign<smtp::client>("* OK [CAPABILITY IMAP4rev1] Dovecot ready.\r\n", "IMAP", "993");
    expect_foreign<smtp::client>("+OK Dovecot ready.\r\n", "POP3", "995");
}

// ---- item 9: mechanisms mailwire does not implement or cannot use -------------------------------

script imap_offering(const std::string& mechanisms) {
    return script{}
        .send("* OK [CAPABILITY IMAP4rev1 " + mechanisms + "] ready\r\n")
        .expect_line_matching(R"(^(\S+) LOGOUT$)")
        .send("* BYE\r\n$1 OK bye\r\n");
}

sasl::credentials alice() {
    sasl::credentials cr;
    cr.user = "alice";
    cr.password = secret("pw");
    return cr;
}

TEST(diagnosis, an_unimplemented_mechanism_is_named_as_ours_before_anything_is_sent) {
    scripted_server srv(imap_offering("AUTH=DIGEST-MD5 AUTH=PLAIN"));
    imap::client c;
    fast(c);
    c.allow_plaintext_auth(true);
    c.connect(srv.host(), srv.port(), security::none);
    try {
        c.authenticate(alice(), {"DIGEST-MD5"});
        ADD_FAILURE() << "authenticated with a mechanism mailwire lacks";
    } catch (const auth_error& e) {
        EXPECT_EQ(e.code(), errc::auth_unsupported) << e.what();
        EXPECT_TRUE(has(e.detail(), "mailwire does not implement DIGEST-MD5")) << e.detail();
        EXPECT_TRUE(has(e.detail(), "it implements SCRAM-SHA-256-PLUS")) << e.detail();
        EXPECT_TRUE(has(e.detail(), "the server offers DIGEST-MD5 PLAIN")) << e.detail();
    }
    EXPECT_TRUE(c.is_connected()) << "nothing was sent: the session is as good as before";
    c.disconnect();
    EXPECT_EQ(srv.wait(), "");
    EXPECT_FALSE(has(srv.received(), "AUTHENTICATE")) << srv.received();
}

TEST(diagnosis, external_without_a_client_certificate_is_refused_before_sending) {
    tls_server_options tls;
    scripted_server srv(script{}
                            .tls_first(tls)
                            .send("* OK [CAPABILITY IMAP4rev1 AUTH=EXTERNAL AUTH=PLAIN] ready\r\n")
                            .expect_line_matching(R"(^(\S+) LOGOUT$)")
                            .send("* BYE\r\n$1 OK bye\r\n"));
    imap::client c;
    fast(c);
    c.connect(srv.host(), srv.port(), security::implicit_tls);
    try {
        c.authenticate(alice(), {"EXTERNAL"});
        ADD_FAILURE() << "sent EXTERNAL without a certificate";
    } catch (const auth_error& e) {
        EXPECT_EQ(e.code(), errc::auth_unsupported) << e.what();
        EXPECT_TRUE(has(e.detail(), "EXTERNAL")) << e.detail();
        EXPECT_TRUE(has(e.detail(), "client certificate")) << e.detail();
        EXPECT_TRUE(has(e.hint(), "--client-cert")) << e.hint();
    }
    c.disconnect();
    EXPECT_EQ(srv.wait(), "");
    EXPECT_FALSE(has(srv.received(), "AUTHENTICATE")) << srv.received();
}

}  // namespace
}  // namespace mailwire
