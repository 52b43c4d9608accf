// Turning what arrived on the wire into errors a person can act on: the plaintext/TLS port
// mix-up in both directions, version and cipher mismatches, rejected certificates.
#pragma once

#include <chrono>
#include <string>

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
diagnosis diagnose_handshake_failure(const error_context& ctx, const std::string& bytes, unsigned long lib_err,
                                     const std::string& openssl_text, int ssl_error, bool eof, int sys_errno,
                                     const std::string& versions);
/// The server said nothing after our ClientHello.
diagnosis diagnose_handshake_timeout(const error_context& ctx, const std::string& bytes,
                                     std::chrono::milliseconds timeout);
/// No greeting arrived on a connection we expected to greet in plaintext.
diagnosis diagnose_greeting_timeout(const error_context& ctx, std::chrono::milliseconds timeout);
/// The first bytes of a connection expected to greet in plaintext were a TLS record or binary.
diagnosis diagnose_unexpected_greeting(const error_context& ctx, const std::string& bytes);
/// Fills detail and hint for a rejected certificate.
diagnosis diagnose_certificate(const error_context& ctx, const certificate_check& check, const std::string& why);

}  // namespace mailwire::net
