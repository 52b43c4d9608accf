// RFC 2047 encoded words ("=?charset?B?...?=") in unstructured header text and phrases.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "mailwire/export.hpp"

namespace mailwire::mime {

/// Decodes a raw header value into UTF-8 text:
/// - unfolds (CRLF/LF followed by a blank is removed, the blank kept);
/// - decodes B and Q encoded words (charsets via to_utf8; an RFC 2231 language suffix
///   "utf-8*en" is ignored) even when a sloppy mailer glued them to other text;
/// - drops the whitespace between adjacent encoded words (RFC 2047 §6.2) and joins their bytes
///   before charset conversion, so a character split across two words comes out whole;
/// - leaves broken words (unterminated, bad encoding letter, invalid base64) as they are;
/// - reads raw 8-bit text as UTF-8 when valid, else as windows-1252.
/// Never throws; the result is always valid UTF-8.
MAILWIRE_API std::string decode_header_text(std::string_view raw);

/// Encodes UTF-8 text for an unstructured header or a display-name phrase, only where needed:
/// text that is printable ASCII (and contains no "=?") is returned unchanged. Otherwise runs of
/// words that need it become encoded words (charset utf-8, B or Q whichever is shorter, each
/// word ≤ 75 characters, split only on UTF-8 character boundaries; Q uses the phrase-safe
/// alphabet of RFC 2047 §5(3)), plain words are kept, and the line is folded with CRLF SP so no
/// line exceeds 76 characters where possible. `first_line_used` is how much of the first line the
/// caller has already used (e.g. "Subject: " = 9).
///
/// The text is first made single-line, so it can never inject a header: every line break
/// (CRLF, bare CR or bare LF) with the blanks around it becomes one space (RFC 5322 §2.2.3
/// unfolding), and other C0 controls (tab excepted) and DEL are removed. Decoding the result
/// therefore gives that single-line text, not necessarily `utf8` itself.
MAILWIRE_API std::string encode_header_text(std::string_view utf8, std::size_t first_line_used = 0);

}  // namespace mailwire::mime
