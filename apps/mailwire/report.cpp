#include "report.hpp"

#include <fmt/format.h>

#include <cstdint>
#include <iostream>

namespace mailwire::cli {

namespace {

/// The code point of the UTF-8 sequence at s[i] and its length; length 0 when the bytes there are
/// not well-formed UTF-8 (overlong forms, surrogates and values above U+10FFFF included).
std::pair<char32_t, std::size_t> decode_utf8(std::string_view s, std::size_t i) {
    const auto b0 = static_cast<unsigned char>(s[i]);
    std::size_t len = 0;
    char32_t cp = 0, min = 0;
    if (b0 >= 0xC2 && b0 <= 0xDF) len = 2, cp = b0 & 0x1F, min = 0x80;
    else if (b0 >= 0xE0 && b0 <= 0xEF) len = 3, cp = b0 & 0x0F, min = 0x800;
    else if (b0 >= 0xF0 && b0 <= 0xF4) len = 4, cp = b0 & 0x07, min = 0x10000;
    else return {0, 0};
    if (i + len > s.size()) return {0, 0};
    for (std::size_t k = 1; k < len; ++k) {
        const auto b = static_cast<unsigned char>(s[i + k]);
        if ((b & 0xC0) != 0x80) return {0, 0};
        cp = (cp << 6) | (b & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return {0, 0};
    return {cp, len};
}

/// C1 controls, and the invisible characters that reorder or break a line: the bidirectional
/// embeddings and overrides (U+202A-U+202E), isolates (U+2066-U+2069), marks (U+200E, U+200F,
/// U+061C) and the line and paragraph separators (U+2028, U+2029).
bool neutralised(char32_t cp) {
    return (cp >= 0x80 && cp <= 0x9F) || (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) ||
           cp == 0x200E || cp == 0x200F || cp == 0x061C || cp == 0x2028 || cp == 0x2029;
}

}  // namespace

std::string terminal_text(std::string_view s, bool multiline) {
    std::string out;
    out.reserve(s.size());
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            if (c >= 0x20 && c != 0x7F) out += static_cast<char>(c);
            else if (c == '\t') out += multiline ? '\t' : ' ';
            else if (multiline && (c == '\n' || (c == '\r' && i + 1 < s.size() && s[i + 1] == '\n')))
                out += static_cast<char>(c);
            else out += fmt::format("\\x{:02x}", c);
            ++i;
            continue;
        }
        const auto [cp, len] = decode_utf8(s, i);
        if (len == 0) {
            out += fmt::format("\\x{:02x}", c);  // a lone 0x9B byte is CSI to an 8-bit terminal
            ++i;
        } else {
            if (neutralised(cp)) out += fmt::format("\\u{:04x}", static_cast<std::uint32_t>(cp));
            else out.append(s.substr(i, len));
            i += len;
        }
    }
    return out;
}

void print_out(std::string_view text) { std::cout << terminal_text(text, true); }

void print_err(std::string_view text) { std::cerr << terminal_text(text, true); }

std::string json_text(const nlohmann::json& j, int indent) {
    // error_handler_t::replace: bytes that are not UTF-8 become U+FFFD, so the dump is valid UTF-8.
    const std::string raw = j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
    std::string out;
    out.reserve(raw.size());
    std::size_t i = 0;
    while (i < raw.size()) {
        if (static_cast<unsigned char>(raw[i]) < 0x80) {
            out += raw[i++];
            continue;
        }
        const auto [cp, len] = decode_utf8(raw, i);
        if (len == 0) {  // cannot happen after the replace handler; keep the byte rather than guess
            out += raw[i++];
            continue;
        }
        // Non-ASCII occurs only inside JSON strings, where \uNNNN denotes the same character.
        if (neutralised(cp)) out += fmt::format("\\u{:04x}", static_cast<std::uint32_t>(cp));
        else out.append(raw, i, len);
        i += len;
    }
    return out;
}

std::vector<std::string> wrap(const std::string& text, std::size_t width) {
    std::vector<std::string> out;
    if (width == 0) width = 1;
    std::string line;
    std::size_t i = 0;
    while (i < text.size()) {
        // Next word (spaces separate words; any other character belongs to one).
        std::size_t j = text.find(' ', i);
        if (j == std::string::npos) j = text.size();
        std::string word = text.substr(i, j - i);
        i = j < text.size() ? j + 1 : j;
        if (word.empty()) continue;
        while (!word.empty()) {
            const std::size_t room = line.empty() ? width : (line.size() + 1 < width ? width - line.size() - 1 : 0);
            if (word.size() <= room) {
                if (!line.empty()) line += ' ';
                line += word;
                word.clear();
            } else if (!line.empty()) {
                out.push_back(line);
                line.clear();
            } else {
                // A word longer than a line: break it, preferably after a ':' or ','.
                std::size_t cut = width;
                for (std::size_t k = width; k > width / 2; --k)
                    if (word[k - 1] == ':' || word[k - 1] == ',') {
                        cut = k;
                        break;
                    }
                out.push_back(word.substr(0, cut));
                word.erase(0, cut);
            }
        }
    }
    if (!line.empty() || out.empty()) out.push_back(line);
    return out;
}

void text_report::heading(const std::string& raw) {
    for (auto& l : wrap(terminal_text(raw), width_)) lines_.push_back(l);
}

void text_report::field(const std::string& raw_label, const std::string& raw_value) {
    const std::string label = terminal_text(raw_label), value = terminal_text(raw_value);
    const std::size_t lead = indent_ + label_width_;
    const std::size_t room = width_ > lead + 10 ? width_ - lead : 10;
    std::string head = std::string(indent_, ' ') + label;
    if (head.size() + 1 > lead) {
        // A label too long for the column gets a line of its own.
        lines_.push_back(head.substr(0, width_));
        head.clear();
    }
    head.resize(lead, ' ');
    bool first = true;
    for (auto& l : wrap(value.empty() ? std::string("-") : value, room)) {
        lines_.push_back((first ? head : std::string(lead, ' ')) + l);
        first = false;
    }
}

void text_report::fields(const std::string& label, const std::vector<std::string>& values) {
    if (values.empty()) {
        field(label, "-");
        return;
    }
    bool first = true;
    for (const auto& v : values) {
        field(first ? label : std::string(), v);
        first = false;
    }
}

void text_report::blank() { lines_.emplace_back(); }

std::string text_report::str() const {
    std::string out;
    for (const auto& l : lines_) {
        std::size_t end = l.find_last_not_of(' ');
        out.append(l, 0, end == std::string::npos ? 0 : end + 1);
        out += '\n';
    }
    return out;
}

}  // namespace mailwire::cli
