// Turning what arrived on the wire into errors a person can act on: the plaintext/TLS port
// mix-up in both directions, version and cipher mismatches, rejected certificates.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "mailwire/error.hpp"
#include "mailwire/security.hpp"

namespace mailwire::net {

struct diagnosis {
    errc code;
    std::string detail;
    error_context ctx;
};

/// A TLS handshake failed. `bytes` are what the server sent meanwhile; `lib_err` the first
/// OpenSSL error code; `versions` the range we offered ("TLSv1.2–TLSv1.3").
/// `cert_requested`: the server sent a CertificateRequest; `client_cert_sent`: one was configured.
diagnosis diagnose_handshake_failure(const error_context& ctx, const std::string& bytes, unsigned long lib_err,
                                     const std::string& openssl_text, int ssl_error, bool eof, int sys_errno,
                                     const std::string& versions, bool cert_requested = false,
                                     bool client_cert_sent = false);
/// The server said nothing after our ClientHello.
diagnosis diagnose_handshake_timeout(const error_context& ctx, const std::string& bytes,
                                     std::chrono::milliseconds timeout);
/// No greeting arrived on a connection we expected to greet in plaintext.
diagnosis diagnose_greeting_timeout(const error_context& ctx, std::chrono::milliseconds timeout);
/// The server said nothing for `silence` and then closed without a greeting: the same finding as
/// diagnose_greeting_timeout() (a TLS-first port that gave up waiting for our ClientHello).
diagnosis diagnose_silent_close(const error_context& ctx, std::chrono::milliseconds silence);
/// A close this long after silence counts as "gave up waiting for TLS", not as a refusal.
inline constexpr std::chrono::milliseconds silent_close_threshold{1500};
/// The greeting line `line` belongs to another mail protocol than ctx.protocol (`* OK`, `+OK`,
/// `220 `): names the protocol found, its usual ports and the fix. Falls back to "not a <protocol>
/// greeting" for anything else. Every protocol client's greeting check ends here.
diagnosis diagnose_foreign_greeting(const error_context& ctx, std::string_view line);
/// The server accepted STARTTLS (`accepted` is its reply) and then answered the handshake with
/// plaintext (`e`, a tls_plaintext_greeting): a server fault, not the client's choice of port.
diagnosis diagnose_starttls_not_started(const error_context& ctx, const error& e);
/// A TLS alert or error on the first reads after the handshake: TLS 1.3 servers that want a
/// client certificate send `certificate_required` here. Returns a diagnosis with an empty detail
/// when the error has nothing more specific to say than OpenSSL's text.
diagnosis diagnose_tls_read_failure(const error_context& ctx, unsigned long lib_err, const std::string& openssl_text,
                                    bool client_cert_sent);
/// Printable ASCII only, at most `max` bytes: server text that goes into an error detail.
std::string sanitize_server_text(std::string_view text, std::size_t max = 120);
/// The first bytes of a connection expected to greet in plaintext were a TLS record or binary.
diagnosis diagnose_unexpected_greeting(const error_context& ctx, const std::string& bytes);
/// Fills detail and hint for a rejected certificate.
diagnosis diagnose_certificate(const error_context& ctx, const certificate_check& check, const std::string& why);

}  // namespace mailwire::net
