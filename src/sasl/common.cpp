// The mechanism base class defaults and small helpers shared by the SASL mechanisms.
#include <fmt/format.h>

#include "sasl/detail.hpp"

namespace mailwire::sasl {

mechanism::~mechanism() = default;

void mechanism::verify_success(std::string_view /*server_final*/) {}

std::string mechanism::server_error() const { return {}; }

std::string mechanism::redact(std::string_view client_message) const {
    if (client_message.empty()) return {};
    return fmt::format("<{} data, {} bytes>", name(), client_message.size());
}

namespace detail {

std::string printable(std::string_view s, std::size_t max) {
    std::string out;
    const std::size_t n = std::min(s.size(), max);
    out.reserve(n + 8);
    for (std::size_t i = 0; i < n; ++i) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x20 || c == 0x7f || c == '\\') out += fmt::format("\\x{:02x}", c);
        else out += static_cast<char>(c);
    }
    if (s.size() > max) out += "...";
    return out;
}

std::string upper(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    return out;
}

void fail(errc code, std::string detail, std::string_view server_text) {
    error_context ctx;
    ctx.stage = stage::authenticate;
    ctx.server_text = printable(server_text);
    throw auth_error(code, std::move(detail), std::move(ctx));
}

std::string escape_saslname(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        if (c == '=') out += "=3D";
        else if (c == ',') out += "=2C";
        else out += c;
    }
    return out;
}

}  // namespace detail
}  // namespace mailwire::sasl
