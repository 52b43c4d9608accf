// mailwire::client_base — what IMAP, POP3 and SMTP clients share: connecting in one of the five
// security modes, STARTTLS upgrades done safely, line I/O with limits and deadlines, the protocol
// logger, and logout. Each protocol contributes only its greeting, capability, upgrade and logout
// steps (see imap::client, pop3::client, smtp::client).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mailwire/error.hpp"
#include "mailwire/export.hpp"
#include "mailwire/net/stream.hpp"
#include "mailwire/ports.hpp"
#include "mailwire/sasl/mechanism.hpp"
#include "mailwire/security.hpp"

namespace mailwire {

/// Who sent a logged line.
enum class log_direction { client, server };
/// Sees every protocol line sent and received (without CRLF); credentials are already masked.
using protocol_logger = std::function<void(log_direction, std::string_view line)>;

/// Limits on what a server may send; exceeding one is a protocol_error (errc::limit_exceeded).
struct limits {
    std::size_t max_line_length = 1 << 20;       ///< one response line, bytes
    std::size_t max_multiline_bytes = 64 << 20;  ///< a buffered multi-line reply (CAPA, EHLO, LIST …)
};

class MAILWIRE_API client_base {
public:
    virtual ~client_base();
    client_base(const client_base&) = delete;
    client_base& operator=(const client_base&) = delete;

    /// Connects and secures the connection as `mode` asks; port 0 picks the protocol's default for
    /// the mode (993/995/465 for implicit TLS and auto, else 143/110/587). On return the greeting
    /// and (post-TLS) capabilities are known. Throws connect_error, timeout_error, tls_error,
    /// certificate_error, protocol_error or command_error.
    void connect(const std::string& host, std::uint16_t port = 0, security mode = security::auto_detect);
    /// Upgrades a plaintext connection (made with security::none) with STARTTLS/STLS now.
    void start_tls();
    /// Politely ends the session (LOGOUT/QUIT) when `quit`, then closes. Never throws.
    void disconnect(bool quit = true) noexcept;

