// `mailwire parse FILE` — print a message's MIME tree (needs the MIME parser).
#include <iostream>
#include <memory>

#include "common.hpp"

namespace mailwire::cli {
namespace {

struct parse_state {
    std::string file;
    bool json = false;
};

int run_parse(const parse_state& st) {
    (void)st;
    if (st.json) {
        std::cout << nlohmann::json{{"ok", false},
                                    {"error",
                                     {{"code", "not_available"},
                                      {"category", "usage"},
                                      {"exit_code", exit_usage},
                                      {"message", "parse is not available yet: this build has no MIME parser"},
                                      {"hint", ""},
                                      {"host", ""},
                                      {"port", 0},
                                      {"protocol", ""},
                                      {"stage", "parse"},
                                      {"server_text", ""}}}}
                         .dump(2)
                  << "\n";
    } else {
        std::cerr << "error: parse is not available yet: this build has no MIME parser\n";
    }
    return exit_usage;
}

}  // namespace

command add_parse(CLI::App& app) {
    auto st = std::make_shared<parse_state>();
    auto* sub = app.add_subcommand("parse", "Print a message's MIME structure");
    sub->add_option("FILE", st->file, "The message file (RFC 5322)")->required()->check(CLI::ExistingFile);
    sub->add_flag("--json", st->json, "Print the tree as JSON");
    return {sub, [st] { return run_parse(*st); }, &st->json};
}

}  // namespace mailwire::cli
