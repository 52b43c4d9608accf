// scripted_server: a hostile peer for integration tests.
//
// Real Dovecot and Postfix cover normal behaviour. This server plays what they will not: missing or
// refused STARTTLS, bytes injected after the STARTTLS reply, PREAUTH, stalls, plaintext on a TLS port,
// disconnects and resets mid-transfer, replies split across packets, huge lines and garbage.
//
//     scripted_server srv(script{}
//         .send("* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n")
//         .expect_line_matching(R"(^(\S+) STARTTLS$)")
//         .send("$1 OK begin TLS\r\n* OK injected\r\n")   // one write: the injection
//         .start_tls()
//         .expect_line_matching(R"(^(\S+) CAPABILITY$)")
//         .close());
//     ... connect a client to srv.host():srv.port() ...
//     EXPECT_EQ(srv.wait(), "");
//
// The server listens on 127.0.0.1 (kernel-chosen port) and runs the script in its own thread for each
// accepted connection. Every blocking step is bounded by server_options::timeout, and the destructor
// interrupts whatever is running, so a broken test fails instead of hanging.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace mailwire::test {

namespace detail {
class session;  // one accepted connection, defined in scripted_server.cpp
struct shared;  // state shared between the test thread and the server thread
}  // namespace detail

/// Protocol versions; the values are the TLS wire versions (and OpenSSL's TLS1_x_VERSION).
enum class tls_proto : int { any = 0, v1_0 = 0x0301, v1_1 = 0x0302, v1_2 = 0x0303, v1_3 = 0x0304 };

struct tls_server_options {
    std::string cert_file;  ///< PEM chain; empty: scripted_server::default_cert_file()
    std::string key_file;   ///< PEM key;   empty: scripted_server::default_key_file()
    tls_proto min_version = tls_proto::any;
    tls_proto max_version = tls_proto::any;
    std::string ciphers;  ///< OpenSSL cipher list for TLS <= 1.2; empty: the default
    /// OpenSSL security level, applied before the certificate is loaded (0 serves an RSA-1024 key
    /// or a SHA-1-signed certificate); -1: OpenSSL's default (0 when an old version is asked for).
    int security_level = -1;
    /// false: SSL_OP_NO_EXTENDED_MASTER_SECRET, a TLS <= 1.2 server without RFC 7627.
    bool extended_master_secret = true;
    /// true: demand a client certificate (SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT); a client
    /// without one gets `certificate_required` (TLS 1.3) or `handshake_failure` (TLS 1.2).
    bool require_client_cert = false;
};

/// A list of steps run in order against one connection. Built by chaining; copyable.
/// In send()/expect_line()/expect_exact() text, `$0`..`$9` are replaced by the last
/// expect_line_matching() match (whole match, groups) and `$$` by `$`.
class script {
public:
    using duration = std::chrono::milliseconds;

    /// Writes the text (after `$n` substitution) in a single write, so a reply plus injected bytes
    /// leave in one segment.
    script& send(std::string text);
    /// Writes bytes as given, no substitution (binary garbage, TLS-looking bytes).
    script& send_raw(std::string bytes);
    /// Writes each part separately with a pause in between (TCP_NODELAY is on), so the client sees
    /// a reply split across packets.
    script& send_split(std::vector<std::string> parts, duration pause = duration(20));

    /// Writes the text (after `$n` substitution) one byte at a time with `pause` between bytes: a
    /// server that keeps every single read short of the client's timeout. Ends early, without
    /// failing, once the client has closed.
    script& trickle(std::string text, duration pause);
    /// Writes `line` (after substitution) every `every` for `total` (an endless "* OK still
    /// working" stream). Ends early, without failing, once the client has closed.
    script& repeat(std::string line, duration every, duration total);

