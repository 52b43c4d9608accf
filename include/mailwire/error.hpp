// mailwire — error types shared by every layer.
//
// Two kinds of failure (as in MailKit): a *protocol* error kills the connection; a *command*
// error is the server refusing a request (NO/BAD, -ERR, 4xx/5xx) and the session lives on.
// Every exception derives from mailwire::error, carries an std::error_code in mailwire's
// category and the context a person needs: host, port, protocol stage, server text and a hint.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

#include "mailwire/export.hpp"
#include "mailwire/security.hpp"

namespace mailwire {

/// Error conditions shared by all areas; the value is the error_code value.
enum class errc {
    resolve_failed = 1,      ///< the host name did not resolve
    connect_failed,          ///< no address accepted the TCP connection
    timeout,                 ///< an operation passed its deadline
    connection_closed,       ///< the peer closed the connection unexpectedly
    io_error,                ///< a socket read/write failed
    tls_handshake_failed,    ///< TLS handshake failed (version, cipher, alert, ...)
    tls_plaintext_greeting,  ///< TLS was spoken but the server greeted in plaintext
    tls_expected,            ///< plaintext was expected but the server waits for (or sent) TLS
    certificate_rejected,    ///< the peer certificate was rejected by policy or callback
    starttls_unavailable,    ///< starttls required but the server does not offer it
    starttls_refused,        ///< the server refused STARTTLS/STLS
    starttls_injection,      ///< bytes arrived after the STARTTLS reply, before the handshake
    preauth_without_tls,     ///< IMAP PREAUTH greeting where TLS was required
    plaintext_auth_refused,  ///< credentials would cross an unencrypted connection
    auth_failed,             ///< the server rejected the credentials / SASL exchange failed
    auth_unsupported,        ///< no usable authentication mechanism
    protocol_violation,      ///< the server sent something the protocol does not allow
    limit_exceeded,          ///< a configured limit (line, literal, depth, ...) was exceeded
    command_failed,          ///< the server refused a command (NO/BAD, -ERR, 4xx/5xx)
    invalid_argument,        ///< the caller asked for something invalid
    configuration,           ///< TLS or client configuration cannot be honoured
    parse_error,             ///< malformed input (MIME, addresses, ...)
    charset_unsupported,     ///< a charset could not be converted
    not_connected,           ///< operation requires a connected client
};
}  // namespace mailwire

template <>
struct std::is_error_code_enum<mailwire::errc> : std::true_type {};

namespace mailwire {

MAILWIRE_API const std::error_category& category() noexcept;
inline std::error_code make_error_code(errc e) noexcept { return {static_cast<int>(e), category()}; }

/// Where in a connection's life a failure happened.
enum class stage {
    none,
    resolve,
    connect,
    tls_handshake,
    greeting,
    capability,
    starttls,
    authenticate,
    command,
    data,
    logout,
    parse,
};
MAILWIRE_API std::string_view to_string(stage s) noexcept;

/// Context attached to every error: what we were talking to and doing.
struct error_context {
    std::string host;
    std::uint16_t port = 0;
    std::string protocol;  ///< "imap", "pop3", "smtp" or empty
    mailwire::stage stage = mailwire::stage::none;
    std::string server_text;  ///< what the server said, if anything
    std::string hint;         ///< what a person can do about it
};

/// Base of every exception mailwire throws.
class MAILWIRE_API error : public std::runtime_error {
public:
    error(std::error_code code, std::string detail, error_context ctx = {});
    error(errc code, std::string detail, error_context ctx = {})
        : error(make_error_code(code), std::move(detail), std::move(ctx)) {}

    [[nodiscard]] std::error_code code() const noexcept { return code_; }
    [[nodiscard]] const std::string& host() const noexcept { return ctx_.host; }
    [[nodiscard]] std::uint16_t port() const noexcept { return ctx_.port; }
    [[nodiscard]] const std::string& protocol() const noexcept { return ctx_.protocol; }
    [[nodiscard]] mailwire::stage stage() const noexcept { return ctx_.stage; }
    [[nodiscard]] const std::string& server_text() const noexcept { return ctx_.server_text; }
    [[nodiscard]] const std::string& hint() const noexcept { return ctx_.hint; }
    /// The cause alone, without the host/port/stage prefix that what() carries.
    [[nodiscard]] const std::string& detail() const noexcept { return detail_; }
    [[nodiscard]] const error_context& context() const noexcept { return ctx_; }

private:
    std::error_code code_;
    std::string detail_;
    error_context ctx_;
};

/// DNS or TCP connect failed.
class MAILWIRE_API connect_error : public error {
    using error::error;
};
/// A deadline passed (connect, greeting, read, write, handshake).
class MAILWIRE_API timeout_error : public error {
    using error::error;
};
/// TLS could not be established (including the plaintext/TLS port mix-up).
class MAILWIRE_API tls_error : public error {
    using error::error;
};
/// The server's certificate was rejected (by the default policy, a pin, or the callback).
class MAILWIRE_API certificate_error : public tls_error {
public:
    certificate_error(std::string detail, error_context ctx, certificate_check check)
        : tls_error(errc::certificate_rejected, std::move(detail), std::move(ctx)), check_(std::move(check)) {}
    /// The chain, the policy errors and the OpenSSL verify codes that led to the rejection.
    [[nodiscard]] const certificate_check& check() const noexcept { return check_; }

private:
    certificate_check check_;
};
/// A protocol-level failure: the connection can no longer be trusted and is closed.
class MAILWIRE_API protocol_error : public error {
    using error::error;
};
/// The server refused a command; the session stays usable.
class MAILWIRE_API command_error : public error {
    using error::error;
};
/// Authentication failed or could not be attempted safely.
class MAILWIRE_API auth_error : public error {
public:
    auth_error(errc code, std::string detail, error_context ctx = {}, std::string response_code = {})
        : error(code, std::move(detail), std::move(ctx)), response_code_(std::move(response_code)) {}
    /// Server response code if any (IMAP `[AUTHENTICATIONFAILED]`, POP3 `[AUTH]`, SMTP `5.7.8`).
    [[nodiscard]] const std::string& response_code() const noexcept { return response_code_; }

private:
    std::string response_code_;
};
/// Malformed input in a file or message (MIME, addresses, dates, encodings).
class MAILWIRE_API parse_error : public error {
    using error::error;
};
/// The caller's configuration cannot be honoured (e.g. a TLS version OpenSSL cannot do).
class MAILWIRE_API config_error : public error {
    using error::error;
};

}  // namespace mailwire
