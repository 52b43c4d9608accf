/// \file
/// mailwire::client_base — what IMAP, POP3 and SMTP clients share: connecting in one of the five
/// security modes, STARTTLS upgrades done safely, line I/O with limits and deadlines, the protocol
/// logger, authentication and logout. Each protocol contributes only its greeting, capability,
/// upgrade and logout steps (see imap::client, pop3::client, smtp::client).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mailwire/error.hpp"
#include "mailwire/export.hpp"
#include "mailwire/net/stream.hpp"
#include "mailwire/ports.hpp"
#include "mailwire/sasl/mechanism.hpp"
#include "mailwire/secret.hpp"
#include "mailwire/security.hpp"

#if defined(MAILWIRE_DEBUG_REFILL) || defined(__SANITIZE_ADDRESS__)
#define MAILWIRE_RELOCATE_ON_REFILL 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MAILWIRE_RELOCATE_ON_REFILL 1
#endif
#endif
#ifndef MAILWIRE_RELOCATE_ON_REFILL
/// 1 in AddressSanitizer builds or with MAILWIRE_DEBUG_REFILL defined: see
/// client_base::relocate_on_refill.
#define MAILWIRE_RELOCATE_ON_REFILL 0
#endif

namespace mailwire {

/// Who sent a logged line.
enum class log_direction {
    client,  ///< a line mailwire sent (shown as "C: " in transcripts)
    server,  ///< a line the server sent (shown as "S: ")
};
/// Sees every protocol line sent and received (without CRLF); credentials are already masked.
/// Called synchronously, on the thread that drives the client, before the line is sent or after
/// it was read; the view is valid only during the call. It should not throw: an exception
/// propagates out of the client call that was logging.
using protocol_logger = std::function<void(log_direction, std::string_view line)>;

/// Limits on what a server may send; exceeding one is a protocol_error (errc::limit_exceeded) and
/// closes the connection. They bound memory use against a broken or hostile server; bodies that
/// are streamed to a sink (downloads) are not limited by them. A change applies to the next reply.
struct limits {
    std::size_t max_line_length = 1 << 20;       ///< one response line, bytes
    std::size_t max_multiline_bytes = 64 << 20;  ///< a buffered multi-line reply (CAPA, EHLO, LIST …)
    /// Entries one command may collect from server input into a result (LIST entries, SEARCH
    /// numbers, FETCH items kept in memory, EXPUNGE/VANISHED events, THREAD nodes, UIDL/LIST
    /// lines, multi-line reply lines). Streamed results handed to a callback are not counted.
    std::size_t max_list_items = 4'000'000;
    /// Nesting that server input controls: parenthesised lists, BODYSTRUCTURE, THREAD trees
    /// (their depth is walked iteratively; this bounds the parser's stack, not the data).
    std::size_t max_nesting_depth = 100;
};

/// The part of a mail client that IMAP, POP3 and SMTP share; use it through imap::client,
/// pop3::client or smtp::client.
///
/// A client owns one connection (its net::stream), the settings for it (tls(), timeouts(),
/// limits(), the logger) and what it learned from the server (greeting, capabilities,
/// authentication state). Settings survive disconnect() and apply to the next connect(); what was
/// learned is forgotten on reconnect and after STARTTLS.
///
/// Calls block, each within deadlines (timeouts()): every read and write has its own bound, and
/// the greeting, each TLS handshake and each command with its whole response have one as a
/// whole, so no server can hold a call indefinitely. A client is not thread-safe: use
/// it from one thread at a time (different clients may run in parallel threads). It cannot be
/// copied or moved; hold it in a `std::unique_ptr` to pass it around.
///
/// Failures follow the two kinds in error.hpp: protocol_error (and timeout_error, tls_error, ...)
/// closes the connection, command_error leaves the session usable.
class MAILWIRE_API client_base {
public:
    /// Closes the socket if still open, without LOGOUT/QUIT; call disconnect() first to end
    /// the session politely.
    virtual ~client_base();
    client_base(const client_base&) = delete;
    client_base& operator=(const client_base&) = delete;

