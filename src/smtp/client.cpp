#include "mailwire/smtp/client.hpp"

#include <fmt/format.h>

#include <algorithm>

#include "net/diagnose.hpp"

namespace mailwire::smtp {

client::client() : client_base(protocol::smtp) {}
client::~client() = default;

namespace {
// RFC 5321 §4.2.1 puts no bound on continuation lines; real servers send a few dozen (EHLO). A
// reply is held in memory, so a hostile server must not be able to grow it without end.
constexpr std::size_t max_reply_lines = 4096;
}  // namespace

smtp::reply client::read_reply(stage s) {
    reply_parser parser;
    parser.set_max_lines(std::min(max_reply_lines, limits().max_list_items));
    parser.set_max_bytes(limits().max_multiline_bytes);
    for (;;) {
        // The view is valid only until the next read: feed_line copies what it keeps.
        const auto line = read_line(s);
        try {
            if (parser.feed_line(line)) return parser.take();
        } catch (const protocol_error& e) {
            const auto code = static_cast<errc>(e.code().value());
            if (s == stage::greeting && code == errc::protocol_violation && parser.lines() == 0) {
                // An IMAP or POP3 server on this port: say which, and where SMTP usually is.
                const auto d = net::diagnose_foreign_greeting(context(stage::greeting), line);
                protocol_failure(d.code, s, d.detail, d.ctx.server_text, d.ctx.hint);
            }
            std::string detail = e.detail();
            if (code == errc::limit_exceeded)
                detail += parser.lines() >= parser.max_lines()
                              ? fmt::format(" (limits().max_list_items is {}; a reply has at most {} lines)",
                                            limits().max_list_items, max_reply_lines)
                              : " (limits().max_multiline_bytes)";
            protocol_failure(code, s, std::move(detail), std::string(line.substr(0, 200)));
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

void client::set_ehlo_name(std::string name) {
    check_command_text(name, "the EHLO name");
    // RFC 5321 §4.1.1.1: "EHLO" SP ( Domain / address-literal ) — one word. A space would add
    // arguments, other controls have no place in a domain (U-labels, RFC 6531, are allowed).
    const auto bad = std::find_if(name.begin(), name.end(), [](char ch) {
        const auto c = static_cast<unsigned char>(ch);
        return c <= 0x20 || c == 0x7f;
    });
    if (bad != name.end())
        throw error(errc::invalid_argument,
                    fmt::format("the EHLO name contains {} (byte 0x{:02X} at {}); it must be one domain or "
                                "address literal (RFC 5321 §4.1.1.1)",
                                *bad == ' ' ? "a space" : "a control character", static_cast<unsigned char>(*bad),
                                bad - name.begin()),
                    context(stage::command));
    ehlo_name_ = std::move(name);
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
        try {
            caps_ = parse_ehlo(r, limits().max_list_items);
        } catch (const protocol_error& e) {
            protocol_failure(static_cast<errc>(e.code().value()), stage::capability,
                             e.detail() + " (limits().max_list_items)");
        }
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

void client::sasl_start(std::string_view mechanism, const secret* initial, std::string_view logged) {
    // RFC 4954 §4: AUTH mechanism [initial-response], "=" for an empty one.
    send_sasl_start("AUTH", mechanism, initial, logged);
}

client_base::sasl_reply client::sasl_read() {
    auto r = read_reply(stage::authenticate);
    if (r.code == 334) return {sasl_reply::kind::challenge, r.lines.empty() ? std::string() : r.lines.front(), {}, {}};
    if (r.code == 235) return {sasl_reply::kind::success, {}, r.text(), r.enhanced_code};
    return {sasl_reply::kind::failure, {}, fmt::format("{} {}", r.code, r.text()), r.enhanced_code};
}

}  // namespace mailwire::smtp
