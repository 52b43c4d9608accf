#include "mailwire/smtp/reply.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <initializer_list>
#include <unordered_set>
#include <vector>

#include "mailwire/error.hpp"

namespace mailwire::smtp {
namespace {

std::string upper(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::toupper(c); });
    return out;
}

// RFC 3463 §2: class "." subject "." detail, class in {2,4,5}, 1–3 digits each.
std::size_t enhanced_code_length(std::string_view t) {
    std::size_t i = 0;
    auto digits = [&](std::size_t max) {
        std::size_t n = 0;
        while (i < t.size() && std::isdigit(static_cast<unsigned char>(t[i])) && n < max) ++i, ++n;
        return n;
    };
    if (t.empty() || (t[0] != '2' && t[0] != '4' && t[0] != '5')) return 0;
    ++i;
    if (i >= t.size() || t[i] != '.') return 0;
    ++i;
    if (digits(3) == 0 || i >= t.size() || t[i] != '.') return 0;
    ++i;
    if (digits(3) == 0) return 0;
    if (i < t.size() && t[i] != ' ') return 0;
    return i;
}

}  // namespace

std::string reply::text() const {
    std::string out;
    for (const auto& l : lines) {
        std::string_view t = l;
        if (auto n = enhanced_code_length(t); n != 0 && !enhanced_code.empty()) {
            t.remove_prefix(n);
            if (!t.empty() && t.front() == ' ') t.remove_prefix(1);
        }
        if (!out.empty()) out += '\n';
        out += t;
    }
    return out;
}

bool reply_parser::feed_line(std::string_view line) {
    if (complete_) throw protocol_error(errc::protocol_violation, "reply_parser: take() the previous reply first");
    if (line.size() < 3 || !std::isdigit(static_cast<unsigned char>(line[0])) ||
        !std::isdigit(static_cast<unsigned char>(line[1])) || !std::isdigit(static_cast<unsigned char>(line[2])) ||
        line[0] < '2' || line[0] > '5' || (line.size() > 3 && line[3] != ' ' && line[3] != '-')) {
        throw protocol_error(errc::protocol_violation,
                             fmt::format("malformed SMTP reply line `{}`", line.substr(0, 80)));
    }
    const int code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
    if (current_.lines.empty()) {
        current_.code = code;
    } else if (code != current_.code) {
        throw protocol_error(errc::protocol_violation,
                             fmt::format("SMTP multi-line reply changed code from {} to {}", current_.code, code));
    }
    // Bound the whole reply, not only its lines: 4096 lines of 1 MiB each would still be 4 GiB.
    if (current_.lines.size() >= max_lines_)
        throw protocol_error(errc::limit_exceeded, fmt::format("an SMTP reply exceeded {} lines", max_lines_));
    const std::size_t wire = line.size() + 2;  // as sent, with its CRLF
    if (wire > max_bytes_ || bytes_ > max_bytes_ - wire)
        throw protocol_error(errc::limit_exceeded, fmt::format("an SMTP reply exceeded {} bytes", max_bytes_));
    bytes_ += wire;
    std::string_view text = line.size() > 4 ? line.substr(4) : std::string_view{};
    if (current_.lines.empty()) {
        if (auto n = enhanced_code_length(text); n != 0 && text[0] == line[0])
            current_.enhanced_code = std::string(text.substr(0, n));
    }
    current_.lines.emplace_back(text);
    complete_ = line.size() == 3 || line[3] == ' ';
    return complete_;
}

reply reply_parser::take() {
    reply r = std::move(current_);
    current_ = {};
    complete_ = false;
    bytes_ = 0;
    return r;
}

// ---- queue ids -------------------------------------------------------------------------------

namespace {

constexpr std::size_t max_queue_line = 1024;  // of each reply line, only this much is looked at
constexpr std::size_t max_queue_id = 128;

bool is_id_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-' || c == '.' || c == '_'; }
bool has_digit(std::string_view w) {
    return std::any_of(w.begin(), w.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; });
}

