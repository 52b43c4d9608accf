// Charset conversion to UTF-8 (glibc iconv underneath) and UTF-8 validation.
//
// Mail declares charsets loosely: aliases, typos, "x-unknown", labels that lie ("us-ascii" on
// 8-bit text). These functions never throw; they report trouble in `conversion::ok`.
#pragma once

#include <string>
#include <string_view>

#include "mailwire/export.hpp"

namespace mailwire::mime {

/// Result of a conversion. `text` is always valid UTF-8.
struct conversion {
    std::string text;   ///< the converted text, UTF-8
    bool ok = true;     ///< false: unknown charset or invalid bytes for the charset (replaced by U+FFFD)
    std::string error;  ///< what went wrong, for a person ("unknown charset 'x-foo'")
};

/// Converts `bytes` declared as `charset` to UTF-8. Never throws.
/// - UTF-8 / US-ASCII: the bytes are kept; invalid UTF-8 sequences become U+FFFD (ok=false), except
///   that 8-bit text labelled US-ASCII (a common lie) is read as UTF-8 if valid, else windows-1252.
/// - ISO-8859-1 is read as windows-1252 (its superset, as browsers do).
/// - An empty or "unknown-8bit"-like label: UTF-8 if valid, else windows-1252 (ok stays true).
/// - An unknown charset: bytes kept as UTF-8 with invalid sequences replaced; ok=false and `error`
///   names the charset.
MAILWIRE_API conversion to_utf8(std::string_view bytes, std::string_view charset);

/// Converts UTF-8 to `charset` into `out`. False when the charset is unknown (out untouched) or
/// some characters could not be represented (each replaced by '?'). Rarely needed: mailwire writes UTF-8.
MAILWIRE_API bool from_utf8(std::string_view utf8, std::string_view charset, std::string& out);

/// True when `s` is well-formed UTF-8 (no overlongs, no surrogates, ≤ U+10FFFF).
MAILWIRE_API bool is_valid_utf8(std::string_view s) noexcept;

/// Replaces every invalid UTF-8 sequence by U+FFFD.
MAILWIRE_API std::string sanitize_utf8(std::string_view s);

/// Canonical iconv name for a MIME charset label: trims blanks and quotes, drops an RFC 2231
/// language suffix ("utf-8*en"), and maps aliases: "utf8"→"UTF-8", "latin1"→"ISO-8859-1",
/// "ks_c_5601-1987"/"euc-kr"→"CP949", "gb2312"/"gbk"→"GB18030", "shift_jis"→"CP932",
/// "x-unknown"/"unknown-8bit"→"UNKNOWN-8BIT"; anything else is upper-cased.
MAILWIRE_API std::string normalize_charset_name(std::string_view name);

}  // namespace mailwire::mime
