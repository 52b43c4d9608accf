#include "mailwire/smtp/client.hpp"

#include <fmt/format.h>

namespace mailwire::smtp {

client::client() : client_base(protocol::smtp) {}
client::~client() = default;

smtp::reply client::read_reply(stage s) {
    reply_parser parser;
    for (;;) {
        const auto line = read_line(s);
        try {
            if (parser.feed_line(line)) return parser.take();
        } catch (const protocol_error& e) {
            protocol_failure(static_cast<errc>(e.code().value()), s, e.detail(), std::string(line));
        }
    }
}

smtp::reply client::exchange(std::string_view command, stage s) {
    send_line(command);
    return read_reply(s);
}

void client::read_greeting() {
    auto r = read_reply(stage::greeting);
    greeting_ = r.text();
    if (r.code != 220) {
        stream().close();
        // RFC 5321 §3.1: 554 means "no SMTP service here".
        throw command_error(errc::command_failed,
                            fmt::format("the server refused the connection: {} {}", r.code, r.text()),
                            context(stage::greeting, r.text()));
    }
}

std::string client::ehlo_name() const {
    if (!ehlo_name_.empty()) return ehlo_name_;
    const auto addr = transport().local_address();
    if (addr.empty()) return "localhost";
    return addr.find(':') != std::string::npos ? "[IPv6:" + addr + "]" : "[" + addr + "]";
}

void client::query_capabilities() {
    auto r = exchange("EHLO " + ehlo_name(), stage::capability);
    if (r.code == 250) {
        caps_ = parse_ehlo(r);
        return;
    }
    if (r.permanent()) {
        // RFC 5321 §4.1.1.1: fall back to HELO for servers without extensions.
        r = exchange("HELO " + ehlo_name(), stage::capability);
        if (r.code == 250) {
            caps_ = {};
            caps_.domain = r.lines.empty() ? std::string() : r.lines.front().substr(0, r.lines.front().find(' '));
            return;
        }
    }
    throw command_error(errc::command_failed, fmt::format("EHLO/HELO refused: {} {}", r.code, r.text()),
                        context(stage::capability, r.text()));
}

void client::request_starttls() {
    auto r = exchange("STARTTLS", stage::starttls);
    if (r.code != 220)
        throw command_error(errc::starttls_refused, fmt::format("STARTTLS refused: {} {}", r.code, r.text()),
                            context(stage::starttls, r.text(), "use implicit_tls on port 465"));
}

void client::forget_session_state() { caps_ = {}; }

void client::send_logout() { exchange("QUIT", stage::logout); }

void client::noop() {
    auto r = exchange("NOOP");
    if (!r.positive())
        throw command_error(errc::command_failed, fmt::format("NOOP refused: {} {}", r.code, r.text()),
                            context(stage::command, r.text()));
}

void client::sasl_start(std::string_view mechanism, const std::string* initial, std::string_view logged) {
    // RFC 4954 §4: AUTH mechanism [initial-response], "=" for an empty one.
    if (initial == nullptr) send_line(fmt::format("AUTH {}", mechanism));
    else send_line_masked(fmt::format("AUTH {} {}", mechanism, *initial), fmt::format("AUTH {} {}", mechanism, logged));
}

client_base::sasl_reply client::sasl_read() {
    auto r = read_reply(stage::authenticate);
    if (r.code == 334) return {sasl_reply::kind::challenge, r.lines.empty() ? std::string() : r.lines.front(), {}, {}};
    if (r.code == 235) return {sasl_reply::kind::success, {}, r.text(), r.enhanced_code};
    return {sasl_reply::kind::failure, {}, fmt::format("{} {}", r.code, r.text()), r.enhanced_code};
}

}  // namespace mailwire::smtp
