// `mailwire pop3 …` — POP3 commands. For now: `caps` (connect, log in when asked, show CAPA).
#include <fmt/format.h>

#include <iostream>
#include <memory>

#include "common.hpp"
#include "mailwire/pop3/client.hpp"
#include "report.hpp"

namespace mailwire::cli {
namespace {

struct pop3_state {
    connection_options o;
};

int run_caps(const connection_options& o) {
    pop3::client c;
    session_setup setup;
    setup.open(c, o, [&](const std::string& pw) { c.login(o.user, pw); });
    const auto& caps = c.capabilities();
    if (o.json) {
        auto j = session_json(c);
        j["ok"] = true;
        j["authenticated"] = c.is_authenticated();
        j["user"] = o.user;
        j["authenticated_with"] = c.authenticated_with();
        j["capabilities"] = caps.lines;
        j["auth_mechanisms"] = caps.sasl;
        j["user_pass"] = caps.user;
        j["apop"] = !c.apop_timestamp().empty();
        std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    } else {
        text_report r(output_width());
        session_fields(r, c);
        if (!o.user.empty()) r.field("logged in", fmt::format("{} with {}", o.user, c.authenticated_with()));
        r.fields("capabilities", caps.lines);
        r.field("auth", join(caps.sasl) + (caps.user ? (caps.sasl.empty() ? "USER/PASS" : "  (and USER/PASS)") : ""));
        std::cout << r.str();
    }
    c.disconnect();
    return exit_ok;
}

}  // namespace

command add_pop3(CLI::App& app) {
    auto st = std::make_shared<pop3_state>();
    auto* sub = app.add_subcommand("pop3", "POP3 client commands (default: caps)");
    add_connection_options(*sub, st->o);
    auto* caps = sub->add_subcommand("caps", "Connect, log in if --user is given, print the CAPA list");
    caps->fallthrough();
    sub->require_subcommand(0, 1);
    return {sub, [st] { return run_caps(st->o); }, &st->o.json};
}

}  // namespace mailwire::cli
