// Mechanism names: the factory, the supported list and the choice among what a server offers.
#include <algorithm>

#include <fmt/format.h>

#include "sasl/detail.hpp"

namespace mailwire::sasl {
namespace {

// Default preference, strongest first (see choose_mechanisms in the header for the reasoning).
constexpr std::string_view oauth_order[] = {"OAUTHBEARER", "XOAUTH2"};
constexpr std::string_view password_order[] =
    {"SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1", "CRAM-MD5", "PLAIN", "LOGIN"};
constexpr std::string_view all_names[] =
    {"SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256", "SCRAM-SHA-1", "CRAM-MD5", "PLAIN", "LOGIN", "XOAUTH2",
     "OAUTHBEARER",        "EXTERNAL"};

bool in_clear(std::string_view n) { return n == "PLAIN" || n == "LOGIN" || n == "XOAUTH2" || n == "OAUTHBEARER"; }
bool is_plus(std::string_view n) { return n.ends_with("-PLUS"); }
bool is_oauth(std::string_view n) { return n == "XOAUTH2" || n == "OAUTHBEARER"; }

}  // namespace

std::string detail::implemented_names() {
    std::string out;
    for (auto n : all_names) out.append(out.empty() ? "" : " ").append(n);
    return out;
}

bool is_supported(std::string_view name) noexcept {
    if (name.size() > 32) return false;
    char buf[32];
    for (std::size_t i = 0; i < name.size(); ++i)
        buf[i] = name[i] >= 'a' && name[i] <= 'z' ? static_cast<char>(name[i] - 'a' + 'A') : name[i];
    const std::string_view u(buf, name.size());
    return std::find(std::begin(all_names), std::end(all_names), u) != std::end(all_names);
}

std::unique_ptr<mechanism> make_mechanism(std::string_view name, const credentials& c,
                                          std::optional<channel_binding> cb) {
    using detail::scram_hash;
    const std::string n = detail::upper(name);
    if (n == "PLAIN") return detail::make_plain(c);
    if (n == "LOGIN") return detail::make_login(c);
    if (n == "CRAM-MD5") return detail::make_cram_md5(c);
    if (n == "EXTERNAL") return detail::make_external(c);
    if (n == "XOAUTH2") return detail::make_oauth(false, c);
    if (n == "OAUTHBEARER") return detail::make_oauth(true, c);
    if (n == "SCRAM-SHA-1") return detail::make_scram(scram_hash::sha1, false, c, std::move(cb), {});
    if (n == "SCRAM-SHA-1-PLUS") return detail::make_scram(scram_hash::sha1, true, c, std::move(cb), {});
    if (n == "SCRAM-SHA-256") return detail::make_scram(scram_hash::sha256, false, c, std::move(cb), {});
    if (n == "SCRAM-SHA-256-PLUS") return detail::make_scram(scram_hash::sha256, true, c, std::move(cb), {});
    detail::fail(errc::auth_unsupported, fmt::format("unsupported SASL mechanism \"{}\"", detail::printable(name, 64)));
}

std::vector<std::string> choose_mechanisms(const std::vector<std::string>& offered, const selection_options& o) {
    std::vector<std::string> have;
    have.reserve(offered.size());
    for (const auto& m : offered) have.push_back(detail::upper(m));
    auto offered_by_server = [&](std::string_view n) { return std::find(have.begin(), have.end(), n) != have.end(); };
    auto usable = [&](std::string_view n) {
        if (!offered_by_server(n) || !is_supported(n)) return false;
        if (in_clear(n) && !o.encrypted && !o.allow_plaintext_auth) return false;
        if (is_plus(n) && !o.have_channel_binding) return false;
        if (o.have_authzid && (n == "LOGIN" || n == "CRAM-MD5")) return false;
        if (is_oauth(n)) return o.have_oauth_token;
        if (n == "EXTERNAL") return true;
        return o.have_password;
    };

    std::vector<std::string> out;
    auto add = [&](std::string_view n) {
        if (usable(n) && std::find(out.begin(), out.end(), n) == out.end()) out.emplace_back(n);
    };
    if (!o.preferred.empty()) {
        for (const auto& p : o.preferred) add(detail::upper(p));
        return out;
    }
    if (o.have_oauth_token)
        for (auto n : oauth_order) add(n);
    for (auto n : password_order) add(n);
    return out;
}

}  // namespace mailwire::sasl
