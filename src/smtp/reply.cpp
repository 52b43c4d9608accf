#include "mailwire/smtp/reply.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <unordered_set>

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