// `w` when it can be an id: 1..max_queue_id letters, digits and "-._", trailing dots (the end
// of a sentence) removed; "" otherwise.
std::string id_word(std::string_view w) {
    while (!w.empty() && w.back() == '.') w.remove_suffix(1);
    if (w.empty() || w.size() > max_queue_id || !std::all_of(w.begin(), w.end(), is_id_char)) return {};
    return std::string(w);
}

bool iequal(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

// The line's words (split at blanks), at most 64 of them.
std::vector<std::string_view> words_of(std::string_view line) {
    std::vector<std::string_view> w;
    std::size_t i = 0;
    while (i < line.size() && w.size() < 64) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
        const std::size_t b = i;
        while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
        if (i > b) w.push_back(line.substr(b, i - b));
    }
    return w;
}

// Index of the first word sequence equal (any case) to `phrase`'s words, or npos.
std::size_t find_words(const std::vector<std::string_view>& w, std::initializer_list<std::string_view> phrase) {
    for (std::size_t i = 0; i + phrase.size() <= w.size(); ++i) {
        std::size_t k = 0;
        for (const auto p : phrase) {
            if (!iequal(w[i + k], p)) break;
            ++k;
        }
        if (k == phrase.size()) return i;
    }
    return std::string_view::npos;
}

// The id right after `key` glued to it ("id=X", "(X)", "[InternalId=X,"), in word `word`.
std::string glued_id(std::string_view word, std::string_view key, std::string_view trim) {
    if (word.size() <= key.size() || !iequal(word.substr(0, key.size()), key)) return {};
    word.remove_prefix(key.size());
    while (!word.empty() && trim.find(word.back()) != std::string_view::npos) word.remove_suffix(1);
    return id_word(word);
}

std::string queue_id_in(std::string_view line) {
    if (line.size() > max_queue_line) line = line.substr(0, max_queue_line);
    const auto w = words_of(line);
    constexpr auto npos = std::string_view::npos;
    auto after = [&](std::size_t i) { return i < w.size() ? id_word(w[i]) : std::string(); };
    // Postfix: "Ok: queued as X".
    if (auto i = find_words(w, {"queued", "as"}); i != npos) return after(i + 2);
    // Stalwart: "Message queued with id X."
    if (auto i = find_words(w, {"queued", "with", "id"}); i != npos) return after(i + 3);
    // Haraka: "Message Queued (X)".
    if (auto i = find_words(w, {"message", "queued"}); i != npos && i + 2 < w.size())
        if (auto id = glued_id(w[i + 2], "(", ")"); !id.empty()) return id;
    for (const auto word : w) {
        if (auto id = glued_id(word, "[InternalId=", ",]"); !id.empty()) return id;  // Exchange
        if (auto id = glued_id(word, "id=", ""); !id.empty()) return id;             // Exim
    }
    // Sendmail, OpenSMTPD: "X Message accepted for delivery"; the word before must not be the
    // enhanced code (OpenSMTPD writes "2.0.0:", which the reply parser does not strip).
    if (auto i = find_words(w, {"message", "accepted", "for", "delivery"}); i != npos && i > 0)
        if (auto id = id_word(w[i - 1]); !id.empty() && id.find('.') == std::string::npos && has_digit(id)) return id;
    // Gmail: "OK  1700000000 X - gsmtp".
    if (w.size() >= 3 && w.back() == "gsmtp" && w[w.size() - 2] == "-")
        if (auto id = id_word(w[w.size() - 3]); has_digit(id)) return id;
    // qmail: "ok 1700000000 qp 12345".
    if (w.size() == 4 && iequal(w[0], "ok") && w[2] == "qp" && has_digit(w[1]))
        if (auto id = id_word(w[3]); has_digit(id)) return id;
    const auto hex_with = [](std::string_view x, char sep) {
        return x.find(sep) != npos && std::all_of(x.begin(), x.end(), [&](char c) {
                   return c == sep || std::isxdigit(static_cast<unsigned char>(c)) != 0;
               });
    };
    // Courier: "Ok. 0000000A1B2C.5F3E4D2C.00001234".
    if (w.size() >= 2 && iequal(w[0], "ok.") && hex_with(w[1], '.')) return id_word(w[1]);
    // Amazon SES: "Ok 0100018b1c2d3e4f-…-000000".
    if (w.size() == 2 && iequal(w[0], "ok") && w[1].size() >= 16 && hex_with(w[1], '-')) return id_word(w[1]);
    return {};
}

}  // namespace

