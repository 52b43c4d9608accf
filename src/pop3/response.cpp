#include "mailwire/pop3/response.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cstdint>

#include "mailwire/error.hpp"

namespace mailwire::pop3 {
namespace {
std::string upper(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::toupper(c); });
    return out;
}
std::string_view first_word(std::string_view l) { return l.substr(0, l.find(' ')); }
std::string_view rest(std::string_view l) {
    auto sp = l.find(' ');
    return sp == std::string_view::npos ? std::string_view{} : l.substr(sp + 1);
}
}  // namespace

status parse_status(std::string_view line) {
    status s;
    std::string_view text;
    if (line.starts_with("+OK")) {
        s.ok = true;
        text = line.substr(3);
    } else if (line.starts_with("-ERR")) {
        text = line.substr(4);
    } else {
        throw protocol_error(errc::protocol_violation,
                             fmt::format("expected +OK or -ERR, got `{}`", line.substr(0, 80)));
    }
    if (!text.empty() && text.front() != ' ')
        throw protocol_error(errc::protocol_violation, fmt::format("malformed POP3 status `{}`", line.substr(0, 80)));
    if (!text.empty()) text.remove_prefix(1);
    // RFC 2449 §8: resp-code = "[" resp-level *("/" resp-level) "]"
    if (text.starts_with('[')) {
        auto close = text.find(']');
        if (close != std::string_view::npos) {
            s.code = upper(text.substr(1, close - 1));
            text.remove_prefix(close + 1);
            if (!text.empty() && text.front() == ' ') text.remove_prefix(1);
        }
    }
    s.text = std::string(text);
    return s;
}

std::string apop_timestamp(std::string_view greeting) {
    auto open = greeting.find('<');
    if (open == std::string_view::npos) return {};
    auto close = greeting.find('>', open);
    if (close == std::string_view::npos) return {};
    auto stamp = greeting.substr(open, close - open + 1);
    // RFC 1939 §7: msg-id syntax, which contains an '@'.
    if (stamp.find('@') == std::string_view::npos) return {};
    return std::string(stamp);
}

std::optional<std::string_view> unstuff_line(std::string_view line) noexcept {
    if (line == ".") return std::nullopt;
    if (line.starts_with('.')) line.remove_prefix(1);
    return line;
}

namespace {
// Digits only, no sign, no overflow.
template <class T>
bool parse_number(std::string_view s, T& out) {
    if (s.empty() || s.size() > 20) return false;
    std::uint64_t v = 0;
    for (char ch : s) {
        if (ch < '0' || ch > '9') return false;
        const auto d = static_cast<std::uint64_t>(ch - '0');
        if (v > (UINT64_MAX - d) / 10) return false;
        v = v * 10 + d;
    }
    if (v > static_cast<std::uint64_t>(static_cast<T>(-1))) return false;
    out = static_cast<T>(v);
    return true;
}
[[noreturn]] void malformed(std::string_view what, std::string_view line) {
    throw protocol_error(errc::protocol_violation, fmt::format("malformed {} `{}`", what, line.substr(0, 80)));
}
// Splits "a b rest" at single spaces (RFC 1939 uses exactly one; tolerate several).
std::string_view next_token(std::string_view& s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    auto sp = s.find(' ');
    auto tok = s.substr(0, sp);
    s = sp == std::string_view::npos ? std::string_view{} : s.substr(sp + 1);
    return tok;
}
}  // namespace

mailbox_stat parse_stat(std::string_view text) {
    mailbox_stat m;
    std::string_view s = text;
    if (!parse_number(next_token(s), m.count) || !parse_number(next_token(s), m.size)) malformed("STAT reply", text);
    return m;  // RFC 1939 §5 allows nothing after the size, but tolerates servers that add text
}

message_info parse_list_line(std::string_view line) {
    message_info m;
    std::string_view s = line;
    if (!parse_number(next_token(s), m.number) || m.number == 0 || !parse_number(next_token(s), m.size))
        malformed("LIST line", line);
    return m;
}

message_uid parse_uidl_line(std::string_view line) {
    message_uid m;
    std::string_view s = line;
    if (!parse_number(next_token(s), m.number) || m.number == 0) malformed("UIDL line", line);
    auto uid = next_token(s);
    // RFC 1939 §7: unique-id = 1*70 characters in the range 0x21 to 0x7E.
    if (uid.empty() || uid.size() > 70 || !s.empty()) malformed("UIDL line", line);
    for (unsigned char ch : uid)
        if (ch < 0x21 || ch > 0x7E) malformed("UIDL line", line);
    m.uid = std::string(uid);
    return m;
}

std::optional<std::uint64_t> announced_octets(std::string_view text) noexcept {
    std::string_view s = text;
    std::uint64_t n = 0;
    if (!parse_number(next_token(s), n)) return std::nullopt;
    return n;
}

response_code classify_response_code(std::string_view code) noexcept {
    if (code.empty()) return response_code::none;
    auto is = [&](std::string_view k) {
        if (code.size() < k.size()) return false;
        for (std::size_t i = 0; i < k.size(); ++i)
            if (std::toupper(static_cast<unsigned char>(code[i])) != k[i]) return false;
        return code.size() == k.size() || code[k.size()] == '/';
    };
    if (is("IN-USE")) return response_code::in_use;
    if (is("LOGIN-DELAY")) return response_code::login_delay;
    if (is("AUTH")) return response_code::auth;
    if (is("SYS/TEMP")) return response_code::sys_temp;
    if (is("SYS/PERM")) return response_code::sys_perm;
    if (is("UTF8")) return response_code::utf8;
    return response_code::other;
}

bool capabilities::has(std::string_view keyword) const {
    const auto k = upper(keyword);
    return std::any_of(lines.begin(), lines.end(), [&](const std::string& l) { return upper(first_word(l)) == k; });
}

capabilities parse_capa(const std::vector<std::string>& lines, std::size_t max_mechanisms) {
    capabilities c;
    c.lines = lines;
    for (const auto& l : lines) {
        const auto kw = upper(first_word(l));
        const auto arg = rest(l);
        if (kw == "TOP") c.top = true;
        else if (kw == "UIDL") c.uidl = true;
        else if (kw == "USER") c.user = true;
        else if (kw == "RESP-CODES") c.resp_codes = true;
        else if (kw == "AUTH-RESP-CODE") c.auth_resp_code = true;
        else if (kw == "PIPELINING") c.pipelining = true;
        else if (kw == "STLS") c.stls = true;
        else if (kw == "UTF8") c.utf8 = true;
        else if (kw == "EXPIRE") c.expire = std::string(arg);
        else if (kw == "LOGIN-DELAY") c.login_delay = std::string(arg);
        else if (kw == "IMPLEMENTATION") c.implementation = std::string(arg);
        else if (kw == "SASL") {
            std::string_view a = arg;
            while (!a.empty()) {
                auto w = first_word(a);
                if (!w.empty()) {
                    if (c.sasl.size() >= max_mechanisms)
                        throw protocol_error(errc::limit_exceeded,
                                             fmt::format("the CAPA reply lists more than {} SASL mechanisms",
                                                         max_mechanisms));
                    c.sasl.push_back(upper(w));
                }
                a = rest(a);
            }
        }
    }
    return c;
}

}  // namespace mailwire::pop3
