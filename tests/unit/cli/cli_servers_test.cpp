// `mailwire` against the real Dovecot/Postfix harness: every exit code from a real situation,
// probe verdicts for every listener, JSON fields, transcripts without passwords, and the layout of
// the human report in a terminal.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <optional>
#include <tuple>

#include "cli_servers.hpp"

namespace mailwire::test {
namespace {

std::vector<std::string> connect_args(const std::string& cmd, const std::string& h, const std::string& port,
                                      const std::string& security) {
    std::vector<std::string> a;
    if (cmd == "send") a = {"send", "--check"};
    else a = {cmd, "caps"};
    if (cmd == "pop3") a = {"pop3"};
    a.insert(a.end(), {"--host", h, "--port", port, "--security", security, "--timeout", "5"});
    return a;
}

// ---- exit 0 ---------------------------------------------------------------------------------

TEST(CliServers, CapsOverEveryModeSucceed) {
    REQUIRE_HARNESS();
    struct c {
        std::string cmd, port_key, security, expect_used;
    };
    std::vector<c> cases = {{"imap", "IMAP_PORT", "starttls", "starttls"},
                            {"imap", "IMAPS_PORT", "tls", "implicit_tls"},
                            {"imap", "IMAP_PORT", "auto", "starttls"},
                            {"pop3", "POP3_PORT", "starttls", "starttls"},
                            {"pop3", "POP3S_PORT", "tls", "implicit_tls"},
                            {"imap", "IMAP_PORT", "none", "none"}};
    if (opt("SUBMISSION_PORT")) {
        cases.push_back({"send", "SUBMISSION_PORT", "starttls", "starttls"});
        cases.push_back({"send", "SMTPS_PORT", "tls", "implicit_tls"});
    }
    for (const auto& t : cases) {
        auto r = run_cli(with(connect_args(t.cmd, host(), need(t.port_key), t.security), {"--cafile", ca(), "--json"}));
        ASSERT_EQ(r.exit_code, 0) << t.cmd << " " << t.port_key << " " << t.security << "\n" << describe(r);
        const auto j = parse_json(r);
        EXPECT_EQ(j.value("ok", false), true);
        EXPECT_EQ(j.value("security", ""), t.expect_used) << j.dump(2);
        EXPECT_EQ(j.value("encrypted", false), t.expect_used != "none");
        EXPECT_FALSE(j["capabilities"].empty()) << j.dump(2);
        EXPECT_FALSE(j.value("greeting", "").empty());
        if (t.expect_used != "none") {
            EXPECT_FALSE(j["tls"]["version"].get<std::string>().empty());
            EXPECT_EQ(j["tls"]["certificate"].value("policy_errors", ""), "none");
        }
    }
}

TEST(CliServers, HumanCapsReportNamesTheSession) {
    REQUIRE_HARNESS();
    auto r = run_cli(with(connect_args("imap", host(), need("IMAPS_PORT"), "tls"), {"--cafile", ca()}));
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_NE(r.out.find("implicit_tls"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("verified        yes"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("IMAP4REV1"), std::string::npos) << r.out;
}

// ---- exit 4: the classic mistakes -----------------------------------------------------------

TEST(CliServers, ImplicitTlsToPlaintextPortExitsFour) {
    REQUIRE_HARNESS();
    for (const auto& [cmd, key] : {std::pair<std::string, std::string>{"imap", "IMAP_PORT"}, {"pop3", "POP3_PORT"}}) {
        const auto port = need(key);
        auto r = run_cli(with(connect_args(cmd, host(), port, "tls"), {"--cafile", ca()}));
        EXPECT_EQ(r.exit_code, 4) << describe(r);
        EXPECT_NE(r.err.find("greeted in plaintext"), std::string::npos) << r.err;
        EXPECT_NE(r.err.find("hint: use starttls on port " + port), std::string::npos) << r.err;
        auto j = parse_json(run_cli(with(connect_args(cmd, host(), port, "tls"), {"--cafile", ca(), "--json"})));
        EXPECT_EQ(j["error"].value("code", ""), "tls_plaintext_greeting") << j.dump(2);
        EXPECT_EQ(j["error"].value("category", ""), "tls");
        EXPECT_NE(j["error"].value("server_text", "").find(cmd == "imap" ? "* OK" : "+OK"), std::string::npos);
    }
}

TEST(CliServers, PlaintextToImplicitTlsPortExitsFour) {
    REQUIRE_HARNESS();
    for (const auto& [cmd, key] : {std::pair<std::string, std::string>{"imap", "IMAPS_PORT"}, {"pop3", "POP3S_PORT"}}) {
        const auto port = need(key);
        auto args = connect_args(cmd, host(), port, "starttls");
        args[args.size() - 1] = "1";  // --timeout 1: the greeting wait is what we are testing
        auto r = run_cli(with(args, {"--json"}));
        EXPECT_EQ(r.exit_code, 4) << describe(r);
        const auto j = parse_json(r);
        EXPECT_EQ(j["error"].value("code", ""), "tls_expected") << j.dump(2);
        EXPECT_NE(j["error"].value("hint", "").find("implicit_tls on port " + port), std::string::npos) << j.dump(2);
    }
}

TEST(CliServers, NoSharedTlsVersionExitsFour) {
    REQUIRE_HARNESS();
    auto r = run_cli(with(connect_args("imap", need("TLS13_HOST"), need("IMAPS_PORT"), "tls"),
                          {"--cafile", ca(), "--tls-max", "1.2", "--json"}));
    EXPECT_EQ(r.exit_code, 4) << describe(r);
    EXPECT_EQ(parse_json(r)["error"].value("code", ""), "tls_handshake_failed") << r.out;
    // …and the same server is fine when TLS 1.3 is allowed.
    r = run_cli(
        with(connect_args("imap", need("TLS13_HOST"), need("IMAPS_PORT"), "tls"), {"--cafile", ca(), "--json"}));
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_EQ(parse_json(r)["tls"].value("version", ""), "TLSv1.3");
}

// ---- exit 5: certificates -------------------------------------------------------------------

TEST(CliServers, BadCertificatesExitFive) {
    REQUIRE_HARNESS();
    const std::vector<std::pair<std::string, std::string>> cases = {{"EXPIRED_HOST", "expired"},
                                                                    {"WRONGNAME_HOST", "name mismatch"},
                                                                    {"SELFSIGNED_HOST", "self-signed"}};
    for (const auto& [key, words] : cases) {
        auto r = run_cli(with(connect_args("imap", need(key), need("IMAPS_PORT"), "tls"), {"--cafile", ca()}));
        EXPECT_EQ(r.exit_code, 5) << key << "\n" << describe(r);
        EXPECT_NE(r.err.find(words), std::string::npos) << key << "\n" << r.err;
        EXPECT_NE(r.err.find("hint: "), std::string::npos) << r.err;
        r = run_cli(with(connect_args("pop3", need(key), need("POP3_PORT"), "starttls"), {"--cafile", ca(), "--json"}));
        EXPECT_EQ(r.exit_code, 5) << key << "\n" << describe(r);
        const auto j = parse_json(r);
        EXPECT_EQ(j["error"].value("code", ""), "certificate_rejected");
        EXPECT_EQ(j["error"].value("category", ""), "certificate");
        ASSERT_TRUE(j["error"].contains("certificate")) << j.dump(2);
        EXPECT_FALSE(j["error"]["certificate"]["problems"].empty()) << j.dump(2);
        EXPECT_FALSE(j["error"]["certificate"]["chain"].empty()) << j.dump(2);
    }
}

TEST(CliServers, TestCaIsUntrustedWithoutCafile) {
    REQUIRE_HARNESS();
    auto r = run_cli(connect_args("imap", host(), need("IMAPS_PORT"), "tls"));
    EXPECT_EQ(r.exit_code, 5) << describe(r);
    EXPECT_NE(r.err.find("--cafile"), std::string::npos) << r.err;
}

TEST(CliServers, InsecureAcceptsWithALoudWarning) {
    REQUIRE_HARNESS();
    auto r = run_cli(with(connect_args("imap", need("SELFSIGNED_HOST"), need("IMAPS_PORT"), "tls"), {"--insecure"}));
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_NE(r.err.find("WARNING: --insecure"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("self-signed"), std::string::npos) << r.err;
}

TEST(CliServers, PinFromProbeAcceptsAndWrongPinRejects) {
    REQUIRE_HARNESS();
    // The self-signed server's own key, as `mailwire probe` reports it.
    auto pj = parse_json(run_cli(
        {"probe", need("SELFSIGNED_HOST") + ":" + need("IMAPS_PORT"), "--protocol", "imap", "--wait", "1", "--json"}));
    ASSERT_TRUE(pj["tls"].is_object()) << pj.dump(2);
    const std::string pin = "sha256/" + pj["tls"]["certificate"]["chain"][0].value("spki_sha256", "");
    // A pin alone does not override chain errors (library rule); with the test CA it must match too.
    auto good =
        run_cli(with(connect_args("imap", host(), need("IMAPS_PORT"), "tls"), {"--cafile", ca(), "--pin", pin}));
    EXPECT_EQ(good.exit_code, 5) << "the good server has another key\n" << describe(good);
    auto j = parse_json(
        run_cli({"probe", host() + ":" + need("IMAPS_PORT"), "--protocol", "imap", "--wait", "1", "--json"}));
    const std::string good_pin = "sha256/" + j["tls"]["certificate"]["chain"][0].value("spki_sha256", "");
    auto ok =
        run_cli(with(connect_args("imap", host(), need("IMAPS_PORT"), "tls"), {"--cafile", ca(), "--pin", good_pin}));
    EXPECT_EQ(ok.exit_code, 0) << describe(ok);

    // --trust-pin: the self-signed server is accepted on its pinned leaf key (override_rejection)…
    const auto selfsigned = connect_args("imap", need("SELFSIGNED_HOST"), need("IMAPS_PORT"), "tls");
    auto pinned = run_cli(with(selfsigned, {"--pin", pin}));
    EXPECT_EQ(pinned.exit_code, 5) << "a pin alone must not override chain errors\n" << describe(pinned);
    pinned = run_cli(with(selfsigned, {"--pin", pin, "--trust-pin"}));
    EXPECT_EQ(pinned.exit_code, 0) << describe(pinned);
    EXPECT_NE(pinned.err.find("self-signed"), std::string::npos) << pinned.err;
    // …but not with another key's pin.
    pinned = run_cli(with(selfsigned, {"--pin", good_pin, "--trust-pin"}));
    EXPECT_EQ(pinned.exit_code, 5) << describe(pinned);
}

// ---- exit 6: authentication -----------------------------------------------------------------

TEST(CliServers, WrongPasswordExitsSix) {
    REQUIRE_HARNESS();
    std::vector<std::pair<std::string, std::string>> cases = {{"imap", "IMAPS_PORT"}, {"pop3", "POP3S_PORT"}};
    if (opt("SMTPS_PORT")) cases.emplace_back("send", "SMTPS_PORT");
    for (const auto& [cmd, key] : cases) {
        auto r = run_cli(with(connect_args(cmd, host(), need(key), "tls"),
                              {"--cafile", ca(), "--user", need("USER1"), "--password-env", "MW_TEST_PW", "--json"}),
                         {{"MW_TEST_PW", "definitely-not-" + need("PASS1")}});
        EXPECT_EQ(r.exit_code, 6) << cmd << "\n" << describe(r);
        const auto j = parse_json(r);
        EXPECT_EQ(j["error"].value("code", ""), "auth_failed") << j.dump(2);
        EXPECT_EQ(j["error"].value("stage", ""), "authentication");
    }
}

TEST(CliServers, CredentialsOverPlaintextAreRefusedWithSix) {
    REQUIRE_HARNESS();
    // Mechanisms that reveal the password (PLAIN, LOGIN, the legacy commands) are refused without TLS;
    // SCRAM, which never sends it, is allowed (the library's rule).
    for (const auto& [cmd, key, auth] :
         {std::tuple<std::string, std::string, std::string>{"imap", "IMAP_PORT", "PLAIN"},
          {"imap", "IMAP_PORT", "legacy"},
          {"pop3", "POP3_PORT", "legacy"}}) {
        auto r = run_cli(with(connect_args(cmd, host(), need(key), "none"),
                              {"--user", need("USER1"), "--password-env", "MW_TEST_PW", "--auth", auth}),
                         {{"MW_TEST_PW", need("PASS1")}});
        EXPECT_EQ(r.exit_code, 6) << cmd << " " << auth << "\n" << describe(r);
        EXPECT_NE(r.err.find("--allow-plaintext-auth"), std::string::npos) << r.err;
    }
    auto r =
        run_cli(with(connect_args("imap", host(), need("IMAP_PORT"), "none"),
                     {"--user", need("USER1"), "--password-env", "MW_TEST_PW", "--auth", "SCRAM-SHA-256", "--json"}),
                {{"MW_TEST_PW", need("PASS1")}});
    EXPECT_EQ(r.exit_code, 0) << describe(r);
}

TEST(CliServers, RightPasswordLogsInWithTheStrongestMechanism) {
    REQUIRE_HARNESS();
    std::vector<std::pair<std::string, std::string>> cases = {{"imap", "IMAP_PORT"}, {"pop3", "POP3_PORT"}};
    if (opt("SUBMISSION_PORT")) cases.emplace_back("send", "SUBMISSION_PORT");
    for (const auto& [cmd, key] : cases) {
        auto r = run_cli(with(connect_args(cmd, host(), need(key), "starttls"),
                              {"--cafile", ca(), "--user", need("USER1"), "--password-env", "MW_TEST_PW", "--json"}),
                         {{"MW_TEST_PW", need("PASS1")}});
        EXPECT_EQ(r.exit_code, 0) << describe(r);
        const auto j = parse_json(r);
        EXPECT_EQ(j.value("authenticated", false), true) << r.out;
        EXPECT_EQ(j.value("authenticated_with", ""), "SCRAM-SHA-256") << cmd;
    }
    // The legacy commands when asked for.
    auto r = run_cli(with(connect_args("pop3", host(), need("POP3S_PORT"), "tls"),
                          {"--cafile", ca(), "--user", need("USER1"), "--password-env", "MW_TEST_PW", "--auth",
                           "legacy", "--json"}),
                     {{"MW_TEST_PW", need("PASS1")}});
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_EQ(parse_json(r).value("authenticated_with", ""), "USER");
}

// ---- exit 7: protocol errors ----------------------------------------------------------------

TEST(CliServers, WrongProtocolForThePortExitsSeven) {
    REQUIRE_HARNESS();
    auto r = run_cli(with(connect_args("pop3", host(), need("IMAP_PORT"), "none"), {"--json"}));
    EXPECT_EQ(r.exit_code, 7) << describe(r);
    EXPECT_EQ(parse_json(r)["error"].value("category", ""), "protocol");
    r = run_cli(connect_args("imap", host(), need("POP3_PORT"), "none"));
    EXPECT_EQ(r.exit_code, 7) << describe(r);
    EXPECT_TRUE(r.err.starts_with("error: ")) << r.err;
}

// ---- --log never contains the password ------------------------------------------------------

std::string base64(const std::string& in) {
    static const char* abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    std::size_t i = 0;
    for (; i + 2 < in.size(); i += 3) {
        const unsigned v = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                           static_cast<unsigned char>(in[i + 2]);
        for (int s = 18; s >= 0; s -= 6) out += abc[(v >> s) & 63];
    }
    if (i < in.size()) {
        unsigned v = static_cast<unsigned char>(in[i]) << 16;
        if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
        out += abc[(v >> 18) & 63];
        out += abc[(v >> 12) & 63];
        out += i + 1 < in.size() ? abc[(v >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

TEST(CliServers, TranscriptsNeverContainThePassword) {
    REQUIRE_HARNESS();
    const std::string password = need("PASS1");
    ASSERT_GE(password.size(), 4u);
    // What AUTH PLAIN would carry if it were logged unmasked: base64("\0user\0password").
    const std::string plain_blob = base64(std::string(1, '\0') + need("USER1") + std::string(1, '\0') + password);
    EXPECT_EQ(base64("Man"), "TWFu");  // the helper itself
    struct c {
        std::string cmd, key, auth, must_contain;
    };
    std::vector<c> cases = {{"imap", "IMAP_PORT", "legacy", "LOGIN \""},
                            {"imap", "IMAP_PORT", "PLAIN", "AUTHENTICATE PLAIN"},
                            {"pop3", "POP3_PORT", "legacy", "PASS "},
                            {"pop3", "POP3_PORT", "PLAIN", "AUTH PLAIN"},
                            {"imap", "IMAP_PORT", "LOGIN", "AUTHENTICATE LOGIN"}};
    if (opt("SUBMISSION_PORT")) cases.push_back({"send", "SUBMISSION_PORT", "PLAIN", "AUTH PLAIN"});
    for (const auto& t : cases) {
        char tmpl[] = "/tmp/mailwire-cli-log-XXXXXX";
        const int fd = mkstemp(tmpl);
        ASSERT_GE(fd, 0);
        close(fd);
        auto r = run_cli(with(connect_args(t.cmd, host(), need(t.key), "starttls"),
                              {"--cafile", ca(), "--user", need("USER1"), "--password-env", "MW_TEST_PW", "--auth",
                               t.auth, "--log", tmpl}),
                         {{"MW_TEST_PW", password}});
        EXPECT_EQ(r.exit_code, 0) << t.cmd << " " << t.auth << "\n" << describe(r);
        const auto log = read_file(tmpl);
        std::remove(tmpl);
        EXPECT_EQ(log.find(password), std::string::npos) << "password in the " << t.cmd << " transcript:\n" << log;
        EXPECT_EQ(log.find(plain_blob), std::string::npos) << "AUTH PLAIN blob in the transcript:\n" << log;
        EXPECT_EQ(log.find(base64(password)), std::string::npos) << "base64 password in the transcript:\n" << log;
        EXPECT_NE(log.find("C: "), std::string::npos) << log;
        EXPECT_NE(log.find("S: "), std::string::npos) << log;
        EXPECT_NE(log.find(t.must_contain), std::string::npos) << log;  // the login itself is in the log
        if (t.auth == "legacy") {
            EXPECT_NE(log.find(need("USER1")), std::string::npos) << log;
        }
        EXPECT_EQ(r.out.find(password), std::string::npos);
        EXPECT_EQ(r.err.find(password), std::string::npos);
    }
}

// ---- probe verdicts ---------------------------------------------------------------------------

json probe_json(const std::string& h, const std::string& port, const std::string& proto, bool with_ca = true) {
    std::vector<std::string> a = {"probe", h + ":" + port, "--protocol", proto,   "--wait",
                                  "1",     "--timeout",    "5",          "--json"};
    if (with_ca) a.insert(a.end(), {"--cafile", ca()});
    auto r = run_cli(a);
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    return parse_json(r);
}

bool has_risk(const json& j, const std::string& risk) {
    for (const auto& r : j["verdict"]["risks"])
        if (r.get<std::string>() == risk) return true;
    return false;
}

TEST(CliProbe, JsonHasTheDocumentedFields) {
    REQUIRE_HARNESS();
    const auto j = probe_json(host(), need("IMAP_PORT"), "imap");
    for (const char* key : {"host", "port", "protocol", "protocol_source", "reachable", "first_contact", "first_line",
                            "greeting", "starttls_offered", "capabilities", "auth_mechanisms",
                            "plaintext_login_before_tls", "tls_versions", "tls", "errors", "verdict"})
        EXPECT_TRUE(j.contains(key)) << key << " missing:\n" << j.dump(2);
    for (const char* key : {"before_tls", "after_tls"}) {
        EXPECT_TRUE(j["capabilities"].contains(key));
        EXPECT_TRUE(j["auth_mechanisms"].contains(key));
    }
    for (const char* v : {"TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"}) {
        ASSERT_TRUE(j["tls_versions"].contains(v)) << j["tls_versions"].dump();
        EXPECT_TRUE(j["tls_versions"][v].contains("state"));
    }
    for (const char* key : {"version", "cipher", "group", "certificate"}) EXPECT_TRUE(j["tls"].contains(key)) << key;
    const auto& cert = j["tls"]["certificate"];
    for (const char* key : {"host", "policy_errors", "problems", "verify_results", "chain"})
        EXPECT_TRUE(cert.contains(key)) << key;
    ASSERT_FALSE(cert["chain"].empty());
    for (const char* key :
         {"subject", "issuer", "subject_alt_names", "not_before", "not_after", "sha256", "spki_sha256"})
        EXPECT_TRUE(cert["chain"][0].contains(key)) << key;
    for (const char* key : {"mode", "port", "usable", "risks", "notes", "text"})
        EXPECT_TRUE(j["verdict"].contains(key)) << key;
}

TEST(CliProbe, PlaintextPortsWithStarttls) {
    REQUIRE_HARNESS();
    std::vector<std::pair<std::string, std::string>> cases = {{"IMAP_PORT", "imap"}, {"POP3_PORT", "pop3"}};
    if (opt("SUBMISSION_PORT")) cases.insert(cases.end(), {{"SUBMISSION_PORT", "smtp"}, {"SMTP_PORT", "smtp"}});
    for (const auto& [key, proto] : cases) {
        const auto port = need(key);
        const auto j = probe_json(host(), port, proto);
        EXPECT_EQ(j.value("first_contact", ""), "plaintext") << key;
        EXPECT_EQ(j.value("starttls_offered", false), true) << key;
        EXPECT_FALSE(j["capabilities"]["before_tls"].empty()) << key;
        EXPECT_FALSE(j["capabilities"]["after_tls"].empty()) << key;
        EXPECT_EQ(j["verdict"].value("mode", ""), "starttls") << key;
        EXPECT_EQ(j["verdict"].value("usable", false), true) << key;
        EXPECT_TRUE(j["verdict"].value("text", "").starts_with("use starttls on port " + port)) << j["verdict"].dump();
        EXPECT_EQ(j["tls"]["certificate"].value("policy_errors", ""), "none") << key;
        EXPECT_EQ(j["tls_versions"]["TLSv1.2"].value("state", ""), "accepted") << key;
        // Dovecot is configured with a TLS 1.2 floor; Postfix keeps its defaults. Either way a legacy
        // version that is accepted must show up as a risk.
        if (proto != "smtp") {
            EXPECT_EQ(j["tls_versions"]["TLSv1"].value("state", ""), "refused") << key;
        }
        for (const auto& [name, words] :
             {std::pair<std::string, std::string>{"TLSv1", "TLS 1.0 accepted"}, {"TLSv1.1", "TLS 1.1 accepted"}})
            EXPECT_EQ(j["tls_versions"][name].value("state", "") == "accepted", has_risk(j, words)) << key << j.dump(2);
        // Whatever the server offers in plaintext, a cleartext AUTH there is reported as a risk.
        bool cleartext_before = false;
        for (const auto& m : j["auth_mechanisms"]["before_tls"])
            if (m == "PLAIN" || m == "LOGIN") cleartext_before = true;
        bool risk = false;
        for (const auto& r : j["verdict"]["risks"])
            if (r.get<std::string>().find("offered before TLS") != std::string::npos &&
                r.get<std::string>().starts_with("AUTH"))
                risk = true;
        EXPECT_EQ(risk, cleartext_before) << j["verdict"].dump();
    }
}

TEST(CliProbe, ImplicitTlsPorts) {
    REQUIRE_HARNESS();
    std::vector<std::pair<std::string, std::string>> cases = {{"IMAPS_PORT", "imap"}, {"POP3S_PORT", "pop3"}};
    if (opt("SMTPS_PORT")) cases.emplace_back("SMTPS_PORT", "smtp");
    for (const auto& [key, proto] : cases) {
        const auto port = need(key);
        const auto j = probe_json(host(), port, proto);
        EXPECT_EQ(j.value("first_contact", ""), "tls_first") << key;
        EXPECT_FALSE(j.value("greeting", "").empty()) << key;
        EXPECT_EQ(j["verdict"].value("mode", ""), "implicit_tls") << key;
        EXPECT_TRUE(j["verdict"].value("text", "").starts_with("use implicit_tls on port " + port + "; ")) << j.dump(2);
        EXPECT_EQ(j["verdict"].value("usable", false), true);
        if (proto != "smtp") {
            EXPECT_EQ(j["verdict"].value("text", ""), "use implicit_tls on port " + port + "; no risks found")
                << j.dump(2);
        }
    }
}

TEST(CliProbe, ProtocolIsRecognisedFromTheGreeting) {
    REQUIRE_HARNESS();
    for (const auto& [key, proto] :
         {std::pair<std::string, std::string>{"IMAP_PORT", "imap"}, {"POP3S_PORT", "pop3"}}) {
        auto r = run_cli({"probe", host() + ":" + need(key), "--cafile", ca(), "--wait", "1", "--json"});
        ASSERT_EQ(r.exit_code, 0) << describe(r);
        const auto j = parse_json(r);
        EXPECT_EQ(j.value("protocol", ""), proto);
        EXPECT_NE(j.value("protocol_source", ""), "given");
    }
}

TEST(CliProbe, Tls13OnlyListener) {
    REQUIRE_HARNESS();
    const auto j = probe_json(need("TLS13_HOST"), need("IMAPS_PORT"), "imap");
    EXPECT_EQ(j["tls_versions"]["TLSv1.3"].value("state", ""), "accepted") << j["tls_versions"].dump(2);
    for (const char* v : {"TLSv1", "TLSv1.1", "TLSv1.2"})
        EXPECT_NE(j["tls_versions"][v].value("state", ""), "accepted") << v;
    EXPECT_EQ(j["tls_versions"]["TLSv1.2"].value("state", ""), "refused");
    EXPECT_EQ(j["verdict"].value("mode", ""), "implicit_tls");
    EXPECT_TRUE(j["verdict"]["risks"].empty()) << j["verdict"].dump();
    ASSERT_FALSE(j["verdict"]["notes"].empty());
    EXPECT_NE(j["verdict"]["notes"][0].get<std::string>().find("only TLS 1.3"), std::string::npos);
}

TEST(CliProbe, BadCertificateListeners) {
    REQUIRE_HARNESS();
    const std::vector<std::pair<std::string, std::string>> cases = {{"EXPIRED_HOST", "certificate expired"},
                                                                    {"WRONGNAME_HOST", "certificate name mismatch"},
                                                                    {"SELFSIGNED_HOST", "self-signed certificate"}};
    for (const auto& [key, risk] : cases) {
        for (const auto& [port_key, proto] :
             {std::pair<std::string, std::string>{"IMAPS_PORT", "imap"}, {"POP3_PORT", "pop3"}}) {
            const auto j = probe_json(need(key), need(port_key), proto);
            EXPECT_TRUE(has_risk(j, risk)) << key << " " << port_key << ": " << j["verdict"].dump();
            EXPECT_NE(j["verdict"].value("text", "").find(risk), std::string::npos) << j["verdict"].dump();
            EXPECT_FALSE(j["tls"]["certificate"]["problems"].empty());
            EXPECT_NE(j["tls"]["certificate"].value("policy_errors", ""), "none");
        }
    }
    // Without the test CA even the good server's chain is untrusted, and probe says so.
    const auto j = probe_json(host(), need("IMAPS_PORT"), "imap", false);
    EXPECT_TRUE(has_risk(j, "certificate issuer not trusted")) << j["verdict"].dump();
}

TEST(CliProbe, AllPortsGivesOneVerdictPerProtocol) {
    REQUIRE_HARNESS();
    std::string ports = "imap:" + need("IMAP_PORT") + ",imap:" + need("IMAPS_PORT") + ",pop3:" + need("POP3_PORT") +
                        ",pop3:" + need("POP3S_PORT");
    if (opt("SUBMISSION_PORT")) ports += ",smtp:" + need("SUBMISSION_PORT") + ",smtp:" + need("SMTPS_PORT");
    auto r = run_cli({"probe", host(), "--all", "--ports", ports, "--cafile", ca(), "--wait", "1", "--json"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    const auto j = parse_json(r);
    EXPECT_EQ(j["ports"].size(), opt("SUBMISSION_PORT") ? 6u : 4u);
    // RFC 8314: implicit TLS is preferred when both work.
    EXPECT_EQ(j["verdicts"]["imap"].value("mode", ""), "implicit_tls") << j["verdicts"].dump(2);
    EXPECT_EQ(j["verdicts"]["imap"]["port"].get<int>(), std::stoi(need("IMAPS_PORT")));
    EXPECT_EQ(j["verdicts"]["pop3"]["port"].get<int>(), std::stoi(need("POP3S_PORT")));
    if (opt("SMTPS_PORT")) {
        EXPECT_EQ(j["verdicts"]["smtp"]["port"].get<int>(), std::stoi(need("SMTPS_PORT")));
    }
}

// ---- the human report in a terminal -----------------------------------------------------------

std::string in_terminal(const std::string& command, int columns) {
    // `script` gives the CLI a real pty; COLUMNS is what a terminal of that width exports.
    auto r =
        run_program({"/usr/bin/script", "-qec", "env COLUMNS=" + std::to_string(columns) + " " + command, "/dev/null"});
    EXPECT_EQ(r.exit_code, 0) << describe(r);
    return r.out;
}

TEST(CliTerminal, ProbeReportFitsAndAligns) {
    REQUIRE_HARNESS();
    const std::string cli = cli_path();
    for (const auto& target : {host() + ":" + need("IMAP_PORT"), need("WRONGNAME_HOST") + ":" + need("POP3S_PORT"),
                               need("EXPIRED_HOST") + ":" + need("IMAPS_PORT")}) {
        for (int cols : {100, 80}) {
            const auto out = in_terminal(cli + " probe " + target + " --cafile " + ca() + " --wait 1", cols);
            const auto lines = lines_of(out);
            ASSERT_GT(lines.size(), 10u) << out;
            EXPECT_TRUE(lines[0].starts_with(target)) << out;
            std::size_t labelled = 0;
            for (const auto& l : lines) {
                EXPECT_LE(l.size(), static_cast<std::size_t>(cols)) << "too wide at " << cols << ":\n" << l;
                EXPECT_EQ(l.find('\t'), std::string::npos);
                if (l.empty() || l == lines[0]) continue;
                // Every body line is indented, and values start in one column (20).
                EXPECT_TRUE(l.starts_with("  ")) << l;
                if (l.size() > 20 && l[2] != ' ') {
                    ++labelled;
                    EXPECT_EQ(l[19], ' ') << "label runs into the value column: " << l;
                    EXPECT_NE(l[20], ' ') << "value not in column 20: " << l;
                }
            }
            EXPECT_GE(labelled, 8u) << out;
            EXPECT_NE(out.find("  verdict           "), std::string::npos) << out;
        }
    }
}

TEST(CliTerminal, AllPortsReportFits) {
    REQUIRE_HARNESS();
    const std::string ports = "imap:" + need("IMAP_PORT") + ",imap:" + need("IMAPS_PORT") +
                              ",pop3:" + need("POP3_PORT") + ",pop3:" + need("POP3S_PORT");
    const auto out = in_terminal(std::string(cli_path()) + " probe " + host() + " --all --ports " + ports +
                                     " --cafile " + ca() + " --wait 1",
                                 100);
    for (const auto& l : lines_of(out)) EXPECT_LE(l.size(), 100u) << l;
    EXPECT_NE(out.find("summary for " + host()), std::string::npos) << out;
    EXPECT_NE(out.find("use implicit_tls on port " + need("IMAPS_PORT")), std::string::npos) << out;
}

}  // namespace
}  // namespace mailwire::test
