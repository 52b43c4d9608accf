#include "mailwire/imap/client.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace mailwire::imap {
namespace {
std::string quoted(std::string_view s) {
    // RFC 3501 §4.3: quoted strings escape only '"' and '\'.
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    out += '"';
    return out;
}
}  // namespace

client::client() : client_base(protocol::imap) {}
client::~client() = default;

bool client::has_capability(std::string_view cap) const {
    std::string u(cap);
    std::transform(u.begin(), u.end(), u.begin(), [](unsigned char c) { return std::toupper(c); });
    return std::find(caps_.begin(), caps_.end(), u) != caps_.end();
}

std::vector<std::string> client::auth_mechanisms() const {
    std::vector<std::string> out;
    for (const auto& c : caps_)
        if (c.starts_with("AUTH=")) out.push_back(c.substr(5));
    return out;
}

std::string client::next_tag() { return fmt::format("A{:04}", ++tag_counter_); }

std::string client::read_response(stage s) {
    // A response is a line, plus any literal it announces and the line continuing after it.
    std::string full(read_line(s));
    std::size_t total = full.size();
    for (long long n = trailing_literal(full); n >= 0; n = trailing_literal(full)) {
        total += static_cast<std::size_t>(n);
        if (total > limits().max_multiline_bytes)
            protocol_failure(errc::limit_exceeded, s,
                             fmt::format("a response exceeded {} bytes", limits().max_multiline_bytes));
        std::string literal(static_cast<std::size_t>(n), '\0');
        for (std::size_t got = 0; got < literal.size();) got += read_some(literal.data() + got, literal.size() - got, s);
        full += "\r\n";
        full += literal;
        full += read_line(s);
    }
    return full;
}

void client::absorb(const response_line& r) {
    if (r.code == "CAPABILITY") caps_ = parse_capabilities(r.code_args);
    if (r.type == response_line::kind::untagged && r.status == status::none && r.text.size() >= 10) {
        std::string_view t = r.text;
        std::string head(t.substr(0, 10));
        std::transform(head.begin(), head.end(), head.begin(), [](unsigned char c) { return std::toupper(c); });
        if (head == "CAPABILITY") caps_ = parse_capabilities(t.substr(std::min<std::size_t>(11, t.size())));
    }
}

response_line client::exchange(std::string_view command, stage s, std::string_view logged) {
    const auto tag = next_tag();
    const auto line = fmt::format("{} {}", tag, command);
    if (logged.empty())
        send_line(line);
    else
        send_line_masked(line, fmt::format("{} {}", tag, logged));
    for (;;) {
        const auto raw = read_response(s);
        response_line r;
        try {
            r = parse_response_line(raw);
        } catch (const protocol_error& e) {
            protocol_failure(e.code().value() ? static_cast<errc>(e.code().value()) : errc::protocol_violation, s,
                             e.detail(), raw);
        }
        if (r.type == response_line::kind::continuation)
            protocol_failure(errc::protocol_violation, s, "unexpected continuation request", raw);
        absorb(r);
        if (r.type == response_line::kind::untagged) {
            if (r.status == status::bye && s != stage::logout)
                protocol_failure(errc::connection_closed, s, "the server closed the session (BYE)", r.text);
            continue;
        }
        if (r.tag != tag)
            protocol_failure(errc::protocol_violation, s, fmt::format("response for unknown tag {}", r.tag), raw);
        return r;
    }
}

response_line client::run(std::string_view command, stage s) {
    auto r = exchange(command, s);
    if (r.status != status::ok) {
        throw command_error(errc::command_failed,
                            fmt::format("{} refused: {} {}", command.substr(0, command.find(' ')),
                                        r.status == status::no ? "NO" : "BAD", r.text),
                            context(s, r.text));
    }
    return r;
}

void client::read_greeting() {
    const std::string line(read_line(stage::greeting));
    greeting_ = line;
    response_line r;
    try {
        r = parse_response_line(line);
    } catch (const protocol_error&) {
        protocol_failure(errc::protocol_violation, stage::greeting, "the greeting is not an IMAP greeting", line,
                         "check that this port serves IMAP");
    }
    if (r.type != response_line::kind::untagged ||
        (r.status != status::ok && r.status != status::preauth && r.status != status::bye))
        protocol_failure(errc::protocol_violation, stage::greeting, "the greeting is not an IMAP greeting", line,
                         "check that this port serves IMAP");
    if (r.status == status::bye) {
        stream().close();
        throw command_error(errc::command_failed, "the server refused the connection", context(stage::greeting, r.text));
    }
    preauth_ = r.status == status::preauth;
    if (preauth_) set_authenticated("PREAUTH");
    absorb(r);
}

