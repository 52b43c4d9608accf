#include "mailwire/imap/status.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

#include "mailwire/error.hpp"

namespace mailwire::imap {
namespace {

std::string upper(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::toupper(c); });
    return out;
}

bool is_tag_char(char c) {
    // RFC 3501 §9: tag = 1*<any ASTRING-CHAR except "+">
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f && c != '(' && c != ')' && c != '{' && c != '%' && c != '*' && c != '"' && c != '\\' &&
           c != '+';
}

status status_of(std::string_view word) {
    const auto w = upper(word);
    if (w == "OK") return status::ok;
    if (w == "NO") return status::no;
    if (w == "BAD") return status::bad;
    if (w == "PREAUTH") return status::preauth;
    if (w == "BYE") return status::bye;
    return status::none;
}

}  // namespace

response_line parse_response_line(std::string_view line) {
    response_line r;
    std::string_view rest;
    if (line.starts_with("+")) {
        r.type = response_line::kind::continuation;
        rest = line.substr(1);
        if (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
        r.text = std::string(rest);
        return r;
    }
    if (line.starts_with("* ")) {
        r.type = response_line::kind::untagged;
        rest = line.substr(2);
    } else {
        auto sp = line.find(' ');
        auto tag = line.substr(0, sp);
        if (tag.empty() || sp == std::string_view::npos || !std::all_of(tag.begin(), tag.end(), is_tag_char))
            throw protocol_error(errc::protocol_violation,
                                 fmt::format("malformed IMAP response `{}`", line.substr(0, 80)));
        r.type = response_line::kind::tagged;
        r.tag = std::string(tag);
        rest = line.substr(sp + 1);
    }
    const auto sp = rest.find(' ');
    const auto word = rest.substr(0, sp);
    r.status = status_of(word);
    if (r.type == response_line::kind::tagged &&
        (r.status == status::none || r.status == status::preauth || r.status == status::bye))
        throw protocol_error(errc::protocol_violation,
                             fmt::format("tagged IMAP response without OK/NO/BAD: `{}`", line.substr(0, 80)));
    if (r.status == status::none) {
        r.text = std::string(rest);
        return r;
    }
    rest = sp == std::string_view::npos ? std::string_view{} : rest.substr(sp + 1);
    if (rest.starts_with('[')) {
        // resp-text-code; the code's arguments may contain nested brackets only in BADCHARSET lists
        // (parenthesised), so the first ']' closes it.
        auto close = rest.find(']');
        if (close == std::string_view::npos)
            throw protocol_error(errc::protocol_violation,
                                 fmt::format("unterminated response code in `{}`", line.substr(0, 80)));
        auto inner = rest.substr(1, close - 1);
        auto csp = inner.find(' ');
        r.code = upper(inner.substr(0, csp));
        if (csp != std::string_view::npos) r.code_args = std::string(inner.substr(csp + 1));
        rest.remove_prefix(close + 1);
        if (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    }
    r.text = std::string(rest);
    return r;
}

std::vector<std::string> parse_capabilities(std::string_view atoms) {
    std::vector<std::string> out;
    std::size_t pos = 0;
    while (pos < atoms.size()) {
        auto end = atoms.find(' ', pos);
        if (end == std::string_view::npos) end = atoms.size();
        if (end > pos) out.push_back(upper(atoms.substr(pos, end - pos)));
        pos = end + 1;
    }
    return out;
}

long long trailing_literal(std::string_view line) noexcept {
    if (!line.ends_with('}')) return -1;
    auto open = line.rfind('{');
    if (open == std::string_view::npos) return -1;
    auto digits = line.substr(open + 1, line.size() - open - 2);
    if (!digits.empty() && (digits.back() == '+' || digits.back() == '-')) digits.remove_suffix(1);
    if (digits.empty() || digits.size() > 18) return -1;
    long long n = 0;
    for (char c : digits) {
        if (!std::isdigit(static_cast<unsigned char>(c))) return -1;
        n = n * 10 + (c - '0');
    }
    return n;
}

}  // namespace mailwire::imap
