#include "mailwire/error.hpp"

#include <fmt/format.h>

namespace mailwire {
namespace {

class category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "mailwire"; }
    std::string message(int ev) const override {
        switch (static_cast<errc>(ev)) {
        case errc::resolve_failed:
            return "host name did not resolve";
        case errc::connect_failed:
            return "connection failed";
        case errc::timeout:
            return "operation timed out";
        case errc::connection_closed:
            return "connection closed by peer";
        case errc::io_error:
            return "socket I/O error";
        case errc::tls_handshake_failed:
            return "TLS handshake failed";
        case errc::tls_plaintext_greeting:
            return "server greeted in plaintext where TLS was expected";
        case errc::tls_expected:
            return "server expects TLS first";
        case errc::certificate_rejected:
            return "server certificate rejected";
        case errc::starttls_unavailable:
            return "STARTTLS not offered";
        case errc::starttls_refused:
            return "STARTTLS refused";
        case errc::starttls_injection:
            return "data injected after STARTTLS reply";
        case errc::preauth_without_tls:
            return "PREAUTH greeting where TLS was required";
        case errc::plaintext_auth_refused:
            return "credentials refused over an unencrypted connection";
        case errc::auth_failed:
            return "authentication failed";
        case errc::auth_unsupported:
            return "no usable authentication mechanism";
        case errc::protocol_violation:
            return "protocol violation";
        case errc::limit_exceeded:
            return "limit exceeded";
        case errc::command_failed:
            return "command failed";
        case errc::invalid_argument:
            return "invalid argument";
        case errc::configuration:
            return "invalid configuration";
        case errc::parse_error:
            return "parse error";
        case errc::charset_unsupported:
            return "unsupported charset";
        case errc::not_connected:
            return "not connected";
        }
        return "unknown mailwire error";
    }
};

std::string compose(const std::string& detail, const error_context& c) {
    std::string out;
    if (!c.host.empty()) {
        out = c.protocol.empty() ? fmt::format("{}:{}", c.host, c.port)
                                 : fmt::format("{} {}:{}", c.protocol, c.host, c.port);
        if (c.stage != stage::none) out += fmt::format(" ({})", to_string(c.stage));
        out += ": ";
    } else if (c.stage != stage::none) {
        out = fmt::format("{}: ", to_string(c.stage));
    }
    out += detail;
    if (!c.hint.empty()) out += fmt::format(" — {}", c.hint);
    return out;
}

}  // namespace

const std::error_category& category() noexcept {
    static const category_impl instance;
    return instance;
}

std::string_view to_string(stage s) noexcept {
    switch (s) {
    case stage::none:
        return "none";
    case stage::resolve:
        return "resolve";
    case stage::connect:
        return "connect";
    case stage::tls_handshake:
        return "TLS handshake";
    case stage::greeting:
        return "greeting";
    case stage::capability:
        return "capabilities";
    case stage::starttls:
        return "STARTTLS";
    case stage::authenticate:
        return "authentication";
    case stage::command:
        return "command";
    case stage::data:
        return "data transfer";
    case stage::logout:
        return "logout";
    case stage::parse:
        return "parse";
    }
    return "unknown";
}

error::error(std::error_code code, std::string detail, error_context ctx)
    : std::runtime_error(compose(detail, ctx)), code_(code), detail_(std::move(detail)), ctx_(std::move(ctx)) {}

}  // namespace mailwire
