// `mailwire` command-line behaviour that needs no mail server: usage errors, connection failures
// and timeouts against sockets the test opens itself, the JSON error object.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdio>

#include "cli_run.hpp"

namespace mailwire::test {
namespace {

using nlohmann::json;

json parse_json(const run_result& r) {
    try {
        return json::parse(r.out);
    } catch (const std::exception& e) {
        ADD_FAILURE() << "stdout is not JSON (" << e.what() << "):\n" << r.out << "\nstderr:\n" << r.err;
        return json::object();
    }
}

void expect_error_object(const json& j, const std::string& code, const std::string& category, int exit_code) {
    ASSERT_TRUE(j.is_object());
    EXPECT_EQ(j.value("ok", true), false);
    ASSERT_TRUE(j.contains("error")) << j.dump();
    const auto& e = j["error"];
    for (const char* key : {"code", "category", "message", "hint", "host", "port", "stage", "server_text"})
        EXPECT_TRUE(e.contains(key)) << "missing error." << key << " in " << j.dump();
    EXPECT_EQ(e.value("code", ""), code) << j.dump();
    EXPECT_EQ(e.value("category", ""), category) << j.dump();
    EXPECT_EQ(e.value("exit_code", -1), exit_code) << j.dump();
    EXPECT_FALSE(e.value("message", "").empty());
}

TEST(CliUsage, HelpDocumentsEveryExitCode) {
    auto r = run_cli({"--help"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    for (const char* line :
         {"0  success", "2  usage", "3  connection failed", "4  TLS handshake failed",
          "5  the server certificate was rejected", "6  authentication", "7  protocol error", "8  timeout"})
        EXPECT_NE(r.out.find(line), std::string::npos) << "help lacks `" << line << "`:\n" << r.out;
    for (const char* cmd : {"probe", "imap", "pop3", "send", "parse"}) EXPECT_NE(r.out.find(cmd), std::string::npos);
}

TEST(CliUsage, HelpFitsHundredColumns) {
    for (std::vector<std::string> args : {std::vector<std::string>{"--help"},
                                          {"probe", "--help"},
                                          {"imap", "--help"},
                                          {"pop3", "--help"},
                                          {"send", "--help"},
                                          {"parse", "--help"}}) {
        auto r = run_cli(args);
        EXPECT_EQ(r.exit_code, 0);
        for (const auto& l : lines_of(r.out)) EXPECT_LE(l.size(), 100u) << args[0] << ": " << l;
    }
}

TEST(CliUsage, BadCommandLinesExitTwo) {
    const std::vector<std::vector<std::string>> cases = {
        {},                                                          // no subcommand
        {"frobnicate"},                                              // unknown subcommand
        {"imap", "caps", "--bogus"},                                 // unknown option
        {"imap", "caps"},                                            // no --host
        {"imap", "caps", "--host", "127.0.0.1", "--password", "x"},  // passwords never on the command line
        {"imap", "caps", "--host", "127.0.0.1", "--security", "sometimes"},
        {"imap", "caps", "--host", "127.0.0.1", "--user", "u"},  // no --password-env
        {"imap", "caps", "--host", "127.0.0.1", "--user", "u", "--password-env", "MAILWIRE_TEST_SURELY_UNSET"},
        {"imap", "caps", "--host", "127.0.0.1", "--tls-min", "0.9"},
        {"imap", "caps", "--host", "127.0.0.1", "--tls-min", "1.3", "--tls-max", "1.2"},
        {"imap", "caps", "--host", "127.0.0.1", "--pin", "md5/abc"},
        {"imap", "caps", "--host", "127.0.0.1", "--trust-pin"},  // nothing to trust
        {"pop3", "--host", "127.0.0.1", "--timeout", "-1"},
        {"probe"},                                           // no target
        {"probe", "127.0.0.1"},                              // no port and no protocol
        {"probe", "127.0.0.1:99999"},                        // bad port
        {"probe", "127.0.0.1", "--protocol", "x"},           // bad protocol
        {"send", "--host", "127.0.0.1"},                     // sending itself is not there yet
        {"imap", "--host", "127.0.0.1", "--auth", "PLAIN"},  // --auth without --user
        {"send", "--check", "--host", "127.0.0.1", "--user", "u", "--password-env", "HOME", "--auth", "legacy"},
        {"parse", "/nonexistent/file"},
    };
    for (const auto& args : cases) {
        auto r = run_cli(args);
        std::string joined;
        for (const auto& a : args) joined += a + " ";
        EXPECT_EQ(r.exit_code, 2) << "mailwire " << joined << "\nstdout: " << r.out << "\nstderr: " << r.err;
        EXPECT_FALSE(r.err.empty() && r.out.empty()) << joined;
    }
}

TEST(CliUsage, UsageErrorAsJson) {
    auto r = run_cli({"imap", "caps", "--host", "127.0.0.1", "--user", "u", "--json"});
    EXPECT_EQ(r.exit_code, 2);
    expect_error_object(parse_json(r), "usage", "usage", 2);
}

TEST(CliConnect, ClosedPortExitsThreeWithHint) {
    const auto port = closed_port();
    auto r = run_cli({"imap", "caps", "--host", "127.0.0.1", "--port", std::to_string(port), "--security", "none"});
    EXPECT_EQ(r.exit_code, 3) << r.err;
    const auto lines = lines_of(r.err);
    ASSERT_GE(lines.size(), 2u) << r.err;
    EXPECT_TRUE(lines[0].starts_with("error: ")) << r.err;
    EXPECT_NE(lines[0].find(std::to_string(port)), std::string::npos) << r.err;
    EXPECT_TRUE(lines.back().starts_with("hint: ")) << r.err;
    EXPECT_TRUE(r.out.empty());
}

TEST(CliConnect, ClosedPortAsJson) {
    const auto port = closed_port();
    auto r = run_cli({"pop3", "--host", "127.0.0.1", "--port", std::to_string(port), "--json"});
    EXPECT_EQ(r.exit_code, 3);
    const auto j = parse_json(r);
    expect_error_object(j, "connect_failed", "connect", 3);
    EXPECT_EQ(j["error"].value("host", ""), "127.0.0.1");
    EXPECT_EQ(j["error"].value("port", 0), port);
    EXPECT_EQ(j["error"].value("stage", ""), "connect");
}

TEST(CliConnect, ClosedBeforeGreetingExitsThree) {
    closing_listener l;
    auto r = run_cli({"imap", "caps", "--host", "127.0.0.1", "--port", std::to_string(l.port()), "--security", "none",
                      "--timeout", "5", "--json"});
    EXPECT_EQ(r.exit_code, 3) << r.out;
    expect_error_object(parse_json(r), "connection_closed", "connect", 3);
}

TEST(CliTimeout, SilentServerDuringHandshakeExitsEight) {
    silent_listener l;
    const auto start = std::chrono::steady_clock::now();
    auto r = run_cli({"imap", "caps", "--host", "127.0.0.1", "--port", std::to_string(l.port()), "--security", "tls",
                      "--timeout", "1", "--json"});
    EXPECT_EQ(r.exit_code, 8) << r.out << r.err;
    expect_error_object(parse_json(r), "timeout", "timeout", 8);
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST(CliTimeout, SilentPlaintextPortIsDiagnosedAsTlsFirst) {
    // Silence where a greeting was expected is the "this port expects TLS first" diagnosis (exit 4),
    // even though it arrives as a timeout.
    silent_listener l;
    auto r = run_cli({"imap", "caps", "--host", "127.0.0.1", "--port", std::to_string(l.port()), "--security", "none",
                      "--timeout", "1"});
    EXPECT_EQ(r.exit_code, 4) << r.err;
    EXPECT_NE(r.err.find("expects TLS first"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("hint: use implicit_tls on port " + std::to_string(l.port())), std::string::npos) << r.err;
}

TEST(CliProtocol, WrongProtocolGreetingExitsSeven) {
    closing_listener l("+OK POP3 here\r\n");
    auto r = run_cli({"imap", "caps", "--host", "127.0.0.1", "--port", std::to_string(l.port()), "--security", "none",
                      "--timeout", "5", "--json"});
    EXPECT_EQ(r.exit_code, 7) << r.out;
    const auto j = parse_json(r);
    EXPECT_EQ(j["error"].value("category", ""), "protocol") << j.dump();
    EXPECT_EQ(j["error"].value("stage", ""), "greeting") << j.dump();
}

TEST(CliProbe, ClosedPortExitsThree) {
    const auto port = closed_port();
    auto r = run_cli({"probe", "127.0.0.1:" + std::to_string(port), "--protocol", "imap", "--json"});
    EXPECT_EQ(r.exit_code, 3);
    expect_error_object(parse_json(r), "connect_failed", "connect", 3);
}

TEST(CliProbe, SilentPortIsReportedAsTlsFirst) {
    silent_listener l;
    auto r = run_cli({"probe", "127.0.0.1:" + std::to_string(l.port()), "--protocol", "imap", "--wait", "0.3",
                      "--timeout", "0.5", "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    const auto j = parse_json(r);
    EXPECT_EQ(j.value("first_contact", ""), "tls_first") << j.dump(2);
    EXPECT_EQ(j["verdict"].value("usable", true), false) << j.dump(2);
    EXPECT_FALSE(j["errors"].empty()) << j.dump(2);
}

TEST(CliProbe, AllWithOnlyClosedPortsExitsThree) {
    const auto a = closed_port(), b = closed_port();
    auto r = run_cli({"probe", "127.0.0.1", "--all", "--ports",
                      "imap:" + std::to_string(a) + ",pop3:" + std::to_string(b), "--json"});
    EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
    const auto j = parse_json(r);
    ASSERT_TRUE(j.contains("ports"));
    ASSERT_EQ(j["ports"].size(), 2u);
    for (const auto& p : j["ports"]) {
        EXPECT_EQ(p.value("reachable", true), false);
        EXPECT_EQ(p.value("first_contact", ""), "refused");
    }
}

#if __has_include("mailwire/mime/parser.hpp")
TEST(CliParse, PrintsTheMimeTree) {
    char path[] = "/tmp/mailwire-cli-parse-XXXXXX";
    const int fd = mkstemp(path);
    ASSERT_GE(fd, 0);
    const std::string msg =
        "From: =?UTF-8?Q?J=C3=B6rg?= <j@example.com>\r\nSubject: =?UTF-8?B?SGVsbG8gd8O2cmxk?=\r\n"
        "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n"
        "--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello\r\n"
        "--b1\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename=\"r.pdf\"\r\n"
        "Content-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b1--\r\n";
    ASSERT_EQ(write(fd, msg.data(), msg.size()), static_cast<ssize_t>(msg.size()));
    close(fd);
    auto r = run_cli({"parse", path, "--json"});
    auto human = run_cli({"parse", path});
    std::remove(path);
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const auto j = parse_json(r);
    EXPECT_EQ(j.value("subject", ""), "Hello w\xC3\xB6rld");
    EXPECT_EQ(j.value("parts", 0), 3);
    EXPECT_EQ(j["tree"].value("content_type", ""), "multipart/mixed");
    ASSERT_EQ(j["tree"]["parts"].size(), 2u);
    EXPECT_EQ(j["tree"]["parts"][0].value("charset", ""), "utf-8");
    EXPECT_EQ(j["tree"]["parts"][1].value("filename", ""), "r.pdf");
    EXPECT_EQ(j["tree"]["parts"][1].value("encoding", ""), "base64");
    EXPECT_EQ(human.exit_code, 0);
    EXPECT_NE(human.out.find("    application/pdf  base64"), std::string::npos) << human.out;
}
#endif

TEST(CliParse, MissingParserOrFileIsAUsageError) {
    auto r = run_cli({"parse", "/nonexistent/message.eml"});
    EXPECT_EQ(r.exit_code, 2);
}

}  // namespace
}  // namespace mailwire::test

// --oauth-token-env and --sasl against a scripted IMAP server (Dovecot here has no OAuth).
#include "mailwire/sasl/base64.hpp"
#include "support/scripted_server.hpp"

namespace mailwire::test {
namespace {

TEST(CliAuth, OauthTokenFromTheEnvironment) {
    scripted_server srv(script{}
                            .send("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=OAUTHBEARER AUTH=PLAIN] oauth\r\n")
                            .expect_line_matching(R"(^(\S+) AUTHENTICATE OAUTHBEARER (\S+)$)")
                            .send("$1 OK [CAPABILITY IMAP4rev1] Logged in\r\n")
                            .expect_line_matching(R"(^(\S+) LOGOUT$)")
                            .send("* BYE\r\n$1 OK bye\r\n"));
    auto r = run_cli({"imap", "caps", "--host", "127.0.0.1", "--port", std::to_string(srv.port()), "--security", "none",
                      "--allow-plaintext-auth", "--user", "alice@example.com", "--oauth-token-env", "MW_TEST_TOKEN"},
                     {{"MW_TEST_TOKEN", "ya29.secret-token"}});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(srv.wait(), "");
    EXPECT_EQ(srv.received().find("ya29.secret-token"), std::string::npos) << "the token travels base64-encoded";
    EXPECT_NE(srv.received().find(sasl::base64_encode("n,a=alice@example.com,\x01"
                                                      "auth=Bearer ya29.secret-token\x01\x01")),
              std::string::npos)
        << srv.received();
}

TEST(CliAuth, RefusedTokenExitsSixWithTheServersReason) {
    const std::string json = R"({"status":"invalid_token","scope":"mail"})";
    scripted_server srv(script{}
                            .send("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=XOAUTH2] oauth\r\n")
                            .expect_line_matching(R"(^(\S+) AUTHENTICATE XOAUTH2 \S+$)")
                            .send("+ " + sasl::base64_encode(json) + "\r\n")
                            .expect_line("")
                            .send("$1 NO [AUTHENTICATIONFAILED] Invalid credentials\r\n")
                            .expect_line_matching(R"(^(\S+) LOGOUT$)")
                            .send("* BYE\r\n$1 OK bye\r\n"));
    auto r = run_cli({"imap", "caps", "--host", "127.0.0.1", "--port", std::to_string(srv.port()), "--security", "none",
                      "--allow-plaintext-auth", "--user", "alice@example.com", "--oauth-token-env", "MW_TEST_TOKEN",
                      "--sasl", "xoauth2"},
                     {{"MW_TEST_TOKEN", "expired"}});
    EXPECT_EQ(r.exit_code, 6) << r.out << r.err;
    EXPECT_NE(r.err.find("invalid_token"), std::string::npos) << r.err;
    srv.stop();
}

// A refused login leaves the session usable: the CLI says goodbye (QUIT) instead of hanging up,
// and the refusal gets a hint by its class.
TEST(CliAuth, RefusedPop3LoginQuitsAndHints) {
    scripted_server srv(script{}
                            .send("+OK ready\r\n")
                            .expect_line("CAPA")
                            .send("+OK\r\nUSER\r\n.\r\n")
                            .expect_line("USER u")
                            .send("+OK\r\n")
                            .expect_line("PASS wrong")
                            .send("-ERR [AUTH] Invalid login\r\n")
                            .expect_line("QUIT")
                            .send("+OK bye\r\n")
                            .close());
    auto r = run_cli({"pop3", "stat", "--host", "127.0.0.1", "--port", std::to_string(srv.port()), "--security", "none",
                      "--allow-plaintext-auth", "--user", "u", "--password-env", "MW_TEST_PW", "--timeout", "5"},
                     {{"MW_TEST_PW", "wrong"}});
    EXPECT_EQ(r.exit_code, 6) << r.err;
    EXPECT_NE(r.err.find("hint: the server refused the credentials"), std::string::npos) << r.err;
    EXPECT_EQ(srv.wait(), "") << "no QUIT after the refused login";
}

TEST(CliAuth, RefusedSmtpLoginQuitsAndHints) {
    scripted_server srv(script{}
                            .send("220 scripted ESMTP\r\n")
                            .expect_line_matching("^EHLO ")
                            .send("250-scripted\r\n250 AUTH PLAIN\r\n")
                            .expect_line_matching("^AUTH PLAIN ")
                            .send("454 4.7.0 Temporary authentication failure\r\n")
                            .expect_line("QUIT")
                            .send("221 bye\r\n")
                            .close());
    auto r = run_cli({"send",
                      "--host",
                      "127.0.0.1",
                      "--port",
                      std::to_string(srv.port()),
                      "--security",
                      "none",
                      "--allow-plaintext-auth",
                      "--user",
                      "u",
                      "--password-env",
                      "MW_TEST_PW",
                      "--timeout",
                      "5",
                      "--from",
                      "a@example.com",
                      "--to",
                      "b@example.com",
                      "--subject",
                      "x",
                      "--body",
                      "y",
                      "--json"},
                     {{"MW_TEST_PW", "pw"}});
    EXPECT_EQ(r.exit_code, 6) << r.out << r.err;
    const auto j = parse_json(r);
    EXPECT_NE(j["error"].value("hint", "").find("try again later"), std::string::npos) << j.dump(2);
    EXPECT_EQ(srv.wait(), "") << "no QUIT after the refused login";
}

TEST(CliAuth, UnimplementedMechanismIsNamedAsOurs) {
    scripted_server srv(script{}
                            .send("* OK [CAPABILITY IMAP4rev1 AUTH=DIGEST-MD5 AUTH=PLAIN] ready\r\n")
                            .expect_line_matching(R"(^(\S+) LOGOUT$)")
                            .send("* BYE\r\n$1 OK bye\r\n"));
    auto r = run_cli({"imap", "caps", "--host", "127.0.0.1", "--port", std::to_string(srv.port()), "--security", "none",
                      "--allow-plaintext-auth", "--user", "u", "--password-env", "MW_TEST_PW", "--auth", "DIGEST-MD5",
                      "--timeout", "5"},
                     {{"MW_TEST_PW", "pw"}});
    EXPECT_EQ(r.exit_code, 6) << r.err;
    EXPECT_NE(r.err.find("mailwire does not implement DIGEST-MD5"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("hint: "), std::string::npos) << r.err;
    EXPECT_EQ(srv.wait(), "");
}

TEST(CliConnect, CustomPortIsNotCalledWrongForBeingCustom) {
    // A plaintext greeting on a custom port asked for implicit TLS: the hint names 993 as the
    // standard port, not as the port to use instead of the user's.
    closing_listener l("* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n");
    auto r = run_cli({"imap", "caps", "--host", "127.0.0.1", "--port", std::to_string(l.port()), "--security", "tls",
                      "--timeout", "5"});
    EXPECT_EQ(r.exit_code, 4) << r.err;
    EXPECT_NE(r.err.find("hint: use starttls on port " + std::to_string(l.port())), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("port 993 with implicit_tls"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("(standard: 993)"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace mailwire::test
