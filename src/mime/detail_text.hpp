// Small text helpers shared by the MIME codecs (internal).
#pragma once

#include <string>
#include <string_view>

namespace mailwire::mime::detail {

inline char ascii_lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

inline std::string to_lower(std::string_view s) {
    std::string r(s);
    for (auto& c : r) c = ascii_lower(c);
    return r;
}

inline bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
    return true;
}

inline bool is_wsp(char c) noexcept { return c == ' ' || c == '\t'; }
inline bool is_blank(char c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

inline std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
    return s;
}

/// Unstructured header text (Subject, display and group names, file names) made safe for a
/// header: every line break (CRLF, bare CR or bare LF) and the blanks around it become one space,
/// as unfolding would (RFC 5322 §2.2.3), and the other C0 controls (HT excepted) and DEL are
/// removed, so no caller- or sender-supplied text can start a new header line. Idempotent.
inline std::string single_line_text(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    std::size_t i = 0;
    while (i < s.size()) {
        const char c = s[i];
        if (c == '\r' || c == '\n') {
            while (!out.empty() && is_wsp(out.back())) out.pop_back();
            while (i < s.size() && (is_blank(s[i]) || s[i] == '\0')) ++i;
            out += ' ';
            continue;
        }
        const auto u = static_cast<unsigned char>(c);
        if ((u >= 0x20 && u != 0x7F) || c == '\t') out += c;
        ++i;
    }
    return out;
}

/// Hex digit value, -1 when not a hex digit (either case).
inline int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

inline constexpr char hex_upper[] = "0123456789ABCDEF";

inline bool is_ascii_text(std::string_view s) noexcept {
    for (unsigned char c : s)
        if (c >= 0x80) return false;
    return true;
}

/// RFC 2045 token character: printable ASCII except SPACE and tspecials.
inline bool is_token_char(char ch) noexcept {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c >= 0x7F) return false;
    switch (c) {
    case '(':
    case ')':
    case '<':
    case '>':
    case '@':
    case ',':
    case ';':
    case ':':
    case '\\':
    case '"':
    case '/':
    case '[':
    case ']':
    case '?':
    case '=':
        return false;
    default:
        return true;
    }
}

/// Skips an RFC 5322 comment starting at s[i] == '('; returns the index after it (nesting and
/// quoted-pairs honoured; an unterminated comment runs to the end).
inline std::size_t skip_comment(std::string_view s, std::size_t i) noexcept {
    int depth = 0;
    for (; i < s.size(); ++i) {
        const char c = s[i];
        if (c == '\\') {
            ++i;
        } else if (c == '(') {
            ++depth;
        } else if (c == ')') {
            if (--depth == 0) return i + 1;
        }
    }
    return s.size();
}

}  // namespace mailwire::mime::detail
