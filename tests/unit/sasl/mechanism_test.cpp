#include "mailwire/sasl/mechanism.hpp"  // first: the header must compile on its own

#include <gtest/gtest.h>

#include <functional>

#include "mailwire/error.hpp"
#include "mailwire/sasl/base64.hpp"
#include "sasl/detail.hpp"

namespace mailwire::sasl {
namespace {

using namespace std::literals;

credentials creds(std::string user, std::string password, std::string authzid = {}) {
    credentials c;
    c.user = std::move(user);
    c.password = std::move(password);
    c.authzid = std::move(authzid);
    return c;
}

credentials token(std::string user, std::string tok) {
    credentials c;
    c.user = std::move(user);
    c.oauth_token = std::move(tok);
    return c;
}

errc code_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const auth_error& e) {
        for (int v = 1; v <= static_cast<int>(errc::not_connected); ++v)
            if (e.code() == make_error_code(static_cast<errc>(v))) return static_cast<errc>(v);
    }
    return errc{};
}

// ---- PLAIN ----------------------------------------------------------------------------------

TEST(sasl_plain, rfc4616_messages) {
    auto m = make_mechanism("plain", creds("tim", "tanstaaftanstaaf"));
    EXPECT_EQ(m->name(), "PLAIN");
    EXPECT_TRUE(m->has_initial_response());
    EXPECT_TRUE(m->sends_secret_in_clear());
    EXPECT_FALSE(m->complete());
    const secret ir = m->step("");
    EXPECT_EQ(ir, "\0tim\0tanstaaftanstaaf"s);
    EXPECT_EQ(base64_encode(ir.view()), "AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
    EXPECT_TRUE(m->complete());
    EXPECT_EQ(m->redact(ir.view()), "<PLAIN credentials>");
    EXPECT_NO_THROW(m->verify_success(""));
    EXPECT_EQ(code_of([&] { m->step("more?"); }), errc::protocol_violation);

    auto z = make_mechanism("PLAIN", creds("Kurt", "xipj3plmq", "Ursel"));
    EXPECT_EQ(z->step(""), "Ursel\0Kurt\0xipj3plmq"s);
}

TEST(sasl_plain, non_ascii_password_is_sent_as_utf8) {
    auto m = make_mechanism("PLAIN", creds("j\xc3\xbcrgen", "p\xc3\xa4ssw\xc3\xb6rd-\xc3\xa7"));
    EXPECT_EQ(m->step(""), "\0j\xc3\xbcrgen\0p\xc3\xa4ssw\xc3\xb6rd-\xc3\xa7"s);
}

TEST(sasl_plain, refuses_unusable_credentials) {
    EXPECT_EQ(code_of([] { make_mechanism("PLAIN", creds("tim", "a\0b"s)); }), errc::invalid_argument);
    EXPECT_EQ(code_of([] { make_mechanism("PLAIN", creds("t\0m"s, "ab")); }), errc::invalid_argument);
    EXPECT_EQ(code_of([] { make_mechanism("PLAIN", creds("tim", "ab", "x\0"s)); }), errc::invalid_argument);
    EXPECT_EQ(code_of([] { make_mechanism("PLAIN", creds("", "ab")); }), errc::invalid_argument);
    EXPECT_EQ(code_of([] { make_mechanism("PLAIN", creds("tim", "")); }), errc::invalid_argument);
}

// ---- LOGIN ------------------------------------------------------------------------------------

TEST(sasl_login, answers_by_position_whatever_the_prompt) {
    for (auto [p1, p2] : {std::pair<std::string_view, std::string_view>{"Username:", "Password:"},
                          {"User Name\0"sv, "Password\0"sv},
                          {"", ""},
                          {"Benutzername", "Passwort"}}) {
        auto m = make_mechanism("LOGIN", creds("alice", "s3cret"));
        EXPECT_FALSE(m->has_initial_response());
        EXPECT_TRUE(m->sends_secret_in_clear());
        const auto u = m->step(p1);
        EXPECT_EQ(u, "alice");
        EXPECT_FALSE(m->complete());
        const auto p = m->step(p2);
        EXPECT_EQ(p, "s3cret");
        EXPECT_TRUE(m->complete());
        EXPECT_EQ(m->redact(u.view()), "<LOGIN username>");
        EXPECT_EQ(m->redact(p.view()), "<LOGIN password>");
        EXPECT_EQ(code_of([&] { m->step("Again:"); }), errc::protocol_violation);
    }
    EXPECT_EQ(code_of([] { make_mechanism("LOGIN", creds("a", "b", "other")); }), errc::invalid_argument);
    EXPECT_EQ(code_of([] { make_mechanism("LOGIN", creds("", "b")); }), errc::invalid_argument);
}

// ---- CRAM-MD5 -------------------------------------------------------------------------------

TEST(sasl_cram_md5, rfc2195_example) {
    auto m = make_mechanism("CRAM-MD5", creds("tim", "tanstaaftanstaaf"));
    EXPECT_FALSE(m->has_initial_response());
    EXPECT_FALSE(m->sends_secret_in_clear());
    const std::string challenge = base64_decode("PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+");
    EXPECT_EQ(challenge, "<1896.697170952@postoffice.reston.mci.net>");
    const secret r = m->step(challenge);
    EXPECT_EQ(r, "tim b913a602c7eda7a495b4e6e7334d3890");
    EXPECT_EQ(base64_encode(r.view()), "dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw");
    EXPECT_TRUE(m->complete());
    EXPECT_EQ(m->redact(r.view()), "<CRAM-MD5 response>");
    EXPECT_EQ(code_of([&] { m->step(challenge); }), errc::protocol_violation);
}

TEST(sasl_cram_md5, empty_challenge_and_authzid_are_refused) {
    auto m = make_mechanism("CRAM-MD5", creds("tim", "x"));
    EXPECT_EQ(code_of([&] { m->step(""); }), errc::protocol_violation);
    EXPECT_EQ(code_of([] { make_mechanism("CRAM-MD5", creds("tim", "x", "boss")); }), errc::invalid_argument);
}

// ---- EXTERNAL ---------------------------------------------------------------------------------

TEST(sasl_external, sends_authzid_or_nothing) {
    auto m = make_mechanism("EXTERNAL", credentials{});
    EXPECT_TRUE(m->has_initial_response());
    EXPECT_EQ(m->step(""), "");
    EXPECT_TRUE(m->complete());
    auto z = make_mechanism("external", creds("", "", "boss@example.com"));
    EXPECT_EQ(z->step(""), "boss@example.com");
    EXPECT_EQ(code_of([&] { z->step("x"); }), errc::protocol_violation);
}

// ---- XOAUTH2 ------------------------------------------------------------------------------------

TEST(sasl_xoauth2, initial_response_matches_the_published_example) {
    auto m = make_mechanism("XOAUTH2", token("someuser@example.com", "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg"));
    EXPECT_TRUE(m->has_initial_response());
    EXPECT_TRUE(m->sends_secret_in_clear());
    const secret ir = m->step("");
    EXPECT_EQ(ir,
              "user=someuser@example.com\x01"
              "auth=Bearer ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg\x01\x01");
    EXPECT_EQ(base64_encode(ir.view()),
              "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxbVRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZ"
              "Mjl0Q2cBAQ==");
    EXPECT_TRUE(m->complete());
    EXPECT_EQ(m->redact(ir.view()), "<XOAUTH2 credentials>");
    EXPECT_EQ(m->server_error(), "");
}

TEST(sasl_xoauth2, error_challenge_is_parsed_and_answered_empty) {
    auto m = make_mechanism("XOAUTH2", token("u@example.com", "tok"));
    m->step("");
    const std::string challenge = base64_decode(
        "eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIG1hYyIsInNjb3BlIjoiaHR0cHM6Ly9tYWlsLmdvb2dsZS5jb20vIn0K");
    EXPECT_EQ(challenge, "{\"status\":\"401\",\"schemes\":\"bearer mac\",\"scope\":\"https://mail.google.com/\"}\n");
    EXPECT_EQ(m->step(challenge), "");
    EXPECT_EQ(m->server_error(), "status=401 schemes=bearer mac scope=https://mail.google.com/");
    EXPECT_EQ(m->redact(""), "");
    EXPECT_EQ(code_of([&] { m->step("{}"); }), errc::protocol_violation);
}

TEST(sasl_xoauth2, unparsable_error_challenge_is_reported_sanitized) {
    auto m = make_mechanism("XOAUTH2", token("u@example.com", "tok"));
    m->step("");
    EXPECT_EQ(m->step("Invalid \x01 credentials"), "");
    EXPECT_EQ(m->server_error(), "unparsable error challenge: Invalid \\x01 credentials");
}

TEST(sasl_xoauth2, refuses_unusable_credentials) {
    EXPECT_EQ(code_of([] { make_mechanism("XOAUTH2", token("u", "")); }), errc::invalid_argument);
    EXPECT_EQ(code_of([] { make_mechanism("XOAUTH2", token("", "t")); }), errc::invalid_argument);
    EXPECT_EQ(code_of([] { make_mechanism("XOAUTH2", token("u\x01", "t")); }), errc::invalid_argument);
    EXPECT_EQ(code_of([] { make_mechanism("XOAUTH2", token("u", "t\r\n")); }), errc::invalid_argument);
}

// ---- OAUTHBEARER ----------------------------------------------------------------------------

TEST(sasl_oauthbearer, rfc7628_example) {
    credentials c = token("user@example.com", "vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg==");
    c.server_host = "server.example.com";
    c.server_port = 143;
    auto m = make_mechanism("OAUTHBEARER", c);
    const secret ir = m->step("");
    EXPECT_EQ(base64_encode(ir.view()),
              "bixhPXVzZXJAZXhhbXBsZS5jb20sAWhvc3Q9c2VydmVyLmV4YW1wbGUuY29tAXBvcnQ9MTQzAWF1dGg9QmVhcmVyIHZGOWRmdDRxbVRj"
              "Mk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2c9PQEB");
    EXPECT_EQ(m->redact(ir.view()), "<OAUTHBEARER credentials>");
    // RFC 7628 §4.3: the error challenge, answered with a single ^A.
    const std::string err = base64_decode(
        "eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIiwic2NvcGUiOiJleGFtcGxlX3Njb3BlIiwib3BlbmlkLWNvbmZpZ3VyYXRpb24iOiJodHRwczovL2"
        "V4"
        "YW1wbGUuY29tLy53ZWxsLWtub3duL29wZW5pZC1jb25maWd1cmF0aW9uIn0=");
    EXPECT_EQ(m->step(err), "\x01");
    EXPECT_EQ(m->redact("\x01"), "<OAUTHBEARER error acknowledgement>");
    EXPECT_EQ(m->server_error(),
              "status=invalid_token scope=example_scope "
              "openid-configuration=https://example.com/.well-known/openid-configuration");
}

TEST(sasl_oauthbearer, minimal_and_escaped_forms) {
    auto bare = make_mechanism("OAUTHBEARER", token("", "t"));
    EXPECT_EQ(bare->step(""),
              "n,,\x01"
              "auth=Bearer t\x01\x01");
    credentials c = token("u,x=y", "t");
    EXPECT_EQ(make_mechanism("OAUTHBEARER", c)->step(""),
              "n,a=u=2Cx=3Dy,\x01"
              "auth=Bearer t\x01\x01");
    c.authzid = "boss";
    EXPECT_EQ(make_mechanism("OAUTHBEARER", c)->step(""),
              "n,a=boss,\x01"
              "auth=Bearer t\x01\x01");
}

// ---- OAuth error JSON -------------------------------------------------------------------------

TEST(sasl_oauth_error, json_details) {
    auto e = detail::parse_oauth_error(
        R"( { "n": -1.5e+3, "arr": [1, {"x": [true, false, null]}, "s"], "status" : "caf\u00e9 \ud83d\ude00\n" } )");
    ASSERT_TRUE(e.parsed);
    EXPECT_EQ(e.status, "caf\xc3\xa9 \xf0\x9f\x98\x80\n");
    EXPECT_EQ(e.summary, "status=caf\xc3\xa9 \xf0\x9f\x98\x80\\x0a");
    EXPECT_TRUE(detail::parse_oauth_error("{}").parsed);
    EXPECT_EQ(detail::parse_oauth_error("{}").summary, "no status given");
    for (std::string_view bad : {"", "{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{\"a\":\"\\ud800\"}", "{\"a\":01}",
                                 "{} x", "[]", "{\"a\":\"\x01\"}", "{\"a\":tru}", "{\"a\":\"\\q\"}"})
        EXPECT_FALSE(detail::parse_oauth_error(bad).parsed) << bad;
    // Deep nesting is refused, not recursed into.
    const std::string deep = "{\"a\":" + std::string(10000, '[') + std::string(10000, ']') + "}";
    EXPECT_FALSE(detail::parse_oauth_error(deep).parsed);
}

// ---- names and choice -------------------------------------------------------------------------

TEST(sasl_names, supported_and_factory) {
    for (std::string_view n : {"PLAIN", "login", "Cram-Md5", "SCRAM-SHA-1", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256",
                               "scram-sha-256-plus", "XOAUTH2", "OAUTHBEARER", "EXTERNAL"})
        EXPECT_TRUE(is_supported(n)) << n;
    for (std::string_view n :
         std::initializer_list<std::string_view>{"", "GSSAPI", "NTLM", "DIGEST-MD5", "SCRAM-SHA-512", "PLAIN ",
                                                 std::string_view("PLAIN\0", 6),
                                                 "SCRAM-SHA-256-PLUS-SCRAM-SHA-256-PLUS"})
        EXPECT_FALSE(is_supported(n)) << n;
    EXPECT_EQ(code_of([] { make_mechanism("GSSAPI", creds("a", "b")); }), errc::auth_unsupported);
    EXPECT_EQ(make_mechanism("cram-md5", creds("a", "b"))->name(), "CRAM-MD5");
}

const std::vector<std::string> everything =
    {"PLAIN",   "LOGIN",       "CRAM-MD5", "SCRAM-SHA-1", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-256-PLUS",
     "XOAUTH2", "OAUTHBEARER", "EXTERNAL", "GSSAPI"};
using names = std::vector<std::string>;

TEST(sasl_choose, default_order_over_tls) {
    selection_options o;
    o.encrypted = true;
    EXPECT_EQ(choose_mechanisms(everything, o), (names{"SCRAM-SHA-256", "SCRAM-SHA-1", "CRAM-MD5", "PLAIN", "LOGIN"}));
    o.have_channel_binding = true;
    EXPECT_EQ(choose_mechanisms(everything, o), (names{"SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256",
                                                       "SCRAM-SHA-1", "CRAM-MD5", "PLAIN", "LOGIN"}));
    // Order follows strength, not the server's listing; case does not matter.
    EXPECT_EQ(choose_mechanisms({"login", "plain", "scram-sha-1"}, o), (names{"SCRAM-SHA-1", "PLAIN", "LOGIN"}));
    EXPECT_TRUE(choose_mechanisms({"GSSAPI", "NTLM"}, o).empty());
    EXPECT_TRUE(choose_mechanisms({}, o).empty());
}

TEST(sasl_choose, plaintext_connection_refuses_clear_secrets) {
    selection_options o;  // not encrypted, plaintext not allowed
    o.have_oauth_token = true;
    EXPECT_EQ(choose_mechanisms(everything, o), (names{"SCRAM-SHA-256", "SCRAM-SHA-1", "CRAM-MD5"}));
    EXPECT_TRUE(choose_mechanisms({"PLAIN", "LOGIN", "XOAUTH2"}, o).empty());
    o.preferred = {"PLAIN"};  // a preference does not override the refusal
    EXPECT_TRUE(choose_mechanisms(everything, o).empty());
    o.allow_plaintext_auth = true;
    EXPECT_EQ(choose_mechanisms(everything, o), (names{"PLAIN"}));
    o.preferred.clear();
    EXPECT_EQ(choose_mechanisms({"PLAIN", "LOGIN", "XOAUTH2"}, o), (names{"XOAUTH2", "PLAIN", "LOGIN"}));
}

TEST(sasl_choose, oauth_token_is_preferred) {
    selection_options o;
    o.encrypted = true;
    o.have_oauth_token = true;
    EXPECT_EQ(choose_mechanisms(everything, o),
              (names{"OAUTHBEARER", "XOAUTH2", "SCRAM-SHA-256", "SCRAM-SHA-1", "CRAM-MD5", "PLAIN", "LOGIN"}));
    o.have_password = false;
    EXPECT_EQ(choose_mechanisms(everything, o), (names{"OAUTHBEARER", "XOAUTH2"}));
}

TEST(sasl_choose, authzid_excludes_mechanisms_that_cannot_carry_it) {
    selection_options o;
    o.encrypted = true;
    o.have_authzid = true;
    EXPECT_EQ(choose_mechanisms({"CRAM-MD5", "LOGIN", "PLAIN", "SCRAM-SHA-1"}, o), (names{"SCRAM-SHA-1", "PLAIN"}));
}

TEST(sasl_choose, preferred_overrides_in_order) {
    selection_options o;
    o.encrypted = true;
    o.preferred = {"external", "LOGIN", "SCRAM-SHA-256-PLUS", "NTLM", "login", "DIGEST-MD5", "PLAIN"};
    // EXTERNAL only when asked for; -PLUS needs binding; unknown and not-offered names drop out.
    EXPECT_EQ(choose_mechanisms({"PLAIN", "LOGIN", "EXTERNAL", "SCRAM-SHA-256-PLUS", "NTLM"}, o),
              (names{"EXTERNAL", "LOGIN", "PLAIN"}));
    o.preferred = {"XOAUTH2"};  // without a token it cannot work
    EXPECT_TRUE(choose_mechanisms(everything, o).empty());
}

}  // namespace
}  // namespace mailwire::sasl
