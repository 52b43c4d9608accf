// stream::start_tls failure semantics without a TLS server: a refused configuration or a failed
// handshake closes the connection and keeps no OpenSSL state, so retrying leaks nothing (run
// under -DMAILWIRE_SANITIZE=ON for LeakSanitizer to check that); precondition failures change
// nothing. Success paths and "already active" need a TLS peer: tests/integration/net_start_tls_test.cpp.
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

#include "mailwire/net/stream.hpp"
#include "unit/net/loopback.hpp"

namespace mailwire::net {
namespace {

using namespace std::chrono_literals;
using test::listener;

struct refused {
    const char* name;
    tls_options opts;
};

std::vector<refused> refused_options() {
    std::vector<refused> v;
    tls_options o;
    o.cipher_list = "NO-SUCH-CIPHER";
    v.push_back({"cipher_list", o});
    o = {};
    o.ciphersuites = "TLS_NO_SUCH_SUITE";
    v.push_back({"ciphersuites", o});
    o = {};
    o.ca_file = "/nonexistent/mailwire-ca.pem";
    v.push_back({"ca_file", o});
    o = {};
    o.min_version = tls_version::v1_3;
    o.max_version = tls_version::v1_2;
    v.push_back({"max_below_min", o});
    o = {};
    o.client_cert_file = "/nonexistent/mailwire-client.pem";
    v.push_back({"client_cert_file", o});
    return v;
}

TEST(start_tls, refused_options_close_the_connection_and_send_nothing) {
    listener l;
    ASSERT_TRUE(l.ok());
    for (const auto& [name, opts] : refused_options()) {
        SCOPED_TRACE(name);
        stream s;
        s.connect("127.0.0.1", l.port(), 2s);
        const int peer = l.accept_one();
        ASSERT_GE(peer, 0);
        try {
            s.start_tls(opts, "mail.example", 2s);
            ADD_FAILURE() << "options accepted";
        } catch (const config_error& e) {
            EXPECT_EQ(e.code(), errc::configuration);
            EXPECT_EQ(e.context().stage, stage::tls_handshake);
        }
        EXPECT_FALSE(s.is_open());
        EXPECT_FALSE(s.is_tls());
        bool closed = false;
        EXPECT_EQ(listener::drain(peer, 2000, closed), "");  // not even a ClientHello
        EXPECT_TRUE(closed);
        ::close(peer);

        // A second attempt on the same stream is a clean usage error, not a second SSL_CTX.
        try {
            s.start_tls(opts, "mail.example", 2s);
            ADD_FAILURE() << "start_tls on a closed stream";
        } catch (const config_error&) {
            ADD_FAILURE() << "configured again on a closed stream";
        } catch (const error& e) {
            EXPECT_EQ(e.code(), errc::not_connected);
        }
        // The stream reconnects normally.
        s.connect("127.0.0.1", l.port(), 2s);
        EXPECT_TRUE(s.is_open());
        s.close();
        const int again = l.accept_one();
        if (again >= 0) ::close(again);
    }
}

TEST(start_tls, repeated_failures_keep_nothing) {
    // Many rounds, so that a leaked SSL_CTX per round would stand out under LeakSanitizer and
    // a leaked socket in the fd count.
    listener l;
    ASSERT_TRUE(l.ok());
    tls_options bad;
    bad.cipher_list = "NO-SUCH-CIPHER";
    const int probe_before = ::dup(0);  // the lowest free descriptor
    ::close(probe_before);
    stream s;
    for (int i = 0; i < 50; ++i) {
        s.connect("127.0.0.1", l.port(), 2s);
        const int peer = l.accept_one();
        EXPECT_THROW(s.start_tls(bad, "mail.example", 2s), config_error);
        EXPECT_THROW(s.start_tls(bad, "mail.example", 2s), error);
        if (peer >= 0) ::close(peer);
    }
    const int probe_after = ::dup(0);
    ::close(probe_after);
    EXPECT_EQ(probe_after, probe_before) << "file descriptors leaked";
}

TEST(start_tls, failed_handshake_closes_and_a_retry_is_not_connected) {
    listener l;
    ASSERT_TRUE(l.ok());
    stream s;
    s.set_context("127.0.0.1", l.port(), "imap");
    s.connect("127.0.0.1", l.port(), 2s);
    const int peer = l.accept_one();
    ASSERT_GE(peer, 0);
    const std::string greeting = "* OK plaintext IMAP here\r\n";
    ASSERT_EQ(::send(peer, greeting.data(), greeting.size(), MSG_NOSIGNAL), static_cast<ssize_t>(greeting.size()));
    try {
        s.start_tls({}, "127.0.0.1", 2s);
        FAIL() << "handshake with a plaintext server succeeded";
    } catch (const tls_error& e) {
        EXPECT_EQ(e.code(), errc::tls_plaintext_greeting) << e.what();
    }
    EXPECT_FALSE(s.is_open());
    EXPECT_FALSE(s.is_tls());
    EXPECT_EQ(s.handshake_bytes().substr(0, 4), "* OK");  // kept for diagnosis
    try {
        s.start_tls({}, "127.0.0.1", 2s);
        FAIL() << "start_tls on a closed stream";
    } catch (const error& e) {
        EXPECT_EQ(e.code(), errc::not_connected);
    }
    ::close(peer);
}

TEST(start_tls, on_a_closed_stream_changes_nothing) {
    stream s;
    tls_options bad;
    bad.cipher_list = "NO-SUCH-CIPHER";
    try {
        s.start_tls(bad, "mail.example", 1s);  // the precondition is checked before the options
        FAIL();
    } catch (const config_error&) {
        FAIL() << "options looked at before the precondition";
    } catch (const error& e) {
        EXPECT_EQ(e.code(), errc::not_connected);
    }
    EXPECT_FALSE(s.is_open());
    EXPECT_FALSE(s.is_tls());
}

}  // namespace
}  // namespace mailwire::net
