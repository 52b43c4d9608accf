// Certificate policy against the harness's bad-certificate listeners, TLS version limits against
// the TLS-1.3-only listener, SPKI pinning, and the credential rules.
#include <gtest/gtest.h>
#include <openssl/x509_vfy.h>

#include <memory>
#include <vector>

#include "mailwire/imap/client.hpp"
#include "mailwire/pop3/client.hpp"
#include "mailwire/smtp/client.hpp"
#include "support/server_env.hpp"

namespace mailwire {
namespace {

using namespace std::chrono_literals;
using test::server_env;

void trust_test_ca(imap::client& c) {
    c.tls().ca_file = server_env::get().str("CA_FILE");
    c.tls().use_system_store = false;
    c.timeouts().greeting = 3000ms;
}

struct bad_cert {
    const char* host_key;
    policy_error expected;
    int verify_code;  // expected at depth 0
};

class certificates : public ::testing::TestWithParam<bad_cert> {};

TEST_P(certificates, rejected_by_default_with_exact_policy_flags) {
    const auto& env = server_env::get();
    imap::client c;
    trust_test_ca(c);
    try {
        c.connect(env.str(GetParam().host_key), env.port("IMAPS_PORT"), security::implicit_tls);
        FAIL() << "accepted a bad certificate";
    } catch (const certificate_error& e) {
        EXPECT_EQ(e.code(), errc::certificate_rejected);
        EXPECT_EQ(e.check().errors, GetParam().expected) << to_string(e.check().errors) << " — " << e.what();
        EXPECT_FALSE(e.check().chain.empty());
        EXPECT_FALSE(e.hint().empty());
        bool found = false;
        for (const auto& r : e.check().verify_results)
            found = found || (r.code == GetParam().verify_code && r.depth == 0);
        EXPECT_TRUE(found) << "verify code " << GetParam().verify_code << " missing: " << e.what();
    }
    EXPECT_FALSE(c.is_connected());
}

TEST_P(certificates, on_certificate_returning_true_does_not_accept_it) {
    // The callback composes with the default verdict: true keeps the rejection.
    const auto& env = server_env::get();
    imap::client c;
    trust_test_ca(c);
    std::vector<certificate_check> seen;
    c.on_certificate([&](const certificate_check& check) {
        seen.push_back(check);
        return true;
    });
    EXPECT_THROW(c.connect(env.str(GetParam().host_key), env.port("IMAPS_PORT"), security::implicit_tls),
                 certificate_error);
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_FALSE(seen[0].accepted_by_default);
    EXPECT_EQ(seen[0].errors, GetParam().expected);
    EXPECT_FALSE(c.is_connected());
}

TEST_P(certificates, accepted_by_an_override_that_allows_it) {
    const auto& env = server_env::get();
    imap::client c;
    trust_test_ca(c);
    std::vector<certificate_check> seen;
    c.override_rejection([&](const certificate_check& check) {
        seen.push_back(check);
        return (check.errors & ~GetParam().expected) == policy_error::none;
    });
    c.connect(env.str(GetParam().host_key), env.port("IMAPS_PORT"), security::implicit_tls);
    EXPECT_TRUE(c.is_secure());
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].errors, GetParam().expected);
    EXPECT_FALSE(seen[0].accepted_by_default);
    EXPECT_EQ(seen[0].host, env.str(GetParam().host_key));
    EXPECT_FALSE(seen[0].chain.front().pem.empty());
    EXPECT_FALSE(seen[0].chain.front().sha256_fingerprint.empty());
    c.disconnect();
}

TEST_P(certificates, same_flags_over_starttls_on_pop3) {
    const auto& env = server_env::get();
    pop3::client c;
    c.tls().ca_file = env.str("CA_FILE");
    c.tls().use_system_store = false;
    EXPECT_THROW(c.connect(env.str(GetParam().host_key), env.port("POP3_PORT"), security::starttls), certificate_error);
    EXPECT_FALSE(c.is_connected());
}

