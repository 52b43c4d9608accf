// net::stream::start_tls against the harness's Dovecot, used directly as a protocol mailwire
// does not implement would use it: a refused configuration or a rejected certificate closes the
// connection and keeps nothing, the same stream then reconnects and handshakes normally, and a
// second start_tls on an encrypted stream is a usage error that leaves the session intact.
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <string>

#include "mailwire/net/stream.hpp"
#include "support/server_env.hpp"

namespace mailwire::net {
namespace {

using namespace std::chrono_literals;
using mailwire::test::server_env;

tls_options trusted() {
    tls_options o;
    o.ca_file = server_env::get().str("CA_FILE");
    o.use_system_store = false;
    return o;
}

/// Reads until a full line arrived; returns it without CRLF.
std::string read_line(stream& s) {
    std::string got;
    std::array<char, 512> buf{};
    while (got.find("\r\n") == std::string::npos) {
        const auto n = s.read_some(buf, 5s);
        if (n == 0) break;
        got.append(buf.data(), n);
    }
    return got.substr(0, got.find("\r\n"));
}

TEST(net_start_tls, refused_options_then_a_good_handshake_on_the_same_stream) {
    const auto& env = server_env::get();
    const auto host = env.str("HOST");
    const auto port = env.port("IMAPS_PORT");
    stream s;
    s.set_context(host, port, "imap");
    s.connect(host, port, 5s);
    tls_options bad = trusted();
    bad.ciphersuites = "TLS_NO_SUCH_SUITE";
    EXPECT_THROW(s.start_tls(bad, host, 5s), config_error);
    EXPECT_FALSE(s.is_open());

    s.connect(host, port, 5s);
    s.start_tls(trusted(), host, 5s);
    ASSERT_TRUE(s.is_tls());
    EXPECT_EQ(s.tls_info().certificate.errors, policy_error::none);
    EXPECT_EQ(read_line(s).substr(0, 4), "* OK");

    // Idempotent in the useful sense: asking again changes nothing and the session carries on.
    try {
        s.start_tls(trusted(), host, 5s);
        FAIL() << "a second handshake on an encrypted stream";
    } catch (const error& e) {
        EXPECT_EQ(e.code(), errc::invalid_argument);
    }
    ASSERT_TRUE(s.is_open());
    ASSERT_TRUE(s.is_tls());
    s.write_all("a1 NOOP\r\n", 5s);
    EXPECT_EQ(read_line(s).substr(0, 5), "a1 OK");
    s.write_all("a2 LOGOUT\r\n", 5s);
    EXPECT_EQ(read_line(s).substr(0, 5), "* BYE");
    s.close();
}

TEST(net_start_tls, refused_options_after_starttls_never_fall_back_to_plaintext) {
    const auto& env = server_env::get();
    const auto host = env.str("HOST");
    const auto port = env.port("IMAP_PORT");
    stream s;
    s.connect(host, port, 5s);
    EXPECT_EQ(read_line(s).substr(0, 4), "* OK");
    s.write_all("s1 STARTTLS\r\n", 5s);
    EXPECT_EQ(read_line(s).substr(0, 5), "s1 OK");
    tls_options bad = trusted();
    bad.client_cert_file = "/nonexistent/client.pem";
    EXPECT_THROW(s.start_tls(bad, host, 5s), config_error);
    // The server now waits for a ClientHello; the stream must not be left usable in plaintext.
    EXPECT_FALSE(s.is_open());
    EXPECT_THROW(s.write_all("s2 LOGIN alice secret\r\n", 1s), error);
}

TEST(net_start_tls, rejected_certificate_closes_then_a_retry_works) {
    const auto& env = server_env::get();
    const auto port = env.port("IMAPS_PORT");
    stream s;
    const auto bad_host = env.str("SELFSIGNED_HOST");
    s.connect(bad_host, port, 5s);
    EXPECT_THROW(s.start_tls(trusted(), bad_host, 5s), certificate_error);
    EXPECT_FALSE(s.is_open());
    EXPECT_FALSE(s.is_tls());
    try {
        s.start_tls(trusted(), bad_host, 5s);
        FAIL();
    } catch (const error& e) {
        EXPECT_EQ(e.code(), errc::not_connected);
    }
    const auto host = env.str("HOST");
    s.connect(host, port, 5s);
    s.start_tls(trusted(), host, 5s);
    EXPECT_TRUE(s.is_tls());
    EXPECT_EQ(read_line(s).substr(0, 4), "* OK");
    s.close();
}

}  // namespace
}  // namespace mailwire::net
