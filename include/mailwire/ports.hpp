/// \file
/// Standard ports per protocol and security mode (RFC 8314 recommends implicit TLS).
#pragma once

#include <cstdint>
#include <string_view>

#include "mailwire/export.hpp"
#include "mailwire/security.hpp"

namespace mailwire {

/// The mail protocols mailwire speaks (client_base::protocol(), error::protocol()).
enum class protocol {
    imap,  ///< IMAP4rev1, RFC 3501: mailbox access on the server
    pop3,  ///< POP3, RFC 1939: download and delete
    smtp,  ///< SMTP submission, RFC 5321 / RFC 6409: sending
};
/// "imap", "pop3" or "smtp", as in error_context::protocol.
MAILWIRE_API std::string_view to_string(protocol p) noexcept;

/// 993/995/465 for implicit TLS; 143/110/587 otherwise (587: submission; 25 is relay-only).
MAILWIRE_API std::uint16_t default_port(protocol p, security mode) noexcept;
/// The protocol's implicit-TLS port (993, 995, 465).
MAILWIRE_API std::uint16_t implicit_tls_port(protocol p) noexcept;
/// The protocol's plaintext/STARTTLS port (143, 110, 587).
MAILWIRE_API std::uint16_t starttls_port(protocol p) noexcept;
/// True for any of 993, 995, 465: ports where `auto` goes straight to TLS.
MAILWIRE_API bool is_implicit_tls_port(std::uint16_t port) noexcept;
/// Guess the protocol from a well-known port (143/993 imap, 110/995 pop3, 25/465/587/2525 smtp).
/// Returns false and leaves `out` unchanged for any other port.
MAILWIRE_API bool protocol_from_port(std::uint16_t port, protocol& out) noexcept;
/// The name of the protocol's upgrade command: "STARTTLS" or "STLS".
MAILWIRE_API std::string_view starttls_command(protocol p) noexcept;

}  // namespace mailwire
