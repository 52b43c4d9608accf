/// \file
/// Error types shared by every layer.
///
/// Two kinds of failure (as in MailKit): a *protocol* error kills the connection; a *command*
/// error is the server refusing a request (NO/BAD, -ERR, 4xx/5xx) and the session lives on.
/// Every exception derives from mailwire::error, carries an std::error_code in mailwire's
/// category and the context a person needs: host, port, protocol stage, server text and a hint.
///
///     try {
///         client.connect("mail.example.com", 993, mailwire::security::implicit_tls);
///     } catch (const mailwire::certificate_error& e) {   // most specific first
///         std::cerr << e.what() << '\n';
///         for (const auto& cert : e.check().chain) std::cerr << "  " << cert.subject << '\n';
///     } catch (const mailwire::error& e) {
///         std::cerr << e.what() << '\n';   // "imap mail.example.com:993 (greeting): ... — hint"
///         if (e.code() == mailwire::errc::timeout) { /* worth another try later */ }
///     }
///
/// The exception class says what the failure means for the session (connect_error, timeout_error,
/// tls_error, certificate_error and protocol_error: the connection is closed; command_error: it
/// is still usable; auth_error: see its code). The errc code says precisely what happened; the
/// same code can arrive in more than one class (an I/O error while reading a reply surfaces as a
/// protocol_error with errc::io_error), so test code() for the cause and the class for the state.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

#include "mailwire/export.hpp"
#include "mailwire/security.hpp"

namespace mailwire {

/// Error conditions shared by all areas: the value of mailwire::error::code() in category().
///
/// `std::error_code` compares equal to these directly (`e.code() == errc::timeout`). The values
/// are stable; 0 is never used, so a default `std::error_code` means "no error". The class each
/// is usually thrown as is given in brackets, and the \ref md_docs_faq "troubleshooting FAQ"
/// entry, where there is one, explains the diagnosis and the fix.
enum class errc {
    /// The host name did not resolve (DNS failure, typo, no network) [connect_error].
    /// FAQ: \ref resolve-failed.
    resolve_failed = 1,
    /// Every resolved address refused or failed the TCP connection [connect_error].
    /// FAQ: \ref connect-failed.
    connect_failed,
    /// An operation passed its deadline (see mailwire::timeouts): connect, TLS handshake, a read
    /// or a write [timeout_error]. The connection is closed.
    /// FAQ: \ref timeout, \ref handshake-timeout.
    timeout,
    /// The server closed the connection unexpectedly: before the greeting, in the middle of a
    /// reply or a transfer, IMAP BYE, SMTP 421 [protocol_error; smtp_error for 421].
    /// FAQ: \ref connection-closed.
    connection_closed,
    /// A read or write failed at the operating-system level: the socket (reset, broken pipe), or a
    /// file the caller named (e.g. a download target) [error, or protocol_error inside a session].
    /// FAQ: \ref io-error.
    io_error,
    /// The TLS handshake failed: no common version or cipher, a TLS alert from the server, a
    /// malformed record [tls_error]. what() names the versions offered and OpenSSL's reason.
    /// FAQ: \ref no-shared-version, \ref no-shared-cipher, \ref closed-during-handshake,
    /// \ref handshake-failed.
    tls_handshake_failed,
    /// TLS was expected (implicit_tls) but the server greeted in plaintext ("* OK", "+OK", "220"):
    /// the port wants `starttls`, or is the wrong port [tls_error].
    /// FAQ: \ref unexpected-packet-format.
    tls_plaintext_greeting,
    /// A plaintext greeting was expected but the port sent a TLS record, stayed silent for
    /// timeouts::greeting, or stayed silent for 1.5 s or more and then closed the connection: the
    /// port expects implicit TLS [tls_error; timeout_error when silent until the deadline].
    /// FAQ: \ref port-expects-tls.
    tls_expected,
    /// The server certificate was rejected: by the default policy (any policy_error), by a
    /// missing SPKI pin, or by the certificate callback [certificate_error].
    /// FAQ: \ref certificate-rejected.
    certificate_rejected,
    /// security::starttls was asked for but the server does not offer STARTTLS/STLS [tls_error].
    /// The connection is closed rather than used in plaintext.
    /// FAQ: \ref starttls-unavailable.
    starttls_unavailable,
    /// The server answered STARTTLS/STLS with NO/BAD, -ERR or 4xx/5xx [command_error]. The
    /// connection is closed all the same: mailwire never falls back to plaintext.
    /// FAQ: \ref starttls-refused.
    starttls_refused,
    /// Bytes arrived after the STARTTLS reply and before the handshake: a response-injection
    /// attack or a broken server (CVE-2021-22947) [protocol_error].
    /// FAQ: \ref starttls-injection.
    starttls_injection,
    /// An IMAP server greeted with PREAUTH, so STARTTLS can no longer be negotiated, while TLS was
    /// required (RFC 3501 §7.1.4) [protocol_error]. Use implicit TLS instead.
    /// FAQ: \ref preauth.
    preauth_without_tls,
    /// Sending the credentials would expose them on an unencrypted connection and
    /// client_base::allow_plaintext_auth() was not set [auth_error]. Nothing was sent.
    /// FAQ: \ref plaintext-auth-refused.
    plaintext_auth_refused,
    /// The server rejected the credentials, or the SASL exchange failed (a wrong SCRAM server
    /// signature: the server may be an impostor) [auth_error].
    /// FAQ: \ref auth-failed.
    auth_failed,
    /// No authentication mechanism both sides support, an unknown mechanism name, or the server
    /// disabled login on this connection (IMAP LOGINDISABLED) [auth_error].
    /// FAQ: \ref auth-unsupported.
    auth_unsupported,
    /// The server sent something the protocol does not allow (a malformed reply, an unknown
    /// tag, an unexpected continuation, undecodable SASL data) [protocol_error, or auth_error
    /// during authentication].
    /// FAQ (binary data instead of a greeting): \ref binary-greeting.
    protocol_violation,
    /// A limit was exceeded: a line, literal or reply larger than mailwire::limits or the
    /// parser's limits, MIME nesting too deep, a message over the server's SIZE [protocol_error
    /// from a server, parse_error from the MIME parser, smtp_error for SIZE].
    /// FAQ: \ref limit-exceeded.
    limit_exceeded,
    /// The server refused a command (IMAP NO/BAD, POP3 -ERR, SMTP 4xx/5xx) or lacks the
    /// extension the call needs [command_error, pop3_error, smtp_error]. The session lives on.
    command_failed,
    /// The caller asked for something that cannot work: no recipients, an invalid address, a
    /// second authenticate(), start_tls() on an encrypted connection, bad SASL credentials [error,
    /// auth_error or smtp_error].
    /// FAQ: \ref usage-errors.
    invalid_argument,
    /// A setting cannot be honoured: a TLS option OpenSSL rejects (a version, cipher list, CA or
    /// key file), a feature the server does not advertise, a missing crypto component
    /// [config_error; auth_error during authentication].
    /// FAQ: \ref tls-configuration.
    configuration,
    /// Malformed input the caller handed in, such as an IMAP sequence set [parse_error]. The
    /// MIME, address and date parsers are lenient and do not throw for malformed messages.
    parse_error,
    /// A charset could not be converted. Reserved: the charset functions in mime/charset.hpp
    /// report this in their result instead of throwing.
    charset_unsupported,
    /// The operation needs an open connection and there is none (never connected, or closed by
    /// an earlier protocol error) [error].
    /// FAQ: \ref usage-errors.
    not_connected,
};
}  // namespace mailwire

