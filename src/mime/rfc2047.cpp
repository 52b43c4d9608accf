// RFC 2047 encoded words: tolerant decoding and minimal encoding.
#include "mailwire/mime/rfc2047.hpp"

#include <algorithm>
#include <vector>

#include "mailwire/mime/charset.hpp"
#include "mailwire/mime/encoding.hpp"
#include "mime/detail_rfc2047.hpp"
#include "mime/detail_text.hpp"

namespace mailwire::mime {
namespace {

using detail::is_wsp;

struct word {
    std::string charset;  // normalised
    std::string bytes;    // decoded, still in `charset`
};

bool is_b64_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' || c == '/' ||
           c == '=';
}

// Tries to read an encoded word at s[k] ("=?"); on success fills `w` and returns the index after "?=".
std::size_t parse_word(std::string_view s, std::size_t k, word& w) {
    std::size_t i = k + 2;
    // Bounded searches only: a header full of "=?" fragments must not take quadratic time.
    const std::size_t q1 = s.substr(0, std::min(s.size(), i + 65)).find('?', i);
    if (q1 == std::string_view::npos || q1 == i) return 0;
    const std::string_view charset = s.substr(i, q1 - i);
    for (char c : charset)
        if (is_wsp(c) || c == '=' || c == '"') return 0;
    if (q1 + 2 >= s.size() || s[q1 + 2] != '?') return 0;
    const char enc = detail::ascii_lower(s[q1 + 1]);
    if (enc != 'b' && enc != 'q') return 0;
    const std::size_t text_begin = q1 + 3;
    // The text ends at "?="; reaching another "=?" first means this word is broken (unterminated).
    std::size_t end = text_begin;
    for (;; ++end) {
        if (end + 1 >= s.size()) return 0;
        if (s[end] == '?' && s[end + 1] == '=') break;
        // "=?" starts another word, except "=?=" (base64 padding, then the end of this word).
        if (s[end] == '=' && s[end + 1] == '?' && (end + 2 >= s.size() || s[end + 2] != '=')) return 0;
    }
    const std::string_view text = s.substr(text_begin, end - text_begin);
    if (enc == 'b') {
        for (char c : text)
            if (!is_b64_char(c)) return 0;
        w.bytes = base64_decode(text);
    } else {
        // Q: blanks are not allowed, but some mailers leave them in; keep them as spaces.
        w.bytes = qp_decode(text, true);
    }
    w.charset = normalize_charset_name(charset);
    return end + 2;
}

void append_raw(std::string& out, std::string_view text) {
    if (detail::is_ascii_text(text)) out.append(text);
    else out += to_utf8(text, "").text;  // raw 8-bit: UTF-8 if valid, else windows-1252
}

// ---- encoding ----

bool needs_encoding(std::string_view w) {
    for (unsigned char c : w)
        if (c >= 0x80 || c < 0x20 || c == 0x7F) return true;
    return w.find("=?") != std::string_view::npos;
}

bool q_safe(unsigned char c) {
    // RFC 2047 §5(3): the most restrictive set, valid in a phrase as well as in text.
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '!' || c == '*' ||
           c == '+' || c == '-' || c == '/';
}

std::size_t q_len(unsigned char c) { return (q_safe(c) || c == ' ') ? 1 : 3; }

void q_append(std::string& out, unsigned char c) {
    if (c == ' ') out.push_back('_');
    else if (q_safe(c)) out.push_back(static_cast<char>(c));
    else {
        out.push_back('=');
        out.push_back(detail::hex_upper[c >> 4]);
        out.push_back(detail::hex_upper[c & 15]);
    }
}

std::size_t char_len(std::string_view s, std::size_t i) {
    std::size_t j = i + 1;
    while (j < s.size() && (static_cast<unsigned char>(s[j]) & 0xC0) == 0x80 && j - i < 4) ++j;
    return j - i;
}

// Encodes `s` as a sequence of encoded words of at most 75 characters each.
// The first word is at most `first_max` characters (to fit the rest of the current line).
std::vector<std::string> encode_run(std::string_view s, std::size_t first_max = 75) {
    constexpr std::size_t overhead = 12;  // "=?utf-8?X?" + "?="
    std::size_t qtotal = 0;
    for (unsigned char c : s) qtotal += q_len(c);
    const std::size_t btotal = (s.size() + 2) / 3 * 4;
    const bool use_b = btotal < qtotal;
    std::vector<std::string> words;
    std::size_t i = 0;
    while (i < s.size()) {
        const std::size_t room = (words.empty() ? first_max : 75) - overhead;
        std::size_t j = i, len = 0;
        while (j < s.size()) {
            const std::size_t n = char_len(s, j);
            std::size_t add = 0;
            if (use_b) {
                add = (j + n - i + 2) / 3 * 4 - len;
            } else {
                for (std::size_t k = j; k < j + n; ++k) add += q_len(static_cast<unsigned char>(s[k]));
            }
            if (len + add > room && j > i) break;
            len += add;
            j += n;
        }
        std::string w = use_b ? "=?utf-8?B?" : "=?utf-8?Q?";
        if (use_b) {
            w += base64_encode(s.substr(i, j - i), 0);
        } else {
            for (std::size_t k = i; k < j; ++k) q_append(w, static_cast<unsigned char>(s[k]));
        }
        w += "?=";
        words.push_back(std::move(w));
        i = j;
    }
    return words;
}

}  // namespace