    /// Connects and secures the connection as `mode` asks; port 0 picks the protocol's default for
    /// the mode (993/995/465 for implicit TLS and auto, else 143/110/587). On return the greeting
    /// and (post-TLS) capabilities are known. Throws connect_error, timeout_error, tls_error,
    /// certificate_error, protocol_error or command_error; the connection is closed on any of them.
    /// A client that is still connected first closes its old connection, without LOGOUT/QUIT.
    void connect(const std::string& host, std::uint16_t port = 0, security mode = security::auto_detect);
    /// Upgrades a plaintext connection (made with security::none) with STARTTLS/STLS now, then
    /// asks for capabilities again. A refusal (command_error, errc::starttls_refused), data
    /// injected before the handshake (protocol_error) or a failed handshake closes the connection:
    /// there is no falling back to plaintext. Throws error(errc::invalid_argument) when the
    /// connection is already encrypted.
    void start_tls();
    /// Politely ends the session (LOGOUT/QUIT) when `quit`, then closes. Never throws.
    void disconnect(bool quit = true) noexcept;

    /// True from a successful connect() until disconnect() or a failure that closed the
    /// connection. A server that hung up is noticed only by the next read, so this can still be
    /// true for a connection that is already dead.
    [[nodiscard]] bool is_connected() const noexcept;
    /// True when the connection is encrypted (implicit TLS or after STARTTLS).
    [[nodiscard]] bool is_secure() const noexcept;
    /// How the current connection was secured: none, implicit_tls or starttls.
    [[nodiscard]] security security_used() const noexcept { return used_; }
    /// The host name given to the last connect() (also after a disconnect); empty before.
    [[nodiscard]] const std::string& host() const noexcept { return host_; }
    /// The port of the last connect(), with the default filled in when 0 was passed.
    [[nodiscard]] std::uint16_t port() const noexcept { return port_; }
    /// Which protocol this client speaks; fixed at construction.
    [[nodiscard]] mailwire::protocol protocol() const noexcept { return protocol_; }
    /// The server's greeting line(s), as received.
    [[nodiscard]] const std::string& greeting() const noexcept { return greeting_; }
    /// Negotiated TLS version, cipher, group and the verified chain (empty when plain).
    [[nodiscard]] const tls_session_info& tls_info() const noexcept;
    /// The transport, for channel binding and diagnostics (peer address, handshake bytes). Owned
    /// by the client; valid as long as the client is.
    [[nodiscard]] const net::stream& transport() const noexcept { return stream_; }

    /// TLS settings used by the next handshake (connect() with TLS, or start_tls()); changing them
    /// does not affect a connection that is already encrypted. Defaults are secure (tls_options).
    tls_options& tls() noexcept { return tls_; }
    /// Shortcut for tls().on_certificate: an extra check that can only reject.
    void on_certificate(certificate_callback cb) { tls_.on_certificate = std::move(cb); }
    /// Shortcut for tls().override_rejection: accepts a certificate the default policy rejected.
    void override_rejection(certificate_override cb) { tls_.override_rejection = std::move(cb); }
    /// Deadlines for connect, the greeting, the TLS handshake, each read/write and each command
    /// as a whole; modify in place (`c.timeouts().command = 10min;`). A change applies to the
    /// next operation.
    mailwire::timeouts& timeouts() noexcept { return timeouts_; }
    /// Size limits on server replies; modify in place. A change applies to the next reply.
    mailwire::limits& limits() noexcept { return limits_; }
    /// Allow credentials over an unencrypted connection (off by default). Without it,
    /// authenticate() on a plaintext connection throws auth_error(errc::plaintext_auth_refused)
    /// before anything is sent, unless the mechanism reveals no secret (e.g. SCRAM, CRAM-MD5).
    void allow_plaintext_auth(bool allow) noexcept { allow_plaintext_auth_ = allow; }
    /// Whether allow_plaintext_auth(true) was set.
    [[nodiscard]] bool plaintext_auth_allowed() const noexcept { return allow_plaintext_auth_; }
    /// Installs (or, with an empty function, removes) the protocol logger; the client keeps a
    /// copy. Secrets (LOGIN, AUTH, PASS and SASL payloads) are masked before the logger sees them.
    void set_logger(protocol_logger logger) { logger_ = std::move(logger); }

