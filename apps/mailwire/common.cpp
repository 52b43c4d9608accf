#include "common.hpp"

#include "mailwire/sasl/mechanism.hpp"
#include "output.hpp"
#include "report.hpp"
#include "safe_file.hpp"

#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>

namespace mailwire::cli {

const char* const exit_codes_help =
    "Exit codes:\n"
    "  0  success (for probe: the server was reached; findings are in the report)\n"
    "  2  usage or configuration error\n"
    "  3  connection failed: DNS, TCP connect, or the server closed before greeting\n"
    "  4  TLS handshake failed, including plaintext/TLS port mix-ups and STARTTLS problems\n"
    "  5  the server certificate was rejected\n"
    "  6  authentication failed or was refused (e.g. credentials over plaintext)\n"
    "  7  protocol error or the server refused a command\n"
    "  8  timeout\n"
    "  1  internal error (a bug; please report it)";

namespace {

// X509_V_ERR_* values, part of OpenSSL's stable ABI (the CLI does not include OpenSSL headers).
constexpr int v_unable_to_get_issuer_cert = 2;
constexpr int v_cert_not_yet_valid = 9;
constexpr int v_cert_has_expired = 10;
constexpr int v_depth_zero_self_signed = 18;
constexpr int v_self_signed_in_chain = 19;
constexpr int v_unable_to_get_issuer_locally = 20;
constexpr int v_unable_to_verify_leaf = 21;
constexpr int v_hostname_mismatch = 62;
constexpr int v_ip_address_mismatch = 64;

}  // namespace

void add_connection_options(CLI::App& app, connection_options& o, bool credentials) {
    app.add_option("--host", o.host, "Server host name or address");
    app.add_option("--port", o.port, "Server port (default: standard port for the mode)");
    app.add_option("--security", o.security, "none|tls|starttls|starttls-if-available|auto (tls = implicit)")
        ->check(CLI::IsMember({"none", "tls", "implicit_tls", "starttls", "starttls-if-available", "auto"}));
    app.add_option("--cafile", o.cafile, "Also trust the CAs in this PEM file")->check(CLI::ExistingFile);
    app.add_flag("--insecure", o.insecure, "Accept ANY certificate (debugging only; warns loudly)");
    app.add_option("--pin", o.pins, "Require SPKI pin sha256/BASE64 (repeatable; probe shows it)");
    app.add_flag("--trust-pin", o.trust_pin, "With --pin: a pinned key is enough, even if the chain fails");
    app.add_option("--tls-min", o.tls_min, "Lowest TLS version: 1.0 1.1 1.2 1.3 (default 1.2)");
    app.add_option("--tls-max", o.tls_max, "Highest TLS version to offer (default: newest)");
    app.add_option("--ciphers", o.ciphers, "OpenSSL cipher list; TLS_* names set TLS 1.3 suites");
    app.add_option("--client-cert", o.client_cert, "Client certificate (PEM) for mutual TLS")->check(CLI::ExistingFile);
    app.add_option("--client-key", o.client_key, "Client private key (PEM); default: in --client-cert")
        ->check(CLI::ExistingFile);
    if (credentials) {
        app.add_option("--user", o.user, "User name to log in with");
        app.add_option("--password-env", o.password_env, "Environment variable holding the password");
        app.add_option("--auth,--sasl", o.auth, "SASL mechanisms, comma separated, or legacy (LOGIN, USER/PASS)");
        app.add_option("--oauth-token-env", o.oauth_token_env,
                       "Environment variable holding an OAuth 2 token (OAUTHBEARER/XOAUTH2)");
        app.add_flag("--allow-plaintext-auth", o.allow_plaintext_auth,
                     "Allow credentials without encryption (dangerous)");
    }
    app.add_option("--timeout", o.timeout, "Seconds per connect, greeting, handshake, read")
        ->check(CLI::PositiveNumber);
    app.add_option("--command-timeout", o.command_timeout, "Seconds per command and its whole reply (0: none)")
        ->check(CLI::NonNegativeNumber);
    app.add_option("--log", o.log_file, "Write the transcript (C:/S:, secrets masked) to FILE");
    app.add_flag("--json", o.json, "Print one JSON object instead of the report");
    app.add_flag_callback(
        "--jsonl",
        [&o] {
            o.json = true;  // errors are structured too
            select_json_lines();
        },
        "JSON Lines: one object per result as it arrives, then a summary line");
    app.add_option("--progress", o.progress, "Progress on stderr for long transfers: auto|always|never")
        ->check(CLI::IsMember({"auto", "always", "never"}));
}

void apply_timeouts(timeouts& t, double seconds) {
    if (seconds <= 0) return;
    const auto ms = std::chrono::milliseconds(static_cast<long long>(std::llround(seconds * 1000)));
    t.connect = t.greeting = t.io = ms;
    t.auto_detect_wait = std::min(t.auto_detect_wait, ms);
    if (t.command.count() > 0) t.command = std::max(t.command, ms);
}

void apply_command_timeout(timeouts& t, double seconds) {
    if (seconds < 0) return;
    t.command = std::chrono::milliseconds(static_cast<long long>(std::llround(seconds * 1000)));
}

void apply_tls_options(tls_options& t, const connection_options& o) {
    if (!o.cafile.empty()) t.ca_file = o.cafile;
    for (const auto& p : o.pins) {
        if (!p.starts_with("sha256/") || p.size() < 8)
            throw usage_error(
                fmt::format("--pin {}: expected sha256/BASE64 (the spki_sha256 `mailwire probe` shows)", p));
        t.pins.push_back(p);
    }
    if (!o.tls_min.empty()) {
        auto v = parse_tls_version(o.tls_min);
        if (!v) throw usage_error(fmt::format("--tls-min {}: expected 1.0, 1.1, 1.2 or 1.3", o.tls_min));
        t.min_version = *v;
    }
    if (!o.tls_max.empty()) {
        auto v = parse_tls_version(o.tls_max);
        if (!v) throw usage_error(fmt::format("--tls-max {}: expected 1.0, 1.1, 1.2 or 1.3", o.tls_max));
        t.max_version = *v;
        if (o.tls_min.empty() && t.min_version > *v) t.min_version = *v;  // --tls-max 1.1 alone: "at most 1.1"
        if (t.min_version > *v) throw usage_error("--tls-min is above --tls-max");
    }
    if (!o.ciphers.empty()) {
        std::string legacy, suites;
        for (const auto& name : CLI::detail::split(o.ciphers, ':')) {
            auto& dst = name.starts_with("TLS_") ? suites : legacy;
            if (!dst.empty()) dst += ':';
            dst += name;
        }
        t.cipher_list = legacy;
        t.ciphersuites = suites;
    }
    if (!o.client_cert.empty()) t.client_cert_file = o.client_cert;
    if (!o.client_key.empty()) {
        if (o.client_cert.empty()) throw usage_error("--client-key needs --client-cert");
        t.client_key_file = o.client_key;
    }
}

struct session_setup::log_sink {
    // safe_file's open_user_file: 0600, never through a planted symlink (the transcript holds mail).
    struct closer {
        void operator()(std::FILE* f) const noexcept { std::fclose(f); }
    };
    std::unique_ptr<std::FILE, closer> out;
    mailwire::secret mask;  // masked again here: a second line of defence behind the library's masking
};

mailwire::security session_setup::mode(const connection_options& o) const {
    auto m = parse_security(o.security);
    if (!m)
        throw usage_error(
            fmt::format("--security {}: expected none, tls, starttls, starttls-if-available or auto", o.security));
    return *m;
}

mailwire::secret session_setup::password(const connection_options& o) const {
    if (o.user.empty()) return {};
    if (o.password_env.empty() && !o.oauth_token_env.empty()) return {};  // a token instead of a password
    if (o.password_env.empty())
        throw usage_error("--user needs --password-env VAR (the name of an environment variable holding the password)");
    const char* p = std::getenv(o.password_env.c_str());
    if (p == nullptr) throw usage_error(fmt::format("--password-env {}: the variable is not set", o.password_env));
    return mailwire::secret(p);  // straight from the environment into wiped memory
}

void session_setup::log_in(client_base& c, const connection_options& o, const mailwire::secret& password,
                           const std::function<void()>& legacy) const {
    if (o.user.empty()) {
        if (!o.auth.empty()) throw usage_error("--auth needs --user");
        return;
    }
    sasl::credentials cred;
    cred.user = o.user;
    cred.password = password;
    if (!o.oauth_token_env.empty()) {
        const char* token = std::getenv(o.oauth_token_env.c_str());
        if (token == nullptr)
            throw usage_error(fmt::format("--oauth-token-env {}: the variable is not set", o.oauth_token_env));
        cred.oauth_token = token;
    }
    if (o.auth.empty()) {
        c.authenticate(cred);
        // The automatic choice fell back from a refused SCRAM -PLUS (see client_base::authenticate):
        // say so, since the session is then not bound to the TLS channel.
        if (!c.auth_fallback_from().empty())
            print_err(fmt::format("note: the server refused {}; logged in with {} (no channel binding)\n",
                                  c.auth_fallback_from(), c.authenticated_with()));
        return;
    }
    if (o.auth == "legacy") {
        if (!legacy) throw usage_error("--auth legacy: this protocol has no login command besides SASL");
        legacy();
        return;
    }
    std::vector<std::string> mechanisms;
    for (auto m : CLI::detail::split(o.auth, ',')) {
        for (auto& ch : m) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
        if (!m.empty()) mechanisms.push_back(m);
    }
    if (mechanisms.empty()) throw usage_error("--auth: name at least one mechanism");
    c.authenticate(cred, mechanisms);
}

void session_setup::open(client_base& c, const connection_options& o,
                         const std::function<void(const mailwire::secret& password)>& legacy) {
    apply(c, o);
    const auto pw = password(o);
    c.connect(o.host, o.port, mode(o));
    std::function<void()> legacy_login;
    if (legacy) legacy_login = [&] { legacy(pw); };
    try {
        log_in(c, o, pw, legacy_login);
    } catch (const mailwire::error&) {
        end_politely(c);
        throw;
    }
}

void end_politely(client_base& c) noexcept {
    // A refused login (or any refused command) leaves the session good: say goodbye (LOGOUT/QUIT,
    // then TLS close_notify) instead of dropping the connection. Bounded: a server that does not
    // answer costs at most a few seconds, never a hang.
    if (!c.is_connected()) return;
    constexpr std::chrono::milliseconds bound(2000);
    auto& t = c.timeouts();
    t.io = std::min(t.io, bound);
    t.command = t.command.count() > 0 ? std::min(t.command, bound) : bound;
    c.disconnect(true);
}

void session_setup::apply(client_base& c, const connection_options& o) {
    if (o.host.empty()) throw usage_error("--host is required");
    if (!o.auth.empty() && o.user.empty()) throw usage_error("--auth needs --user");
    (void)mode(o);
    apply_tls_options(c.tls(), o);
    apply_timeouts(c.timeouts(), o.timeout);
    apply_command_timeout(c.timeouts(), o.command_timeout);
    c.allow_plaintext_auth(o.allow_plaintext_auth);
    if (o.trust_pin) {
        if (o.pins.empty()) throw usage_error("--trust-pin needs --pin sha256/BASE64");
        if (o.insecure) throw usage_error("--trust-pin and --insecure do not go together");
        // Trust on first use, as ssh does. The library never lets a rejection override a pin
        // mismatch, and when the chain fails verification only the leaf's key (the one the server
        // proved it holds) can match: a genuine certificate appended to an attacker's chain does not.
        c.override_rejection([](const certificate_check& check) {
            if (!check.pin_matched) return false;
            print_err("note: accepted by --trust-pin despite: " + terminal_text(join(policy_words(check), "; ")) +
                      "\n");
            return true;
        });
    }
    if (o.insecure) {
        std::cerr << "WARNING: --insecure: the server certificate is NOT verified. Anyone between you and the\n"
                     "WARNING: server can read and change this session. Use --cafile or --pin instead.\n";
        // Only chain and name errors are waved through; a --pin mismatch still rejects.
        c.override_rejection([](const certificate_check& check) {
            std::cerr << "WARNING: accepted a certificate that fails verification: "
                      << terminal_text(join(policy_words(check), "; ")) << "\n";
            return true;
        });
    }
    if (!o.log_file.empty()) {
        log_ = std::make_shared<log_sink>();
        try {
            const int fd = open_user_file(o.log_file);
            log_->out.reset(::fdopen(fd, "w"));
            if (!log_->out) ::close(fd);
        } catch (const mailwire::error& e) {
            throw usage_error(fmt::format("--log: {}", e.what()));
        }
        if (!log_->out) throw usage_error(fmt::format("--log {}: cannot open the file for writing", o.log_file));
        if (!o.user.empty() && !o.password_env.empty())
            if (const char* p = std::getenv(o.password_env.c_str())) log_->mask = p;
        auto sink = log_;
        c.set_logger([sink](log_direction d, std::string_view line) {
            // Built piece by piece from `line`, so no copy of the password is ever made here (and
            // a replacement that itself contains the password cannot be matched again).
            const std::string_view mask = sink->mask.view();
            std::string text;
            std::size_t from = 0;
            if (mask.size() >= 2) {
                for (auto pos = line.find(mask); pos != std::string_view::npos; pos = line.find(mask, from)) {
                    text.append(line.substr(from, pos - from)).append("<password>");
                    from = pos + mask.size();
                }
            }
            text.append(line.substr(from));
            text.insert(0, d == log_direction::client ? "C: " : "S: ");
            text += '\n';
            std::fwrite(text.data(), 1, text.size(), sink->out.get());
            std::fflush(sink->out.get());
        });
    }
}

// ---- errors ---------------------------------------------------------------------------------

int exit_code_for(const mailwire::error& e) noexcept {
    if (dynamic_cast<const certificate_error*>(&e) != nullptr) return exit_certificate;
    if (e.code().category() == mailwire::category()) {
        switch (static_cast<errc>(e.code().value())) {
        case errc::resolve_failed:
        case errc::connect_failed:
            return exit_connect;
        case errc::connection_closed:
            // Closed before a word was said: the service is not there (or refuses us).
            if (e.stage() == stage::connect || e.stage() == stage::greeting || e.stage() == stage::resolve)
                return exit_connect;
            return exit_protocol;
        case errc::tls_handshake_failed:
        case errc::tls_plaintext_greeting:
        case errc::tls_expected:  // may arrive as a timeout_error: the port waits for TLS first
        case errc::starttls_unavailable:
        case errc::starttls_refused:
        case errc::starttls_injection:
        case errc::preauth_without_tls:
            return exit_tls;
        case errc::certificate_rejected:
            return exit_certificate;
        case errc::plaintext_auth_refused:
        case errc::auth_failed:
        case errc::auth_unsupported:
            return exit_auth;
        case errc::timeout:
            return exit_timeout;
        case errc::invalid_argument:
        case errc::configuration:
            return exit_usage;
        case errc::io_error:
            if (e.stage() == stage::connect || e.stage() == stage::tls_handshake) return exit_connect;
            return exit_protocol;
        default:
            break;
        }
    }
    if (dynamic_cast<const auth_error*>(&e) != nullptr) return exit_auth;
    if (dynamic_cast<const timeout_error*>(&e) != nullptr) return exit_timeout;
    if (dynamic_cast<const tls_error*>(&e) != nullptr) return exit_tls;
    if (dynamic_cast<const connect_error*>(&e) != nullptr) return exit_connect;
    if (dynamic_cast<const config_error*>(&e) != nullptr) return exit_usage;
    return exit_protocol;  // protocol_error, command_error, parse_error and anything else
}

const char* category_name(int exit) noexcept {
    switch (exit) {
    case exit_ok:
        return "ok";
    case exit_usage:
        return "usage";
    case exit_connect:
        return "connect";
    case exit_tls:
        return "tls";
    case exit_certificate:
        return "certificate";
    case exit_auth:
        return "auth";
    case exit_protocol:
        return "protocol";
    case exit_timeout:
        return "timeout";
    default:
        return "internal";
    }
}

std::string errc_name(std::error_code code) {
    if (code.category() != mailwire::category())
        return code.category().name() + std::string(":") + std::to_string(code.value());
    switch (static_cast<errc>(code.value())) {
    case errc::resolve_failed:
        return "resolve_failed";
    case errc::connect_failed:
        return "connect_failed";
    case errc::timeout:
        return "timeout";
    case errc::connection_closed:
        return "connection_closed";
    case errc::io_error:
        return "io_error";
    case errc::tls_handshake_failed:
        return "tls_handshake_failed";
    case errc::tls_plaintext_greeting:
        return "tls_plaintext_greeting";
    case errc::tls_expected:
        return "tls_expected";
    case errc::certificate_rejected:
        return "certificate_rejected";
    case errc::starttls_unavailable:
        return "starttls_unavailable";
    case errc::starttls_refused:
        return "starttls_refused";
    case errc::starttls_injection:
        return "starttls_injection";
    case errc::preauth_without_tls:
        return "preauth_without_tls";
    case errc::plaintext_auth_refused:
        return "plaintext_auth_refused";
    case errc::auth_failed:
        return "auth_failed";
    case errc::auth_unsupported:
        return "auth_unsupported";
    case errc::protocol_violation:
        return "protocol_violation";
    case errc::limit_exceeded:
        return "limit_exceeded";
    case errc::command_failed:
        return "command_failed";
    case errc::invalid_argument:
        return "invalid_argument";
    case errc::configuration:
        return "configuration";
    case errc::parse_error:
        return "parse_error";
    case errc::charset_unsupported:
        return "charset_unsupported";
    case errc::not_connected:
        return "not_connected";
    }
    return "unknown";
}

std::string message_without_hint(const mailwire::error& e) {
    std::string what = e.what();
    if (!e.hint().empty()) {
        const std::string tail = " — " + e.hint();
        if (what.size() >= tail.size() && what.compare(what.size() - tail.size(), tail.size(), tail) == 0)
            what.erase(what.size() - tail.size());
    }
    return what;
}

namespace {

std::string upper_ascii(std::string_view s) {
    std::string out(s);
    for (auto& ch : out)
        if (ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
    return out;
}

// The server's machine-readable reason: IMAP/POP3 response codes ([AUTHENTICATIONFAILED], [SYS/TEMP])
// from the exception or from the first "[CODE" in its text.
std::string response_code_of(const mailwire::error& e) {
    if (const auto* a = dynamic_cast<const auth_error*>(&e);
        a != nullptr && !a->response_code().empty() && a->response_code().find('.') == std::string::npos)
        return upper_ascii(a->response_code());
    for (const std::string* text : {&e.detail(), &e.server_text()}) {
        const auto open = text->find('[');
        if (open == std::string::npos) continue;
        std::size_t end = open + 1;
        while (
            end < text->size() && end - open <= 32 &&
            (std::isalnum(static_cast<unsigned char>((*text)[end])) != 0 || (*text)[end] == '-' || (*text)[end] == '/'))
            ++end;
        if (end > open + 1) return upper_ascii(std::string_view(*text).substr(open + 1, end - open - 1));
    }
    return {};
}

// The SMTP reply code of a refusal: "535 5.7.8 ..." in the server text, or 0.
int smtp_code_of(const mailwire::error& e) {
    if (e.protocol() != "smtp") return 0;
    for (const std::string* text : {&e.server_text(), &e.detail()}) {
        for (std::size_t i = 0; i + 3 <= text->size(); ++i) {
            const auto d = [&](std::size_t k) { return std::isdigit(static_cast<unsigned char>((*text)[k])) != 0; };
            if (d(i) && d(i + 1) && d(i + 2) && (i == 0 || (*text)[i - 1] == ' ') &&
                (i + 3 == text->size() || (*text)[i + 3] == ' ' || (*text)[i + 3] == '-') && (*text)[i] >= '4' &&
                (*text)[i] <= '5')
                return ((*text)[i] - '0') * 100 + ((*text)[i + 1] - '0') * 10 + ((*text)[i + 2] - '0');
        }
    }
    return 0;
}

}  // namespace

std::string refusal_hint(const mailwire::error& e) {
    const bool auth = dynamic_cast<const auth_error*>(&e) != nullptr;
    const bool refusal = auth || dynamic_cast<const command_error*>(&e) != nullptr;
    if (!refusal) return {};
    const auto code = response_code_of(e);
    const int smtp = smtp_code_of(e);
    // Temporary conditions first: the same request may work later.
    if (code == "UNAVAILABLE" || code == "SYS/TEMP" || (smtp >= 400 && smtp < 500 && smtp != 432))
        return "a temporary failure on the server's side (IMAP [UNAVAILABLE], POP3 [SYS/TEMP], SMTP 4xx): try "
               "again later";
    if (code == "IN-USE")
        return "another session holds this mailbox (POP3 [IN-USE]): close the other mail client, or try again "
               "when it is done";
    if (code == "LOGIN-DELAY") return "the server limits how often you may log in (POP3 [LOGIN-DELAY]): wait a while";
    if (code == "PRIVACYREQUIRED" || smtp == 538)
        return "the server accepts this only over an encrypted connection: use --security tls or starttls";
    if (smtp == 534 || smtp == 432)
        return "the server wants a stronger mechanism or a password change (SMTP 534/432): try another --auth, "
               "or an application password if the provider requires one";
    if (smtp == 530)
        return "the server requires authentication (or STARTTLS) first: give --user and --password-env, over "
               "--security tls or starttls";
    if (code == "EXPIRED") return "the password or account has expired: renew it with the provider";
    if (code == "CONTACTADMIN") return "the server asks you to contact its administrator";
    if (code == "AUTHORIZATIONFAILED")
        return "the credentials are right but may not act as the requested identity: check the authorization id";
    if ((auth && e.code() == errc::auth_failed) || code == "AUTHENTICATIONFAILED" || code == "AUTH" || smtp == 535)
        return "the server refused the credentials: check --user (some servers want the full address) and the "
               "password in --password-env (docs/faq.md#auth-failed)";
    if (code == "TRYCREATE" || code == "NONEXISTENT") return "the mailbox does not exist: check its name and case";
    if (code == "ALREADYEXISTS") return "a mailbox of that name exists already";
    if (code == "NOPERM") return "your account is not allowed to do this on that mailbox";
    if (code == "OVERQUOTA" || smtp == 552) return "the mailbox or message is over a size quota";
    if (code == "LIMIT") return "the command hit a server limit: split it into smaller requests";
    if (code == "SERVERBUG") return "the server reports a bug of its own: tell its administrator";
    if (code == "CANNOT") return "the server cannot do this operation at all";
    if (smtp == 550 || smtp == 551 || smtp == 553)
        return "the server refused the mailbox or address: check the address, and that your account may send as the "
               "sender";
    if (smtp == 554) return "the server refused the transaction for good: its words above say why";
    if (!code.empty() || smtp != 0)
        return "the server refused the command; the session stayed usable: its words above say why";
    return {};
}

int report_error(const mailwire::error& e, bool json) {
    const int rc = exit_code_for(e);
    // Errors without a hint of their own (refusals) get the one their class calls for, here, in
    // the one place every error passes through on its way to the user.
    const std::string hint = e.hint().empty() ? refusal_hint(e) : e.hint();
    if (json) {
        nlohmann::json err = {
            {"code", errc_name(e.code())},
            {"category", category_name(rc)},
            {"exit_code", rc},
            {"message", message_without_hint(e)},
            {"hint", hint},
            {"host", e.host()},
            {"port", e.port()},
            {"protocol", e.protocol()},
            {"stage", std::string(to_string(e.stage()))},
            {"server_text", e.server_text()},
        };
        if (const auto* ce = dynamic_cast<const certificate_error*>(&e)) err["certificate"] = check_json(ce->check());
        print_json_error(err);  // closes a list already being written
    } else {
        // The message and hint quote server texts, host names and certificate names: one line each,
        // through terminal_text like every human output.
        print_err("error: " + terminal_text(message_without_hint(e)) + "\n");
        if (const auto* ce = dynamic_cast<const certificate_error*>(&e)) {
            for (const auto& w : policy_words(ce->check())) print_err("  - " + terminal_text(w) + "\n");
        }
        if (!hint.empty()) print_err("hint: " + terminal_text(hint) + "\n");
    }
    return rc;
}

namespace {
int report_simple(int rc, const std::string& code, const std::string& message, const std::string& hint, bool json) {
    if (json) {
        nlohmann::json err = {{"code", code},    {"category", category_name(rc)},
                              {"exit_code", rc}, {"message", message},
                              {"hint", hint},    {"host", ""},
                              {"port", 0},       {"protocol", ""},
                              {"stage", "none"}, {"server_text", ""}};
        print_json_error(err);  // closes a list already being written
    } else {
        print_err("error: " + terminal_text(message) + "\n");
        if (!hint.empty()) print_err("hint: " + terminal_text(hint) + "\n");
    }
    return rc;
}
}  // namespace

int report_usage(const std::string& message, bool json) {
    return report_simple(exit_usage, "usage", message, "run with --help for the options", json);
}

int report_internal(const std::string& message, bool json) {
    return report_simple(exit_internal, "internal", message, "this is a bug in mailwire; please report it", json);
}

// ---- TLS facts --------------------------------------------------------------------------------

std::string format_time(std::chrono::system_clock::time_point t) {
    const std::time_t tt = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", &tm);
    return buf;
}

std::string join(const std::vector<std::string>& v, const std::string& sep) {
    std::string out;
    for (const auto& s : v) {
        if (!out.empty()) out += sep;
        out += s;
    }
    return out;
}

std::vector<std::string> policy_words(const certificate_check& c) {
    std::vector<std::string> out;
    if (any(c.errors & policy_error::not_available)) out.emplace_back("the server presented no certificate");
    if (any(c.errors & policy_error::name_mismatch)) {
        std::string names;
        if (!c.chain.empty()) names = join(c.chain.front().subject_alt_names, ", ");
        if (names.empty() && !c.chain.empty()) names = c.chain.front().subject;
        out.push_back(
            fmt::format("name mismatch: the certificate is for {}, not {}", names.empty() ? "?" : names, c.host));
    }
    for (const auto& r : c.verify_results) {
        if (r.code == v_hostname_mismatch || r.code == v_ip_address_mismatch) continue;
        std::string what;
        switch (r.code) {
        case v_cert_has_expired:
            what = "the certificate has expired";
            if (r.depth >= 0 && static_cast<std::size_t>(r.depth) < c.chain.size())
                what += " (on " + format_time(c.chain[static_cast<std::size_t>(r.depth)].not_after) + ")";
            break;
        case v_cert_not_yet_valid:
            what = "the certificate is not valid yet";
            break;
        case v_depth_zero_self_signed:
            what = "the certificate is self-signed (no CA vouches for it)";
            break;
        case v_self_signed_in_chain:
            what = "the chain ends in a CA that is not trusted (use --cafile to trust it)";
            break;
        case v_unable_to_get_issuer_cert:
        case v_unable_to_get_issuer_locally:
        case v_unable_to_verify_leaf:
            what = "the issuing CA is not trusted (use --cafile to trust it)";
            break;
        default:
            what = r.message;
            break;
        }
        out.push_back(fmt::format("{} [verify code {} at depth {}: {}]", what, r.code, r.depth, r.message));
    }
    if (any(c.errors & policy_error::chain_errors) && c.verify_results.empty())
        out.emplace_back("the chain did not verify");
    return out;
}

std::vector<std::string> policy_risks(const certificate_check& c) {
    std::vector<std::string> out;
    auto add = [&](std::string s) {
        for (const auto& x : out)
            if (x == s) return;
        out.push_back(std::move(s));
    };
    if (any(c.errors & policy_error::not_available)) add("no server certificate");
    if (any(c.errors & policy_error::name_mismatch)) add("certificate name mismatch");
    for (const auto& r : c.verify_results) {
        switch (r.code) {
        case v_hostname_mismatch:
        case v_ip_address_mismatch:
            break;
        case v_cert_has_expired:
            add("certificate expired");
            break;
        case v_cert_not_yet_valid:
            add("certificate not yet valid");
            break;
        case v_depth_zero_self_signed:
            add("self-signed certificate");
            break;
        case v_self_signed_in_chain:
        case v_unable_to_get_issuer_cert:
        case v_unable_to_get_issuer_locally:
        case v_unable_to_verify_leaf:
            add("certificate issuer not trusted");
            break;
        default:
            add("certificate chain error: " + r.message);
            break;
        }
    }
    return out;
}

nlohmann::json certificate_json(const certificate_info& c) {
    return {
        {"subject", c.subject},
        {"issuer", c.issuer},
        {"subject_alt_names", c.subject_alt_names},
        {"serial", c.serial},
        {"not_before", format_time(c.not_before)},
        {"not_after", format_time(c.not_after)},
        {"sha256", c.sha256_fingerprint},
        {"spki_sha256", c.spki_sha256},
        {"public_key", c.public_key},
        {"signature_algorithm", c.signature_algorithm},
    };
}

nlohmann::json check_json(const certificate_check& c) {
    nlohmann::json chain = nlohmann::json::array();
    for (const auto& cert : c.chain) chain.push_back(certificate_json(cert));
    nlohmann::json verify = nlohmann::json::array();
    for (const auto& r : c.verify_results)
        verify.push_back({{"depth", r.depth}, {"code", r.code}, {"message", r.message}});
    return {
        {"host", c.host},           {"policy_errors", to_string(c.errors)}, {"problems", policy_words(c)},
        {"verify_results", verify}, {"pin_matched", c.pin_matched},         {"chain", chain},
    };
}

nlohmann::json tls_json(const tls_session_info& t) {
    return {{"version", t.version},
            {"cipher", t.cipher},
            {"group", t.group},
            {"resumed", t.resumed},
            {"certificate", check_json(t.certificate)}};
}

std::size_t output_width() {
    std::size_t w = 0;
    if (const char* c = std::getenv("COLUMNS")) w = std::strtoul(c, nullptr, 10);
    if (w == 0 && isatty(STDOUT_FILENO)) {
        winsize ws{};
        if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0) w = ws.ws_col;
    }
    if (w == 0 || w > 100) w = 100;
    if (w < 60) w = 60;
    return w;
}

}  // namespace mailwire::cli

