/// \file
/// Base64 (RFC 4648 §4) for SASL payloads: IMAP AUTHENTICATE, POP3 AUTH and SMTP AUTH all carry
/// SASL messages base64-encoded on one line (RFC 4422 §5).
#pragma once

#include <string>
#include <string_view>

#include "mailwire/export.hpp"
#include "mailwire/secret.hpp"

namespace mailwire::sasl {

/// Standard alphabet with "=" padding, no line breaks.
MAILWIRE_API std::string base64_encode(std::string_view bytes);

/// base64_encode() into a mailwire::secret, for a SASL message that carries a credential: the
/// encoding is as good as the password to whoever reads it from freed memory.
MAILWIRE_API secret base64_encode_secret(std::string_view bytes);

/// Strict decoder: standard alphabet only, length a multiple of 4, correct "=" padding, zero
/// trailing bits (the canonical encoding), no whitespace. "" decodes to "". Anything else throws
/// auth_error(errc::protocol_violation): a server challenge that does not decode means the
/// exchange must be cancelled, while the session itself stays usable.
/// (The protocol layer handles SASL-IR's "=" for an empty initial response itself.)
MAILWIRE_API std::string base64_decode(std::string_view text);

}  // namespace mailwire::sasl