    // ---- authentication (one algorithm for IMAP AUTHENTICATE, POP3 AUTH and SMTP AUTH) ----
    /// Authenticates with the strongest SASL mechanism both sides support (SCRAM-PLUS >
    /// SCRAM-SHA-256 > SCRAM-SHA-1 > CRAM-MD5 > PLAIN > LOGIN; OAUTHBEARER/XOAUTH2 when a token
    /// is given), or the protocol's own login (IMAP LOGIN, POP3 USER/PASS or APOP) when no SASL
    /// mechanism fits. `mechanisms` overrides the choice and order (e.g. {"EXTERNAL"}); the first
    /// usable one is tried and nothing else. POP3 also accepts "APOP" and "USER" there.
    /// Mechanisms that reveal the secret are refused on an unencrypted connection unless
    /// allow_plaintext_auth(true). Throws auth_error with the server's text and response code.
    /// Throws error(errc::not_connected) without a connection and error(errc::invalid_argument)
    /// when already authenticated. On success the protocol may refresh its capabilities (IMAP).
    ///
    /// Channel binding: SCRAM-*-PLUS binds to `tls-unique` (RFC 5929, RFC 5802's default) on
    /// TLS 1.2 with the extended master secret and to `tls-exporter` (RFC 9266) on TLS 1.3;
    /// without the extended master secret nothing is bound. Fallback: with automatic selection
    /// only (empty `mechanisms`), when the server answers a SCRAM-*-PLUS attempt with a failure
    /// reply (servers that implement another binding type, e.g. Cyrus 3.6 only `tls-unique`),
    /// the same SCRAM without -PLUS is tried once, and only over TLS whose certificate the
    /// default policy accepted (tls_info().certificate.accepted_by_default; never after
    /// tls_options::override_rejection). A server that claims success without proving it knows
    /// the password (SCRAM mutual authentication) is never retried. auth_fallback_from() then
    /// names the refused mechanism and authenticated_with() the one that worked.
    void authenticate(const sasl::credentials& credentials, const std::vector<std::string>& mechanisms = {});
    /// Shortcut for authenticate() with just a user name and a password, mechanism chosen
    /// automatically. The password is a mailwire::secret (a std::string or literal converts).
    void authenticate(const std::string& user, const secret& password);
    /// True after a successful authenticate() (or an IMAP PREAUTH greeting) on this connection.
    [[nodiscard]] bool is_authenticated() const noexcept { return authenticated_; }
    /// The mechanism that succeeded ("SCRAM-SHA-256", or "LOGIN"/"USER"/"APOP" for the legacy
    /// commands); empty before authentication.
    [[nodiscard]] const std::string& authenticated_with() const noexcept { return auth_mechanism_; }
    /// The mechanism the server refused before authenticated_with() succeeded, when automatic
    /// selection fell back from SCRAM-*-PLUS to the same SCRAM without channel binding (see
    /// authenticate()); empty when the first choice worked or before authentication.
    [[nodiscard]] const std::string& auth_fallback_from() const noexcept { return auth_fallback_from_; }
    /// SASL mechanisms the server offers now (upper case).
    [[nodiscard]] virtual std::vector<std::string> auth_mechanisms() const = 0;

protected:
    /// One server message during a SASL exchange.
    struct sasl_reply {
        /// What the server's message means for the exchange.
        enum class kind {
            challenge,           ///< continue: answer with the mechanism's next step
            success,             ///< the server accepted (after verifying the success data)
            failure,             ///< the server refused; the exchange is over
        } type = kind::failure;  ///< what this message is
        std::string data;        ///< challenge: base64 text; success: raw success data (SCRAM v=) if any
        std::string text;        ///< human-readable server text (success/failure)
        std::string code;        ///< response code ("AUTHENTICATIONFAILED", "AUTH", "5.7.8")
    };
    /// Sends the protocol's SASL start command; `initial` is the base64 initial response ("=" for
    /// an empty one) when the protocol and server allow it, or nullptr; `logged` is the masked
    /// form of it for the logger. The command line that carries `initial` must be built in a
    /// mailwire::secret too (or wiped), as it holds the credential.
    virtual void sasl_start(std::string_view mechanism, const secret* initial, std::string_view logged) = 0;
    /// Reads the server's next message of the exchange (IMAP "+ " or tagged reply, POP3 "+ "/+OK/-ERR,
    /// SMTP 334/235/5xx).
    virtual sasl_reply sasl_read() = 0;
    /// Whether the initial response may go on the start command (IMAP: SASL-IR).
    [[nodiscard]] virtual bool sasl_initial_response_allowed() const { return true; }
    /// The protocol's non-SASL login; returns the name used, or "" when none applies.
    virtual std::string legacy_login(const sasl::credentials& credentials) = 0;
    /// The protocol's own login named `name` (upper case) in an explicit mechanism list (POP3:
    /// "APOP", "USER"); returns the name used, or "" when the protocol has no such login or it
    /// does not apply on this connection (then nothing was sent).
    virtual std::string legacy_login_named(const sasl::credentials& credentials, std::string_view name) {
        (void)credentials;
        (void)name;
        return {};
    }
    /// Called after a successful authentication (IMAP asks for capabilities again).
    virtual void on_authenticated() {}

protected:
    /// A client for protocol `p`, not connected, with default settings.
    explicit client_base(mailwire::protocol p);

