/// \file
/// mailwire::net::stream — the one transport under IMAP, POP3 and SMTP.
///
/// TCP (every resolved address tried in turn, a deadline per operation, TCP_NODELAY) with an
/// optional TLS layer on OpenSSL 3 that can start right after connect (implicit TLS) or upgrade
/// the same connection in place (STARTTLS). OpenSSL stays behind the pimpl.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "mailwire/error.hpp"
#include "mailwire/export.hpp"
#include "mailwire/security.hpp"

namespace mailwire::net {

using std::chrono::milliseconds;

/// A blocking byte stream to one server: TCP, optionally with TLS on top.
///
/// The clients own one each (client_base::transport()); use it directly only for a protocol
/// mailwire does not implement. Every call that waits takes its own timeout. Not thread-safe:
/// one thread at a time. A failed connect() or start_tls() leaves the stream closed (usage
/// errors aside, see start_tls()); after a failed read or write the caller should close() it, as
/// the clients do.
class MAILWIRE_API stream {
public:
    /// A closed stream.
    stream();
    /// Closes the socket without a TLS close_notify; call close() first for a clean TLS end.
    ~stream();
    /// Takes over the connection; the moved-from stream may then only be destroyed or assigned to.
    stream(stream&&) noexcept;
    /// Takes over the connection of the right-hand side (which may then only be destroyed or
    /// assigned to); a connection held before is closed as by the destructor.
    stream& operator=(stream&&) noexcept;
    stream(const stream&) = delete;
    stream& operator=(const stream&) = delete;

    /// Context (host, port, protocol) stamped on every error this stream throws.
    void set_context(std::string host, std::uint16_t port, std::string protocol);
    /// The context set by set_context() (connect() sets host and port if none was set).
    [[nodiscard]] const error_context& context() const noexcept;

    /// Resolves `host` and connects to the first address that accepts; `timeout` bounds the name
    /// lookup and every connection attempt together. A numeric address ("192.0.2.1", "::1") skips
    /// the resolver. Throws connect_error (resolve_failed / connect_failed) or timeout_error
    /// (stage resolve or connect). A lookup still running at the deadline is abandoned and
    /// finishes on its own thread. An open connection is closed first.
    void connect(const std::string& host, std::uint16_t port, milliseconds timeout);

    /// Runs the TLS handshake over the connected socket, then verifies the certificate against
    /// `opts` (policy flags, pins, callback). `host` is used for SNI and name verification.
    /// With opts.session_resumption an earlier session to the same host, port and options is
    /// resumed when possible.
    ///
    /// Throws tls_error (handshake, version/cipher mismatch, plaintext greeting seen),
    /// certificate_error (rejected), timeout_error, or config_error when OpenSSL refuses `opts`
    /// (before anything is sent). Each of these closes the connection and keeps no TLS state:
    /// once TLS was asked for the connection never carries plaintext (after STARTTLS the server
    /// is waiting for a handshake). To retry, connect() again. Two usage errors change nothing:
    /// error(errc::not_connected) on a closed stream, error(errc::invalid_argument) when TLS is
    /// already active (the session carries on).
    void start_tls(const tls_options& opts, const std::string& host, milliseconds timeout);

    /// Reads up to buf.size() bytes, waiting at most `timeout` for the first; 0 means the peer
    /// closed the connection. Throws timeout_error, or error(errc::io_error) on a socket failure.
    std::size_t read_some(std::span<char> buf, milliseconds timeout);
    /// Writes everything within `timeout` or throws (timeout_error, error(errc::io_error)).
    void write_all(std::string_view data, milliseconds timeout);
    /// True when data can be read now or within `timeout` (TLS-buffered data counts).
    bool wait_readable(milliseconds timeout);

    /// Closes the connection (sending TLS close_notify when possible). Never throws.
    void close() noexcept;

    /// True between a successful connect() and close() (or a failure that closed it).
    [[nodiscard]] bool is_open() const noexcept;
    /// True once start_tls() succeeded on this connection.
    [[nodiscard]] bool is_tls() const noexcept;
    /// Numeric address actually connected to ("127.0.0.1", "::1").
    [[nodiscard]] const std::string& peer_address() const noexcept;
    /// Numeric local address of the connection ("127.0.0.1"); empty when closed.
    [[nodiscard]] std::string local_address() const;
    /// Negotiated TLS parameters and the verified chain; empty values before TLS.
    [[nodiscard]] const tls_session_info& tls_info() const noexcept;
    /// Channel binding data for SASL *-PLUS: "tls-exporter" (RFC 9266) or "tls-unique" (RFC 5929).
    /// Empty when unavailable: tls-unique on TLS 1.3, and every type on TLS 1.2 and older without
    /// the extended master secret (RFC 9266 §2, RFC 7627), where the binding is not unique to the
    /// connection.
    [[nodiscard]] std::vector<unsigned char> channel_binding(std::string_view type) const;
    /// The raw bytes received on the socket during the last TLS handshake attempt (≤ 512),
    /// kept for diagnosing a plaintext server answered with TLS.
    [[nodiscard]] const std::string& handshake_bytes() const noexcept;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

/// What the first bytes from a server look like (sans-I/O; used for diagnostics and `auto`).
enum class first_bytes_kind {
    empty,           ///< nothing received
    plaintext_line,  ///< printable text, e.g. "* OK", "+OK", "220 "
    tls_record,      ///< a TLS record header (handshake 0x16 or alert 0x15, version 0x03 0x0N)
    binary,          ///< something else
};
/// What classify_first_bytes() found.
struct first_bytes {
    first_bytes_kind kind = first_bytes_kind::empty;  ///< what the bytes look like
    std::string first_line;                           ///< printable first line (plaintext_line), trimmed to 120 chars
};
/// Looks at the first bytes a server sent (a few are enough) and says whether they are a
/// plaintext greeting, a TLS record, or neither; pure, no I/O.
MAILWIRE_API first_bytes classify_first_bytes(std::string_view bytes) noexcept;

}  // namespace mailwire::net