std::string queue_id(const reply& r) {
    if (!r.positive()) return {};
    for (std::size_t i = 0; i < r.lines.size(); ++i) {
        // The text as text() gives it: the enhanced code of each line stripped.
        reply one;
        one.enhanced_code = r.enhanced_code;
        one.lines.push_back(r.lines[i]);
        if (auto id = queue_id_in(one.text()); !id.empty()) return id;
    }
    return {};
}

bool capabilities::has(std::string_view keyword) const { return keywords.contains(upper(keyword)); }

capabilities parse_ehlo(const reply& r, std::size_t max_mechanisms) {
    capabilities caps;
    // Mechanisms seen so far: a linear search per mechanism would make a long AUTH line quadratic.
    std::unordered_set<std::string> seen_mechanisms;
    caps.extended = true;
    if (!r.lines.empty()) {
        std::string_view first = r.lines.front();
        caps.domain = std::string(first.substr(0, first.find(' ')));
    }
    for (std::size_t i = 1; i < r.lines.size(); ++i) {
        std::string_view l = r.lines[i];
        while (!l.empty() && l.back() == ' ') l.remove_suffix(1);
        const auto sp = l.find_first_of(" =");  // some servers still send "AUTH=LOGIN"
        std::string kw = upper(l.substr(0, sp));
        std::string params = sp == std::string_view::npos ? std::string() : std::string(l.substr(sp + 1));
        if (kw.empty()) continue;
        if (kw == "AUTH") {
            std::size_t pos = 0;
            while (pos < params.size()) {
                auto end = params.find(' ', pos);
                if (end == std::string::npos) end = params.size();
                if (end > pos) {
                    auto mech = upper(std::string_view(params).substr(pos, end - pos));
                    if (seen_mechanisms.insert(mech).second) {
                        if (caps.auth.size() >= max_mechanisms)
                            throw protocol_error(errc::limit_exceeded,
                                                 fmt::format("the EHLO reply lists more than {} AUTH mechanisms",
                                                             max_mechanisms));
                        caps.auth.push_back(std::move(mech));
                    }
                }
                pos = end + 1;
            }
        } else if (kw == "SIZE") {
            caps.has_size = true;
            caps.size = 0;
            for (char c : params) {
                if (!std::isdigit(static_cast<unsigned char>(c))) break;
                if (caps.size > (UINT64_MAX - 9) / 10) break;  // absurd values are not an error
                caps.size = caps.size * 10 + static_cast<std::uint64_t>(c - '0');
            }
        }
        caps.pipelining |= kw == "PIPELINING";
        caps.eight_bit_mime |= kw == "8BITMIME";
        caps.binary_mime |= kw == "BINARYMIME";
        caps.chunking |= kw == "CHUNKING";
        caps.smtputf8 |= kw == "SMTPUTF8";
        caps.dsn |= kw == "DSN";
        caps.enhanced_status_codes |= kw == "ENHANCEDSTATUSCODES";
        caps.starttls |= kw == "STARTTLS";
        caps.requiretls |= kw == "REQUIRETLS";
        auto& slot = caps.keywords[kw];
        if (slot.empty()) slot = params;
    }
    return caps;
}

}  // namespace mailwire::smtp
