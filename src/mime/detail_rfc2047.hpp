// Internal: phrase encoding shared by rfc2047.cpp and address.cpp.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mailwire::mime::detail {

/// Encodes UTF-8 text as RFC 2047 words where needed. `phrase`: the result must be a valid
/// RFC 5322 phrase, so if any word is encoded, plain words with specials are encoded as well.
/// `fold`: fold with CRLF SP to keep lines ≤ 76 (counting `first_line_used`).
std::string encode_words(std::string_view utf8, bool phrase, bool fold, std::size_t first_line_used);

/// RFC 5322 atext (plus UTF-8 bytes, RFC 6532).
inline bool is_atext(char ch) noexcept {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x80) return true;
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return true;
    switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '/':
    case '=':
    case '?':
    case '^':
    case '_':
    case '`':
    case '{':
    case '|':
    case '}':
    case '~':
        return true;
    default:
        return false;
    }
}

}  // namespace mailwire::mime::detail