    [[nodiscard]] bool is_connected() const noexcept;
    /// True when the connection is encrypted (implicit TLS or after STARTTLS).
    [[nodiscard]] bool is_secure() const noexcept;
    /// How the current connection was secured: none, implicit_tls or starttls.
    [[nodiscard]] security security_used() const noexcept { return used_; }
    [[nodiscard]] const std::string& host() const noexcept { return host_; }
    [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
    [[nodiscard]] mailwire::protocol protocol() const noexcept { return protocol_; }
    /// The server's greeting line(s), as received.
    [[nodiscard]] const std::string& greeting() const noexcept { return greeting_; }
    /// Negotiated TLS version, cipher, group and the verified chain (empty when plain).
    [[nodiscard]] const tls_session_info& tls_info() const noexcept;
    /// The transport, for channel binding and diagnostics.
    [[nodiscard]] const net::stream& transport() const noexcept { return stream_; }

    /// TLS settings used by the next handshake.
    tls_options& tls() noexcept { return tls_; }
    /// Shortcut for tls().on_certificate.
    void on_certificate(certificate_callback cb) { tls_.on_certificate = std::move(cb); }
    mailwire::timeouts& timeouts() noexcept { return timeouts_; }
    mailwire::limits& limits() noexcept { return limits_; }
    /// Allow credentials over an unencrypted connection (off by default).
    void allow_plaintext_auth(bool allow) noexcept { allow_plaintext_auth_ = allow; }
    [[nodiscard]] bool plaintext_auth_allowed() const noexcept { return allow_plaintext_auth_; }
    void set_logger(protocol_logger logger) { logger_ = std::move(logger); }

    // ---- authentication (one algorithm for IMAP AUTHENTICATE, POP3 AUTH and SMTP AUTH) ----
    /// Authenticates with the strongest SASL mechanism both sides support (SCRAM-PLUS >
    /// SCRAM-SHA-256 > SCRAM-SHA-1 > CRAM-MD5 > PLAIN > LOGIN; OAUTHBEARER/XOAUTH2 when a token
    /// is given), or the protocol's own login (IMAP LOGIN, POP3 APOP or USER/PASS) when no SASL
    /// mechanism fits. `mechanisms` overrides the choice and order (e.g. {"EXTERNAL"}).
    /// Mechanisms that reveal the secret are refused on an unencrypted connection unless
    /// allow_plaintext_auth(true). Throws auth_error with the server's text and response code.
    void authenticate(const sasl::credentials& credentials, const std::vector<std::string>& mechanisms = {});
    void authenticate(const std::string& user, const std::string& password);
    [[nodiscard]] bool is_authenticated() const noexcept { return authenticated_; }
    /// The mechanism that succeeded ("SCRAM-SHA-256", or "LOGIN"/"USER"/"APOP" for the legacy
    /// commands); empty before authentication.
    [[nodiscard]] const std::string& authenticated_with() const noexcept { return auth_mechanism_; }
    /// SASL mechanisms the server offers now (upper case).
    [[nodiscard]] virtual std::vector<std::string> auth_mechanisms() const = 0;

protected:
    /// One server message during a SASL exchange.
    struct sasl_reply {
        enum class kind { challenge, success, failure } type = kind::failure;
        std::string data;  ///< challenge: base64 text; success: raw success data (SCRAM v=) if any
        std::string text;  ///< human-readable server text (success/failure)
        std::string code;  ///< response code ("AUTHENTICATIONFAILED", "AUTH", "5.7.8")
    };
    /// Sends the protocol's SASL start command; `initial` is the base64 initial response ("=" for
    /// an empty one) when the protocol and server allow it.
    virtual void sasl_start(std::string_view mechanism, const std::string* initial, std::string_view logged) = 0;
    virtual sasl_reply sasl_read() = 0;
    /// Whether the initial response may go on the start command (IMAP: SASL-IR).
    [[nodiscard]] virtual bool sasl_initial_response_allowed() const { return true; }
    /// The protocol's non-SASL login; returns the name used, or "" when none applies.
    virtual std::string legacy_login(const sasl::credentials& credentials) = 0;
    /// Called after a successful authentication (IMAP asks for capabilities again).
    virtual void on_authenticated() {}

protected:
    explicit client_base(mailwire::protocol p);

    // ---- what each protocol contributes -------------------------------------------------
    /// Reads and checks the greeting (the first bytes are known to be a plaintext line).
    virtual void read_greeting() = 0;
    /// Asks for capabilities (IMAP CAPABILITY, POP3 CAPA, SMTP EHLO).
    virtual void query_capabilities() = 0;
    [[nodiscard]] virtual bool offers_starttls() const = 0;
    /// Sends STARTTLS/STLS and reads the reply; throws command_error(starttls_refused) on refusal.
    virtual void request_starttls() = 0;
    /// Forgets everything learned in plaintext (DESIGN §1: ask again after TLS).
    virtual void forget_session_state() = 0;
    /// Sends LOGOUT/QUIT and reads the reply.
    virtual void send_logout() = 0;
    /// IMAP PREAUTH: the session is authenticated before any STARTTLS could happen.
    [[nodiscard]] virtual bool greeting_preauthenticated() const { return false; }

    // ---- I/O for the protocol implementations -------------------------------------------
    /// Sends one line (CRLF appended) and logs it.
    void send_line(std::string_view line);
    /// Sends one line but logs `logged` instead (credentials masked).
    void send_line_masked(std::string_view line, std::string_view logged);
    /// Sends bytes as they are (bodies); logged only as a byte count.
    void send_raw(std::string_view bytes);
    /// Reads one line without its CRLF/LF. The view is valid until the next read.
    std::string_view read_line(stage s);
    /// Reads up to `max` bytes (buffered ones first) into `out`; 0 at end of stream → protocol_error.
    std::size_t read_some(char* out, std::size_t max, stage s);
    /// Bytes already received but not consumed.
    [[nodiscard]] std::size_t buffered() const noexcept { return rbuf_.size() - rpos_; }

    // ---- zero-copy input for incremental parsers (IMAP) --------------------------------------
    /// The received, unconsumed bytes (after decompression). Valid until the next read or consume.
    [[nodiscard]] std::string_view input() const noexcept { return {rbuf_.data() + rpos_, rbuf_.size() - rpos_}; }
    /// Drops the first `n` bytes of input().
    void consume(std::size_t n) noexcept { rpos_ += std::min(n, rbuf_.size() - rpos_); }
    /// Appends at least one byte to input(); end of stream is a protocol_error(connection_closed).
    void read_more(stage s);
    /// True when input is buffered or arrives within `timeout` (for IDLE-style waits).
    bool input_ready(std::chrono::milliseconds timeout);

    // ---- COMPRESS=DEFLATE (RFC 4978) ----------------------------------------------------------
    /// From now on every byte read is inflated and every byte written deflated (raw deflate,
    /// Z_SYNC_FLUSH per write). Call right after the server accepted the protocol's COMPRESS
    /// command; bytes already buffered are treated as compressed. Ends with the connection.
    void start_compression();
    [[nodiscard]] bool compression_active() const noexcept { return zs_ != nullptr; }

    [[nodiscard]] error_context context(stage s, std::string server_text = {}, std::string hint = {}) const;
    /// Closes the connection and throws protocol_error: the session can no longer be trusted.
    [[noreturn]] void protocol_failure(errc code, stage s, std::string detail, std::string server_text = {},
                                       std::string hint = {});
    /// Throws auth_error(plaintext_auth_refused) unless the connection is secure or allowed.
    void require_secure_for_credentials(std::string_view what) const;
    net::stream& stream() noexcept { return stream_; }
    void log(log_direction d, std::string_view line) const;
    /// Whether a protocol logger is set (skip building log lines when not).
    [[nodiscard]] bool has_logger() const noexcept { return static_cast<bool>(logger_); }

private:
    void secure_with_starttls(bool required);
    void handshake();
    void run_sasl(const std::string& name, const sasl::credentials& credentials, bool server_offers_plus);
    void greet_plaintext();
    bool fill(stage s, std::chrono::milliseconds timeout);
    std::size_t transport_read(char* out, std::size_t max, std::chrono::milliseconds timeout);
    void transport_write(std::string_view bytes);
    struct zstate;
    struct zstate_deleter {
        void operator()(zstate*) const noexcept;
    };
    std::unique_ptr<zstate, zstate_deleter> zs_;

    mailwire::protocol protocol_;
    net::stream stream_;
    tls_options tls_;
    mailwire::timeouts timeouts_;
    mailwire::limits limits_;
    protocol_logger logger_;
    bool allow_plaintext_auth_ = false;
    std::string host_;
    std::uint16_t port_ = 0;
    security used_ = security::none;
    std::string rbuf_;
    std::size_t rpos_ = 0;
    bool authenticated_ = false;
    std::string auth_mechanism_;

protected:
    std::string greeting_;
    void set_authenticated(std::string mechanism) {
        authenticated_ = true;
        auth_mechanism_ = std::move(mechanism);
    }
};

}  // namespace mailwire
