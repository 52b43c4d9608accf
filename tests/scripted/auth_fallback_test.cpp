// Authentication that works on every stock server without giving up safety (issue #13, items 1
// and 2): a refused SCRAM -PLUS falls back to the same SCRAM without binding only with automatic
// selection, over a certificate the default policy accepted, after a failure reply; tls-unique
// on TLS 1.2; POP3 prefers USER/PASS over APOP inside TLS and accepts an explicit "APOP".
#include <gtest/gtest.h>

#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "mailwire/imap/client.hpp"
#include "mailwire/pop3/client.hpp"
#include "mailwire/sasl/base64.hpp"
#include "sasl/detail.hpp"
#include "support/scripted_server.hpp"

namespace mailwire {
namespace {

using namespace std::chrono_literals;
using test::script;
using test::scripted_server;
using test::tls_proto;
using test::tls_server_options;

constexpr const char* password = "pencil";

template <class Client>
void fast(Client& c) {
    c.timeouts().greeting = 5000ms;
    c.timeouts().io = 5000ms;
    c.timeouts().connect = 5000ms;
    c.tls().session_resumption = false;
}

std::string strip_crlf(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    return s;
}

// An independent SCRAM-SHA-256 server side (RFC 5802 §3, §5), driven line by line through
// script::respond. It records every client message so the test can check the gs2 headers, and
// it checks the client's proof: a fallback that merely "looks" right fails here.
struct scram_server {
    std::mutex m;
    std::string tag;                         // the tag of the running AUTHENTICATE
    std::vector<std::string> mechanisms;     // each AUTHENTICATE's mechanism, in order
    std::vector<std::string> client_firsts;  // decoded
    std::string expected_cbind;              // gs2 header + binding data the client must send
    std::string client_first_bare, server_first;
    bool proof_ok = false;