INSTANTIATE_TEST_SUITE_P(
    harness, certificates,
    ::testing::Values(bad_cert{"EXPIRED_HOST", policy_error::chain_errors, X509_V_ERR_CERT_HAS_EXPIRED},
                      bad_cert{"WRONGNAME_HOST", policy_error::name_mismatch, X509_V_ERR_IP_ADDRESS_MISMATCH},
                      bad_cert{"SELFSIGNED_HOST", policy_error::chain_errors, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT}),
    [](const auto& p) { return std::string(p.param.host_key); });

TEST(certificates_good, good_certificate_by_name_and_address) {
    const auto& env = server_env::get();
    for (std::string host : {"localhost", "127.0.0.1"}) {
        imap::client c;
        trust_test_ca(c);
        c.connect(host, env.port("IMAPS_PORT"), security::implicit_tls);
        EXPECT_EQ(c.tls_info().certificate.errors, policy_error::none) << host;
        EXPECT_TRUE(c.tls_info().certificate.verify_results.empty());
        c.disconnect();
    }
}

TEST(certificates_good, untrusted_without_the_test_ca) {
    const auto& env = server_env::get();
    imap::client c;  // system store only: the per-run test CA is not in it
    try {
        c.connect(env.str("HOST"), env.port("IMAPS_PORT"), security::implicit_tls);
        FAIL();
    } catch (const certificate_error& e) {
        EXPECT_EQ(e.check().errors, policy_error::chain_errors);
    }
}

TEST(tls_versions, tls13_only_listener) {
    const auto& env = server_env::get();
    const auto host = env.str("TLS13_HOST");
    {
        imap::client c;
        trust_test_ca(c);
        c.connect(host, env.port("IMAPS_PORT"), security::implicit_tls);
        EXPECT_EQ(c.tls_info().version, "TLSv1.3");
        c.disconnect();
    }
    {
        imap::client c;
        trust_test_ca(c);
        c.tls().min_version = tls_version::v1_3;
        c.connect(host, env.port("IMAPS_PORT"), security::implicit_tls);
        EXPECT_EQ(c.tls_info().version, "TLSv1.3");
        c.disconnect();
    }
    {
        imap::client c;
        trust_test_ca(c);
        c.tls().max_version = tls_version::v1_2;
        try {
            c.connect(host, env.port("IMAPS_PORT"), security::implicit_tls);
            FAIL() << "TLS 1.2 accepted by a TLS-1.3-only server";
        } catch (const tls_error& e) {
            EXPECT_EQ(e.code(), errc::tls_handshake_failed) << e.what();
            EXPECT_NE(std::string(e.what()).find("TLS version"), std::string::npos) << e.what();
        }
    }
    {
        imap::client c;
        trust_test_ca(c);
        c.tls().min_version = tls_version::v1_3;
        c.tls().max_version = tls_version::v1_2;
        EXPECT_THROW(c.connect(host, env.port("IMAPS_PORT"), security::implicit_tls), config_error);
    }
}

TEST(tls_versions, good_listener_negotiates_tls12_when_capped) {
    const auto& env = server_env::get();
    imap::client c;
    trust_test_ca(c);
    c.tls().max_version = tls_version::v1_2;
    c.connect(env.str("HOST"), env.port("IMAPS_PORT"), security::implicit_tls);
    EXPECT_EQ(c.tls_info().version, "TLSv1.2");
    EXPECT_FALSE(c.tls_info().group.empty());
    c.disconnect();
}