template <>
struct std::is_error_code_enum<mailwire::errc> : std::true_type {};

namespace mailwire {

/// The error category of every mailwire error code: name() is "mailwire", message() a short
/// English description of the errc value. One instance for the whole process.
MAILWIRE_API const std::error_category& category() noexcept;
/// Makes `e` an `std::error_code` in category(); found by argument-dependent lookup, so
/// `std::error_code ec = errc::timeout;` works.
inline std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), category()}; }

/// Where in a connection's life a failure happened (error::stage()).
enum class stage {
    none,           ///< unknown or not connection-related (files, argument checks)
    resolve,        ///< looking up the host name
    connect,        ///< opening the TCP connection
    tls_handshake,  ///< the TLS handshake and certificate check (implicit TLS or after STARTTLS)
    greeting,       ///< waiting for and reading the server's first reply
    capability,     ///< asking for capabilities (IMAP CAPABILITY, POP3 CAPA, SMTP EHLO)
    starttls,       ///< the STARTTLS/STLS command and its reply
    authenticate,   ///< logging in (SASL or the protocol's own login)
    command,        ///< an ordinary command after login
    data,           ///< transferring a message body (SMTP DATA/BDAT, POP3 RETR)
    logout,         ///< LOGOUT/QUIT
    parse,          ///< parsing local data (MIME, files)
};
/// Human-readable name of `s` as used in error::what(): "TLS handshake", "greeting", ...
MAILWIRE_API std::string_view to_string(stage s) noexcept;

/// Context attached to every error: what we were talking to and doing. Fields that do not
/// apply are empty (or 0, stage::none), e.g. for a file that cannot be opened.
struct error_context {
    std::string host;        ///< the host name as the caller gave it to connect()
    std::uint16_t port = 0;  ///< the TCP port connected to (after the default was picked)
    std::string protocol;    ///< "imap", "pop3", "smtp" or empty
    /// What the connection was doing.
    mailwire::stage stage = mailwire::stage::none;
    std::string server_text;  ///< what the server said, if anything
    std::string hint;         ///< what a person can do about it
};

