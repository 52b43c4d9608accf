// `mailwire imap …` — IMAP commands. For now: `caps` (connect, log in when asked, show capabilities).
#include <fmt/format.h>

#include <iostream>
#include <memory>

#include "common.hpp"
#include "mailwire/imap/client.hpp"
#include "report.hpp"

namespace mailwire::cli {
namespace {

struct imap_state {
    connection_options o;
};

int run_caps(const connection_options& o) {
    imap::client c;
    session_setup setup;
    setup.open(c, o, [&](const std::string& pw) { c.login(o.user, pw); });
    if (o.json) {
        auto j = session_json(c);
        j["ok"] = true;
        j["authenticated"] = c.is_authenticated();
        j["user"] = o.user;
        j["authenticated_with"] = c.authenticated_with();
        j["capabilities"] = c.capabilities();
        j["auth_mechanisms"] = c.auth_mechanisms();
        std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    } else {
        text_report r(output_width());
        session_fields(r, c);
        if (!o.user.empty()) r.field("logged in", fmt::format("{} with {}", o.user, c.authenticated_with()));
        r.field("capabilities", join(c.capabilities()));
        r.field("auth", join(c.auth_mechanisms()));
        std::cout << r.str();
    }
    c.disconnect();
    return exit_ok;
}

}  // namespace

command add_imap(CLI::App& app) {
    auto st = std::make_shared<imap_state>();
    auto* sub = app.add_subcommand("imap", "IMAP client commands (default: caps)");
    add_connection_options(*sub, st->o);
    auto* caps = sub->add_subcommand("caps", "Connect, log in if --user is given, print the capabilities");
    caps->fallthrough();
    sub->require_subcommand(0, 1);
    return {sub, [st] { return run_caps(st->o); }, &st->o.json};
}

}  // namespace mailwire::cli