TEST(pinning, right_key_accepted_other_key_rejected) {
    const auto& env = server_env::get();
    std::string spki;
    {
        imap::client c;
        trust_test_ca(c);
        c.connect(env.str("HOST"), env.port("IMAPS_PORT"), security::implicit_tls);
        spki = c.tls_info().certificate.chain.front().spki_sha256;
        c.disconnect();
    }
    ASSERT_EQ(spki.size(), 44u);
    {
        imap::client c;
        trust_test_ca(c);
        c.tls().pins = {"sha256/" + spki};
        c.connect(env.str("HOST"), env.port("IMAPS_PORT"), security::implicit_tls);
        EXPECT_TRUE(c.tls_info().certificate.pin_matched);
        EXPECT_TRUE(c.tls_info().certificate.accepted_by_default);
        EXPECT_GE(c.tls_info().certificate.verified_chain.size(), 2u) << "leaf and the test CA";
        c.disconnect();
    }
    {
        // The test CA's key, from the verified chain, is as good a pin as the server's own.
        imap::client c;
        trust_test_ca(c);
        c.connect(env.str("HOST"), env.port("IMAPS_PORT"), security::implicit_tls);
        const std::string ca_pin = "sha256/" + c.tls_info().certificate.verified_chain.back().spki_sha256;
        c.disconnect();
        imap::client p;
        trust_test_ca(p);
        p.tls().pins = {ca_pin};
        p.connect(env.str("HOST"), env.port("IMAPS_PORT"), security::implicit_tls);
        EXPECT_TRUE(p.tls_info().certificate.pin_matched);
        p.disconnect();
    }
    {
        imap::client c;
        trust_test_ca(c);
        c.tls().pins = {"sha256/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="};
        try {
            c.connect(env.str("HOST"), env.port("IMAPS_PORT"), security::implicit_tls);
            FAIL();
        } catch (const certificate_error& e) {
            EXPECT_FALSE(e.check().pin_matched);
            EXPECT_NE(std::string(e.what()).find("pin"), std::string::npos);
        }
    }
}

TEST(credentials, refused_over_plaintext_unless_allowed) {
    const auto& env = server_env::get();
    imap::client c;
    trust_test_ca(c);
    c.connect(env.str("HOST"), env.port("IMAP_PORT"), security::none);
    try {
        c.login(env.str("USER1"), env.str("PASS1"));
        FAIL();
    } catch (const auth_error& e) {
        EXPECT_EQ(e.code(), errc::plaintext_auth_refused);
    }
    EXPECT_TRUE(c.is_connected()) << "refusing locally must not kill the session";
    c.allow_plaintext_auth(true);
    c.login(env.str("USER1"), env.str("PASS1"));
    EXPECT_TRUE(c.is_authenticated());
    c.disconnect();
}

TEST(credentials, login_after_starttls_and_wrong_password) {
    const auto& env = server_env::get();
    std::vector<std::string> log;
    imap::client c;
    trust_test_ca(c);
    c.set_logger([&](log_direction d, std::string_view line) {
        log.push_back((d == log_direction::client ? "C: " : "S: ") + std::string(line));
    });
    c.connect(env.str("HOST"), env.port("IMAP_PORT"), security::starttls);
    try {
        c.login(env.str("USER1"), "wrong-password");
        FAIL();
    } catch (const auth_error& e) {
        EXPECT_EQ(e.code(), errc::auth_failed);
        EXPECT_FALSE(e.server_text().empty());
    }
    c.login(env.str("USER1"), env.str("PASS1"));
    EXPECT_TRUE(c.is_authenticated());
    c.disconnect();
    for (const auto& l : log) EXPECT_EQ(l.find(env.str("PASS1")), std::string::npos) << l;
    ASSERT_FALSE(log.empty());
}

TEST(credentials, pop3_user_pass_over_implicit_tls) {
    const auto& env = server_env::get();
    pop3::client c;
    c.tls().ca_file = env.str("CA_FILE");
    c.connect(env.str("HOST"), env.port("POP3S_PORT"), security::implicit_tls);
    c.login(env.str("USER2"), env.str("PASS2"));
    EXPECT_TRUE(c.is_authenticated());
    c.noop();
    c.disconnect();
}

}  // namespace
}  // namespace mailwire

