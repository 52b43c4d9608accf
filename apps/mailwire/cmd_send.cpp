// `mailwire send …` — SMTP submission. For now: `--check` (connect, show the EHLO capabilities).
#include <iostream>
#include <memory>

#include "common.hpp"
#include "mailwire/smtp/client.hpp"
#include "report.hpp"

namespace mailwire::cli {
namespace {

struct send_state {
    connection_options o;
    bool check = false;
};

std::vector<std::string> ehlo_lines(const smtp::capabilities& caps) {
    std::vector<std::string> out;
    for (const auto& [k, v] : caps.keywords) out.push_back(v.empty() ? k : k + " " + v);
    return out;
}

int run_send(const send_state& st) {
    const auto& o = st.o;
    if (!st.check)
        throw usage_error(
            "sending messages is not available in this version yet; `mailwire send --check` tests "
            "the connection and shows what the server offers");
    if (o.auth == "legacy") throw usage_error("--auth legacy: SMTP has no login besides SASL; name a mechanism");
    smtp::client c;
    session_setup setup;
    setup.open(c, o, {});
    const auto& caps = c.capabilities();
    if (o.json) {
        auto j = session_json(c);
        j["ok"] = true;
        j["authenticated"] = c.is_authenticated();
        j["authenticated_with"] = c.authenticated_with();
        j["user"] = o.user;
        j["capabilities"] = ehlo_lines(caps);
        j["auth_mechanisms"] = caps.auth;
        j["size_limit"] = caps.has_size ? nlohmann::json(caps.size) : nlohmann::json(nullptr);
        std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    } else {
        text_report r(output_width());
        session_fields(r, c);
        if (!o.user.empty()) r.field("logged in", o.user + " with " + c.authenticated_with());
        r.fields("capabilities", ehlo_lines(caps));
        r.field("auth", join(caps.auth));
        std::cout << r.str();
    }
    c.disconnect();
    return exit_ok;
}

}  // namespace

command add_send(CLI::App& app) {
    auto st = std::make_shared<send_state>();
    auto* sub = app.add_subcommand("send", "Submit a message over SMTP (for now: --check the connection)");
    add_connection_options(*sub, st->o);
    sub->add_flag("--check", st->check, "Connect, say EHLO, print what the server offers, and quit");
    return {sub, [st] { return run_send(*st); }, &st->o.json};
}

}  // namespace mailwire::cli
