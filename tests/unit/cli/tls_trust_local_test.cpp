// `mailwire --pin/--trust-pin/--insecure` against scripted TLS servers: a genuine certificate the
// attacker appends to their own chain satisfies no pin, whichever option asks for it.
#include <gtest/gtest.h>

#include "cli_run.hpp"
#include "support/scripted_server.hpp"
#include "support/test_certs.hpp"

namespace mailwire::test {
namespace {

constexpr int exit_certificate = 5;  // docs/cli.md: the server certificate was rejected

script imap_tls(const std::string& cert, const std::string& key) {
    tls_server_options tls;
    tls.cert_file = test_certs::get().file(cert);
    tls.key_file = test_certs::get().file(key);
    return script{}
        .tls_first(tls)
        .send("* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] scripted\r\n")
        .expect_line_matching(R"(^(\S+) LOGOUT$)")
        .send("* BYE\r\n$1 OK bye\r\n");
}

run_result caps(const scripted_server& srv, std::vector<std::string> extra) {
    std::vector<std::string> args = {"imap",       "caps",   "--host",
                                     "127.0.0.1",  "--port", std::to_string(srv.port()),
                                     "--security", "tls",    "--timeout",
                                     "5"};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_cli(args);
}

std::string genuine_pin() { return "sha256/" + test_certs::openssl_pin(test_certs::get().file("genuine.crt")); }

TEST(CliTlsTrustLocal, TrustPinRejectsAnAppendedGenuineCertificate) {
    scripted_server srv(imap_tls("append.crt", "evil.key"));
    const auto r = caps(srv, {"--pin", genuine_pin(), "--trust-pin"});
    EXPECT_EQ(r.exit_code, exit_certificate) << r.out << r.err;
    EXPECT_NE(r.err.find("pin"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("accepted by --trust-pin"), std::string::npos) << r.err;
    srv.stop();
}

TEST(CliTlsTrustLocal, PinWithATrustedAttackerCaRejectsAnAppendedGenuineCertificate) {
    scripted_server srv(imap_tls("append.crt", "evil.key"));
    const auto r = caps(srv, {"--cafile", test_certs::get().file("evil-ca.crt"), "--pin", genuine_pin()});
    EXPECT_EQ(r.exit_code, exit_certificate) << r.out << r.err;
    srv.stop();
}

TEST(CliTlsTrustLocal, InsecureDoesNotOverrideAPinMismatch) {
    scripted_server srv(imap_tls("append.crt", "evil.key"));
    const auto r = caps(srv, {"--pin", genuine_pin(), "--insecure"});
    EXPECT_EQ(r.exit_code, exit_certificate) << r.out << r.err;
    srv.stop();
}

TEST(CliTlsTrustLocal, TrustPinAcceptsTheGenuineSelfSignedServer) {
    // Control: the same options against the genuine server succeed, with the note on stderr.
    scripted_server srv(imap_tls("genuine.crt", "genuine.key"));
    const auto r = caps(srv, {"--pin", genuine_pin(), "--trust-pin"});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.err.find("accepted by --trust-pin"), std::string::npos) << r.err;
    EXPECT_EQ(srv.wait(), "");
}

}  // namespace
}  // namespace mailwire::test