namespace mailwire {
namespace {

TEST(session_resumption, second_connection_resumes_and_keeps_the_verdict) {
    // Postfix shares sessions between its smtpd processes (tlsmgr); Dovecot's login processes
    // each hold their own ticket keys, so Postfix is the server that can resume.
    const auto& env = server_env::get();
    for (auto max : {tls_version::v1_2, tls_version::v1_3}) {
        auto connect = [&] {
            auto c = std::make_unique<smtp::client>();
            c->tls().ca_file = env.str("CA_FILE");
            c->tls().use_system_store = false;
            c->tls().max_version = max;
            c->connect(env.str("HOST"), env.port("SMTPS_PORT"), security::implicit_tls);
            c->noop();  // TLS 1.3 tickets arrive after the handshake
            return c;
        };
        auto first = connect();
        EXPECT_FALSE(first->tls_info().resumed);
        first->disconnect();
        auto second = connect();
        EXPECT_TRUE(second->tls_info().resumed) << to_string(max);
        EXPECT_EQ(second->tls_info().certificate.errors, policy_error::none);
        EXPECT_FALSE(second->tls_info().certificate.chain.empty());
        second->disconnect();
    }
}

TEST(session_resumption, sessions_accepted_by_an_override_are_not_cached) {
    const auto& env = server_env::get();
    for (int i = 0; i < 2; ++i) {
        imap::client c;
        trust_test_ca(c);
        int calls = 0;
        c.override_rejection([&](const certificate_check& check) {
            ++calls;
            return check.errors == policy_error::chain_errors;
        });
        c.connect(env.str("SELFSIGNED_HOST"), env.port("IMAPS_PORT"), security::implicit_tls);
        c.noop();
        EXPECT_FALSE(c.tls_info().resumed);
        EXPECT_EQ(calls, 1);
        c.disconnect();
    }
}

}  // namespace
}  // namespace mailwire

namespace mailwire {
namespace {

TEST(client_certificate, sasl_external_with_the_client_certificate) {
    const auto& env = server_env::get();
    imap::client c;
    trust_test_ca(c);
    c.tls().client_cert_file = env.str("CLIENT_CERT");
    c.tls().client_key_file = env.str("CLIENT_KEY");
    c.connect(env.str("HOST"), env.port("IMAPS_PORT"), security::implicit_tls);
    sasl::credentials cr;
    cr.user = env.str("CLIENT_CERT_USER");
    c.authenticate(cr, {"EXTERNAL"});
    EXPECT_EQ(c.authenticated_with(), "EXTERNAL");
    c.disconnect();
}

TEST(client_certificate, missing_key_file_is_a_configuration_error) {
    const auto& env = server_env::get();
    imap::client c;
    trust_test_ca(c);
    c.tls().client_cert_file = env.str("CLIENT_CERT");
    c.tls().client_key_file = "/nonexistent/key.pem";
    EXPECT_THROW(c.connect(env.str("HOST"), env.port("IMAPS_PORT"), security::implicit_tls), config_error);
}

TEST(tls_versions, no_shared_cipher_is_explained) {
    const auto& env = server_env::get();
    imap::client c;
    trust_test_ca(c);
    c.tls().max_version = tls_version::v1_2;
    // The harness's certificates are RSA: an ECDSA-only suite list cannot meet them.
    c.tls().cipher_list = "ECDHE-ECDSA-AES128-GCM-SHA256";
    try {
        c.connect(env.str("HOST"), env.port("IMAPS_PORT"), security::implicit_tls);
        FAIL();
    } catch (const tls_error& e) {
        EXPECT_EQ(e.code(), errc::tls_handshake_failed);
        EXPECT_NE(std::string(e.what()).find("cipher"), std::string::npos) << e.what();
    }
    imap::client bad;
    bad.tls().cipher_list = "NOT-A-CIPHER";
    EXPECT_THROW(bad.connect(env.str("HOST"), env.port("IMAPS_PORT"), security::implicit_tls), config_error);
}

}  // namespace
}  // namespace mailwire
