// Self-tests of the scripted (hostile) test server. The clients here are plain POSIX sockets and
// OpenSSL, on purpose: the server must be trustworthy before it is used to test mailwire's transport.
#include "support/scripted_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <regex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace mailwire::test {
namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

// A blocking client socket with a receive timeout, so a broken server fails the test instead of hanging it.
class raw_client {
public:
    explicit raw_client(std::uint16_t port) {
        fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(port);
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
            throw std::runtime_error("connect failed");
        const timeval tv{5, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    }
    ~raw_client() { ::close(fd); }

    void send(std::string_view s) const {
        while (!s.empty()) {
            const ssize_t n = ::send(fd, s.data(), s.size(), MSG_NOSIGNAL);
            if (n <= 0) throw std::runtime_error("send failed");
            s.remove_prefix(static_cast<std::size_t>(n));
        }
    }
    // One recv(): "" at EOF; sets last_errno on error.
    std::string read_some() {
        char b[65536];
        const ssize_t n = ::recv(fd, b, sizeof b, 0);
        last_errno = n < 0 ? errno : 0;
        return n > 0 ? std::string(b, static_cast<std::size_t>(n)) : std::string();
    }
    std::string read_line() {
        while (buf.find('\n') == std::string::npos) {
            std::string more = read_some();
            if (more.empty()) throw std::runtime_error("EOF or error before a line");
            buf += more;
        }
        const auto lf = buf.find('\n');
        std::string line = buf.substr(0, lf + 1);
        buf.erase(0, lf + 1);
        return line;
    }
    std::string read_to_eof() {
        std::string all = std::exchange(buf, {});
        for (std::string more; !(more = read_some()).empty();) all += more;
        return all;
    }

    int fd = -1;
    int last_errno = 0;
    std::string buf;  // bytes received beyond the last line
};

// An OpenSSL client on top of a connected socket, verifying against the server's default certificate.
class tls_client {
public:
    explicit tls_client(int fd, int max_version = 0) : ctx_(SSL_CTX_new(TLS_client_method())) {
        SSL_CTX_load_verify_locations(ctx_, scripted_server::default_cert_file().c_str(), nullptr);
        SSL_CTX_set_verify(ctx_, SSL_VERIFY_NONE, nullptr);  // checked explicitly in verify_result()
        if (max_version) SSL_CTX_set_max_proto_version(ctx_, max_version);
        ssl_ = SSL_new(ctx_);
        SSL_set_fd(ssl_, fd);
        SSL_set_tlsext_host_name(ssl_, "localhost");
        SSL_set1_host(ssl_, "localhost");
    }
    ~tls_client() {
        SSL_free(ssl_);
        SSL_CTX_free(ctx_);
    }
    bool handshake() { return SSL_connect(ssl_) == 1; }
    long verify_result() const { return SSL_get_verify_result(ssl_); }
    int version() const { return SSL_version(ssl_); }
    void send(std::string_view s) { ASSERT_EQ(SSL_write(ssl_, s.data(), static_cast<int>(s.size())), int(s.size())); }
    // Reads until `n` bytes or EOF/error; the last SSL_get_error is kept in last_error.
    std::string read(std::size_t n) {
        std::string out;
        char b[4096];
        while (out.size() < n) {
            const int r = SSL_read(ssl_, b, static_cast<int>(std::min(sizeof b, n - out.size())));
            if (r <= 0) {
                last_error = SSL_get_error(ssl_, r);
                break;
            }
            out.append(b, static_cast<std::size_t>(r));
        }
        return out;
    }
    int last_error = SSL_ERROR_NONE;

private:
    SSL_CTX* ctx_;
    SSL* ssl_;
};

TEST(scripted_server, plain_conversation_with_captures) {
    scripted_server srv(script{}
                            .send("* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n")
                            .expect_line_matching(R"(^(\S+) CAPABILITY$)")
                            .send("* CAPABILITY IMAP4rev1 STARTTLS\r\n$1 OK done\r\n")
                            .expect_line("$1 LOGOUT")
                            .send("* BYE\r\n$1 OK costs $$0\r\n")
                            .close());
    EXPECT_EQ(srv.host(), "127.0.0.1");
    raw_client c(srv.port());
    EXPECT_EQ(c.read_line(), "* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n");
    c.send("x7 CAPABILITY\r\n");
    EXPECT_EQ(c.read_line(), "* CAPABILITY IMAP4rev1 STARTTLS\r\n");
    EXPECT_EQ(c.read_line(), "x7 OK done\r\n");
    c.send("x7 LOGOUT\n");  // bare LF is a line end too
    EXPECT_EQ(c.read_to_eof(), "* BYE\r\nx7 OK costs $0\r\n");
    EXPECT_EQ(srv.wait(), "");
    EXPECT_EQ(srv.received(), "x7 CAPABILITY\r\nx7 LOGOUT\n");
    EXPECT_EQ(srv.accepted(), 1);
}

TEST(scripted_server, mismatch_is_reported_with_what_arrived) {
    scripted_server srv(script{}.send("* OK\r\n").expect_line_matching(R"(^(\S+) LOGIN )").send("$1 OK\r\n"));
    raw_client c(srv.port());
    c.read_line();
    c.send("a1 LOGOUT\r\n");
    const std::string report = srv.wait();
    EXPECT_NE(report.find("connection 1: step 2 expect_line_matching(/^(\\S+) LOGIN /)"), std::string::npos) << report;
    EXPECT_NE(report.find(R"(got "a1 LOGOUT")"), std::string::npos) << report;
    EXPECT_EQ(c.read_to_eof(), "");  // the server gave up on the connection
}

TEST(scripted_server, unknown_group_is_a_script_error) {
    scripted_server srv(script{}.expect_line_matching("^(a) B$").send("$2\r\n"));
    raw_client c(srv.port());
    c.send("a B\r\n");
    EXPECT_NE(srv.wait().find("$2 used, but the last match has 1 groups"), std::string::npos);
}

TEST(scripted_server, starttls_with_injected_bytes_then_tls) {
    scripted_server srv(script{}
                            .send("* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n")
                            .expect_line_matching(R"(^(\S+) STARTTLS$)")
                            .send("$1 OK begin TLS\r\n* OK injected\r\n")
                            .start_tls()
                            .expect_line_matching(R"(^(\S+) CAPABILITY$)")
                            .send("* CAPABILITY IMAP4rev1\r\n$1 OK\r\n")
                            .close());
    raw_client c(srv.port());
    c.read_line();
    c.send("s1 STARTTLS\r\n");
    // The injection leaves in the same write as the reply, so one read returns both.
    EXPECT_EQ(c.read_some(), "s1 OK begin TLS\r\n* OK injected\r\n");
    tls_client t(c.fd);
    ASSERT_TRUE(t.handshake()) << ERR_error_string(ERR_get_error(), nullptr);
    EXPECT_EQ(t.verify_result(), X509_V_OK);  // the default certificate verifies for "localhost"
    t.send("s2 CAPABILITY\r\n");
    EXPECT_EQ(t.read(1000), "* CAPABILITY IMAP4rev1\r\ns2 OK\r\n");
    EXPECT_EQ(t.last_error, SSL_ERROR_ZERO_RETURN);  // close() sends close_notify
    EXPECT_EQ(srv.wait(), "");
    EXPECT_EQ(srv.received(), "s1 STARTTLS\r\ns2 CAPABILITY\r\n");  // decrypted after the upgrade
}

TEST(scripted_server, plaintext_sent_before_handshake_fails_start_tls) {
    scripted_server srv(script{}.expect_line("STLS").send("+OK\r\n").start_tls());
    raw_client c(srv.port());
    c.send("STLS\r\nUSER bob\r\n");  // pipelined plaintext after STLS: the server must notice
    c.read_to_eof();
    const std::string report = srv.wait();
    EXPECT_NE(report.find(R"(plaintext before the TLS handshake: "USER bob\r\n")"), std::string::npos) << report;
}

TEST(scripted_server, tls_first_and_version_limit) {
    scripted_server srv(
        script{}.tls_first({.max_version = tls_proto::v1_2}).send("+OK POP3 over TLS\r\n").expect_line("QUIT").drop());
    raw_client c(srv.port());
    tls_client t(c.fd);
    ASSERT_TRUE(t.handshake());
    EXPECT_EQ(t.version(), TLS1_2_VERSION);
    EXPECT_EQ(t.read(19), "+OK POP3 over TLS\r\n");
    t.send("QUIT\r\n");
    EXPECT_EQ(t.read(1), "");
    EXPECT_NE(t.last_error, SSL_ERROR_ZERO_RETURN);  // drop(): FIN without close_notify, a truncation
    EXPECT_EQ(srv.wait(), "");
}

TEST(scripted_server, handshake_failure_is_reported) {
    scripted_server srv(script{}.tls_first({.min_version = tls_proto::v1_3}).send("+OK\r\n"));
    raw_client c(srv.port());
    tls_client t(c.fd, TLS1_2_VERSION);
    EXPECT_FALSE(t.handshake());
    const std::string report = srv.wait();
    EXPECT_NE(report.find("step 1 tls_first(): TLS handshake failed"), std::string::npos) << report;
}

TEST(scripted_server, recognises_a_client_hello_on_a_plaintext_port) {
    scripted_server srv(script{}.expect_tls_client_hello().send("* OK plaintext greeting\r\n").close());
    raw_client c(srv.port());
    tls_client t(c.fd);
    EXPECT_FALSE(t.handshake());  // a TLS client cannot parse "* OK"
    EXPECT_EQ(srv.wait(), "");
    const std::string got = srv.received();
    ASSERT_GE(got.size(), 5u);
    EXPECT_EQ(got.substr(0, 2), "\x16\x03");
}

TEST(scripted_server, plaintext_where_a_client_hello_was_expected_is_a_mismatch) {
    scripted_server srv(script{}.expect_tls_client_hello());
    raw_client c(srv.port());
    c.send("a1 LOGIN\r\n");
    EXPECT_NE(srv.wait().find(R"(expected a TLS handshake record (16 03 ...), got "a1 LOGIN\r\n")"), std::string::npos);
}

TEST(scripted_server, split_sends_arrive_as_separate_reads) {
    const std::vector<std::string> parts{"2", "20 ", "ready\r\n"};
    scripted_server srv(script{}.send_split(parts, 100ms).close());
    raw_client c(srv.port());
    std::vector<std::string> reads;
    std::vector<clock_type::time_point> when;
    for (std::string r; !(r = c.read_some()).empty();) {
        reads.push_back(r);
        when.push_back(clock_type::now());
    }
    EXPECT_EQ(reads, parts);
    for (std::size_t i = 1; i < when.size(); ++i) EXPECT_GE(when[i] - when[i - 1], 80ms);
    EXPECT_EQ(srv.wait(), "");
}

TEST(scripted_server, stall_is_respected) {
    scripted_server srv(script{}.stall(300ms).send("220 late\r\n"));
    const auto start = clock_type::now();
    raw_client c(srv.port());
    EXPECT_EQ(c.read_line(), "220 late\r\n");
    EXPECT_GE(clock_type::now() - start, 290ms);
    EXPECT_EQ(srv.wait(), "");
}

TEST(scripted_server, stall_ends_when_the_client_gives_up) {
    scripted_server srv(script{}.stall(30s).close());
    const auto start = clock_type::now();
    { raw_client c(srv.port()); }
    EXPECT_EQ(srv.wait(), "");
    EXPECT_LT(clock_type::now() - start, 5s);
}

TEST(scripted_server, stop_interrupts_a_stall) {
    scripted_server srv(script{}.stall(30s).send("x"));
    raw_client c(srv.port());
    const auto start = clock_type::now();
    std::this_thread::sleep_for(50ms);
    EXPECT_NE(srv.stop().find("stopped"), std::string::npos);
    EXPECT_LT(clock_type::now() - start, 5s);
}

TEST(scripted_server, reset_gives_econnreset) {
    scripted_server srv(script{}.expect_line("DATA").reset());
    raw_client c(srv.port());
    c.send("DATA\r\n");
    EXPECT_EQ(c.read_some(), "");
    EXPECT_EQ(c.last_errno, ECONNRESET);
    EXPECT_EQ(srv.wait(), "");
}

TEST(scripted_server, reset_mid_transfer_delivers_the_partial_data_then_econnreset) {
    scripted_server srv(script{}.send("* 1 FETCH (BODY[] {100}\r\npartial").reset());
    raw_client c(srv.port());
    std::this_thread::sleep_for(50ms);  // the RST is already here when we read
    EXPECT_EQ(c.read_some(), "* 1 FETCH (BODY[] {100}\r\npartial");
    EXPECT_EQ(c.read_some(), "");
    EXPECT_EQ(c.last_errno, ECONNRESET);
    EXPECT_EQ(srv.wait(), "");
}

TEST(scripted_server, close_gives_clean_eof_after_the_last_reply) {
    scripted_server srv(script{}.send("221 bye\r\n").close());
    raw_client c(srv.port());
    std::this_thread::sleep_for(50ms);  // the FIN is already here when we read
    EXPECT_EQ(c.read_to_eof(), "221 bye\r\n");
    EXPECT_EQ(c.last_errno, 0);
    EXPECT_EQ(srv.wait(), "");
}

TEST(scripted_server, smtp_data_body_bytes_and_eof) {
    scripted_server srv(script{}
                            .expect_line("DATA")
                            .send("354 go ahead\r\n")
                            .read_dot_body()
                            .send("250 queued\r\n")
                            .read_until("END")
                            .expect_bytes(4)
                            .expect_exact("\r\n")
                            .expect_eof());
    raw_client c(srv.port());
    c.send("DATA\r\n");
    EXPECT_EQ(c.read_line(), "354 go ahead\r\n");
    // A line that ends in "." is not the terminator; only a line that is exactly "." is.
    const std::string body = "Subject: x\r\n\r\nend of sentence.\r\n..leading dot\r\n.\r\n";
    c.send(body);
    EXPECT_EQ(c.read_line(), "250 queued\r\n");
    c.send("abcEND1234\r\n");
    ::shutdown(c.fd, SHUT_WR);
    EXPECT_EQ(c.read_to_eof(), "");
    EXPECT_EQ(srv.wait(), "");
    EXPECT_EQ(srv.captured(), (std::vector<std::string>{body, "abcEND", "1234"}));
}

TEST(scripted_server, empty_dot_body) {
    scripted_server srv(script{}.read_dot_body());
    raw_client c(srv.port());
    c.send(".\r\n");
    EXPECT_EQ(srv.wait(), "");
    EXPECT_EQ(srv.captured(), std::vector<std::string>{".\r\n"});
}

TEST(scripted_server, bytes_where_eof_was_expected_are_reported) {
    scripted_server srv(script{}.send("* PREAUTH\r\n").expect_eof());
    raw_client c(srv.port());
    c.read_line();
    c.send("a1 LOGIN bob secret\r\n");  // a client must not do this after PREAUTH in starttls mode
    const std::string report = srv.wait();
    EXPECT_NE(report.find(R"(expected the client to close, but it sent "a1 LOGIN bob secret\r\n")"), std::string::npos)
        << report;
}

TEST(scripted_server, overlong_line_fails_the_step) {
    scripted_server srv(script{}.expect_line_matching("."), server_options{.max_line = 1024});
    raw_client c(srv.port());
    c.send(std::string(2000, 'A'));
    EXPECT_NE(srv.wait().find("line longer than 1024 bytes"), std::string::npos);
}

TEST(scripted_server, huge_reply_is_delivered_whole) {
    const std::string huge = "* " + std::string(1 << 20, 'x') + "\r\n";
    scripted_server srv(script{}.send_raw(huge).close());
    raw_client c(srv.port());
    EXPECT_EQ(c.read_to_eof(), huge);
    EXPECT_EQ(srv.wait(), "");
}

TEST(scripted_server, read_timeout_is_reported) {
    scripted_server srv(script{}.send("* OK\r\n").expect_line("a1 NOOP"), server_options{.timeout = 200ms});
    raw_client c(srv.port());
    c.send("a1 NO");
    const std::string report = srv.wait();
    EXPECT_NE(report.find(R"(timed out after 200 ms waiting for the client; it had sent "a1 NO")"), std::string::npos)
        << report;
}

TEST(scripted_server, no_client_is_reported_and_destructor_does_not_hang) {
    {
        scripted_server srv(script{}.send("x"), server_options{.timeout = 100ms});
        EXPECT_EQ(srv.wait(), "connection 1: no client connected within 100 ms");
    }
    const auto start = clock_type::now();
    { scripted_server srv(script{}.send("x")); }  // never connected, default 10 s timeout
    EXPECT_LT(clock_type::now() - start, 2s);
}

TEST(scripted_server, several_connections_run_the_same_script) {
    scripted_server srv(script{}.send("+OK hello\r\n").expect_line_matching("^USER (.*)$").send("+OK $1\r\n"),
                        server_options{.connections = 2});
    for (const char* user : {"ann", "bob"}) {
        raw_client c(srv.port());
        c.read_line();
        c.send(std::string("USER ") + user + "\r\n");
        EXPECT_EQ(c.read_line(), std::string("+OK ") + user + "\r\n");
    }
    EXPECT_EQ(srv.wait(), "");
    EXPECT_EQ(srv.accepted(), 2);
    EXPECT_EQ(srv.received(), "USER ann\r\nUSER bob\r\n");
}

TEST(scripted_server, bad_regex_throws_in_the_test) {
    EXPECT_THROW(script{}.expect_line_matching("(unclosed"), std::regex_error);
}

}  // namespace
}  // namespace mailwire::test
