#include "mailwire/pop3/response.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>

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

bool capabilities::has(std::string_view keyword) const {
    const auto k = upper(keyword);
    return std::any_of(lines.begin(), lines.end(), [&](const std::string& l) { return upper(first_word(l)) == k; });
}

capabilities parse_capa(const std::vector<std::string>& lines) {
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
                if (!w.empty()) c.sasl.push_back(upper(w));
                a = rest(a);
            }
        }
    }
    return c;
}

}  // namespace mailwire::pop3