void client::query_capabilities() {
    // The greeting's CAPABILITY code is only trusted before TLS was started on this connection
    // when it came with that very greeting; after STARTTLS caps_ were cleared and we ask again.
    if (!caps_.empty()) return;
    run("CAPABILITY", stage::capability);
}

bool client::offers_starttls() const { return has_capability("STARTTLS"); }

void client::request_starttls() {
    auto r = exchange("STARTTLS", stage::starttls);
    if (r.status != status::ok) {
        throw command_error(errc::starttls_refused, fmt::format("STARTTLS refused: {}", r.text),
                            context(stage::starttls, r.text, "use implicit_tls on port 993"));
    }
}

void client::forget_session_state() {
    caps_.clear();
    // preauth_ is a fact of this connection's greeting; it stays.
}

void client::send_logout() { exchange("LOGOUT", stage::logout); }

void client::noop() { run("NOOP"); }

void client::login(const std::string& user, const std::string& password) {
    require_secure_for_credentials("an IMAP LOGIN password");
    sasl::credentials c;
    c.user = user;
    c.password = password;
    const auto used = legacy_login(c);
    if (used.empty())
        throw auth_error(errc::auth_unsupported, "the server disabled LOGIN on this connection (LOGINDISABLED)",
                         context(stage::authenticate, {}, "use STARTTLS first or a SASL mechanism"));
    set_authenticated(used);
    on_authenticated();
}

std::string client::legacy_login(const sasl::credentials& c) {
    if (has_capability("LOGINDISABLED")) return {};
    caps_from_auth_ = false;
    auto r = exchange(fmt::format("LOGIN {} {}", quoted(c.user), quoted(c.password)), stage::authenticate,
                      fmt::format("LOGIN {} <password>", quoted(c.user)));
    if (r.status != status::ok)
        throw auth_error(errc::auth_failed, fmt::format("LOGIN failed: {}", r.text), context(stage::authenticate, r.text),
                         r.code);
    caps_from_auth_ = r.code == "CAPABILITY";
    return "LOGIN";
}

void client::sasl_start(std::string_view mechanism, const std::string* initial, std::string_view logged) {
    auth_tag_ = next_tag();
    caps_from_auth_ = false;
    if (initial == nullptr) {
        send_line(fmt::format("{} AUTHENTICATE {}", auth_tag_, mechanism));
    } else {
        send_line_masked(fmt::format("{} AUTHENTICATE {} {}", auth_tag_, mechanism, *initial),
                         fmt::format("{} AUTHENTICATE {} {}", auth_tag_, mechanism, logged));
    }
}

client_base::sasl_reply client::sasl_read() {
    for (;;) {
        const auto raw = read_response(stage::authenticate);
        response_line r;
        try {
            r = parse_response_line(raw);
        } catch (const protocol_error& e) {
            protocol_failure(errc::protocol_violation, stage::authenticate, e.detail(), raw);
        }
        if (r.type == response_line::kind::continuation) return {sasl_reply::kind::challenge, r.text, {}, {}};
        absorb(r);
        if (r.type == response_line::kind::untagged) continue;
        if (r.tag != auth_tag_)
            protocol_failure(errc::protocol_violation, stage::authenticate, fmt::format("response for unknown tag {}", r.tag),
                             raw);
        if (r.status == status::ok) {
            caps_from_auth_ = r.code == "CAPABILITY";
            return {sasl_reply::kind::success, {}, r.text, r.code};
        }
        return {sasl_reply::kind::failure, {}, r.text, r.code};
    }
}

void client::on_authenticated() {
    // RFC 3501 §6.2.2: capabilities may change after authentication.
    if (!caps_from_auth_) {
        caps_.clear();
        run("CAPABILITY", stage::capability);
    }
}

}  // namespace mailwire::imap