#include "report.hpp"

namespace mailwire::cli {

void session_fields(text_report& r, const client_base& c) {
    r.field("server", fmt::format("{}:{} ({})", c.host(), c.port(), to_string(c.protocol())));
    r.field("security", std::string(to_string(c.security_used())) +
                            (c.is_secure() ? "" : "  (NOT encrypted: everything crosses the network in clear)"));
    r.field("greeting", c.greeting());
    if (c.is_secure()) {
        const auto& t = c.tls_info();
        r.field("tls", join({t.version, t.cipher, t.group}, "  "));
        const auto& chk = t.certificate;
        if (!chk.chain.empty())
            r.field("certificate", fmt::format("{} (issuer {}, until {})", chk.chain.front().subject,
                                               chk.chain.front().issuer, format_time(chk.chain.front().not_after)));
        const auto words = policy_words(chk);
        if (words.empty()) {
            r.field("verified", fmt::format("yes, for {}", chk.host));
        } else {
            auto lines = words;
            lines.front() = "NO (accepted anyway): " + lines.front();
            r.fields("verified", lines);
        }
    }
}

nlohmann::json session_json(const client_base& c) {
    return {
        {"host", c.host()},
        {"port", c.port()},
        {"protocol", std::string(to_string(c.protocol()))},
        {"security", std::string(to_string(c.security_used()))},
        {"encrypted", c.is_secure()},
        {"greeting", c.greeting()},
        {"tls", c.is_secure() ? tls_json(c.tls_info()) : nlohmann::json(nullptr)},
    };
}

}  // namespace mailwire::cli