    /// Reads one line (CRLF or bare LF, terminator stripped) and requires std::regex_search to find
    /// `ecma_regex` in it; the match feeds `$n` in later steps.
    script& expect_line_matching(const std::string& ecma_regex);
    /// Reads one line and writes what `reply` returns for it: a server whose answer depends on
    /// what the client sent (a SCRAM server's proof). `reply` may throw std::exception to fail
    /// the step with its message.
    script& respond(std::function<std::string(const std::string& line)> reply);
    /// Reads one line and requires it to equal `text` (after substitution).
    script& expect_line(std::string text);
    /// Reads exactly as many bytes as `text` has (after substitution) and requires them to be equal.
    script& expect_exact(std::string text);
    /// Reads exactly n bytes and stores them in captured().
    script& expect_bytes(std::size_t n);
    /// Requires the client to close its side without sending anything more.
    script& expect_eof();
    /// Requires the next bytes to be a TLS handshake record (16 03 ...), i.e. the client started TLS on
    /// a port this script treats as plaintext. Consumes that record; the connection stays plaintext.
    script& expect_tls_client_hello();
    /// Reads up to and including `terminator`; stores the bytes in captured().
    script& read_until(std::string terminator);
    /// Reads lines up to and including a line that is exactly "." (an SMTP DATA or POP3 multi-line
    /// body, empty bodies included); stores the bytes in captured().
    script& read_dot_body();

    /// Server-side TLS handshake on the same socket; later steps are encrypted. Fails if the client
    /// sent plaintext after its STARTTLS command (bytes already buffered at this point).
    script& start_tls(tls_server_options tls = {});
    /// Same handshake, as the first step: an implicit-TLS listener (993/995/465).
    script& tls_first(tls_server_options tls = {});

    /// Says nothing for `d`. Ends early if the client closes (nobody is left to observe the silence).
    script& stall(duration d);
    /// Sends TLS close_notify (if TLS is active) and FIN, then closes.
    script& close();
    /// Closes with FIN only, no close_notify: a truncated TLS stream.
    script& drop();
    /// Closes with RST (SO_LINGER 0): the client sees ECONNRESET.
    script& reset();

    struct step {
        std::string what;  ///< shown in failure reports
        std::function<void(detail::session&)> run;
    };
    const std::vector<step>& steps() const { return steps_; }

private:
    script& add(std::string what, std::function<void(detail::session&)> run);
    std::vector<step> steps_;
};

struct server_options {
    int connections = 1;                         ///< accepted one after another, each runs the script
    std::chrono::milliseconds timeout{10'000};   ///< bound on accept and on every read/write/handshake
    std::size_t max_line = 64 * 1024;            ///< longer lines fail the step
    std::size_t max_capture = 64 * 1024 * 1024;  ///< bound on read_until/read_dot_body
};

class scripted_server {
public:
    /// Binds 127.0.0.1:0 and starts the server thread; port() is valid on return.
    explicit scripted_server(script s, server_options options = {});
    /// Interrupts the script (a stall, a read, an accept) and joins. Never throws.
    ~scripted_server();
    scripted_server(const scripted_server&) = delete;
    scripted_server& operator=(const scripted_server&) = delete;

    std::uint16_t port() const;
    std::string host() const { return "127.0.0.1"; }

    /// Waits for the script to finish on every connection. Returns "" when every expectation was met,
    /// otherwise one line per failed connection: which step, what was expected, what arrived instead.
    std::string wait();
    /// Interrupts the script and joins; returns what wait() would (including "stopped" if it was cut
    /// short). For tests where the client is expected to give up first.
    std::string stop();

    /// Every byte read from clients so far (decrypted after start_tls), all connections in order.
    std::string received() const;
    /// Every byte written to clients so far.
    std::string sent() const;
    /// Bodies stored by read_until, read_dot_body and expect_bytes, in order.
    std::vector<std::string> captured() const;
    /// Connections accepted so far.
    int accepted() const;

    /// A self-signed certificate for "localhost" and 127.0.0.1 (EC P-256), generated once per process
    /// in a temporary directory and removed at exit. Usable as the client's CA file.
    static const std::string& default_cert_file();
    static const std::string& default_key_file();

private:
    std::unique_ptr<detail::shared> shared_;
    std::thread thread_;
};

}  // namespace mailwire::test
