// Charset conversion: native fast paths for UTF-8, ASCII and windows-1252; glibc iconv for the rest.
#include "mailwire/mime/charset.hpp"

#include <iconv.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <unordered_map>

namespace mailwire::mime {
namespace {

constexpr std::string_view replacement = "\xEF\xBF\xBD";  // U+FFFD

// windows-1252 0x80..0x9F; undefined slots map to the C1 control with the same value (WHATWG).
constexpr char16_t cp1252_high[32] = {0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
                                      0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
                                      0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
                                      0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178};

void append_code_point(std::string& out, char32_t cp) {
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

std::string cp1252_to_utf8(std::string_view in) {
    std::string out;
    out.reserve(in.size() + in.size() / 4);
    for (unsigned char c : in) {
        if (c < 0x80) out.push_back(static_cast<char>(c));
        else if (c < 0xA0) append_code_point(out, cp1252_high[c - 0x80]);
        else append_code_point(out, c);
    }
    return out;
}

// Length of the valid UTF-8 sequence at p (0 when invalid or truncated).
std::size_t utf8_seq_len(const unsigned char* p, const unsigned char* end) noexcept {
    const unsigned char c = p[0];
    if (c < 0x80) return 1;
    auto cont = [&](std::ptrdiff_t i) { return p + i < end && (p[i] & 0xC0) == 0x80; };
    if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (!cont(1) || !cont(2)) return 0;
        if (c == 0xE0 && p[1] < 0xA0) return 0;  // overlong
        if (c == 0xED && p[1] > 0x9F) return 0;  // surrogates
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (!cont(1) || !cont(2) || !cont(3)) return 0;
        if (c == 0xF0 && p[1] < 0x90) return 0;  // overlong
        if (c == 0xF4 && p[1] > 0x8F) return 0;  // > U+10FFFF
        return 4;
    }
    return 0;
}

bool is_ascii(std::string_view s) noexcept {
    const char* p = s.data();
    std::size_t n = s.size();
    while (n >= 8) {
        std::uint64_t w;
        std::memcpy(&w, p, 8);
        if (w & 0x8080808080808080ULL) return false;
        p += 8;
        n -= 8;
    }
    while (n--)
        if (static_cast<unsigned char>(*p++) & 0x80) return false;
    return true;
}

// Only names that look like charset names reach iconv_open: no "//TRANSLIT"-style suffixes,
// no slashes or other syntax from a hostile header.
bool plausible_name(std::string_view n) {
    if (n.empty() || n.size() > 40) return false;
    for (char c : n) {
        const bool ok = (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == ':' ||
                        c == '+' || c == '(' || c == ')';
        if (!ok) return false;
    }
    return true;
}

bool is_unknown_label(std::string_view n) { return n.empty() || n == "UNKNOWN-8BIT"; }

// iconv descriptors are costly to open (gconv module loading); keep one per charset per thread.
class iconv_cache {
public:
    ~iconv_cache() {
        for (auto& [name, cd] : map_)
            if (cd != reinterpret_cast<iconv_t>(-1)) iconv_close(cd);
    }
    iconv_t get(const std::string& from, const std::string& to) {
        const std::string key = from + '\n' + to;
        auto it = map_.find(key);
        if (it == map_.end()) {
            if (map_.size() > 64) {  // bound the cache against hostile label variety
                for (auto& [name, cd] : map_)
                    if (cd != reinterpret_cast<iconv_t>(-1)) iconv_close(cd);
                map_.clear();
            }
            it = map_.emplace(key, iconv_open(to.c_str(), from.c_str())).first;
        }
        if (it->second != reinterpret_cast<iconv_t>(-1)) iconv(it->second, nullptr, nullptr, nullptr, nullptr);
        return it->second;
    }

private:
    std::unordered_map<std::string, iconv_t> map_;
};

iconv_cache& cache() {
    thread_local iconv_cache c;
    return c;
}

// Runs iconv over `in`; invalid or truncated input bytes are replaced (by `repl`) and skipped.
// Returns false when some bytes were invalid.
bool run_iconv(iconv_t cd, std::string_view in, std::string& out, std::string_view repl, bool utf8_in = false) {
    bool clean = true;
    char* src = const_cast<char*>(in.data());
    std::size_t src_left = in.size();
    std::string buf(in.size() * 2 + 32, '\0');
    std::size_t used = 0;
    for (;;) {
        char* dst = buf.data() + used;
        std::size_t dst_left = buf.size() - used;
        const std::size_t r = src_left == 0 ? iconv(cd, nullptr, nullptr, &dst, &dst_left)  // flush shift state
                                            : iconv(cd, &src, &src_left, &dst, &dst_left);
        used = buf.size() - dst_left;
        if (r != static_cast<std::size_t>(-1)) {
            if (src_left == 0) {
                // Flush once more for stateful encodings (ISO-2022-JP returns to ASCII).
                dst = buf.data() + used;
                dst_left = buf.size() - used;
                if (iconv(cd, nullptr, nullptr, &dst, &dst_left) == static_cast<std::size_t>(-1) && errno == E2BIG) {
                    buf.resize(buf.size() + 64);
                    continue;
                }
                used = buf.size() - dst_left;
                break;
            }
            continue;
        }
        if (errno == E2BIG) {
            buf.resize(buf.size() * 2);
            continue;
        }
        // EILSEQ (invalid) or EINVAL (truncated at the end): replace one byte and go on.
        clean = false;
        if (buf.size() - used < repl.size()) buf.resize(buf.size() * 2 + repl.size());
        std::memcpy(buf.data() + used, repl.data(), repl.size());
        used += repl.size();
        ++src;
        --src_left;
        // From UTF-8, skip the whole character so it gets one replacement, not one per byte.
        while (utf8_in && src_left > 0 && (static_cast<unsigned char>(*src) & 0xC0) == 0x80) {
            ++src;
            --src_left;
        }
        iconv(cd, nullptr, nullptr, nullptr, nullptr);
        if (src_left == 0) break;
    }
    buf.resize(used);
    out += buf;
    return clean;
}

}  // namespace

bool is_valid_utf8(std::string_view s) noexcept {
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const auto* end = p + s.size();
    while (p < end) {
        // Skip ASCII eight bytes at a time.
        while (end - p >= 8) {
            std::uint64_t w;
            std::memcpy(&w, p, 8);
            if (w & 0x8080808080808080ULL) break;
            p += 8;
        }
        if (p == end) break;
        if (*p < 0x80) {
            ++p;
            continue;
        }
        const std::size_t n = utf8_seq_len(p, end);
        if (n == 0) return false;
        p += n;
    }
    return true;
}

std::string sanitize_utf8(std::string_view s) {
    if (is_valid_utf8(s)) return std::string(s);
    std::string out;
    out.reserve(s.size() + 16);
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const auto* end = p + s.size();
    while (p < end) {
        const std::size_t n = utf8_seq_len(p, end);
        if (n == 0) {
            out += replacement;
            ++p;
        } else {
            out.append(reinterpret_cast<const char*>(p), n);
            p += n;
        }
    }
    return out;
}

std::string normalize_charset_name(std::string_view name) {
    // Trim blanks and quotes; drop an RFC 2231 §5 language suffix.
    while (!name.empty() &&
           (name.front() == ' ' || name.front() == '\t' || name.front() == '"' || name.front() == '\''))
        name.remove_prefix(1);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t' || name.back() == '"' || name.back() == '\''))
        name.remove_suffix(1);
    if (auto star = name.find('*'); star != std::string_view::npos) name = name.substr(0, star);
    std::string n;
    n.reserve(name.size());
    for (char c : name) {
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
        if (c == '_') c = '-';
        n.push_back(c);
    }
    // Compare without separators so "UTF8", "UTF-8", "ISO8859-1", "ISO_8859-1:1987" all match.
    std::string key;
    for (char c : n)
        if (c != '-' && c != ' ' && c != '.') key.push_back(c);
    if (auto colon = key.find(':'); colon != std::string::npos) key.resize(colon);

    struct alias {
        std::string_view key, canonical;
    };
    static constexpr alias aliases[] = {
        {"UTF8", "UTF-8"},
        {"UNICODE11UTF8", "UTF-8"},
        {"USASCII", "US-ASCII"},
        {"ASCII", "US-ASCII"},
        {"ANSIX341968", "US-ASCII"},
        {"ISO646US", "US-ASCII"},
        {"646", "US-ASCII"},
        {"LATIN1", "ISO-8859-1"},
        {"L1", "ISO-8859-1"},
        {"ISO88591", "ISO-8859-1"},
        {"ISOLATIN1", "ISO-8859-1"},
        {"CP819", "ISO-8859-1"},
        {"LATIN2", "ISO-8859-2"},
        {"LATIN9", "ISO-8859-15"},
        {"ISO885915", "ISO-8859-15"},
        {"ISO88598I", "ISO-8859-8"},
        {"ISO88596I", "ISO-8859-6"},
        {"CP1252", "WINDOWS-1252"},
        {"XCP1252", "WINDOWS-1252"},
        {"WINDOWS1252", "WINDOWS-1252"},
        {"ANSI1252", "WINDOWS-1252"},
        {"KSC56011987", "CP949"},
        {"KSC5601", "CP949"},
        {"EUCKR", "CP949"},
        {"KOREAN", "CP949"},
        {"WINDOWS949", "CP949"},
        {"UHC", "CP949"},
        {"GB2312", "GB18030"},
        {"GBK", "GB18030"},
        {"CP936", "GB18030"},
        {"XGBK", "GB18030"},
        {"CHINESE", "GB18030"},
        {"EUCCN", "GB18030"},
        {"SHIFTJIS", "CP932"},
        {"SJIS", "CP932"},
        {"XSJIS", "CP932"},
        {"MSKANJI", "CP932"},
        {"WINDOWS31J", "CP932"},
        {"BIG5", "BIG5-HKSCS"},
        {"XXBIG5", "BIG5-HKSCS"},
        {"CNBIG5", "BIG5-HKSCS"},
        {"TIS620", "TIS-620"},
        {"WINDOWS874", "CP874"},
        {"MACINTOSH", "MACINTOSH"},
        {"XMACROMAN", "MACINTOSH"},
        {"MACROMAN", "MACINTOSH"},
        {"XUNKNOWN", "UNKNOWN-8BIT"},
        {"UNKNOWN8BIT", "UNKNOWN-8BIT"},
        {"UNKNOWN", "UNKNOWN-8BIT"},
        {"XUSERDEFINED", "UNKNOWN-8BIT"},
        {"DEFAULT", "UNKNOWN-8BIT"},
        {"8BIT", "UNKNOWN-8BIT"},
        {"UTF16", "UTF-16"},
        {"UTF16LE", "UTF-16LE"},
        {"UTF16BE", "UTF-16BE"},
        {"UTF7", "UTF-7"},
        {"UTF32", "UTF-32"},
    };
    for (const auto& a : aliases)
        if (key == a.key) return std::string(a.canonical);
    // windows-125x written as "cp125x" / "x-cp125x".
    if ((key.starts_with("CP125") || key.starts_with("XCP125")) && key.size() <= 7)
        return "WINDOWS-125" + key.substr(key.size() - 1);
    if (key.starts_with("WINDOWS125") && key.size() == 11) return "WINDOWS-125" + key.substr(10);
    if (key.starts_with("ISO8859") && key.size() > 7) return "ISO-8859-" + key.substr(7);
    return n;
}

conversion to_utf8(std::string_view bytes, std::string_view charset) {
    conversion r;
    const std::string cs = normalize_charset_name(charset);
    if (is_ascii(bytes)) {
        // Every charset a mail client meets is ASCII-compatible except the UTF-16/32 and
        // ISO-2022/UTF-7 families; those still need the converter.
        const bool needs_conv = cs.starts_with("UTF-16") || cs.starts_with("UTF-32") || cs.starts_with("UCS") ||
                                cs.starts_with("UTF-7") || cs.starts_with("ISO-2022") || cs.starts_with("HZ");
        if (!needs_conv) {
            r.text.assign(bytes);
            return r;
        }
    }
    if (cs == "UTF-8") {
        if (is_valid_utf8(bytes)) {
            r.text.assign(bytes);
        } else {
            r.text = sanitize_utf8(bytes);
            r.ok = false;
            r.error = "invalid UTF-8 bytes replaced";
        }
        return r;
    }
    if (cs == "US-ASCII" || is_unknown_label(cs)) {
        // 8-bit bytes under an ASCII or unknown label: UTF-8 if it is, else the usual Western default.
        r.text = is_valid_utf8(bytes) ? std::string(bytes) : cp1252_to_utf8(bytes);
        return r;
    }
    if (cs == "ISO-8859-1" || cs == "WINDOWS-1252") {
        r.text = cp1252_to_utf8(bytes);
        return r;
    }
    iconv_t cd = plausible_name(cs) ? cache().get(cs, "UTF-8") : reinterpret_cast<iconv_t>(-1);
    if (cd == reinterpret_cast<iconv_t>(-1)) {
        r.text = sanitize_utf8(bytes);
        r.ok = false;
        r.error = "unknown charset '" + std::string(charset) + "'";
        return r;
    }
    if (!run_iconv(cd, bytes, r.text, replacement)) {
        r.ok = false;
        r.error = "invalid bytes for charset " + cs + " replaced";
    }
    if (!is_valid_utf8(r.text)) r.text = sanitize_utf8(r.text);  // belt and braces
    return r;
}

bool from_utf8(std::string_view utf8, std::string_view charset, std::string& out) {
    const std::string cs = normalize_charset_name(charset);
    if (cs == "UTF-8") {
        out.assign(utf8);
        return is_valid_utf8(utf8);
    }
    iconv_t cd = plausible_name(cs) ? cache().get("UTF-8", cs) : reinterpret_cast<iconv_t>(-1);
    if (cd == reinterpret_cast<iconv_t>(-1)) return false;
    out.clear();
    return run_iconv(cd, utf8, out, "?", true);
}

}  // namespace mailwire::mime
