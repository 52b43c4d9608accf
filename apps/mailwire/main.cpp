// mailwire — the command line: probe a mail server, talk IMAP/POP3/SMTP, parse messages.
#include <exception>
#include <iostream>
#include <vector>

#include "common.hpp"

int main(int argc, char** argv) {
    using namespace mailwire::cli;
    CLI::App
        app{"mailwire: IMAP, POP3 and SMTP with first-class TLS.\n"
            "Start with `mailwire probe HOST` to see how a server wants to be talked to.",
            "mailwire"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "mailwire 0.1.0");
    app.footer(std::string("\n") + exit_codes_help +
               "\n\nExamples:\n"
               "  mailwire probe mail.example.com --all\n"
               "  mailwire probe mail.example.com:993 --json\n"
               "  MW_PW=... mailwire imap caps --host mail.example.com --user me --password-env MW_PW\n"
               "  mailwire imap fetch INBOX 1:10 --host mail.example.com --user me --password-env MW_PW\n"
               "  mailwire pop3 retr --all -o mail/ --host mail.example.com --user me --password-env MW_PW\n"
               "  mailwire send --host mail.example.com --port 587 --user me --password-env MW_PW report.eml\n"
               "  mailwire parse --mbox archive.mbox --stats\n"
               "Run `mailwire COMMAND --help` for a command's options; docs/cli.md has the details.");
    app.get_formatter()->column_width(30);

    std::vector<command> commands{add_probe(app), add_imap(app), add_pop3(app), add_send(app), add_parse(app)};

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int rc = app.exit(e);  // prints help/version, or the error with a pointer to --help
        return rc == 0 ? exit_ok : exit_usage;
    }

    for (const auto& cmd : commands) {
        if (!cmd.app->parsed()) continue;
        const bool json = cmd.json != nullptr && *cmd.json;
        try {
            return cmd.run();
        } catch (const usage_error& e) {
            return report_usage(e.what(), json);
        } catch (const mailwire::error& e) {
            return report_error(e, json);
        } catch (const std::exception& e) {
            return report_internal(e.what(), json);
        }
    }
    return exit_usage;
}
