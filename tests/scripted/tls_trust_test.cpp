// Certificate trust against hostile TLS peers (issue #12, items 1-4): pins that an appended
// public certificate cannot satisfy, callbacks that can only veto, an override that is the one
// explicit way to accept a rejected certificate, no channel binding without the extended master
// secret, and a security level that old TLS versions do not lower for certificates.
#include <gtest/gtest.h>

#include <string>
#include <tuple>
#include <vector>

#include "mailwire/imap/client.hpp"
#include "mailwire/sasl/base64.hpp"
#include "support/scripted_server.hpp"
#include "support/test_certs.hpp"

namespace mailwire {
namespace {

using namespace std::chrono_literals;
using test::script;
using test::scripted_server;
using test::test_certs;
using test::tls_proto;
using test::tls_server_options;

void fast(imap::client& c) {
    c.timeouts().greeting = 3000ms;
    c.timeouts().io = 3000ms;
    c.timeouts().connect = 3000ms;
    c.tls().session_resumption = false;  // each test decides on its own handshake
}

// An implicit-TLS IMAP server presenting `tls`'s certificate, greeting and answering LOGOUT. A
// client that rejects the certificate closes during the handshake, which the script does not
// count against it: the test asserts the client's side.
script imap_tls(tls_server_options tls) {
    return script{}
        .tls_first(std::move(tls))
        .send("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] scripted\r\n")
        .expect_line_matching(R"(^(\S+) LOGOUT$)")
        .send("* BYE\r\n$1 OK bye\r\n");
}

tls_server_options serving(const std::string& cert, const std::string& key) {
    tls_server_options o;
    o.cert_file = test_certs::get().file(cert);
    o.key_file = test_certs::get().file(key);
    return o;
}

std::string pin_of(const std::string& cert) {
    return "sha256/" + test_certs::openssl_pin(test_certs::get().file(cert));
}

// ---- item 1: pins ------------------------------------------------------------------------------

TEST(tls_trust, pin_is_the_rfc7469_spki_hash_the_openssl_tool_computes) {
    const std::string pin = pin_of("genuine.crt");
    ASSERT_EQ(pin.size(), 7u + 44u) << pin;
    scripted_server srv(imap_tls(serving("genuine.crt", "genuine.key")));
    imap::client c;
    fast(c);
    c.tls().ca_file = test_certs::get().file("genuine.crt");
    c.tls().pins = {pin};
    c.connect(srv.host(), srv.port(), security::implicit_tls);
    const auto& check = c.tls_info().certificate;
    EXPECT_EQ("sha256/" + check.chain.front().spki_sha256, pin);
    ASSERT_EQ(check.verified_chain.size(), 1u);
    EXPECT_EQ("sha256/" + check.verified_chain.front().spki_sha256, pin);
    EXPECT_TRUE(check.pin_matched);
    EXPECT_TRUE(check.accepted_by_default);
    c.disconnect();
    EXPECT_EQ(srv.wait(), "");
}

TEST(tls_trust, appended_genuine_certificate_does_not_satisfy_a_pin) {
    // The attacker holds a certificate from a CA the client trusts and appends the genuine
    // (public) certificate to the chain it sends. Only the verified chain counts.
    scripted_server srv(imap_tls(serving("append.crt", "evil.key")));
    imap::client c;
    fast(c);
    c.tls().ca_file = test_certs::get().file("evil-ca.crt");
    c.tls().use_system_store = false;
    c.tls().pins = {pin_of("genuine.crt")};
    int calls = 0;
    c.on_certificate([&](const certificate_check&) { return ++calls, true; });
    c.override_rejection([&](const certificate_check&) { return ++calls, true; });
    try {
        c.connect(srv.host(), srv.port(), security::implicit_tls);
        FAIL() << "a pin matched a certificate the server merely appended";
    } catch (const certificate_error& e) {
        EXPECT_EQ(e.check().errors, policy_error::none) << e.what();  // the attacker's chain verifies
        EXPECT_EQ(e.check().chain.size(), 2u) << "the genuine certificate was sent";
        EXPECT_EQ("sha256/" + e.check().chain.back().spki_sha256, pin_of("genuine.crt"));
        EXPECT_FALSE(e.check().pin_matched);
        EXPECT_FALSE(e.check().accepted_by_default);
        EXPECT_NE(std::string(e.what()).find("pin"), std::string::npos) << e.what();
    }
    EXPECT_EQ(calls, 0) << "a pin mismatch is final: no callback is asked";
    EXPECT_FALSE(c.is_connected());
    srv.stop();
}

TEST(tls_trust, a_pin_on_the_verified_issuer_matches) {
    scripted_server srv(imap_tls(serving("append.crt", "evil.key")));
    imap::client c;
    fast(c);
    c.tls().ca_file = test_certs::get().file("evil-ca.crt");
    c.tls().use_system_store = false;
    c.tls().pins = {pin_of("evil-ca.crt")};  // the CA comes from the trust store, not the wire
    c.connect(srv.host(), srv.port(), security::implicit_tls);
    const auto& check = c.tls_info().certificate;
    EXPECT_TRUE(check.pin_matched);
    ASSERT_EQ(check.verified_chain.size(), 2u);
    EXPECT_EQ("sha256/" + check.verified_chain.back().spki_sha256, pin_of("evil-ca.crt"));
    c.disconnect();
    EXPECT_EQ(srv.wait(), "");
}

TEST(tls_trust, pin_overriding_a_failed_chain_matches_only_the_leaf) {
    // --trust-pin's way: override a chain error when the pin matched. Against the append attack
    // (attacker's CA untrusted) the pin must not match the appended genuine certificate.
    auto trust_pin = [](imap::client& c, int& calls) {
        fast(c);
        c.tls().ca_file = test_certs::get().file("good-ca.crt");
        c.tls().use_system_store = false;
        c.tls().pins = {pin_of("genuine.crt")};
        c.override_rejection([&calls](const certificate_check& check) {
            ++calls;
            return check.pin_matched;
        });
    };
    {
        scripted_server srv(imap_tls(serving("append.crt", "evil.key")));
        imap::client c;
        int calls = 0;
        trust_pin(c, calls);
        try {
            c.connect(srv.host(), srv.port(), security::implicit_tls);
            FAIL() << "the appended genuine certificate satisfied the pin";
        } catch (const certificate_error& e) {
            EXPECT_TRUE(any(e.check().errors & policy_error::chain_errors)) << e.what();
            EXPECT_FALSE(e.check().pin_matched);
            EXPECT_TRUE(e.check().verified_chain.empty());
        }
        EXPECT_EQ(calls, 0) << "a pin mismatch is never overridable";
        srv.stop();
    }
    {
        // Control: the genuine server itself (self-signed, so the chain fails) is accepted.
        scripted_server srv(imap_tls(serving("genuine.crt", "genuine.key")));
        imap::client c;
        int calls = 0;
        trust_pin(c, calls);
        c.connect(srv.host(), srv.port(), security::implicit_tls);
        EXPECT_EQ(calls, 1);
        EXPECT_TRUE(c.tls_info().certificate.pin_matched);
        EXPECT_FALSE(c.tls_info().certificate.accepted_by_default);
        c.disconnect();
        EXPECT_EQ(srv.wait(), "");
    }
}

// ---- item 2: on_certificate vetoes, override_rejection accepts --------------------------------

TEST(tls_trust, on_certificate_returning_true_keeps_the_rejection) {
    scripted_server srv(imap_tls({}));  // self-signed, not trusted
    imap::client c;
    fast(c);
    std::vector<certificate_check> seen;
    c.on_certificate([&](const certificate_check& check) {
        seen.push_back(check);
        return true;  // "I only wanted to log it"
    });
    EXPECT_THROW(c.connect(srv.host(), srv.port(), security::implicit_tls), certificate_error);
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_FALSE(seen[0].accepted_by_default);
    EXPECT_EQ(seen[0].errors, policy_error::chain_errors);
    EXPECT_FALSE(c.is_connected());
    srv.stop();
}

TEST(tls_trust, on_certificate_can_veto_a_verified_certificate) {
    scripted_server srv(imap_tls({}));
    imap::client c;
    fast(c);
    c.tls().ca_file = scripted_server::default_cert_file();
    bool override_asked = false;
    c.on_certificate([](const certificate_check& check) {
        EXPECT_TRUE(check.accepted_by_default);
        return false;
    });
    c.override_rejection([&](const certificate_check&) { return override_asked = true; });
    try {
        c.connect(srv.host(), srv.port(), security::implicit_tls);
        FAIL() << "the veto was ignored";
    } catch (const certificate_error& e) {
        EXPECT_TRUE(e.check().accepted_by_default);
        EXPECT_NE(std::string(e.what()).find("callback"), std::string::npos) << e.what();
    }
    EXPECT_FALSE(override_asked) << "a veto is final";
    srv.stop();
}

TEST(tls_trust, override_is_asked_only_when_the_default_policy_rejects) {
    {
        scripted_server srv(imap_tls({}));
        imap::client c;
        fast(c);
        c.tls().ca_file = scripted_server::default_cert_file();
        int calls = 0;
        c.override_rejection([&](const certificate_check&) { return ++calls, false; });
        c.connect(srv.host(), srv.port(), security::implicit_tls);  // verified: the override is not asked
        EXPECT_EQ(calls, 0);
        c.disconnect();
        EXPECT_EQ(srv.wait(), "");
    }
    {
        // Trust on first use of a self-signed certificate known by fingerprint.
        scripted_server srv(imap_tls({}));
        imap::client c;
        fast(c);
        std::string fingerprint;
        {
            imap::client peek;
            fast(peek);
            scripted_server first(imap_tls({}));
            try {
                peek.connect(first.host(), first.port(), security::implicit_tls);
            } catch (const certificate_error& e) {
                fingerprint = e.check().chain.at(0).sha256_fingerprint;
            }
            first.stop();
        }
        ASSERT_FALSE(fingerprint.empty());
        int calls = 0;
        c.override_rejection([&](const certificate_check& check) {
            ++calls;
            EXPECT_FALSE(check.accepted_by_default);
            return check.errors == policy_error::chain_errors && check.chain.front().sha256_fingerprint == fingerprint;
        });
        c.connect(srv.host(), srv.port(), security::implicit_tls);
        EXPECT_EQ(calls, 1);
        EXPECT_TRUE(c.is_secure());
        c.disconnect();
        EXPECT_EQ(srv.wait(), "");
    }
}

// ---- item 3: channel binding needs the extended master secret ---------------------------------

struct scram_attempt {
    std::string mechanism;
    std::string client_first;  // decoded
    std::vector<unsigned char> exporter, unique;
    std::string version;
};

// Offers SCRAM-SHA-256-PLUS and SCRAM-SHA-256 over TLS 1.2, records which one the client picks
// and its first message, then refuses the login.
scram_attempt try_scram(bool ems) {
    tls_server_options tls;
    tls.max_version = tls_proto::v1_2;
    tls.extended_master_secret = ems;
    script sc;
    sc.tls_first(tls)
        .send("* OK [CAPABILITY IMAP4rev1 AUTH=SCRAM-SHA-256-PLUS AUTH=SCRAM-SHA-256] hi\r\n")
        .expect_line_matching(R"(^(\S+) AUTHENTICATE (SCRAM-SHA-256(-PLUS)?)$)")
        .send("+ \r\n")
        .read_until("\r\n")
        .send("$1 NO [AUTHENTICATIONFAILED] scripted\r\n");
    if (ems)  // a refused -PLUS over a verified certificate is retried once without binding
        sc.expect_line_matching(R"(^(\S+) AUTHENTICATE SCRAM-SHA-256$)")
            .send("+ \r\n")
            .read_until("\r\n")
            .send("$1 NO [AUTHENTICATIONFAILED] scripted\r\n");
    sc.expect_line_matching(R"(^(\S+) LOGOUT$)").send("* BYE\r\n$1 OK bye\r\n");
    scripted_server srv(sc);
    imap::client c;
    fast(c);
    c.tls().ca_file = scripted_server::default_cert_file();
    c.connect(srv.host(), srv.port(), security::implicit_tls);
    scram_attempt a;
    a.version = c.tls_info().version;
    a.exporter = c.transport().channel_binding("tls-exporter");
    a.unique = c.transport().channel_binding("tls-unique");
    EXPECT_THROW(c.authenticate("alice", "secret"), auth_error);
    c.disconnect();
    EXPECT_EQ(srv.wait(), "");
    const auto received = srv.received();
    const auto at = received.find(" AUTHENTICATE ");
    if (at != std::string::npos) a.mechanism = received.substr(at + 14, received.find("\r\n", at) - at - 14);
    const auto captured = srv.captured();
    if (!captured.empty()) {
        std::string line = captured.front();
        while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
        a.client_first = sasl::base64_decode(line);
    }
    return a;
}

TEST(tls_trust, no_channel_binding_on_tls12_without_extended_master_secret) {
    const auto a = try_scram(false);
    EXPECT_EQ(a.version, "TLSv1.2");
    EXPECT_TRUE(a.exporter.empty()) << "tls-exporter offered without EMS (RFC 9266 §2)";
    EXPECT_TRUE(a.unique.empty()) << "tls-unique offered without EMS (RFC 7627)";
    EXPECT_EQ(a.mechanism, "SCRAM-SHA-256");
    // The server offered -PLUS and we do not bind: "n", never "p=" (nor "y", which would claim
    // the server cannot bind: RFC 5802 §6).
    EXPECT_TRUE(a.client_first.starts_with("n,,")) << a.client_first;
}

TEST(tls_trust, channel_binding_on_tls12_with_extended_master_secret) {
    // Control for the test above: the same server with EMS gets a bound SCRAM.
    const auto a = try_scram(true);
    EXPECT_EQ(a.version, "TLSv1.2");
    EXPECT_EQ(a.exporter.size(), 32u);
    EXPECT_FALSE(a.unique.empty());
    EXPECT_EQ(a.mechanism, "SCRAM-SHA-256-PLUS");
    // RFC 5802's default type on TLS 1.2 (what Cyrus implements); tls-exporter is TLS 1.3's.
    EXPECT_TRUE(a.client_first.starts_with("p=tls-unique,,")) << a.client_first;
}

// ---- item 4: old versions do not weaken certificate checks ------------------------------------

TEST(tls_trust, weak_certificates_rejected_even_with_tls10_allowed) {
    for (const std::string weak : {"rsa1024", "sha1"}) {
        for (const auto version : {tls_proto::v1_3, tls_proto::v1_2}) {
            for (const std::string ciphers : {"", "DEFAULT:@SECLEVEL=0"}) {
                auto tls = serving(weak + ".crt", weak + ".key");
                tls.security_level = 0;  // the server itself would refuse to serve them
                tls.max_version = version;
                scripted_server srv(imap_tls(tls));
                imap::client c;
                fast(c);
                c.tls().ca_file = test_certs::get().file("good-ca.crt");
                c.tls().use_system_store = false;
                c.tls().min_version = tls_version::v1_0;
                c.tls().cipher_list = ciphers;
                const auto what =
                    weak + " over " + std::to_string(static_cast<int>(version)) + " ciphers '" + ciphers + "'";
                try {
                    c.connect(srv.host(), srv.port(), security::implicit_tls);
                    ADD_FAILURE() << "accepted " << what << " (" << c.tls_info().version << ")";
                } catch (const certificate_error& e) {
                    EXPECT_EQ(e.check().errors, policy_error::chain_errors) << what << ": " << e.what();
                    // X509_V_ERR_EE_KEY_TOO_SMALL (66), X509_V_ERR_CA_MD_TOO_WEAK (68): weak, not untrusted.
                    const int expected = weak == "rsa1024" ? 66 : 68;
                    bool found = false;
                    for (const auto& r : e.check().verify_results)
                        found = found || (r.code == expected && r.depth == 0);
                    EXPECT_TRUE(found) << what << ": verify code " << expected << " missing: " << e.what();
                } catch (const mailwire::error& e) {
                    ADD_FAILURE() << what << ": expected a certificate_error, got " << e.what();
                }
                EXPECT_FALSE(c.is_connected());
                srv.stop();
            }
        }
    }
}

TEST(tls_trust, good_certificate_from_the_same_ca_is_accepted_with_tls10_allowed) {
    // Control for the test above: only the weakness makes the difference.
    scripted_server srv(imap_tls(serving("evil.crt", "evil.key")));
    imap::client c;
    fast(c);
    c.tls().ca_file = test_certs::get().file("evil-ca.crt");
    c.tls().use_system_store = false;
    c.tls().min_version = tls_version::v1_0;
    c.connect(srv.host(), srv.port(), security::implicit_tls);
    EXPECT_EQ(c.tls_info().version, "TLSv1.3");
    c.disconnect();
    EXPECT_EQ(srv.wait(), "");
}

TEST(tls_trust, old_versions_still_connect_when_allowed) {
    for (const auto& [proto, version, name] : {std::tuple{tls_proto::v1_0, tls_version::v1_0, "TLSv1"},
                                               std::tuple{tls_proto::v1_1, tls_version::v1_1, "TLSv1.1"}}) {
        tls_server_options tls;  // the default certificate: EC P-256, SHA-256
        tls.min_version = tls.max_version = proto;
        scripted_server srv(imap_tls(tls));
        imap::client c;
        fast(c);
        c.tls().ca_file = scripted_server::default_cert_file();
        c.tls().min_version = version;
        c.connect(srv.host(), srv.port(), security::implicit_tls);
        EXPECT_EQ(c.tls_info().version, name);
        EXPECT_TRUE(c.tls_info().certificate.accepted_by_default);
        c.disconnect();
        EXPECT_EQ(srv.wait(), "") << name;
    }
}

}  // namespace
}  // namespace mailwire
