#include "mailwire/pop3/client.hpp"

#include <fmt/format.h>

#include "core/digest.hpp"

namespace mailwire::pop3 {

client::client() : client_base(protocol::pop3) {}
client::~client() = default;

pop3::status client::exchange(std::string_view command, stage s, std::string_view logged) {
    if (logged.empty())
        send_line(command);
    else
        send_line_masked(command, logged);
    const std::string line(read_line(s));
    try {
        return parse_status(line);
    } catch (const protocol_error& e) {
        protocol_failure(errc::protocol_violation, s, e.detail(), line);
    }
}

pop3::status client::run(std::string_view command, stage s) {
    auto st = exchange(command, s);
    if (!st.ok) {
        const auto verb = command.substr(0, command.find(' '));
        throw command_error(errc::command_failed,
                            fmt::format("{} refused: -ERR {}{}", verb, st.code.empty() ? "" : "[" + st.code + "] ", st.text),
                            context(s, st.text));
    }
    return st;
}

void client::read_greeting() {
    const std::string line(read_line(stage::greeting));
    greeting_ = line;
    pop3::status st;
    try {
        st = parse_status(line);
    } catch (const protocol_error&) {
        protocol_failure(errc::protocol_violation, stage::greeting, "the greeting is not a POP3 greeting", line,
                         "check that this port serves POP3");
    }
    if (!st.ok) {
        stream().close();
        throw command_error(errc::command_failed, "the server refused the connection", context(stage::greeting, st.text));
    }
    apop_ = pop3::apop_timestamp(st.text);
}

void client::query_capabilities() {
    send_line("CAPA");
    const std::string first(read_line(stage::capability));
    pop3::status st;
    try {
        st = parse_status(first);
    } catch (const protocol_error& e) {
        protocol_failure(errc::protocol_violation, stage::capability, e.detail(), first);
    }
    caps_ = {};
    if (!st.ok) return;  // a pre-RFC 2449 server: no capabilities known
    std::vector<std::string> lines;
    std::size_t bytes = 0;
    for (;;) {
        auto line = read_line(stage::capability);
        auto un = unstuff_line(line);
        if (!un) break;
        bytes += un->size();
        if (bytes > limits().max_multiline_bytes)
            protocol_failure(errc::limit_exceeded, stage::capability, "CAPA response too large");
        lines.emplace_back(*un);
    }
    caps_ = parse_capa(lines);
}

void client::request_starttls() {
    auto st = exchange("STLS", stage::starttls);
    if (!st.ok)
        throw command_error(errc::starttls_refused, fmt::format("STLS refused: {}", st.text),
                            context(stage::starttls, st.text, "use implicit_tls on port 995"));
}

void client::forget_session_state() {
    caps_ = {};
    // The APOP timestamp came with the greeting over plaintext; RFC 2595 keeps it valid but an
    // attacker could have chosen it, so it is forgotten too.
    if (is_secure()) apop_.clear();
}

void client::send_logout() { exchange("QUIT", stage::logout); }

void client::noop() { run("NOOP"); }

void client::login(const std::string& user, const std::string& password) {
    require_secure_for_credentials("a POP3 password");
    sasl::credentials c;
    c.user = user;
    c.password = password;
    user_pass(c);
    set_authenticated("USER");
}

void client::user_pass(const sasl::credentials& c) {
    auto st = exchange("USER " + c.user, stage::authenticate);
    if (st.ok) st = exchange("PASS " + c.password, stage::authenticate, "PASS <password>");
    if (!st.ok)
        throw auth_error(errc::auth_failed, fmt::format("login failed: {}", st.text), context(stage::authenticate, st.text),
                         st.code);
}

std::string client::legacy_login(const sasl::credentials& c) {
    if (!apop_.empty()) {
        // RFC 1939 §7: APOP name digest, digest = MD5(timestamp + secret) in lower-case hex.
        const std::string digest = detail::md5_hex(apop_ + c.password);
        auto st = exchange(fmt::format("APOP {} {}", c.user, digest), stage::authenticate,
                           fmt::format("APOP {} <digest>", c.user));
        if (!st.ok)
            throw auth_error(errc::auth_failed, fmt::format("APOP failed: {}", st.text),
                             context(stage::authenticate, st.text), st.code);
        return "APOP";
    }
    user_pass(c);
    return "USER";
}

void client::sasl_start(std::string_view mechanism, const std::string* initial, std::string_view logged) {
    // RFC 5034 §4: AUTH mechanism [initial-response], "=" for an empty one.
    if (initial == nullptr)
        send_line(fmt::format("AUTH {}", mechanism));
    else
        send_line_masked(fmt::format("AUTH {} {}", mechanism, *initial), fmt::format("AUTH {} {}", mechanism, logged));
}

client_base::sasl_reply client::sasl_read() {
    const std::string line(read_line(stage::authenticate));
    if (line == "+" || line.starts_with("+ ")) return {sasl_reply::kind::challenge, line.size() > 2 ? line.substr(2) : "", {}, {}};
    pop3::status st;
    try {
        st = parse_status(line);
    } catch (const protocol_error& e) {
        protocol_failure(errc::protocol_violation, stage::authenticate, e.detail(), line);
    }
    if (st.ok) return {sasl_reply::kind::success, {}, st.text, st.code};
    return {sasl_reply::kind::failure, {}, st.text, st.code};
}

}  // namespace mailwire::pop3