    // ---- what each protocol contributes -------------------------------------------------
    /// Reads and checks the greeting (the first bytes are known to be a plaintext line).
    virtual void read_greeting() = 0;
    /// Asks for capabilities (IMAP CAPABILITY, POP3 CAPA, SMTP EHLO).
    virtual void query_capabilities() = 0;
    /// Whether the capabilities just queried include STARTTLS (IMAP, SMTP) or STLS (POP3).
    [[nodiscard]] virtual bool offers_starttls() const = 0;
    /// Sends STARTTLS/STLS and reads the reply; throws command_error(starttls_refused) on refusal.
    virtual void request_starttls() = 0;
    /// Forgets everything learned in plaintext: after STARTTLS it is asked again over TLS, since a
    /// man in the middle could have changed it (docs/security.md, "Capability reuse").
    virtual void forget_session_state() = 0;
    /// Sends LOGOUT/QUIT and reads the reply.
    virtual void send_logout() = 0;
    /// IMAP PREAUTH: the session is authenticated before any STARTTLS could happen.
    [[nodiscard]] virtual bool greeting_preauthenticated() const { return false; }

    // ---- I/O for the protocol implementations -------------------------------------------
    /// The one gate every command line passes through on its way to the wire: throws
    /// error(errc::invalid_argument) — before anything is written — when `line` holds CR, LF or
    /// NUL (protocol injection), otherwise appends `line` and CRLF to `out`. Everything a client
    /// sends outside a literal or a message body is built with this (send_line, pipelined
    /// batches, IMAP command parts). The first line appended since the last write also names
    /// the operation whose timeouts().command deadline that write starts ("the FETCH response"),
    /// taken from its upper-case verb only (after the tag for IMAP), never from an argument.
    void append_command_line(std::string& out, std::string_view line) const;
    /// Throws error(errc::invalid_argument) when `text` holds CR, LF or NUL; `what` names the
    /// value in the message ("the user name"). For builders that check an argument early.
    void check_command_text(std::string_view text, std::string_view what) const;
    /// Appends `item` to `v`, or ends the session with protocol_error(errc::limit_exceeded) once
    /// `v` holds limits().max_list_items entries: the one rule for collections built from
    /// server input. `what` names the collection in the error ("SEARCH results").
    template <class V, class T>
    void bounded_push(V& v, T&& item, std::string_view what) {
        if (v.size() >= limits_.max_list_items) list_limit_exceeded(what);
        v.push_back(std::forward<T>(item));
    }
    /// Sends the SASL start line the three protocols share in shape — `<command> <mechanism>` or,
    /// with an initial response, `<command> <mechanism> <initial>` (IMAP `tag AUTHENTICATE`,
    /// POP3 and SMTP `AUTH`). A line that carries an initial response is built in a secret and
    /// logged as `<command> <mechanism> <logged>`.
    void send_sasl_start(std::string_view command, std::string_view mechanism, const secret* initial,
                         std::string_view logged);
    /// Sends one line (CRLF appended, through append_command_line) and logs it.
    void send_line(std::string_view line);
    /// Sends one line but logs `logged` instead (credentials masked). The copy made here is wiped
    /// before it is freed; build `line` itself in a mailwire::secret.
    void send_line_masked(std::string_view line, std::string_view logged);
    /// Sends bytes as they are (bodies, pipelined batches); not logged: the caller logs the
    /// lines or a summary such as "<message: N bytes>". Every write, once complete, restarts the
    /// whole-command deadline (timeouts().command): the response is timed from the last byte the
    /// client sent, so an upload's own duration never counts against it (each write is bounded
    /// by timeouts().io).
    void send_raw(std::string_view bytes);
    /// Reads one line without its CRLF/LF. The view is valid until the next read (a refill may
    /// move the buffer; in sanitizer builds it always does, see relocate_on_refill).
    /// Every read (read_line, read_some, read_more) is bounded by timeouts().io, or .greeting
    /// during the greeting, and by what is left of the current operation's deadline; passing
    /// the latter throws timeout_error naming the operation and the limit.
    std::string_view read_line(stage s);
    /// Reads up to `max` bytes (buffered ones first) into `out`; 0 at end of stream → protocol_error.
    std::size_t read_some(char* out, std::size_t max, stage s);
    /// Starts a whole-operation deadline of `budget` now, replacing the current one until the
    /// next command line is written: `what` names the operation in the timeout_error ("the IDLE
    /// wait"). For reads that belong to no single command's response, such as IMAP IDLE, whose
    /// bound is the caller's idle duration plus a grace period rather than timeouts().command. A
    /// budget of milliseconds::max() means no deadline (only timeouts().io per read).
    void begin_operation(std::string_view what, std::chrono::milliseconds budget);
    /// Credits `bytes` of a body that was just delivered to a caller's sink (IMAP FETCH literal
    /// data, POP3 RETR/TOP): extends the current operation's deadline by
    /// bytes / timeouts().min_transfer_rate seconds, so a slow but moving download survives.
    /// Never call it for data the client keeps or parses itself (lines, listings): those must
    /// fit in the budget.
    void credit_transfer(std::uint64_t bytes) noexcept { op_credit_bytes_ += bytes; }
    /// True in builds where every buffer refill moves the read buffer to a fresh allocation and
    /// frees the old one (AddressSanitizer builds, or MAILWIRE_DEBUG_REFILL defined when the
    /// library is compiled), so that any view kept across a refill is reported as a
    /// use-after-free by the tests. Protocol code with a read buffer of its own does the same.
    static constexpr bool relocate_on_refill = MAILWIRE_RELOCATE_ON_REFILL != 0;
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
    /// Whether start_compression() was called on this connection.
    [[nodiscard]] bool compression_active() const noexcept { return zs_ != nullptr; }

