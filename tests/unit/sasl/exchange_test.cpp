// The contract the protocol layers rely on, played as IMAP AUTHENTICATE transcripts: base64 lines
// in and out, "*" to cancel when a mechanism throws, verify_success() on the tagged OK.
#include <gtest/gtest.h>

#include "mailwire/error.hpp"
#include "mailwire/sasl/base64.hpp"
#include "mailwire/sasl/mechanism.hpp"
#include "sasl/detail.hpp"

namespace mailwire::sasl {
namespace {

struct outcome {
    std::vector<std::string> client_lines;  // what the client wrote, redacted as in a log
    std::string result;                     // "ok", "no: <server_error>", or "cancelled: <errc>"
    bool operator==(const outcome&) const = default;
};

// server_lines: "+ <base64>" continuations, then "OK" / "NO" as the tagged reply.
outcome run(mechanism& m, const std::vector<std::string>& server_lines, bool sasl_ir) {
    outcome o;
    std::string command = "A1 AUTHENTICATE " + std::string(m.name());
    if (sasl_ir && m.has_initial_response()) {  // RFC 4959: "=" stands for an empty response
        const secret ir = m.step({});
        command += " " + (ir.empty() ? std::string("=") : base64_encode(ir.view()));
    }
    o.client_lines.push_back(command);
    try {
        for (const auto& line : server_lines) {
            if (line.starts_with("+ ")) {
                // Without SASL-IR a client-first mechanism gets "+ " and answers its first message.
                o.client_lines.push_back(m.redact(m.step(base64_decode(line.substr(2))).view()));
            } else if (line == "OK") {
                m.verify_success({});
                o.result = "ok";
                return o;
            } else {
                o.result = "no: " + m.server_error();
                return o;
            }
        }
    } catch (const auth_error& e) {
        o.client_lines.push_back("*");
        o.result = "cancelled: " + e.code().message();
        return o;
    }
    o.result = "unfinished";
    return o;
}

credentials user_pencil() {
    credentials c;
    c.user = "user";
    c.password = "pencil";
    return c;
}

const std::string server_first =
    "+ " + base64_encode("r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096");

TEST(sasl_exchange, scram_sha256_without_and_with_sasl_ir) {
    const std::string server_final = "+ " + base64_encode("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
    for (bool ir : {false, true}) {
        auto m =
            detail::make_scram(detail::scram_hash::sha256, false, user_pencil(), std::nullopt, "rOprNGfwEbeRWgbNEkqO");
        std::vector<std::string> lines = {server_first, server_final, "OK"};
        if (!ir) lines.insert(lines.begin(), "+ ");
        const auto o = run(*m, lines, ir);
        EXPECT_EQ(o.result, "ok");
        EXPECT_EQ(o.client_lines.back(), "");  // the empty answer to the server-final
        EXPECT_EQ(o.client_lines[ir ? 1 : 2], "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=<proof>");
    }
}

TEST(sasl_exchange, scram_ok_without_server_final_is_cancelled_as_auth_failure) {
    auto m = detail::make_scram(detail::scram_hash::sha256, false, user_pencil(), std::nullopt, "rOprNGfwEbeRWgbNEkqO");
    const auto o = run(*m, {server_first, "OK"}, true);
    EXPECT_EQ(o.result, "cancelled: authentication failed");
}

TEST(sasl_exchange, garbage_base64_challenge_cancels) {
    auto m = make_mechanism("CRAM-MD5", user_pencil());
    const auto o = run(*m, {"+ not base64!"}, true);
    EXPECT_EQ(o.client_lines.back(), "*");
    EXPECT_EQ(o.result, "cancelled: protocol violation");
}

TEST(sasl_exchange, xoauth2_failure_carries_the_json_details) {
    credentials c;
    c.user = "u@example.com";
    c.oauth_token = "tok";
    auto m = make_mechanism("XOAUTH2", c);
    const auto o =
        run(*m,
            {"+ " + base64_encode(R"({"status":"400","schemes":"Bearer","scope":"https://mail.google.com/"})"), "NO"},
            true);
    EXPECT_EQ(o.client_lines,
              (std::vector<std::string>{"A1 AUTHENTICATE XOAUTH2 " + base64_encode("user=u@example.com\x01"
                                                                                   "auth=Bearer tok\x01\x01"),
                                        ""}));
    EXPECT_EQ(o.result, "no: status=400 schemes=Bearer scope=https://mail.google.com/");
}

TEST(sasl_exchange, external_with_empty_initial_response_uses_equals_sign) {
    auto m = make_mechanism("EXTERNAL", credentials{});
    const auto o = run(*m, {"OK"}, true);
    EXPECT_EQ(o.client_lines.front(), "A1 AUTHENTICATE EXTERNAL =");
    EXPECT_EQ(o.result, "ok");
}

}  // namespace
}  // namespace mailwire::sasl
