// Shared pieces of the `mailwire` command line: connection options, exit codes, error output.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "mailwire/client.hpp"
#include "mailwire/error.hpp"
#include "mailwire/secret.hpp"
#include "mailwire/security.hpp"

namespace mailwire::cli {

/// Exit codes, stable and documented in `mailwire --help` and docs/cli.md.
enum exit_code : int {
    exit_ok = 0,
    exit_internal = 1,     ///< a bug: an exception that is not a mailwire::error
    exit_usage = 2,        ///< bad command line or configuration
    exit_connect = 3,      ///< DNS, TCP connect, connection closed before the greeting
    exit_tls = 4,          ///< TLS handshake, plaintext/TLS port mix-up, STARTTLS problems
    exit_certificate = 5,  ///< the server certificate was rejected
    exit_auth = 6,         ///< authentication failed or refused
    exit_protocol = 7,     ///< protocol error or server refusal
    exit_timeout = 8,      ///< a deadline passed
};

/// The text `mailwire --help` shows for the exit codes.
extern const char* const exit_codes_help;

/// Our own command-line validation failure (exit 2).
struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// The options every connecting command shares.
struct connection_options {
    std::string host;
    std::uint16_t port = 0;
    std::string security = "auto";
    std::string cafile;
    bool insecure = false;
    std::vector<std::string> pins;
    bool trust_pin = false;
    std::string tls_min, tls_max, ciphers, client_cert, client_key;
    std::string user, password_env;
    std::string auth;             ///< --auth: comma-separated SASL mechanisms, or "legacy"
    std::string oauth_token_env;  ///< --oauth-token-env: variable holding an OAuth 2 bearer token
    bool allow_plaintext_auth = false;
    double timeout = 0;  ///< seconds; 0 keeps the library defaults
    /// --command-timeout: seconds for each command with its whole response; 0: no such bound;
    /// negative (unset): the library default, raised to --timeout when that is longer.
    double command_timeout = -1;
    std::string log_file;
    bool json = false;
    std::string progress = "auto";  ///< --progress auto|always|never (stderr)
};

/// Adds --host --port --security --cafile --insecure --pin --tls-min --tls-max --ciphers --client-cert
/// --client-key --timeout --log --json, and with `credentials` also --user --password-env
/// --allow-plaintext-auth.
void add_connection_options(CLI::App& app, connection_options& o, bool credentials = true);

/// Applies the options to a client (TLS settings, timeouts, logger, insecure callback).
/// Throws usage_error for values that make no sense. The returned object must outlive the session
/// (it owns the log file).
class session_setup {
public:
    void apply(client_base& c, const connection_options& o);
    /// The password from --password-env, read straight into a secret (wiped when dropped); throws
    /// usage_error when --user has no usable password.
    [[nodiscard]] mailwire::secret password(const connection_options& o) const;
    [[nodiscard]] mailwire::security mode(const connection_options& o) const;
    /// Logs in as --user with --auth: the strongest SASL mechanism by default, the listed ones, or
    /// with "legacy" the protocol's own command (`legacy`, e.g. IMAP LOGIN).
    void log_in(client_base& c, const connection_options& o, const mailwire::secret& password,
                const std::function<void()>& legacy) const;
    /// apply(), connect as --security says, then log_in(): what every protocol command starts with.
    /// `legacy` receives the password (e.g. IMAP LOGIN); may be empty when the protocol has none.
    void open(client_base& c, const connection_options& o,
              const std::function<void(const mailwire::secret& password)>& legacy);

private:
    struct log_sink;
    std::shared_ptr<log_sink> log_;
};

/// Applies --cafile/--pin/--tls-min/--tls-max/--ciphers/--client-cert/--client-key to `t`.
void apply_tls_options(tls_options& t, const connection_options& o);
/// Applies --timeout to `t`; a whole command is never given less than one read.
void apply_timeouts(timeouts& t, double seconds);
/// Applies --command-timeout to `t` (negative: keep; 0: no whole-command bound).
void apply_command_timeout(timeouts& t, double seconds);

[[nodiscard]] int exit_code_for(const mailwire::error& e) noexcept;
[[nodiscard]] const char* category_name(int exit) noexcept;
[[nodiscard]] std::string errc_name(std::error_code code);

/// Ends a session that is still usable (after a refused login or command) the polite way: LOGOUT
/// or QUIT, then TLS close_notify, each bounded by a short deadline. Does nothing when closed.
void end_politely(client_base& c) noexcept;
/// The hint a refusal (auth_error, command_error) gets by its class and response code when the
/// error carries none: wrong password, temporary failure, encryption required, mailbox in use ...
[[nodiscard]] std::string refusal_hint(const mailwire::error& e);

/// Prints `error: …` / `hint: …` to stderr, or the JSON error object to stdout; returns the exit code.
int report_error(const mailwire::error& e, bool json);
int report_usage(const std::string& message, bool json);
int report_internal(const std::string& message, bool json);

/// What() without the trailing " — hint" that mailwire::error appends.
[[nodiscard]] std::string message_without_hint(const mailwire::error& e);

// ---- shared presentation of TLS facts --------------------------------------------------------
[[nodiscard]] std::string format_time(std::chrono::system_clock::time_point t);
/// Each policy error of a check, in words ("the certificate expired on 2024-01-01").
[[nodiscard]] std::vector<std::string> policy_words(const certificate_check& c);
/// Short risk names for a verdict ("certificate expired", "certificate name mismatch").
[[nodiscard]] std::vector<std::string> policy_risks(const certificate_check& c);
[[nodiscard]] nlohmann::json certificate_json(const certificate_info& c);
[[nodiscard]] nlohmann::json check_json(const certificate_check& c);
[[nodiscard]] nlohmann::json tls_json(const tls_session_info& t);
[[nodiscard]] std::string join(const std::vector<std::string>& v, const std::string& sep = " ");

/// Width for human reports: $COLUMNS or the terminal, at most 100, at least 60.
[[nodiscard]] std::size_t output_width();

}  // namespace mailwire::cli

namespace mailwire::cli {

class text_report;

/// One subcommand: its CLI11 node and what running it does (returns the exit code).
struct command {
    CLI::App* app = nullptr;
    std::function<int()> run;
    const bool* json = nullptr;  ///< --json of this command, for error output
};

command add_probe(CLI::App& app);
command add_imap(CLI::App& app);
command add_pop3(CLI::App& app);
command add_send(CLI::App& app);
command add_parse(CLI::App& app);

/// The facts of a connected session, for the protocol commands: where, how secured, TLS.
void session_fields(text_report& r, const client_base& c);
[[nodiscard]] nlohmann::json session_json(const client_base& c);

}  // namespace mailwire::cli
