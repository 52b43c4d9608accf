// SCRAM-SHA-1/256 (RFC 5802, RFC 7677): the RFC exchanges, channel binding, and every way a
// hostile or broken server-first/server-final must end in auth_error.
#include <gtest/gtest.h>

#include <regex>

#include "mailwire/error.hpp"
#include "mailwire/sasl/base64.hpp"
#include "mailwire/sasl/mechanism.hpp"
#include "sasl/detail.hpp"

namespace mailwire::sasl {
namespace {

using detail::make_scram;
using detail::scram_hash;

credentials user_pencil() {
    credentials c;
    c.user = "user";
    c.password = "pencil";
    return c;
}

template <class F>
auth_error expect_auth_error(F&& f) {
    try {
        f();
    } catch (const auth_error& e) {
        return e;
    } catch (const std::exception& e) {
        ADD_FAILURE() << "wrong exception type: " << e.what();
        return auth_error(errc::invalid_argument, "wrong type");
    }
    ADD_FAILURE() << "no exception";
    return auth_error(errc::invalid_argument, "none");
}

TEST(sasl_scram, rfc5802_sha1_exchange) {
    auto m = make_scram(scram_hash::sha1, false, user_pencil(), std::nullopt, "fyko+d2lbbFgONRv9qkxdawL");
    EXPECT_EQ(m->name(), "SCRAM-SHA-1");
    EXPECT_TRUE(m->has_initial_response());
    EXPECT_FALSE(m->sends_secret_in_clear());
    EXPECT_EQ(m->step(""), "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL");
    EXPECT_FALSE(m->complete());
    EXPECT_EQ(m->step("r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096"),
              "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=");
    EXPECT_FALSE(m->complete());
    EXPECT_EQ(m->step("v=rmF9pqV8S7suAoZWja4dJRkFsKQ="), "");
    EXPECT_TRUE(m->complete());
    EXPECT_NO_THROW(m->verify_success(""));
    // Nothing may follow.
    EXPECT_EQ(expect_auth_error([&] { m->step("v=rmF9pqV8S7suAoZWja4dJRkFsKQ="); }).code(),
              make_error_code(errc::protocol_violation));
}

TEST(sasl_scram, rfc7677_sha256_exchange_with_signature_in_success_data) {
    auto m = make_scram(scram_hash::sha256, false, user_pencil(), std::nullopt, "rOprNGfwEbeRWgbNEkqO");
    EXPECT_EQ(m->name(), "SCRAM-SHA-256");
    EXPECT_EQ(m->step(""), "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
    EXPECT_EQ(m->step("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"),
              "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
              "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=");
    // Server-final carried by the success reply instead of a challenge.
    EXPECT_NO_THROW(m->verify_success("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="));
    EXPECT_TRUE(m->complete());
}

class sasl_scram_after_client_final : public ::testing::Test {
protected:
    void SetUp() override {
        m = make_scram(scram_hash::sha256, false, user_pencil(), std::nullopt, "rOprNGfwEbeRWgbNEkqO");
        m->step("");
        m->step("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");
    }
    std::unique_ptr<mechanism> m;
};

TEST_F(sasl_scram_after_client_final, wrong_server_signature_is_auth_failed) {
    // One bit flipped in the RFC's signature, then one of the wrong length.
    for (std::string_view bad :
         {"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G8=", "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G5=",
          "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4A", "v=AAAA", "v=", "v=***"}) {
        auto e = expect_auth_error([&] { m->step(bad); });
        EXPECT_EQ(e.code(), make_error_code(errc::auth_failed)) << bad;
        EXPECT_NE(e.detail().find("server signature"), std::string::npos) << e.detail();
        EXPECT_FALSE(m->complete());
    }
    auto e = expect_auth_error([&] { m->verify_success("v=AAAA"); });
    EXPECT_NE(e.detail().find("server signature"), std::string::npos);
}

TEST_F(sasl_scram_after_client_final, server_error_is_reported_with_its_text) {
    auto e = expect_auth_error([&] { m->step("e=invalid-proof"); });
    EXPECT_EQ(e.code(), make_error_code(errc::auth_failed));
    EXPECT_NE(e.detail().find("invalid-proof"), std::string::npos);
    EXPECT_EQ(e.server_text(), "e=invalid-proof");
    EXPECT_EQ(e.stage(), stage::authenticate);
    auto e2 = expect_auth_error([&] { m->verify_success("e=other-error,x=ext"); });
    EXPECT_NE(e2.detail().find("other-error"), std::string::npos);
}

TEST_F(sasl_scram_after_client_final, success_without_signature_is_refused) {
    auto e = expect_auth_error([&] { m->verify_success(""); });
    EXPECT_EQ(e.code(), make_error_code(errc::auth_failed));
    EXPECT_NE(e.detail().find("server signature missing"), std::string::npos);
}

TEST_F(sasl_scram_after_client_final, malformed_server_final) {
    for (std::string_view bad : {"", "x=1", "V=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=", ","}) {
        auto e = expect_auth_error([&] { m->step(bad); });
        EXPECT_EQ(e.code(), make_error_code(errc::protocol_violation)) << bad;
    }
    // Extensions after v= are allowed (RFC 5802 §7).
    EXPECT_EQ(m->step("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=,x=later"), "");
}

TEST(sasl_scram, success_before_the_exchange_finished_is_refused) {
    auto m = make_scram(scram_hash::sha256, false, user_pencil(), std::nullopt, "abc");
    EXPECT_EQ(expect_auth_error([&] { m->verify_success(""); }).code(), make_error_code(errc::auth_failed));
    m->step("");
    EXPECT_EQ(expect_auth_error([&] { m->verify_success(""); }).code(), make_error_code(errc::auth_failed));
}

TEST(sasl_scram, malformed_server_first_is_auth_error) {
    struct bad_case {
        std::string_view server_first;
        errc code;
    };
    const bad_case cases[] = {
        {"", errc::protocol_violation},
        {",,,", errc::protocol_violation},
        {"s=QSXCR+Q6sek8bf92,i=4096", errc::protocol_violation},             // missing r=
        {"r=abcdef,i=4096,s=QSXCR+Q6sek8bf92", errc::protocol_violation},    // wrong order
        {"r=abcdef,s=QSXCR+Q6sek8bf92", errc::protocol_violation},           // missing i=
        {"r=zzzdef,s=QSXCR+Q6sek8bf92,i=4096", errc::protocol_violation},    // not our nonce
        {"r=ab,s=QSXCR+Q6sek8bf92,i=4096", errc::protocol_violation},        // shorter than ours
        {"r=abc,s=QSXCR+Q6sek8bf92,i=4096", errc::protocol_violation},       // no server part
        {"r=abc\x01x,s=QSXCR+Q6sek8bf92,i=4096", errc::protocol_violation},  // control char in nonce
        {"r=abcdef,s=QSXCR+Q6sek8bf9,i=4096", errc::protocol_violation},     // bad base64 salt
        {"r=abcdef,s=QSXC R+Q6sek8bf92,i=4096", errc::protocol_violation},   // bad base64 salt
        {"r=abcdef,s=,i=4096", errc::protocol_violation},                    // empty salt
        {"r=abcdef,s=QSXCR+Q6sek8bf92,i=0", errc::protocol_violation},
        {"r=abcdef,s=QSXCR+Q6sek8bf92,i=-1", errc::protocol_violation},
        {"r=abcdef,s=QSXCR+Q6sek8bf92,i=+4096", errc::protocol_violation},
        {"r=abcdef,s=QSXCR+Q6sek8bf92,i=04096", errc::protocol_violation},
        {"r=abcdef,s=QSXCR+Q6sek8bf92,i=", errc::protocol_violation},
        {"r=abcdef,s=QSXCR+Q6sek8bf92,i=4096x", errc::protocol_violation},
        {"r=abcdef,s=QSXCR+Q6sek8bf92,i=10000001", errc::limit_exceeded},
        {"r=abcdef,s=QSXCR+Q6sek8bf92,i=99999999999999999999999999999999", errc::limit_exceeded},
        {"r=abcdef,s=QSXCR+Q6sek8bf92,i=4096,", errc::protocol_violation},      // empty extension
        {"m=must,r=abcdef,s=QSXCR+Q6sek8bf92,i=4096", errc::auth_unsupported},  // mandatory extension
        {"e=unknown-user", errc::auth_failed},
    };
    for (const auto& c : cases) {
        auto m = make_scram(scram_hash::sha256, false, user_pencil(), std::nullopt, "abc");
        ASSERT_EQ(m->step(""), "n,,n=user,r=abc");
        auto e = expect_auth_error([&] { m->step(c.server_first); });
        EXPECT_EQ(e.code(), make_error_code(c.code)) << c.server_first << ": " << e.what();
        EXPECT_FALSE(m->complete());
    }
}

TEST(sasl_scram, iteration_limits) {
    // Below RFC 7677's recommended 4096 still works (lenient), and a caller-lowered ceiling bites.
    auto low = make_scram(scram_hash::sha1, false, user_pencil(), std::nullopt, "abc");
    low->step("");
    EXPECT_NO_THROW(low->step("r=abcdef,s=QSXCR+Q6sek8bf92,i=1,x=ignored"));
    auto capped = make_scram(scram_hash::sha1, false, user_pencil(), std::nullopt, "abc", 100);
    capped->step("");
    EXPECT_EQ(expect_auth_error([&] { capped->step("r=abcdef,s=QSXCR+Q6sek8bf92,i=101"); }).code(),
              make_error_code(errc::limit_exceeded));
}

TEST(sasl_scram, non_empty_initial_challenge_is_refused) {
    auto m = make_scram(scram_hash::sha256, false, user_pencil(), std::nullopt, "abc");
    EXPECT_EQ(expect_auth_error([&] { m->step("r=abcdef,s=QSXCR+Q6sek8bf92,i=4096"); }).code(),
              make_error_code(errc::protocol_violation));
}

TEST(sasl_scram, user_name_escaping_and_authzid) {
    credentials c = user_pencil();
    c.user = "a=b,c";
    c.authzid = "ad,min=";
    auto m = make_scram(scram_hash::sha256, false, c, std::nullopt, "abc");
    EXPECT_EQ(m->step(""), "n,a=ad=2Cmin=3D,n=a=3Db=2Cc,r=abc");
    const std::string final(m->step("r=abcdef,s=QSXCR+Q6sek8bf92,i=16").view());
    EXPECT_TRUE(final.starts_with("c=" + base64_encode("n,a=ad=2Cmin=3D,") + ",r=abcdef,p=")) << final;
}

TEST(sasl_scram, random_nonce_from_make_mechanism) {
    auto a = make_mechanism("scram-sha-256", user_pencil());
    auto b = make_mechanism("SCRAM-SHA-256", user_pencil());
    EXPECT_EQ(a->name(), "SCRAM-SHA-256");
    const std::string fa(a->step("").view()), fb(b->step("").view());
    const std::regex shape("n,,n=user,r=[A-Za-z0-9+/]{24}");
    EXPECT_TRUE(std::regex_match(fa, shape)) << fa;
    EXPECT_TRUE(std::regex_match(fb, shape)) << fb;
    EXPECT_NE(fa, fb);
}

TEST(sasl_scram, redaction_hides_the_proof_only) {
    auto m = make_scram(scram_hash::sha1, false, user_pencil(), std::nullopt, "fyko+d2lbbFgONRv9qkxdawL");
    const secret first = m->step("");
    EXPECT_EQ(m->redact(first.view()), first.view());
    const secret final = m->step("r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096");
    EXPECT_EQ(m->redact(final.view()), "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=<proof>");
}

// ---- channel binding -------------------------------------------------------------------------

// An independent server side (RFC 5802 §3) to check what the client sends with binding data.
struct mini_server {
    const char* md;
    std::string password, salt = "0123456789abcdef", snonce = "SERVERNONCE";
    int iterations = 64;
    std::string client_first_bare, server_first;

    std::string first(std::string_view client_first) {
        const auto bare = client_first.find("n=");
        client_first_bare = std::string(client_first.substr(bare));
        const auto r = client_first_bare.find(",r=");
        server_first = "r=" + client_first_bare.substr(r + 3) + snonce + ",s=" + base64_encode(salt) +
                       ",i=" + std::to_string(iterations);
        return server_first;
    }
    // Returns v=... if the proof verifies, else "e=invalid-proof".
    std::string final(std::string_view client_final, std::string_view expected_cbind_input) {
        const auto p = client_final.find(",p=");
        const std::string without_proof(client_final.substr(0, p));
        const std::string proof = base64_decode(client_final.substr(p + 3));
        if (without_proof.substr(0, without_proof.find(',')) != "c=" + base64_encode(expected_cbind_input))
            return "e=channel-bindings-dont-match";
        const secret salted = detail::pbkdf2(md, password, salt, static_cast<std::uint32_t>(iterations));
        const secret stored = detail::digest(md, detail::hmac(md, salted.view(), "Client Key").view());
        const std::string auth = client_first_bare + "," + server_first + "," + without_proof;
        std::string client_key(detail::hmac(md, stored.view(), auth).view());
        for (std::size_t i = 0; i < client_key.size(); ++i) client_key[i] ^= proof.at(i);
        if (!(detail::digest(md, client_key) == stored)) return "e=invalid-proof";
        return "v=" +
               base64_encode(detail::hmac(md, detail::hmac(md, salted.view(), "Server Key").view(), auth).view());
    }
};

TEST(sasl_scram, plus_with_tls_exporter_binds_the_data) {
    const channel_binding cb{"tls-exporter", {0x00, 0x01, 0xfe, 0xff, ',', '='}};
    for (auto h : {scram_hash::sha1, scram_hash::sha256}) {
        auto m = make_scram(h, true, user_pencil(), cb, "cnonce");
        EXPECT_EQ(m->name(), h == scram_hash::sha1 ? "SCRAM-SHA-1-PLUS" : "SCRAM-SHA-256-PLUS");
        const std::string first(m->step("").view());
        EXPECT_EQ(first, "p=tls-exporter,,n=user,r=cnonce");
        mini_server s{h == scram_hash::sha1 ? "SHA1" : "SHA256", "pencil"};
        const std::string final(m->step(s.first(first)).view());
        const std::string cbind_input = std::string("p=tls-exporter,,") + std::string("\x00\x01\xfe\xff,=", 6);
        EXPECT_TRUE(final.starts_with("c=" + base64_encode(cbind_input) + ",r=cnonceSERVERNONCE,p=")) << final;
        const std::string v = s.final(final, cbind_input);
        ASSERT_TRUE(v.starts_with("v=")) << v;
        EXPECT_EQ(m->step(v), "");
        EXPECT_TRUE(m->complete());
    }
}

TEST(sasl_scram, plus_with_tls_unique_and_authzid) {
    credentials c = user_pencil();
    c.authzid = "boss";
    auto m = make_mechanism("SCRAM-SHA-256-PLUS", c, channel_binding{"tls-unique", {1, 2, 3}});
    const std::string first(m->step("").view());
    ASSERT_TRUE(first.starts_with("p=tls-unique,a=boss,n=user,r=")) << first;
    mini_server s{"SHA256", "pencil"};
    const std::string final(m->step(s.first(first)).view());
    const std::string v = s.final(final, std::string("p=tls-unique,a=boss,\x01\x02\x03"));
    ASSERT_TRUE(v.starts_with("v=")) << v;
    EXPECT_NO_THROW(m->verify_success(v));
}

TEST(sasl_scram, binding_capable_client_without_plus_sends_y_flag) {
    auto m = make_scram(scram_hash::sha256, false, user_pencil(), channel_binding{"tls-exporter", {9, 9}}, "abc");
    EXPECT_EQ(m->step(""), "y,,n=user,r=abc");
    const std::string final(m->step("r=abcdef,s=QSXCR+Q6sek8bf92,i=16").view());
    EXPECT_TRUE(final.starts_with("c=eSws,r=abcdef,p=")) << final;  // base64("y,,")
    // Without binding data the flag is n and c= is base64("n,,").
    auto n = make_scram(scram_hash::sha256, false, user_pencil(), std::nullopt, "abc");
    n->step("");
    EXPECT_TRUE(n->step("r=abcdef,s=QSXCR+Q6sek8bf92,i=16").view().starts_with("c=biws,"));
}

TEST(sasl_scram, wrong_password_is_detected_by_the_server_side) {
    auto m = make_scram(scram_hash::sha256, false, user_pencil(), std::nullopt, "abc");
    mini_server s{"SHA256", "not-pencil"};
    const std::string final(m->step(s.first(m->step("").view())).view());
    EXPECT_EQ(s.final(final, "n,,"), "e=invalid-proof");
}

TEST(sasl_scram, plus_needs_binding_data_and_a_valid_type) {
    EXPECT_EQ(expect_auth_error([] { make_mechanism("SCRAM-SHA-256-PLUS", user_pencil()); }).code(),
              make_error_code(errc::invalid_argument));
    EXPECT_EQ(expect_auth_error([] {
                  make_mechanism("SCRAM-SHA-1-PLUS", user_pencil(), channel_binding{"tls-exporter", {}});
              }).code(),
              make_error_code(errc::invalid_argument));
    EXPECT_EQ(expect_auth_error([] {
                  make_mechanism("SCRAM-SHA-256-PLUS", user_pencil(), channel_binding{"tls exporter", {1}});
              }).code(),
              make_error_code(errc::invalid_argument));
}

// ---- SASLprep inside SCRAM ----------------------------------------------------------------

std::string client_final_for(const std::string& password) {
    credentials c = user_pencil();
    c.password = password;
    auto m = make_scram(scram_hash::sha256, false, c, std::nullopt, "abc");
    m->step("");
    return std::string(m->step("r=abcdef,s=QSXCR+Q6sek8bf92,i=32").view());
}

TEST(sasl_scram, password_is_prepared_with_saslprep) {
    EXPECT_EQ(client_final_for("pass\xc2\xa0word"), client_final_for("pass word"));  // U+00A0 → space
    EXPECT_EQ(client_final_for("pass\xc2\xadword"), client_final_for("password"));   // U+00AD → nothing
    EXPECT_NE(client_final_for("p\xc3\xa4sswo\xcc\x88rd-\xc3\xa7"), client_final_for("password"));
    // Decomposed and precomposed forms give the same proof (NFKC).
    EXPECT_EQ(client_final_for("pa\xcc\x88sswo\xcc\x88rd-c\xcc\xa7"),
              client_final_for("p\xc3\xa4ssw\xc3\xb6rd-\xc3\xa7"));
    credentials c = user_pencil();
    c.password = "pass\x07word";  // a control character is prohibited
    EXPECT_EQ(expect_auth_error([&] { make_mechanism("SCRAM-SHA-1", c); }).code(),
              make_error_code(errc::invalid_argument));
    c = user_pencil();
    c.user = "";
    EXPECT_EQ(expect_auth_error([&] { make_mechanism("SCRAM-SHA-1", c); }).code(),
              make_error_code(errc::invalid_argument));
}

}  // namespace
}  // namespace mailwire::sasl