    // "<tag> AUTHENTICATE <mech>" -> "+ "
    std::string start(const std::string& line) {
        std::lock_guard l(m);
        const auto sp = line.find(' ');
        const auto sp2 = line.find(' ', sp + 1);
        if (sp == std::string::npos || sp2 == std::string::npos || line.substr(sp + 1, sp2 - sp - 1) != "AUTHENTICATE")
            throw std::runtime_error("not an AUTHENTICATE command");
        tag = line.substr(0, sp);
        mechanisms.push_back(line.substr(sp2 + 1));
        return "+ \r\n";
    }
    // client-first -> server-first challenge
    std::string first(const std::string& line) {
        std::lock_guard l(m);
        const std::string cf = sasl::base64_decode(strip_crlf(line));
        client_firsts.push_back(cf);
        const auto bare = cf.find("n=");
        if (bare == std::string::npos) throw std::runtime_error("no n= in client-first");
        client_first_bare = cf.substr(bare);
        const auto r = client_first_bare.find(",r=");
        server_first =
            "r=" + client_first_bare.substr(r + 3) + "SERVERNONCE,s=" + sasl::base64_encode("salt-salt") + ",i=64";
        return "+ " + sasl::base64_encode(server_first) + "\r\n";
    }
    // client-first -> refusal, as Cyrus 3.6 answers a binding type it does not implement
    std::string refuse_first(const std::string& line) {
        std::lock_guard l(m);
        client_firsts.push_back(sasl::base64_decode(strip_crlf(line)));
        return tag + " NO bad protocol / cancel\r\n";
    }
    // client-final -> "+ v=..." when the proof and the binding verify, else a refusal
    std::string final(const std::string& line) {
        std::lock_guard l(m);
        const std::string cf = sasl::base64_decode(strip_crlf(line));
        const auto p = cf.find(",p=");
        if (p == std::string::npos) throw std::runtime_error("no proof in client-final");
        const std::string without_proof = cf.substr(0, p);
        if (without_proof.substr(0, without_proof.find(',')) != "c=" + sasl::base64_encode(expected_cbind))
            return tag + " NO channel bindings do not match\r\n";
        const std::string proof = sasl::base64_decode(cf.substr(p + 3));
        const secret salted = sasl::detail::pbkdf2("SHA256", password, "salt-salt", 64);
        const secret stored =
            sasl::detail::digest("SHA256", sasl::detail::hmac("SHA256", salted.view(), "Client Key").view());
        const std::string auth = client_first_bare + "," + server_first + "," + without_proof;
        std::string client_key(sasl::detail::hmac("SHA256", stored.view(), auth).view());
        if (proof.size() != client_key.size()) return tag + " NO invalid proof\r\n";
        for (std::size_t i = 0; i < client_key.size(); ++i) client_key[i] ^= proof[i];
        if (!(sasl::detail::digest("SHA256", client_key) == stored)) return tag + " NO invalid proof\r\n";
        proof_ok = true;
        const secret sig =
            sasl::detail::hmac("SHA256", sasl::detail::hmac("SHA256", salted.view(), "Server Key").view(), auth);
        return "+ " + sasl::base64_encode("v=" + sasl::base64_encode(sig.view())) + "\r\n";
    }
    // the client's empty answer to the server-final challenge -> tagged OK (with capabilities, so
    // the client asks for nothing more)
    std::string ok(const std::string& line) {
        std::lock_guard l(m);
        if (!strip_crlf(line).empty()) throw std::runtime_error("expected an empty response");
        return tag + " OK [CAPABILITY IMAP4rev1] logged in\r\n";
    }
};

constexpr const char* greeting = "* OK [CAPABILITY IMAP4rev1 AUTH=SCRAM-SHA-256-PLUS AUTH=SCRAM-SHA-256] hi\r\n";

// -PLUS attempt refused with a failure reply; then (optionally) a verified plain SCRAM exchange.
script plus_refused(const std::shared_ptr<scram_server>& s, bool then_plain, tls_server_options tls = {}) {
    script sc;
    sc.tls_first(tls)
        .send(greeting)
        .respond([s](const std::string& l) { return s->start(l); })
        .respond([s](const std::string& l) { return s->refuse_first(l); });
    if (then_plain)
        sc.respond([s](const std::string& l) { return s->start(l); })
            .respond([s](const std::string& l) { return s->first(l); })
            .respond([s](const std::string& l) { return s->final(l); })
            .respond([s](const std::string& l) { return s->ok(l); });
    sc.expect_line_matching(R"(^(\S+) LOGOUT$)").send("* BYE\r\n$1 OK bye\r\n");
    return sc;
}

sasl::credentials alice() {
    sasl::credentials c;
    c.user = "alice";
    c.password = password;
    return c;
}

TEST(auth_fallback, refused_plus_falls_back_to_the_same_scram_and_the_server_verifies_it) {
    auto s = std::make_shared<scram_server>();
    s->expected_cbind = "n,,";  // the server offered -PLUS: "n", never "y" (RFC 5802 §6)
    scripted_server srv(plus_refused(s, true));
    imap::client c;
    fast(c);
    c.tls().ca_file = scripted_server::default_cert_file();
    c.connect(srv.host(), srv.port(), security::implicit_tls);
    ASSERT_TRUE(c.tls_info().certificate.accepted_by_default);
    c.authenticate(alice());
    EXPECT_TRUE(c.is_authenticated());
    EXPECT_EQ(c.authenticated_with(), "SCRAM-SHA-256");
    EXPECT_EQ(c.auth_fallback_from(), "SCRAM-SHA-256-PLUS");
    c.disconnect();
    EXPECT_EQ(srv.wait(), "");
    EXPECT_TRUE(s->proof_ok);
    ASSERT_EQ(s->mechanisms, (std::vector<std::string>{"SCRAM-SHA-256-PLUS", "SCRAM-SHA-256"}));
    ASSERT_EQ(s->client_firsts.size(), 2u);
    EXPECT_TRUE(s->client_firsts[0].starts_with("p=tls-exporter,,")) << s->client_firsts[0];  // TLS 1.3
    EXPECT_TRUE(s->client_firsts[1].starts_with("n,,")) << s->client_firsts[1];
}

TEST(auth_fallback, explicit_plus_never_falls_back) {
    auto s = std::make_shared<scram_server>();
    scripted_server srv(plus_refused(s, false));
    imap::client c;
    fast(c);
    c.tls().ca_file = scripted_server::default_cert_file();
    c.connect(srv.host(), srv.port(), security::implicit_tls);
    try {
        c.authenticate(alice(), {"SCRAM-SHA-256-PLUS"});
        ADD_FAILURE() << "logged in although the server refused";
    } catch (const auth_error& e) {
        EXPECT_EQ(e.code(), errc::auth_failed);
        // Says what may be wrong besides the password, and how to get in.
        EXPECT_NE(e.hint().find("tls-exporter channel binding"), std::string::npos) << e.hint();
    }
    EXPECT_FALSE(c.is_authenticated());
    EXPECT_TRUE(c.auth_fallback_from().empty());
    c.disconnect();
    EXPECT_EQ(srv.wait(), "");  // LOGOUT came next, not a second AUTHENTICATE
    EXPECT_EQ(s->mechanisms, std::vector<std::string>{"SCRAM-SHA-256-PLUS"});
}

TEST(auth_fallback, no_fallback_over_a_certificate_accepted_by_override) {
    auto s = std::make_shared<scram_server>();
    scripted_server srv(plus_refused(s, false));
    imap::client c;
    fast(c);
    // No CA: the self-signed certificate fails the default policy and only the override takes
    // it. Binding is then the one thing that could expose a man in the middle.
    int overrides = 0;
    c.override_rejection([&](const certificate_check&) {
        ++overrides;
        return true;
    });
    c.connect(srv.host(), srv.port(), security::implicit_tls);
    ASSERT_EQ(overrides, 1);
    ASSERT_FALSE(c.tls_info().certificate.accepted_by_default);
    try {
        c.authenticate(alice());
        ADD_FAILURE() << "logged in without channel binding over an overridden certificate";
    } catch (const auth_error& e) {
        EXPECT_EQ(e.code(), errc::auth_failed);
    }
    EXPECT_TRUE(c.auth_fallback_from().empty());
    c.disconnect();
    EXPECT_EQ(srv.wait(), "");
    EXPECT_EQ(s->mechanisms, std::vector<std::string>{"SCRAM-SHA-256-PLUS"});
}

// The -PLUS exchange runs to the end but the server never proves it knows the password: a
// success reply without v= (verify_success) closes the connection; a wrong v= challenge (the
// client cancels, the server then refuses) is not a refusal to retry either.
TEST(auth_fallback, mutual_authentication_failure_without_proof_is_fatal) {
    auto s = std::make_shared<scram_server>();
    scripted_server srv(script{}
                            .tls_first()
                            .send(greeting)
                            .respond([s](const std::string& l) { return s->start(l); })
                            .respond([s](const std::string& l) { return s->first(l); })
                            .respond([s](const std::string&) { return s->tag + " OK welcome\r\n"; })
                            .expect_eof());
    imap::client c;
    fast(c);
    c.tls().ca_file = scripted_server::default_cert_file();
    c.connect(srv.host(), srv.port(), security::implicit_tls);
    EXPECT_THROW(c.authenticate(alice()), auth_error);
    EXPECT_FALSE(c.is_authenticated());
    EXPECT_FALSE(c.is_connected());
    EXPECT_EQ(srv.wait(), "");
    EXPECT_EQ(s->mechanisms, std::vector<std::string>{"SCRAM-SHA-256-PLUS"});
}

TEST(auth_fallback, mutual_authentication_failure_with_wrong_signature_is_fatal) {
    auto s = std::make_shared<scram_server>();
    scripted_server srv(script{}
                            .tls_first()
                            .send(greeting)
                            .expect_line_matching(R"(^(\S+) AUTHENTICATE SCRAM-SHA-256-PLUS$)")
                            .send("+ \r\n")
                            .respond([s](const std::string& l) { return s->first(l); })
                            .respond([](const std::string&) {
                                return "+ " + sasl::base64_encode("v=" + sasl::base64_encode(std::string(32, 'x'))) +
                                       "\r\n";
                            })
                            .expect_line("*")
                            .send("$1 NO cancelled\r\n")  // a failure reply, but after our cancel
                            .expect_line_matching(R"(^(\S+) LOGOUT$)")
                            .send("* BYE\r\n$1 OK bye\r\n"));
    imap::client c;
    fast(c);
    c.tls().ca_file = scripted_server::default_cert_file();
    c.connect(srv.host(), srv.port(), security::implicit_tls);
    EXPECT_THROW(c.authenticate(alice()), auth_error);
    EXPECT_FALSE(c.is_authenticated());
    c.disconnect();
    EXPECT_EQ(srv.wait(), "");
    EXPECT_EQ(s->client_firsts.size(), 1u);
}

TEST(auth_fallback, tls12_with_extended_master_secret_binds_tls_unique) {
    auto s = std::make_shared<scram_server>();
    tls_server_options tls;
    tls.max_version = tls_proto::v1_2;
    scripted_server srv(script{}
                            .tls_first(tls)
                            .send(greeting)
                            .respond([s](const std::string& l) { return s->start(l); })
                            .respond([s](const std::string& l) { return s->first(l); })
                            .respond([s](const std::string& l) { return s->final(l); })
                            .respond([s](const std::string& l) { return s->ok(l); })
                            .expect_line_matching(R"(^(\S+) LOGOUT$)")
                            .send("* BYE\r\n$1 OK bye\r\n"));
    imap::client c;
    fast(c);
    c.tls().ca_file = scripted_server::default_cert_file();
    c.connect(srv.host(), srv.port(), security::implicit_tls);
    ASSERT_EQ(c.tls_info().version, "TLSv1.2");
    const auto unique = c.transport().channel_binding("tls-unique");
    ASSERT_FALSE(unique.empty());
    {
        std::lock_guard l(s->m);
        s->expected_cbind = "p=tls-unique,," + std::string(unique.begin(), unique.end());
    }
    c.authenticate(alice());
    EXPECT_EQ(c.authenticated_with(), "SCRAM-SHA-256-PLUS");
    EXPECT_TRUE(c.auth_fallback_from().empty());
    c.disconnect();
    EXPECT_EQ(srv.wait(), "");
    EXPECT_TRUE(s->proof_ok);  // the server checked the tls-unique bytes inside the proof
}

// ---- POP3: USER/PASS inside TLS, APOP when asked or over plaintext -----------------------------

constexpr const char* pop3_greeting = "+OK ready <1896.697170952@dbc.mailcom.example>\r\n";

std::string apop_digest() {
    const secret d = sasl::detail::digest("MD5", std::string("<1896.697170952@dbc.mailcom.example>") + password);
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (unsigned char ch : d.view()) out += {hex[ch >> 4], hex[ch & 15]};
    return out;
}

script pop3_server(bool tls, std::vector<std::string> login_lines) {
    script sc;
    if (tls) sc.tls_first();
    sc.send(pop3_greeting).expect_line("CAPA").send("+OK\r\nUSER\r\nTOP\r\n.\r\n");
    for (const auto& l : login_lines) sc.expect_line(l).send("+OK\r\n");
    sc.expect_line("QUIT").send("+OK bye\r\n");
    return sc;
}

TEST(auth_fallback, pop3_over_tls_prefers_user_pass_to_apop) {
    scripted_server srv(pop3_server(true, {"USER alice", std::string("PASS ") + password}));
    pop3::client c;
    fast(c);
    c.tls().ca_file = scripted_server::default_cert_file();
    c.connect(srv.host(), srv.port(), security::implicit_tls);
    ASSERT_FALSE(c.apop_timestamp().empty());
    c.authenticate(alice());
    EXPECT_EQ(c.authenticated_with(), "USER");
    c.disconnect();
    EXPECT_EQ(srv.wait(), "");
}

TEST(auth_fallback, pop3_explicit_apop_is_used) {
    scripted_server srv(pop3_server(true, {"APOP alice " + apop_digest()}));
    pop3::client c;
    fast(c);
    c.tls().ca_file = scripted_server::default_cert_file();
    c.connect(srv.host(), srv.port(), security::implicit_tls);
    c.authenticate(alice(), {"apop"});
    EXPECT_EQ(c.authenticated_with(), "APOP");
    c.disconnect();
    EXPECT_EQ(srv.wait(), "");
}

TEST(auth_fallback, pop3_over_plaintext_keeps_apop_which_hides_the_password) {
    scripted_server srv(pop3_server(false, {"APOP alice " + apop_digest()}));
    pop3::client c;
    fast(c);
    c.allow_plaintext_auth(true);
    c.connect(srv.host(), srv.port(), security::none);
    c.authenticate(alice());
    EXPECT_EQ(c.authenticated_with(), "APOP");
    c.disconnect();
    EXPECT_EQ(srv.wait(), "");
}

TEST(auth_fallback, pop3_explicit_apop_over_plaintext_still_needs_permission) {
    scripted_server srv(script{}
                            .send(pop3_greeting)
                            .expect_line("CAPA")
                            .send("+OK\r\nUSER\r\n.\r\n")
                            .expect_line("QUIT")
                            .send("+OK bye\r\n"));
    pop3::client c;
    fast(c);
    c.connect(srv.host(), srv.port(), security::none);
    try {
        c.authenticate(alice(), {"APOP"});
        ADD_FAILURE() << "APOP sent over plaintext without allow_plaintext_auth";
    } catch (const auth_error& e) {
        EXPECT_EQ(e.code(), errc::plaintext_auth_refused);
    }
    c.disconnect();
    EXPECT_EQ(srv.wait(), "");
}

}  // namespace
}  // namespace mailwire
