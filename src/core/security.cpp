#include "mailwire/security.hpp"

#include <algorithm>
#include <cctype>

namespace mailwire {
namespace {
std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
    return out;
}
}  // namespace

std::string_view to_string(security s) noexcept {
    switch (s) {
    case security::none:
        return "none";
    case security::implicit_tls:
        return "implicit_tls";
    case security::starttls:
        return "starttls";
    case security::starttls_when_available:
        return "starttls_when_available";
    case security::auto_detect:
        return "auto";
    }
    return "unknown";
}

std::optional<security> parse_security(std::string_view s) noexcept {
    const auto v = lower(s);
    if (v == "none" || v == "plain") return security::none;
    if (v == "tls" || v == "implicit_tls" || v == "implicit-tls" || v == "ssl") return security::implicit_tls;
    if (v == "starttls") return security::starttls;
    if (v == "starttls-if-available" || v == "starttls_when_available" || v == "starttls-when-available")
        return security::starttls_when_available;
    if (v == "auto") return security::auto_detect;
    return std::nullopt;
}

std::string_view to_string(tls_version v) noexcept {
    switch (v) {
    case tls_version::v1_0:
        return "TLSv1";
    case tls_version::v1_1:
        return "TLSv1.1";
    case tls_version::v1_2:
        return "TLSv1.2";
    case tls_version::v1_3:
        return "TLSv1.3";
    }
    return "unknown";
}

std::optional<tls_version> parse_tls_version(std::string_view s) noexcept {
    auto v = lower(s);
    for (std::string_view prefix : {"tlsv", "tls"})
        if (v.starts_with(prefix)) {
            v.erase(0, prefix.size());
            break;
        }
    if (v == "1" || v == "1.0") return tls_version::v1_0;
    if (v == "1.1") return tls_version::v1_1;
    if (v == "1.2") return tls_version::v1_2;
    if (v == "1.3") return tls_version::v1_3;
    return std::nullopt;
}

std::string to_string(policy_error e) {
    if (e == policy_error::none) return "none";
    std::string out;
    auto add = [&](policy_error flag, std::string_view name) {
        if (any(e & flag)) {
            if (!out.empty()) out += ", ";
            out += name;
        }
    };
    add(policy_error::not_available, "not_available");
    add(policy_error::name_mismatch, "name_mismatch");
    add(policy_error::chain_errors, "chain_errors");
    return out;
}

}  // namespace mailwire