    /// An error context with this client's host, port and protocol, at stage `s`.
    [[nodiscard]] error_context context(stage s, std::string server_text = {}, std::string hint = {}) const;
    /// Closes the connection and throws protocol_error: the session can no longer be trusted.
    [[noreturn]] void protocol_failure(errc code, stage s, std::string detail, std::string server_text = {},
                                       std::string hint = {});
    /// Throws auth_error(plaintext_auth_refused) unless the connection is secure or allowed.
    void require_secure_for_credentials(std::string_view what) const;
    /// The transport, for the protocol implementations (mutable; see transport()).
    net::stream& stream() noexcept { return stream_; }
    /// Passes `line` to the protocol logger, if one is set; mask secrets before calling.
    void log(log_direction d, std::string_view line) const;
    /// Whether a protocol logger is set (skip building log lines when not).
    [[nodiscard]] bool has_logger() const noexcept { return static_cast<bool>(logger_); }

private:
    [[noreturn]] void list_limit_exceeded(std::string_view what);
    void secure_with_starttls(bool required);
    void handshake();
    void run_sasl(const std::string& name, const sasl::credentials& credentials, bool server_offers_plus,
                  bool* refused);
    void greet_plaintext();
    bool fill(stage s, std::chrono::milliseconds per_read);
    std::size_t transport_read(char* out, std::size_t max, std::chrono::steady_clock::time_point deadline);
    // The whole-operation deadline (timeouts(): greeting, command; begin_operation()).
    [[nodiscard]] std::chrono::steady_clock::time_point operation_deadline() const noexcept;
    void start_operation(std::string what, std::chrono::milliseconds budget, std::string_view limit_name);
    [[noreturn]] void operation_timed_out(stage s);
    void note_command(std::string_view line) const;
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
    std::chrono::steady_clock::time_point op_start_{};
    std::chrono::milliseconds op_budget_ = std::chrono::milliseconds::max();  // max(): no deadline
    std::uint64_t op_credit_bytes_ = 0;                                       // credit_transfer()
    std::string op_what_;                                                     // "the FETCH response"
    std::string_view op_limit_;  // "timeouts().command", or empty for begin_operation()
    // A command line went through append_command_line since the last write: the write that
    // carries it starts a new operation named after it (the first line of a pipelined batch).
    mutable bool command_pending_ = false;
    mutable std::string pending_what_;
    bool authenticated_ = false;
    std::string auth_mechanism_;
    std::string auth_fallback_from_;

protected:
    /// The greeting as received; read_greeting() fills it, connect() clears it.
    std::string greeting_;
    /// Records a successful login with `mechanism` (for the protocol's own login commands, or
    /// an IMAP PREAUTH greeting); see authenticated_with().
    void set_authenticated(std::string mechanism, std::string fallback_from = {}) {
        authenticated_ = true;
        auth_mechanism_ = std::move(mechanism);
        auth_fallback_from_ = std::move(fallback_from);
    }
};

}  // namespace mailwire