/// Base of every exception mailwire throws; catch it to handle them all.
///
/// what() is one line for a person: "imap mail.example.com:993 (TLS handshake): <detail> — <hint>"
/// (the parts that are empty are left out). The accessors give the same facts one by one for a
/// program. Hints that have an entry in the troubleshooting FAQ end with its anchor
/// ("(docs/faq.md#port-expects-tls)").
class MAILWIRE_API error : public std::runtime_error {
public:
    /// An error with any error code (e.g. from another category) and the context it happened in.
    error(std::error_code code, std::string detail, error_context ctx = {});
    /// An error with a mailwire code; `detail` says what happened, without host or stage.
    error(errc code, std::string detail, error_context ctx = {})
        : error(make_error_code(code), std::move(detail), std::move(ctx)) {}

    /// What happened, in category() for every error mailwire throws; compare with errc values.
    [[nodiscard]] std::error_code code() const noexcept { return code_; }
    /// The server's host name, empty when no connection was involved.
    [[nodiscard]] const std::string& host() const noexcept { return ctx_.host; }
    /// The server's port, 0 when no connection was involved.
    [[nodiscard]] std::uint16_t port() const noexcept { return ctx_.port; }
    /// "imap", "pop3", "smtp", or empty when not from a protocol client.
    [[nodiscard]] const std::string& protocol() const noexcept { return ctx_.protocol; }
    /// Where in the connection's life it happened.
    [[nodiscard]] mailwire::stage stage() const noexcept { return ctx_.stage; }
    /// What the server said (its reply, or the unexpected bytes it sent), empty if nothing.
    [[nodiscard]] const std::string& server_text() const noexcept { return ctx_.server_text; }
    /// What a person can do about it ("use implicit_tls on port 993"), empty if nothing useful.
    [[nodiscard]] const std::string& hint() const noexcept { return ctx_.hint; }
    /// The cause alone, without the host/port/stage prefix that what() carries.
    [[nodiscard]] const std::string& detail() const noexcept { return detail_; }
    /// All context fields at once, e.g. to rethrow with another class.
    [[nodiscard]] const error_context& context() const noexcept { return ctx_; }

private:
    std::error_code code_;
    std::string detail_;
    error_context ctx_;
};

/// DNS or TCP connect failed (errc::resolve_failed, errc::connect_failed); nothing was sent.
class MAILWIRE_API connect_error : public error {
    using error::error;
};
/// A deadline passed (connect, greeting, read, write, handshake); the connection is closed.
/// Usually errc::timeout; errc::tls_expected when a silent port suggests it expects TLS first.
class MAILWIRE_API timeout_error : public error {
    using error::error;
};
/// TLS could not be established (including the plaintext/TLS port mix-up); the connection is
/// closed. Codes: tls_handshake_failed, tls_plaintext_greeting, tls_expected, starttls_unavailable.
class MAILWIRE_API tls_error : public error {
    using error::error;
};
/// The server's certificate was rejected (by the default policy, a pin, or the callback); the
/// connection is closed. Always errc::certificate_rejected.
class MAILWIRE_API certificate_error : public tls_error {
public:
    /// `check` is what the decision was made on; it is kept for check().
    certificate_error(std::string detail, error_context ctx, certificate_check check)
        : tls_error(errc::certificate_rejected, std::move(detail), std::move(ctx)), check_(std::move(check)) {}
    /// The chain, the policy errors and the OpenSSL verify codes that led to the rejection.
    [[nodiscard]] const certificate_check& check() const noexcept { return check_; }

private:
    certificate_check check_;
};
/// A protocol-level failure: the connection can no longer be trusted and is closed
/// (is_connected() turns false). Connect again to continue.
class MAILWIRE_API protocol_error : public error {
    using error::error;
};
/// The server refused a command; the session stays usable. server_text() holds its reply.
/// Exception: a refused STARTTLS (errc::starttls_refused) closes the connection.
class MAILWIRE_API command_error : public error {
    using error::error;
};
/// Authentication failed or could not be attempted safely. After a refusal by the server
/// (errc::auth_failed) the session stays connected and another attempt is possible; when the
/// SCRAM server signature is wrong the connection is closed (the server may be an impostor).
class MAILWIRE_API auth_error : public error {
public:
    /// `response_code` is the server's machine-readable reason, if it gave one (see response_code()).
    auth_error(errc code, std::string detail, error_context ctx = {}, std::string response_code = {})
        : error(code, std::move(detail), std::move(ctx)), response_code_(std::move(response_code)) {}
    /// Server response code if any (IMAP `[AUTHENTICATIONFAILED]`, POP3 `[AUTH]`, SMTP `5.7.8`).
    [[nodiscard]] const std::string& response_code() const noexcept { return response_code_; }

private:
    std::string response_code_;
};
/// Input that cannot be read: malformed data handed in by the caller (errc::parse_error) or a
/// MIME parser limit exceeded (errc::limit_exceeded). No connection is involved.
class MAILWIRE_API parse_error : public error {
    using error::error;
};
/// The caller's configuration cannot be honoured (e.g. a TLS version OpenSSL cannot do, or a
/// feature the server does not advertise); errc::configuration. Fix the setting, do not retry.
class MAILWIRE_API config_error : public error {
    using error::error;
};

}  // namespace mailwire