std::string decode_header_text(std::string_view raw) {
    // Unfold: a header value has no real line breaks.
    std::string s;
    s.reserve(raw.size());
    for (char c : raw)
        if (c != '\r' && c != '\n') s.push_back(c);

    std::string out;
    out.reserve(s.size());
    word pending;  // adjacent encoded words in one charset, joined before conversion
    bool have_pending = false;
    std::size_t pos = 0;  // start of text not yet emitted
    auto flush = [&] {
        if (have_pending) out += to_utf8(pending.bytes, pending.charset).text;
        have_pending = false;
        pending.bytes.clear();
    };
    std::size_t k = s.find("=?");
    while (k != std::string::npos) {
        word w;
        const std::size_t end = parse_word(s, k, w);
        if (end == 0) {
            k = s.find("=?", k + 2);
            continue;
        }
        const std::string_view between = std::string_view(s).substr(pos, k - pos);
        bool only_blanks = true;
        for (char c : between)
            if (!is_wsp(c)) only_blanks = false;
        if (have_pending && only_blanks) {
            // RFC 2047 §6.2: whitespace between adjacent encoded words is dropped.
            if (w.charset == pending.charset) {
                pending.bytes += w.bytes;
            } else {
                flush();
                pending = std::move(w);
                have_pending = true;
            }
        } else {
            flush();
            append_raw(out, between);
            pending = std::move(w);
            have_pending = true;
        }
        pos = end;
        k = s.find("=?", end);
    }
    flush();
    append_raw(out, std::string_view(s).substr(pos));
    return out;
}

std::string encode_header_text(std::string_view utf8, std::size_t first_line_used) {
    // Unstructured text is one logical line: line breaks become spaces and controls go, so
    // neither the header nor (after decoding) the reader's copy of it can gain a line.
    return detail::encode_words(detail::single_line_text(utf8), false, true, first_line_used);
}

std::string detail::encode_words(std::string_view utf8, bool phrase, bool fold, std::size_t first_line_used) {
    // Split on single spaces; consecutive words that need encoding form one encoded run.
    std::vector<std::string_view> words;
    for (std::size_t b = 0;;) {
        const std::size_t e = utf8.find(' ', b);
        words.push_back(utf8.substr(b, e == std::string_view::npos ? std::string_view::npos : e - b));
        if (e == std::string_view::npos) break;
        b = e + 1;
    }
    bool any = false;
    for (auto w : words) any = any || needs_encoding(w);
    if (!any) return std::string(utf8);
    bool encode_all = false;
    if (phrase) {
        // A phrase is atoms and encoded words only: one word with specials means encode it all.
        // Runs of spaces would collapse when the phrase is read back: keep them inside the words.
        for (auto w : words) {
            encode_all = encode_all || w.empty();
            for (char c : w) encode_all = encode_all || !detail::is_atext(c);
        }
    }
    // Atoms are printed separated by " " or a fold, both of which unfold to " ".
    std::string out;
    std::size_t line = first_line_used;
    bool first = true;
    auto put = [&](const std::string& atom) {
        if (!first) {
            if (fold && line + 1 + atom.size() > 76 && line > 1) {
                out += "\r\n ";
                line = 1;
            } else {
                out.push_back(' ');
                ++line;
            }
        }
        first = false;
        out += atom;
        line += atom.size();
    };
    auto put_run = [&](std::string_view text) {
        // Size the first encoded word to what is left of the line, unless that is too little.
        const std::size_t used = line + (first ? 0 : 1);
        const std::size_t avail = used < 76 ? 76 - used : 0;
        const std::size_t first_max = fold && avail >= 24 ? std::min<std::size_t>(75, avail) : 75;
        for (auto& w : encode_run(text, first_max)) put(w);
    };
    if (encode_all) {
        put_run(utf8);
        return out;
    }
    for (std::size_t i = 0; i < words.size();) {
        if (!needs_encoding(words[i])) {
            put(std::string(words[i]));
            ++i;
            continue;
        }
        std::size_t j = i + 1;
        for (;;) {
            // Extend over words needing encoding, and over empty words (runs of spaces) that lie
            // between two of them, whose spaces would otherwise vanish between encoded words.
            std::size_t k = j;
            while (k < words.size() && words[k].empty()) ++k;
            if (k < words.size() && needs_encoding(words[k])) j = k + 1;
            else break;
        }
        // The run's inner spaces go inside the encoded text: blanks between words are dropped.
        const char* b = words[i].data();
        const char* e = words[j - 1].data() + words[j - 1].size();
        put_run(std::string_view(b, static_cast<std::size_t>(e - b)));
        i = j;
    }
    return out;
}

}  // namespace mailwire::mime
