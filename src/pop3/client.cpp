#include "mailwire/pop3/client.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "core/digest.hpp"
#include "net/diagnose.hpp"

namespace mailwire::pop3 {

namespace {
constexpr std::size_t initial_buffer = 64 * 1024;
constexpr std::size_t min_read = 16 * 1024;  // the base reads the transport in 16 kB blocks
}  // namespace

pop3_error::pop3_error(std::string detail, error_context ctx, pop3::status st)
    : command_error(errc::command_failed, std::move(detail), std::move(ctx)), status_(std::move(st)) {}

bool pop3_error::transient() const noexcept {
    const auto k = kind();
    return k == response_code::in_use || k == response_code::login_delay || k == response_code::sys_temp;
}

message_handler::~message_handler() = default;
void message_handler::begin(std::uint32_t, std::optional<std::uint64_t>) {}
void message_handler::end(std::uint32_t, std::uint64_t) {}
void message_handler::refused(std::uint32_t, const pop3::status&) {}

client::client() : client_base(protocol::pop3) {}
client::~client() = default;

// ---- input ------------------------------------------------------------------------------------

void client::fill_input(stage s) {
    if (!in_) {
        in_cap_ = initial_buffer;
        in_ = std::make_unique<char[]>(in_cap_);
    }
    if constexpr (relocate_on_refill) {
        // Sanitizer builds move the unread bytes to a fresh buffer on every refill, so a view into
        // the buffer kept across a read (read_reply_line's result, a body chunk) is a use-after-free
        // that ASan reports, instead of a bug that shows only when the buffer happens to move or grow.
        auto fresh = std::make_unique<char[]>(in_cap_);
        std::memcpy(fresh.get(), in_.get() + in_begin_, in_end_ - in_begin_);
        in_end_ -= in_begin_;
        in_begin_ = 0;
        in_ = std::move(fresh);
    }
    if (in_begin_ == in_end_) {
        in_begin_ = in_end_ = 0;
    } else if (in_cap_ - in_end_ < min_read) {
        // Too little room for a useful read: move the unread tail to the front, or grow.
        if (in_begin_ > 0) {
            std::memmove(in_.get(), in_.get() + in_begin_, in_end_ - in_begin_);
            in_end_ -= in_begin_;
            in_begin_ = 0;
        }
        if (in_cap_ - in_end_ < min_read) {
            // Only a long line gets here; read_reply_line bounds it by max_line_length.
            const std::size_t cap = in_cap_ * 2;
            auto bigger = std::make_unique<char[]>(cap);
            std::memcpy(bigger.get(), in_.get(), in_end_);
            in_ = std::move(bigger);
            in_cap_ = cap;
        }
    }
    in_end_ += read_some(in_.get() + in_end_, in_cap_ - in_end_, s);
}

std::string_view client::read_reply_line(stage s) {
    std::size_t scanned = 0;
    for (;;) {
        const char* begin = in_ ? in_.get() + in_begin_ : nullptr;
        const std::size_t avail = in_end_ - in_begin_;
        if (avail > scanned) {
            if (const void* nl = std::memchr(begin + scanned, '\n', avail - scanned)) {
                const auto len = static_cast<std::size_t>(static_cast<const char*>(nl) - begin);
                if (len > limits().max_line_length)
                    protocol_failure(errc::limit_exceeded, s,
                                     fmt::format("a response line exceeded {} bytes", limits().max_line_length));
                std::size_t end = len;
                if (end > 0 && begin[end - 1] == '\r') --end;
                in_begin_ += len + 1;
                std::string_view line(begin, end);
                log(log_direction::server, line);
                return line;
            }
        }
        scanned = avail;
        if (avail > limits().max_line_length)
            protocol_failure(errc::limit_exceeded, s,
                             fmt::format("a response line exceeded {} bytes", limits().max_line_length));
        fill_input(s);
    }
}

pop3::status client::read_status(stage s) {
    const std::string_view line = read_reply_line(s);
    try {
        return parse_status(line);
    } catch (const protocol_error& e) {
        protocol_failure(errc::protocol_violation, s, e.detail(), std::string(line.substr(0, 200)));
    }
}

std::uint64_t client::read_body(stage s, std::uint64_t limit, std::string_view limit_name,
                                const std::function<void(std::string_view)>& out, std::uint32_t number,
                                std::optional<std::uint64_t> total) {
    multiline_decoder d;
    const multiline_decoder::output emit = [&](std::string_view chunk) {
        if (limit != 0 && d.body_bytes() + chunk.size() > limit)
            protocol_failure(errc::limit_exceeded, s,
                             fmt::format("a multi-line response grew beyond {} bytes ({}) without its terminating "
                                         "line",
                                         limit, limit_name),
                             {}, fmt::format("raise {} if such large responses are expected", limit_name));
        try {
            out(chunk);
        } catch (...) {
            // The rest of the body is still on the wire: this session cannot go on.
            stream().close();
            in_begin_ = in_end_ = 0;
            throw;
        }
    };
    for (;;) {
        if (in_begin_ == in_end_) fill_input(s);
        const auto r = d.feed(std::string_view(in_.get() + in_begin_, in_end_ - in_begin_), emit);
        in_begin_ += r.used;
        if (progress_ && number != 0) progress_(number, d.body_bytes(), total);
        if (r.done) return d.body_bytes();
    }
}

std::vector<std::string> client::read_lines(stage s, std::string_view what) {
    // Split as the body arrives rather than after buffering all of it: the reply is held once,
    // bounded by limits().max_multiline_bytes, and its line count by limits().max_list_items.
    std::vector<std::string> lines;
    std::string partial;  // a line cut by the end of a chunk
    auto complete = [&](std::string_view line) {
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        log(log_direction::server, line);
        bounded_push(lines, std::string(line), what);
    };
    read_body(
        s, limits().max_multiline_bytes, "limits().max_multiline_bytes",
        [&](std::string_view chunk) {
            while (!chunk.empty()) {
                const auto nl = chunk.find('\n');
                if (nl == std::string_view::npos) {
                    partial.append(chunk);
                    return;
                }
                if (partial.empty()) {
                    complete(chunk.substr(0, nl));
                } else {
                    partial.append(chunk.substr(0, nl));
                    complete(partial);
                    partial.clear();
                }
                chunk.remove_prefix(nl + 1);
            }
        },
        0, std::nullopt);
    if (!partial.empty()) complete(partial);
    return lines;
}

// ---- commands ---------------------------------------------------------------------------------

pop3::status client::exchange(std::string_view command, stage s, std::string_view logged) {
    if (logged.empty()) send_line(command);
    else send_line_masked(command, logged);
    return read_status(s);
}

void client::refused(std::string_view command, const pop3::status& st, stage s) {
    const auto verb = command.substr(0, command.find(' '));
    throw pop3_error(fmt::format("{} refused: -ERR {}{}", verb, st.code.empty() ? "" : "[" + st.code + "] ", st.text),
                     context(s, st.text), st);
}

pop3::status client::run(std::string_view command, stage s) {
    auto st = exchange(command, s);
    if (!st.ok) refused(command, st, s);
    return st;
}

void client::pipelined(std::size_t count, const std::function<std::string(std::size_t)>& command,
                       const std::function<void(std::size_t, const pop3::status&)>& response) {
    // RFC 2449 §6.6: with PIPELINING the client may send several commands without waiting; the
    // replies come back in order. A window bounds what is outstanding; it is refilled in one write
    // once half of it has been answered, so the server always has the next command queued.
    const std::size_t window = pipelining() ? window_ : 1;
    std::size_t sent = 0;
    std::size_t done = 0;
    std::string batch;
    try {
        while (done < count) {
            if (sent < count && sent - done <= window / 2) {
                batch.clear();
                while (sent < count && sent - done < window) {
                    auto c = command(sent++);
                    append_command_line(batch, c);  // the one gate, as for a single command
                    log(log_direction::client, c);
                }
                send_raw(batch);
            }
            const auto st = read_status(stage::command);
            response(done++, st);
        }
    } catch (...) {
        // Refusals are results, not exceptions, so anything thrown here (a handler, a broken
        // reply) leaves replies outstanding or a body half read: the session is out of step.
        stream().close();
        in_begin_ = in_end_ = 0;
        throw;
    }
}

void client::read_greeting() {
    in_begin_ = in_end_ = 0;
    const std::string line(read_reply_line(stage::greeting));
    greeting_ = line;
    pop3::status st;
    try {
        st = parse_status(line);
    } catch (const protocol_error&) {
        const auto d = net::diagnose_foreign_greeting(context(stage::greeting), line);
        protocol_failure(d.code, stage::greeting, d.detail, d.ctx.server_text, d.ctx.hint);
    }
    if (!st.ok) {
        stream().close();
        throw pop3_error("the server refused the connection", context(stage::greeting, st.text), st);
    }
    apop_ = pop3::apop_timestamp(st.text);
}

void client::query_capabilities() {
    send_line("CAPA");
    const auto st = read_status(stage::capability);
    caps_ = {};
    if (!st.ok) return;  // a pre-RFC 2449 server: no capabilities known
    try {
        caps_ = parse_capa(read_lines(stage::capability, "CAPA lines"), limits().max_list_items);
    } catch (const protocol_error& e) {
        if (is_connected())
            protocol_failure(static_cast<errc>(e.code().value()), stage::capability,
                             e.detail() + " (limits().max_list_items)");
        throw;
    }
}

void client::request_starttls() {
    auto st = exchange("STLS", stage::starttls);
    if (!st.ok)
        throw command_error(errc::starttls_refused, fmt::format("STLS refused: {}", st.text),
                            context(stage::starttls, st.text, "use implicit_tls on port 995"));
    // Response injection: the base checks its own buffer; bytes that arrived with the reply are here.
    if (in_end_ != in_begin_) {
        std::string extra(in_.get() + in_begin_, std::min<std::size_t>(in_end_ - in_begin_, 80));
        protocol_failure(errc::starttls_injection, stage::starttls,
                         "the server sent data after its STLS reply and before the TLS handshake; "
                         "refusing to continue (possible response injection)",
                         extra, "this is a man-in-the-middle symptom or a broken server; use implicit TLS");
    }
}

void client::forget_session_state() {
    caps_ = {};
    utf8_ = false;
    in_begin_ = in_end_ = 0;
    // The APOP timestamp came with the greeting over plaintext; RFC 2595 keeps it valid but an
    // attacker could have chosen it, so it is forgotten too.
    if (is_secure()) apop_.clear();
}

void client::send_logout() { exchange("QUIT", stage::logout); }

void client::quit() {
    if (!is_connected()) throw error(errc::not_connected, "QUIT needs a connection", context(stage::logout));
    pop3::status st;
    try {
        st = exchange("QUIT", stage::logout);
    } catch (...) {
        disconnect(false);
        throw;
    }
    disconnect(false);
    // RFC 1939 §6: -ERR to QUIT in the UPDATE state means some deletions were not done.
    if (!st.ok) refused("QUIT", st, stage::logout);
}

void client::noop() { run("NOOP"); }
void client::rset() { run("RSET"); }
void client::dele(std::uint32_t number) { run(fmt::format("DELE {}", number)); }

void client::utf8() {
    if (!caps_.utf8)
        throw config_error(errc::configuration, "the server does not advertise UTF8 (RFC 6856)",
                           context(stage::command));
    run("UTF8");
    utf8_ = true;
}

mailbox_stat client::stat() {
    const auto st = run("STAT");
    try {
        return parse_stat(st.text);
    } catch (const protocol_error& e) {
        protocol_failure(errc::protocol_violation, stage::command, e.detail(), st.text);
    }
}

std::vector<message_info> client::list() {
    run("LIST");
    std::vector<message_info> out;
    for (auto& l : read_lines(stage::command, "LIST lines")) {
        message_info item;
        try {
            item = parse_list_line(l);
        } catch (const protocol_error& e) {
            protocol_failure(errc::protocol_violation, stage::command, e.detail(), l.substr(0, 200));
        }
        bounded_push(out, std::move(item), "LIST results");
    }
    return out;
}

message_info client::list(std::uint32_t number) {
    const auto st = run(fmt::format("LIST {}", number));
    try {
        return parse_list_line(st.text);
    } catch (const protocol_error& e) {
        protocol_failure(errc::protocol_violation, stage::command, e.detail(), st.text);
    }
}

std::vector<std::optional<message_info>> client::list(std::span<const std::uint32_t> numbers) {
    std::vector<std::optional<message_info>> out(numbers.size());
    pipelined(
        numbers.size(), [&](std::size_t i) { return fmt::format("LIST {}", numbers[i]); },
        [&](std::size_t i, const pop3::status& st) {
            if (!st.ok) return;
            try {
                out[i] = parse_list_line(st.text);
            } catch (const protocol_error& e) {
                protocol_failure(errc::protocol_violation, stage::command, e.detail(), st.text);
            }
        });
    return out;
}

std::vector<message_uid> client::uidl() {
    run("UIDL");
    std::vector<message_uid> out;
    for (auto& l : read_lines(stage::command, "UIDL lines")) {
        message_uid item;
        try {
            item = parse_uidl_line(l);
        } catch (const protocol_error& e) {
            protocol_failure(errc::protocol_violation, stage::command, e.detail(), l.substr(0, 200));
        }
        bounded_push(out, std::move(item), "UIDL results");
    }
    return out;
}

message_uid client::uidl(std::uint32_t number) {
    const auto st = run(fmt::format("UIDL {}", number));
    try {
        return parse_uidl_line(st.text);
    } catch (const protocol_error& e) {
        protocol_failure(errc::protocol_violation, stage::command, e.detail(), st.text);
    }
}

std::vector<std::optional<message_uid>> client::uidl(std::span<const std::uint32_t> numbers) {
    std::vector<std::optional<message_uid>> out(numbers.size());
    pipelined(
        numbers.size(), [&](std::size_t i) { return fmt::format("UIDL {}", numbers[i]); },
        [&](std::size_t i, const pop3::status& st) {
            if (!st.ok) return;
            try {
                out[i] = parse_uidl_line(st.text);
            } catch (const protocol_error& e) {
                protocol_failure(errc::protocol_violation, stage::command, e.detail(), st.text);
            }
        });
    return out;
}

std::uint64_t client::fetch(std::string command, std::uint32_t number, const body_sink& sink, std::uint64_t limit,
                            std::string_view limit_name) {
    const auto st = exchange(command, stage::command);
    if (!st.ok) refused(command, st, stage::command);
    const auto total = command.starts_with("RETR") ? announced_octets(st.text) : std::nullopt;
    // The body goes to the caller's sink: it earns time at timeouts().min_transfer_rate.
    const body_sink credited = [&](std::string_view b) {
        credit_transfer(b.size());
        sink(b);
    };
    return read_body(stage::data, limit, limit_name, credited, number, total);
}

std::uint64_t client::retr(std::uint32_t number, const body_sink& sink) {
    return fetch(fmt::format("RETR {}", number), number, sink, max_message_, "max_message_bytes()");
}

std::string client::retr(std::uint32_t number) {
    std::string out;
    fetch(
        fmt::format("RETR {}", number), number, [&](std::string_view c) { out.append(c); },
        limits().max_multiline_bytes, "limits().max_multiline_bytes");
    return out;
}

std::uint64_t client::top(std::uint32_t number, std::uint32_t lines, const body_sink& sink) {
    return fetch(fmt::format("TOP {} {}", number, lines), number, sink, max_message_, "max_message_bytes()");
}

std::string client::top(std::uint32_t number, std::uint32_t lines) {
    std::string out;
    fetch(
        fmt::format("TOP {} {}", number, lines), number, [&](std::string_view c) { out.append(c); },
        limits().max_multiline_bytes, "limits().max_multiline_bytes");
    return out;
}

download_result client::retrieve(std::span<const std::uint32_t> numbers, message_handler& handler) {
    download_result res;
    pipelined(
        numbers.size(), [&](std::size_t i) { return fmt::format("RETR {}", numbers[i]); },
        [&](std::size_t i, const pop3::status& st) {
            const auto n = numbers[i];
            if (!st.ok) {
                res.refused.push_back(n);
                handler.refused(n, st);
                return;
            }
            const auto total = announced_octets(st.text);
            handler.begin(n, total);
            const auto bytes = read_body(
                stage::data, max_message_, "max_message_bytes()",
                [&](std::string_view c) {
                    credit_transfer(c.size());  // a streamed body earns time (timeouts().min_transfer_rate)
                    handler.data(n, c);
                },
                n, total);
            handler.end(n, bytes);
            ++res.retrieved;
            res.bytes += bytes;
        });
    return res;
}

// ---- authentication ---------------------------------------------------------------------------

void client::login(const std::string& user, const secret& password) {
    check_credentials(user, &password);
    require_secure_for_credentials("a POP3 password");
    sasl::credentials c;
    c.user = user;
    c.password = password;
    user_pass(c);
    set_authenticated("USER");
}

void client::check_credentials(std::string_view user, const secret* password) const {
    // RFC 1939 §7: USER, PASS and APOP take their argument up to CRLF, so a CR or LF in it would
    // end the command and start another ("alice\r\nDELE 1"). Both are checked before USER goes
    // out: a password refused after USER was accepted would leave the server waiting for PASS.
    check_command_text(user, "the POP3 user name");
    if (password != nullptr) check_command_text(password->view(), "the POP3 password");
}

void client::user_pass(const sasl::credentials& c) {
    check_credentials(c.user, &c.password);
    auto st = exchange("USER " + c.user, stage::authenticate);
    if (st.ok) {
        secret line;  // "PASS <password>" is the password in clear: built in a secret
        line.reserve(5 + c.password.size());
        line.append("PASS ").append(c.password);
        st = exchange(line.view(), stage::authenticate, "PASS <password>");
    }
    if (!st.ok)
        throw auth_error(errc::auth_failed, fmt::format("login failed: {}", st.text),
                         context(stage::authenticate, st.text), st.code);
}

std::string client::legacy_login(const sasl::credentials& c) {
    // APOP hides the password from an eavesdropper, so it is the choice over plaintext. Inside
    // TLS it adds nothing (the digest, MD5 over a public timestamp, still lets whoever gets it
    // test guesses offline) and servers often have no APOP secret for an account that logs in
    // with USER/PASS, so there USER/PASS is preferred when CAPA lists it (RFC 2449 §6.8); APOP
    // only when it is the one login offered. Without this an implicit-TLS port (greeting with a
    // timestamp) and STLS (timestamp forgotten) would log the same account in differently.
    const bool apop = !apop_.empty() && (!is_secure() || !caps_.user);
    if (apop) return apop_login(c);
    user_pass(c);
    return "USER";
}

std::string client::legacy_login_named(const sasl::credentials& c, std::string_view name) {
    if (name == "APOP") {
        if (apop_.empty()) return {};  // no timestamp in this session's greeting: nothing to digest
        require_secure_for_credentials("an APOP digest");
        return apop_login(c);
    }
    if (name == "USER") {
        require_secure_for_credentials("a POP3 password");
        user_pass(c);
        return "USER";
    }
    return {};
}

std::string client::apop_login(const sasl::credentials& c) {
    check_credentials(c.user, nullptr);  // the password only enters the digest
    // RFC 1939 §7: APOP name digest, digest = MD5(timestamp + secret) in lower-case hex.
    // The digest with the public timestamp lets anyone test password guesses offline, so the
    // input, the digest and the command line are all wiped.
    secret input;
    input.reserve(apop_.size() + c.password.size());
    input.append(apop_).append(c.password);
    std::string digest = detail::md5_hex(input.view());
    const mailwire::detail::wipe_on_exit wipe_digest(digest);
    secret line;
    line.reserve(5 + c.user.size() + 1 + digest.size());
    line.append("APOP ").append(c.user).push_back(' ');
    line.append(digest);
    auto st = exchange(line.view(), stage::authenticate, fmt::format("APOP {} <digest>", c.user));
    if (!st.ok)
        throw auth_error(errc::auth_failed, fmt::format("APOP failed: {}", st.text),
                         context(stage::authenticate, st.text), st.code);
    return "APOP";
}

void client::sasl_start(std::string_view mechanism, const secret* initial, std::string_view logged) {
    // RFC 5034 §4: AUTH mechanism [initial-response], "=" for an empty one.
    send_sasl_start("AUTH", mechanism, initial, logged);
}

client_base::sasl_reply client::sasl_read() {
    const std::string line(read_reply_line(stage::authenticate));
    if (line == "+" || line.starts_with("+ "))
        return {sasl_reply::kind::challenge, line.size() > 2 ? line.substr(2) : "", {}, {}};
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
