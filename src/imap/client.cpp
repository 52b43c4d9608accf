#include "mailwire/imap/client.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <thread>

#include "net/diagnose.hpp"
#include "responses.hpp"

namespace mailwire::imap {
namespace {

std::string upper(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
    return out;
}

bool needs_literal(std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u >= 0x80 || c == '\r' || c == '\n' || c == '\0';
    });
}

std::string join(const std::vector<std::string>& v, std::string_view sep) {
    std::string out;
    for (const auto& s : v) {
        if (!out.empty()) out += sep;
        out += s;
    }
    return out;
}

std::string first_line(std::string_view s) {
    const auto nl = s.find('\n');
    auto line = s.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return std::string(line);
}

sequence_set set_of_ranges(const std::vector<std::pair<std::uint32_t, std::uint32_t>>& ranges) {
    sequence_set out;
    for (auto [lo, hi] : ranges) out.add(lo, hi);
    return out;
}

std::uint32_t to_u32(std::string_view s) {
    std::uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return 0;
        v = v * 10 + static_cast<std::uint64_t>(c - '0');
        if (v > 0xffffffffu) return 0;
    }
    return static_cast<std::uint32_t>(v);
}

/// RFC 3501 §7.4.1 EXPUNGE; "EXPUNGED" is a non-standard spelling some servers use for the same
/// response (GNU Mailutils): the message is gone either way, and ignoring it would leave the
/// mailbox state and the count of removed messages wrong.
bool is_expunge(const response& r) { return r.has_number && (r.is("EXPUNGE") || r.is("EXPUNGED")); }

/// Whether a FETCH response (already decoded into `f`) is about a message of `set`: by UID for a
/// UID command (RFC 3501 §6.4.8 makes the server include it), else by sequence number.
bool about(const sequence_set& set, const response& r, const fetch_data& f, bool uid) {
    if (uid) return f.uid && set.contains(*f.uid);
    return set.contains(r.number);
}

/// `set` with every "lo:*" written "lo:4294967295": the same messages for the caller, but a server
/// cannot answer with the highest UID below lo, as RFC 3501 lets it for "*". A lone "*" stays.
sequence_set without_star(const sequence_set& set) {
    sequence_set out;
    for (auto [lo, hi] : set.ranges())
        out.add(lo, hi == sequence_set::star && lo != sequence_set::star ? 0xffffffffu : hi);
    return out;
}

/// The first number of `answer` that `requested` does not hold (as sequence_set::contains() reads
/// it), range by range: a hostile "1:4294967295" costs no more than "1".
std::optional<std::uint32_t> first_outside(const sequence_set& requested, const sequence_set& answer) {
    constexpr std::uint64_t top = 0xffffffffu;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> held;
    for (auto [lo, hi] : requested.ranges())
        held.emplace_back(lo == sequence_set::star ? 1 : lo, hi == sequence_set::star ? top : hi);
    std::sort(held.begin(), held.end());
    for (auto [lo, hi] : answer.ranges()) {
        std::uint64_t next = lo == sequence_set::star ? top : lo;  // the first number not yet covered
        const std::uint64_t last = hi == sequence_set::star ? top : hi;
        for (const auto& [l, h] : held) {
            if (l > next) break;
            if (h >= next) next = h + 1;
            if (next > last) break;
        }
        if (next <= last) return static_cast<std::uint32_t>(next);
    }
    return std::nullopt;
}

/// Capabilities the FETCH items need, from the item names (RFC 7162, RFC 3516, RFC 8474).
void fetch_item_needs(std::string_view items, std::vector<std::pair<std::string, std::string>>& out) {
    std::string u;  // upper case, without the sections: BODY[HEADER.FIELDS (MODSEQ)] names a header field
    int depth = 0;
    for (char c : items) {
        if (c == ']' && depth > 0) --depth;
        u += depth > 0 ? ' ' : (c >= 'a' && c <= 'z') ? static_cast<char>(c - 32) : c;
        if (c == '[') ++depth;
    }
    auto word = [&](std::string_view w) {
        for (std::size_t p = u.find(w); p != std::string::npos; p = u.find(w, p + 1)) {
            const bool start = p == 0 || u[p - 1] == ' ' || u[p - 1] == '(';
            const char after = p + w.size() < u.size() ? u[p + w.size()] : ' ';
            if (start && (after == ' ' || after == ')' || after == '[' || after == '.')) return true;
        }
        return false;
    };
    if (word("MODSEQ")) out.emplace_back("CONDSTORE", "the FETCH item MODSEQ");
    if (word("BINARY") || word("BINARY.SIZE")) out.emplace_back("BINARY", "the FETCH item BINARY");
    if (word("EMAILID") || word("THREADID")) out.emplace_back("OBJECTID", "the FETCH items EMAILID/THREADID");
}

std::uint64_t to_u64(std::string_view s) {
    std::uint64_t v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return 0;
        v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return v;
}

}  // namespace

client::command& client::command::string(std::string_view s) {
    // RFC 3501 §4.3: a literal carries CHAR8 (%x01-ff), so NUL fits neither a quoted string nor a
    // literal; CR, LF and 8-bit text go as a literal, everything else quoted.
    if (s.find('\0') != std::string_view::npos)
        throw error(errc::invalid_argument, "an IMAP string argument contains NUL, which IMAP cannot carry");
    if (needs_literal(s)) return literal(s);
    return text(quote(s));
}

client::client() : client_base(protocol::imap) {}
client::~client() = default;

std::string client::quote(std::string_view s) {
    // RFC 3501 §4.3: QUOTED-CHAR excludes CR and LF, and no string may hold NUL; a quoted string
    // escapes only '"' and '\'.
    if (const auto bad = s.find_first_of(std::string_view("\r\n\0", 3)); bad != std::string_view::npos)
        throw error(errc::invalid_argument,
                    fmt::format("cannot quote a string containing {} (at byte {}): send it as a literal",
                                s[bad] == '\r'   ? "CR"
                                : s[bad] == '\n' ? "LF"
                                                 : "NUL",
                                bad));
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    out += '"';
    return out;
}

std::string client::wire_mailbox(std::string_view name) const {
    return is_enabled("UTF8=ACCEPT") ? std::string(name) : encode_mailbox_name(name);
}

bool client::has_capability(std::string_view cap) const {
    return std::any_of(caps_.begin(), caps_.end(), [&](const std::string& c) { return iequals(c, cap); });
}

void client::require(std::string_view cap, std::string_view what) const {
    if (has_capability(cap)) return;
    if (iequals(cap, "CONDSTORE") && has_capability("QRESYNC")) return;  // RFC 7162 §3.2.3: QRESYNC implies it
    throw command_error(errc::command_failed,
                        fmt::format("the server does not offer the {} extension (needed for {}); nothing was sent", cap,
                                    what),
                        context(stage::command, {}, fmt::format("leave out {} with this server", what)));
}

void client::require_status_item(std::string_view item) const {
    // STATUS items beyond RFC 3501's MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN, and what offers them.
    static constexpr std::pair<std::string_view, std::string_view> needs[] = {
        {"HIGHESTMODSEQ", "CONDSTORE"}, {"SIZE", "STATUS=SIZE"},  {"APPENDLIMIT", "APPENDLIMIT"},
        {"MAILBOXID", "OBJECTID"},      {"DELETED", "IMAP4REV2"},
    };
    for (const auto& [name, cap] : needs)
        if (iequals(item, name)) require(cap, fmt::format("the STATUS item {}", name));
}

void client::confine(const sequence_set& requested, const sequence_set& answer, std::string_view what, bool uid) {
    const auto extra = first_outside(requested, answer);
    if (!extra) return;
    auto said = answer.to_string();
    if (said.size() > 200) said = said.substr(0, 200) + "…";
    protocol_failure(errc::protocol_violation, stage::command,
                     fmt::format("the server answered {} with {} {}: {} {} was not asked for; mailwire stopped "
                                 "before acting on it",
                                 what, uid ? "UIDs" : "message numbers", said, uid ? "UID" : "message", *extra),
                     {},
                     uid ? "the server may be reading UIDs as sequence numbers (a known server bug): check the "
                           "mailbox with another client"
                         : "");
}

bool client::is_enabled(std::string_view ext) const {
    return std::any_of(enabled_.begin(), enabled_.end(), [&](const std::string& c) { return iequals(c, ext); });
}

std::vector<std::string> client::auth_mechanisms() const {
    std::vector<std::string> out;
    for (const auto& c : caps_)
        if (c.starts_with("AUTH=")) out.push_back(c.substr(5));
    return out;
}

std::string client::next_tag() { return fmt::format("A{:04}", ++tag_counter_); }

// ---- the engine ----------------------------------------------------------------------------

void client::done() noexcept {
    consume(pending_consume_);
    pending_consume_ = 0;
}

void client::parse_failure(const protocol_error& e, stage s) {
    protocol_failure(static_cast<errc>(e.code().value()), s, e.detail(), first_line(input().substr(0, 200)));
}

const response& client::read_response(stage s, const literal_sink* sink) {
    done();
    auto& lim = parser_.limits();
    lim = plimits_;
    lim.max_line_length = limits().max_line_length;
    lim.max_response_bytes = std::min(plimits_.max_response_bytes, limits().max_multiline_bytes);
    // Parenthesis nesting (BODYSTRUCTURE, THREAD, …) is the server's choice: the tighter of the two
    // bounds holds, whichever the caller lowered.
    lim.max_depth = static_cast<unsigned>(std::min<std::size_t>(plimits_.max_depth, limits().max_nesting_depth));
    lim.stream_threshold = (sink != nullptr && sink->data) ? sink->threshold : ~0ull;
    for (;;) {
        response_parser::event ev;
        try {
            ev = parser_.next(input());
        } catch (const protocol_error& e) {
            parse_failure(e, s);
        }
        switch (ev.type) {
        case response_parser::event::kind::need_more:
            read_more(s);
            break;
        case response_parser::event::kind::literal_begin:
            log(log_direction::server,
                fmt::format("{} <{} bytes streamed>", first_line(input().substr(0, ev.consumed)), ev.literal_size));
            if (sink != nullptr && sink->begin) sink->begin(ev.literal_seq, ev.literal_item, ev.literal_size);
            consume(ev.consumed);
            break;
        case response_parser::event::kind::literal_data:
            if (sink != nullptr && sink->data) {
                credit_transfer(ev.data.size());  // a streamed body earns time (timeouts().min_transfer_rate)
                sink->data(ev.data);
            }
            consume(ev.consumed);
            break;
        case response_parser::event::kind::response:
            pending_consume_ = ev.consumed;
            if (has_logger())
                log(log_direction::server, first_line(input().substr(0, std::min<std::size_t>(ev.consumed, 4096))));
            return parser_.current();
        }
    }
}

void client::emit(const mailbox_event& e) {
    if (observer_) observer_(e, state_);
    if (idle_handler_ && idle_continue_) idle_continue_ = idle_handler_(e);
}

void client::absorb(const response& r) {
    if (!r.code.empty()) {
        const auto code = r.code;
        if (iequals(code, "CAPABILITY")) {
            caps_ = parse_capabilities(r.code_text);
        } else if (iequals(code, "UIDVALIDITY")) {
            state_.uidvalidity = to_u32(r.code_text);
            emit({mailbox_event::kind::uidvalidity, state_.uidvalidity});
        } else if (iequals(code, "UIDNEXT")) {
            state_.uidnext = to_u32(r.code_text);
            emit({mailbox_event::kind::uidnext, state_.uidnext});
        } else if (iequals(code, "UNSEEN")) {
            state_.first_unseen = to_u32(r.code_text);
        } else if (iequals(code, "PERMANENTFLAGS")) {
            state_.permanent_flags.clear();
            if (r.code_args != node::npos && r.nodes[r.code_args].type == node::kind::list)
                state_.permanent_flags = interpret_flags(r, r.nodes[r.code_args]);
        } else if (iequals(code, "HIGHESTMODSEQ")) {
            state_.highestmodseq = to_u64(r.code_text);
            state_.nomodseq = false;
            mailbox_event e{mailbox_event::kind::highestmodseq};
            e.modseq = state_.highestmodseq;
            emit(e);
        } else if (iequals(code, "NOMODSEQ")) {
            state_.nomodseq = true;
        } else if (iequals(code, "READ-ONLY")) {
            state_.read_only = true;
        } else if (iequals(code, "READ-WRITE")) {
            state_.read_only = false;
        } else if (iequals(code, "ALERT")) {
            mailbox_event e{mailbox_event::kind::alert};
            e.text = std::string(r.text);
            emit(e);
        }
    }
    if (r.type != response_line::kind::untagged) return;
    if (r.status == status::bye) {
        mailbox_event e{mailbox_event::kind::bye};
        e.text = std::string(r.text);
        emit(e);
        return;
    }
    if (r.status != status::none) return;
    if (r.has_number) {
        if (r.is("EXISTS")) {
            state_.exists = r.number;
            emit({mailbox_event::kind::exists, r.number});
        } else if (r.is("RECENT")) {
            state_.recent = r.number;
            emit({mailbox_event::kind::recent, r.number});
        } else if (is_expunge(r)) {
            if (state_.exists > 0) --state_.exists;
            emit({mailbox_event::kind::expunge, r.number});
        } else if (r.is("FETCH")) {
            try {
                interpret_fetch(r, scratch_);
            } catch (const protocol_error& e) {
                parse_failure(e, stage::command);
            }
            if (scratch_.modseq && *scratch_.modseq > state_.highestmodseq && !state_.nomodseq)
                state_.highestmodseq = *scratch_.modseq;
            if (observer_ || idle_handler_) {
                mailbox_event e{mailbox_event::kind::fetch, r.number};
                e.fetch = &scratch_;
                if (scratch_.modseq) e.modseq = *scratch_.modseq;
                emit(e);
            }
        }
        return;
    }
    if (r.is("CAPABILITY")) {
        caps_.clear();
        for (auto i = r.data; i != node::npos; i = r.nodes[i].next)
            bounded_push(caps_, upper(r.nodes[i].text), "CAPABILITY atoms");
    } else if (r.is("ENABLED")) {
        for (auto i = r.data; i != node::npos; i = r.nodes[i].next) {
            auto e = upper(r.nodes[i].text);
            if (!is_enabled(e)) bounded_push(enabled_, e, "ENABLED extensions");
            if (e == "QRESYNC" && !is_enabled("CONDSTORE")) bounded_push(enabled_, "CONDSTORE", "ENABLED extensions");
        }
    } else if (r.is("FLAGS")) {
        if (r.data != node::npos && r.nodes[r.data].type == node::kind::list) {
            state_.flags = interpret_flags(r, r.nodes[r.data]);
            emit({mailbox_event::kind::flags});
        }
    } else if (r.is("VANISHED")) {
        const auto v = interpreted([&] { return detail::interpret_vanished(r); });
        if (!v) return;
        mailbox_event e{mailbox_event::kind::vanished};
        e.earlier = v->earlier;
        e.uids = v->uids;
        if (!e.earlier) {
            std::uint64_t n = 0;
            for (auto [lo, hi] : e.uids.ranges()) n += (hi >= lo ? hi - lo : 0) + 1;
            state_.exists = n >= state_.exists ? 0 : state_.exists - static_cast<std::uint32_t>(n);
        }
        emit(e);
    }
}

void client::send_parts(const std::string& tag, const command& c, stage s, std::optional<response_line>& early) {
    // Every piece between literals is checked before the first byte leaves: a CR/LF/NUL in the
    // last piece must not be found after the first literal went out (the server would be left
    // holding half a command). Each line then passes the one gate, append_command_line.
    for (std::size_t i = 0; i < c.parts.size(); i += 2) check_command_text(c.parts[i], "the IMAP command");
    const bool plus = has_capability("LITERAL+");
    const bool minus = has_capability("LITERAL-");
    std::string out;
    std::string line = tag;
    line += ' ';
    // These buffers may carry a credential (LOGIN): wiped before they are freed, on every path.
    const mailwire::detail::wipe_on_exit wipe_out(out), wipe_line(line);
    if (!c.logged.empty()) log(log_direction::client, tag + " " + c.logged);
    for (std::size_t i = 0; i < c.parts.size(); i += 2) {
        line += c.parts[i];
        if (i + 1 >= c.parts.size()) break;
        const auto& lit = c.parts[i + 1];
        const auto k = i / 2;  // which literal
        const literal_reader* reader = k < c.streamed.size() ? c.streamed[k].second : nullptr;
        const std::uint64_t size = reader != nullptr ? c.streamed[k].first : lit.size();
        const bool nonsync = plus || (minus && size <= 4096);
        line += fmt::format("{{{}{}}}", size, nonsync ? "+" : "");
        if (c.logged.empty()) log(log_direction::client, std::string_view(line).substr(0, 4096));
        append_command_line(out, line);
        send_raw(out);
        out.clear();
        line.clear();
        if (!nonsync) {
            for (;;) {
                const response& r = read_response(s, nullptr);
                if (r.type == response_line::kind::continuation) break;
                absorb(r);
                if (r.type == response_line::kind::tagged) {
                    if (r.tag != tag)
                        protocol_failure(errc::protocol_violation, s, fmt::format("response for unknown tag {}", r.tag),
                                         std::string(r.text));
                    early = r.to_line();
                    done();
                    return;
                }
            }
            done();
        }
        if (reader != nullptr) send_streamed(*reader, size, s);
        else send_raw(lit);
        if (c.logged.empty()) log(log_direction::client, fmt::format("<{} literal bytes>", size));
    }
    if (c.logged.empty()) log(log_direction::client, std::string_view(line).substr(0, 4096));
    append_command_line(out, line);
    send_raw(out);
}

void client::send_streamed(const literal_reader& reader, std::uint64_t size, stage s) {
    std::string buffer(std::size_t{64} * 1024, '\0');
    std::uint64_t left = size;
    while (left > 0) {
        std::size_t n = 0;
        try {
            n = reader(buffer.data(), static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), left)));
        } catch (...) {
            disconnect(false);  // the server waits for the rest of the literal: the session is lost
            throw;
        }
        if (n == 0 || n > left)
            protocol_failure(errc::io_error, s,
                             fmt::format("the message source gave {} of the {} bytes it promised",
                                         size - left + (n > left ? n : 0), size));
        send_raw(std::string_view(buffer.data(), n));
        left -= n;
    }
}

response_line client::execute(const command& c, stage s, const untagged_handler& on_untagged,
                              const literal_sink* sink) {
    const auto tag = next_tag();
    std::optional<response_line> early;
    send_parts(tag, c, s, early);
    if (early) return *early;
    for (;;) {
        const response& r = read_response(s, sink);
        if (r.type == response_line::kind::continuation)
            protocol_failure(errc::protocol_violation, s, "unexpected continuation request", std::string(r.text));
        if (r.type == response_line::kind::untagged) {
            if (r.status == status::bye && s != stage::logout)
                protocol_failure(errc::connection_closed, s, "the server closed the session (BYE)",
                                 std::string(r.text));
            absorb(r);
            if (on_untagged) on_untagged(r);
            continue;
        }
        if (r.tag != tag)
            protocol_failure(errc::protocol_violation, s, fmt::format("response for unknown tag {}", r.tag),
                             first_line(input()));
        absorb(r);
        auto line = r.to_line();
        done();
        return line;
    }
}

response_line client::check(response_line r, std::string_view what, stage s) {
    if (r.status == status::ok) return r;
    std::string hint;
    if (iequals(r.code, "TRYCREATE")) hint = "the target mailbox does not exist: create it (CREATE), then try again";
    throw command_refused(fmt::format("{} refused: {} {}{}", what, r.status == status::no ? "NO" : "BAD",
                                      r.code.empty()
                                          ? std::string()
                                          : "[" + r.code + (r.code_args.empty() ? "" : " " + r.code_args) + "] ",
                                      r.text),
                          context(s, r.text, std::move(hint)), upper(r.code), r.code_args);
}

response_line client::run(std::string_view cmd, stage s, const untagged_handler& on_untagged) {
    check_command_text(cmd, "the IMAP command");
    command c;
    c.text(cmd);
    return check(execute(c, s, on_untagged), cmd.substr(0, cmd.find(' ')), s);
}

// ---- session ---------------------------------------------------------------------------------

void client::read_greeting() {
    const response* r = nullptr;
    try {
        r = &read_response(stage::greeting, nullptr);
    } catch (const protocol_error& e) {
        if (e.code() != make_error_code(errc::protocol_violation)) throw;
        const auto d = net::diagnose_foreign_greeting(context(stage::greeting), e.server_text());
        protocol_failure(d.code, stage::greeting, d.detail, d.ctx.server_text, d.ctx.hint);
    }
    greeting_ = first_line(input().substr(0, pending_consume_));
    if (r->type != response_line::kind::untagged ||
        (r->status != status::ok && r->status != status::preauth && r->status != status::bye)) {
        const auto d = net::diagnose_foreign_greeting(context(stage::greeting), greeting_);
        protocol_failure(d.code, stage::greeting, d.detail, d.ctx.server_text, d.ctx.hint);
    }
    if (r->status == status::bye) {
        const std::string text(r->text);
        done();
        stream().close();
        throw command_error(errc::command_failed, "the server refused the connection", context(stage::greeting, text));
    }
    preauth_ = r->status == status::preauth;
    if (preauth_) set_authenticated("PREAUTH");
    absorb(*r);
    done();
}

void client::query_capabilities() {
    // The greeting's CAPABILITY code is only trusted before TLS was started on this connection
    // when it came with that very greeting; after STARTTLS caps_ were cleared and we ask again.
    if (!caps_.empty()) return;
    run("CAPABILITY", stage::capability);
}

const std::vector<std::string>& client::capability() {
    run("CAPABILITY", stage::capability);
    return caps_;
}

bool client::offers_starttls() const { return has_capability("STARTTLS"); }

void client::request_starttls() {
    command c;
    c.text("STARTTLS");
    auto r = execute(c, stage::starttls);
    if (r.status != status::ok) {
        throw command_error(errc::starttls_refused, fmt::format("STARTTLS refused: {}", r.text),
                            context(stage::starttls, r.text, "use implicit_tls on port 993"));
    }
}

void client::forget_session_state() {
    caps_.clear();
    enabled_.clear();
    state_ = {};
    parser_.reset();
    pending_consume_ = 0;
    // preauth_ is a fact of this connection's greeting; it stays.
}

void client::send_logout() {
    command c;
    c.text("LOGOUT");
    execute(c, stage::logout);
}

void client::noop() { run("NOOP"); }

void client::login(const std::string& user, const secret& password) {
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

std::string client::legacy_login(const sasl::credentials& cr) {
    if (has_capability("LOGINDISABLED")) return {};
    caps_from_auth_ = false;
    command c;
    // The command's buffers carry the password: sized up front so that nothing reallocates (a
    // reallocation frees the old copy unwiped) and wiped on every way out. The password is
    // quoted in place rather than through quote(), whose temporary would be freed unwiped.
    const std::string_view pw = cr.password.view();
    c.parts.reserve(3);
    c.parts.back().reserve(8 + 2 * cr.user.size() + 2 * pw.size() + 4);
    struct parts_wiper {
        command& c;
        ~parts_wiper() {
            for (auto& part : c.parts) mailwire::detail::wipe(part);
        }
    } wiper{c};
    c.text("LOGIN ").string(cr.user).text(" ");
    if (needs_literal(pw) || pw.find('\0') != std::string_view::npos) {
        c.string(pw);  // a literal: one exact copy in its own part (NUL throws)
    } else {
        auto& line = c.parts.back();
        line += '"';  // RFC 3501 §4.3 quoted string: escape '"' and '\'
        for (const char ch : pw) {
            if (ch == '"' || ch == '\\') line += '\\';
            line += ch;
        }
        line += '"';
    }
    c.logged = fmt::format("LOGIN {} <password>", needs_literal(cr.user) ? "<literal>" : quote(cr.user));
    auto r = execute(c, stage::authenticate);
    if (r.status != status::ok)
        throw auth_error(errc::auth_failed, fmt::format("LOGIN failed: {}", r.text),
                         context(stage::authenticate, r.text), r.code);
    caps_from_auth_ = r.code == "CAPABILITY";
    return "LOGIN";
}

void client::sasl_start(std::string_view mechanism, const secret* initial, std::string_view logged) {
    auth_tag_ = next_tag();
    caps_from_auth_ = false;
    // RFC 3501 §6.2.2, with the SASL-IR initial response (RFC 4959).
    send_sasl_start(auth_tag_ + " AUTHENTICATE", mechanism, initial, logged);
}

client_base::sasl_reply client::sasl_read() {
    for (;;) {
        const response& r = read_response(stage::authenticate, nullptr);
        if (r.type == response_line::kind::continuation) {
            sasl_reply out{sasl_reply::kind::challenge, std::string(r.text), {}, {}};
            done();
            return out;
        }
        absorb(r);
        if (r.type == response_line::kind::untagged) continue;
        if (r.tag != auth_tag_)
            protocol_failure(errc::protocol_violation, stage::authenticate,
                             fmt::format("response for unknown tag {}", r.tag), std::string(r.text));
        const auto line = r.to_line();
        done();
        if (line.status == status::ok) {
            caps_from_auth_ = line.code == "CAPABILITY";
            return {sasl_reply::kind::success, {}, line.text, line.code};
        }
        return {sasl_reply::kind::failure, {}, line.text, line.code};
    }
}

void client::on_authenticated() {
    // RFC 3501 §6.2.2: capabilities may change after authentication.
    if (!caps_from_auth_) {
        caps_.clear();
        run("CAPABILITY", stage::capability);
    }
}

std::map<std::string, std::string> client::id(const std::map<std::string, std::string>& fields) {
    require("ID", "ID");
    command c;
    c.text("ID ");
    if (fields.empty()) {
        c.text("NIL");
    } else {
        c.text("(");
        bool first = true;
        for (const auto& [k, v] : fields) {
            if (!first) c.text(" ");
            first = false;
            c.string(k).text(" ").string(v);
        }
        c.text(")");
    }
    std::vector<std::pair<std::string, std::string>> got;
    check(execute(c, stage::command,
                  [&](const response& r) {
                      if (!r.is("ID")) return;
                      for (auto& f : interpreted([&] { return detail::interpret_id(r, limits().max_list_items); }))
                          bounded_push(got, std::move(f), "ID fields");
                  }),
          "ID");
    std::map<std::string, std::string> out;
    for (auto& [k, v] : got) out[std::move(k)] = std::move(v);
    return out;
}

std::vector<std::string> client::enable(const std::vector<std::string>& extensions) {
    for (const auto& e : extensions) check_command_text(e, "an ENABLE extension name");
    require("ENABLE", "ENABLE");
    std::vector<std::string> before = enabled_;
    run("ENABLE " + join(extensions, " "));
    std::vector<std::string> out;
    for (const auto& e : enabled_)
        if (std::find(before.begin(), before.end(), e) == before.end()) out.push_back(e);
    return out;
}

void client::compress() {
    if (compression_active()) return;
    require("COMPRESS=DEFLATE", "COMPRESS DEFLATE");
    run("COMPRESS DEFLATE");
    start_compression();
}

namespaces client::namespaces() {
    require("NAMESPACE", "NAMESPACE");
    imap::namespaces out;
    run("NAMESPACE", stage::command, [&](const response& r) {
        if (!r.is("NAMESPACE")) return;
        auto got = interpreted([&] { return detail::interpret_namespace(r, limits().max_list_items); });
        for (auto& e : got.personal) bounded_push(out.personal, std::move(e), "NAMESPACE entries");
        for (auto& e : got.other_users) bounded_push(out.other_users, std::move(e), "NAMESPACE entries");
        for (auto& e : got.shared) bounded_push(out.shared, std::move(e), "NAMESPACE entries");
    });
    return out;
}

// ---- mailboxes ---------------------------------------------------------------------------------

std::vector<list_result> client::list(std::string_view reference, std::string_view pattern, const list_options& o) {
    const bool utf8 = is_enabled("UTF8=ACCEPT");
    const bool extended = has_capability("LIST-EXTENDED");
    const bool list_status = has_capability("LIST-STATUS") && !o.status_items.empty();
    for (const auto& item : o.status_items) check_command_text(item, "a LIST STATUS item");
    for (const auto& item : o.status_items) require_status_item(item);
    if (o.special_use) {
        require("LIST-EXTENDED", "the LIST selection SPECIAL-USE");
        require("SPECIAL-USE", "the LIST selection SPECIAL-USE");
    }
    if (o.recursive_match) require("LIST-EXTENDED", "the LIST selection RECURSIVEMATCH");
    command c;
    c.text("LIST ");
    std::vector<std::string> sel;
    if (o.subscribed) sel.emplace_back("SUBSCRIBED");
    if (o.special_use) sel.emplace_back("SPECIAL-USE");
    if (o.recursive_match) sel.emplace_back("RECURSIVEMATCH");
    if (!sel.empty() && extended) c.text("(" + join(sel, " ") + ") ");
    c.string(wire_mailbox(reference)).text(" ").string(wire_mailbox(pattern));
    std::vector<std::string> ret;
    if (o.return_special_use) ret.emplace_back("SPECIAL-USE");
    if (o.return_children) ret.emplace_back("CHILDREN");
    if (list_status) ret.push_back("STATUS (" + join(o.status_items, " ") + ")");
    if (!ret.empty() && (extended || has_capability("SPECIAL-USE") || list_status))
        c.text(" RETURN (" + join(ret, " ") + ")");
    std::vector<list_result> out;
    std::vector<status_data> status_list;
    check(execute(c, stage::command,
                  [&](const response& r) {
                      if (r.is("LIST"))
                          bounded_push(out, list_result{interpreted([&] { return interpret_list(r, utf8); }), {}},
                                       "LIST entries");
                      else if (r.is("STATUS"))
                          bounded_push(status_list, interpreted([&] { return interpret_status(r, utf8); }),
                                       "LIST STATUS entries");
                  }),
          "LIST");
    std::map<std::string, status_data> statuses;
    for (auto& st : status_list) {
        auto name = st.mailbox;
        statuses[std::move(name)] = std::move(st);
    }
    if (o.subscribed && !extended) {
        // Without LIST-EXTENDED, LSUB is the subscribed list.
        out.clear();
        for (auto& e : lsub(reference, pattern)) out.push_back({std::move(e), std::nullopt});
    }
    for (auto& e : out) {
        if (auto it = statuses.find(e.entry.name); it != statuses.end()) e.status = it->second;
        else if (!o.status_items.empty() && !list_status && !e.entry.has_attribute("\\Noselect") &&
                 !e.entry.has_attribute("\\NonExistent"))
            e.status = status(e.entry.name, o.status_items);
    }
    return out;
}

std::vector<list_entry> client::lsub(std::string_view reference, std::string_view pattern) {
    const bool utf8 = is_enabled("UTF8=ACCEPT");
    command c;
    c.text("LSUB ").string(wire_mailbox(reference)).text(" ").string(wire_mailbox(pattern));
    std::vector<list_entry> out;
    check(execute(c, stage::command,
                  [&](const response& r) {
                      if (r.is("LSUB"))
                          bounded_push(out, interpreted([&] { return interpret_list(r, utf8); }), "LSUB entries");
                  }),
          "LSUB");
    return out;
}

status_data client::status(std::string_view mailbox, std::vector<std::string> items) {
    if (items.empty()) {
        items = {"MESSAGES", "UIDNEXT", "UIDVALIDITY", "UNSEEN"};
        if (has_capability("CONDSTORE")) items.emplace_back("HIGHESTMODSEQ");
    }
    for (const auto& item : items) check_command_text(item, "a STATUS item");
    for (const auto& item : items) require_status_item(item);
    command c;
    c.text("STATUS ").string(wire_mailbox(mailbox)).text(" (" + join(items, " ") + ")");
    status_data out;
    const bool utf8 = is_enabled("UTF8=ACCEPT");
    check(execute(c, stage::command,
                  [&](const response& r) {
                      if (r.is("STATUS")) out = interpreted([&] { return interpret_status(r, utf8); });
                  }),
          "STATUS");
    out.mailbox = std::string(mailbox);
    return out;
}

void client::create(std::string_view mailbox, std::string_view special_use) {
    command c;
    check_command_text(special_use, "the special-use attribute");
    if (!special_use.empty()) require("CREATE-SPECIAL-USE", "CREATE with a special-use attribute");
    c.text("CREATE ").string(wire_mailbox(mailbox));
    if (!special_use.empty()) c.text(fmt::format(" (USE ({}))", special_use));
    check(execute(c), "CREATE");
}

void client::delete_mailbox(std::string_view mailbox) {
    command c;
    c.text("DELETE ").string(wire_mailbox(mailbox));
    check(execute(c), "DELETE");
}

void client::rename(std::string_view from, std::string_view to) {
    command c;
    c.text("RENAME ").string(wire_mailbox(from)).text(" ").string(wire_mailbox(to));
    check(execute(c), "RENAME");
}

void client::subscribe(std::string_view mailbox) {
    command c;
    c.text("SUBSCRIBE ").string(wire_mailbox(mailbox));
    check(execute(c), "SUBSCRIBE");
}

void client::unsubscribe(std::string_view mailbox) {
    command c;
    c.text("UNSUBSCRIBE ").string(wire_mailbox(mailbox));
    check(execute(c), "UNSUBSCRIBE");
}

const mailbox_state& client::open_mailbox(std::string_view verb, std::string_view mailbox, std::string_view extra,
                                          bool read_only, resync_result* resync) {
    state_ = {};
    state_.name = std::string(mailbox);
    state_.read_only = read_only;
    command c;
    c.text(verb).text(" ").string(wire_mailbox(mailbox)).text(extra);
    std::vector<std::pair<std::uint32_t, std::uint32_t>> vanished;
    auto r = execute(c, stage::command, [&](const response& u) {
        if (resync == nullptr) return;
        if (u.has_number && u.is("FETCH")) bounded_push(resync->changed, scratch_, "QRESYNC changed messages");
        if (u.is("VANISHED")) collect_vanished(u, vanished);
    });
    if (resync != nullptr) resync->vanished = set_of_ranges(vanished);
    if (r.status != status::ok) {
        state_ = {};
        check(r, verb);
    }
    state_.selected = true;
    if (r.code == "READ-ONLY") state_.read_only = true;
    if (r.code == "READ-WRITE") state_.read_only = false;
    return state_;
}

const mailbox_state& client::select(std::string_view mailbox, bool condstore) {
    if (condstore) require("CONDSTORE", "SELECT (CONDSTORE)");
    return open_mailbox("SELECT", mailbox, condstore ? " (CONDSTORE)" : "", false, nullptr);
}

const mailbox_state& client::examine(std::string_view mailbox, bool condstore) {
    if (condstore) require("CONDSTORE", "EXAMINE (CONDSTORE)");
    return open_mailbox("EXAMINE", mailbox, condstore ? " (CONDSTORE)" : "", true, nullptr);
}

resync_result client::select_qresync(std::string_view mailbox, const qresync_params& p, bool read_only) {
    if (!is_enabled("QRESYNC")) {
        require("QRESYNC", "SELECT (QRESYNC)");
        enable({"QRESYNC"});
    }
    std::string extra = fmt::format(" (QRESYNC ({} {}", p.uidvalidity, p.modseq);
    if (p.known_uids && !p.known_uids->empty()) extra += " " + p.known_uids->to_string();
    extra += "))";
    resync_result out;
    open_mailbox(read_only ? "EXAMINE" : "SELECT", mailbox, extra, read_only, &out);
    return out;
}

void client::check() { run("CHECK"); }

void client::close_mailbox() {
    run("CLOSE");
    state_ = {};
}

void client::unselect() {
    if (has_capability("UNSELECT")) {
        run("UNSELECT");
    } else {
        // RFC 3501 has no UNSELECT: a failing EXAMINE deselects without expunging.
        command c;
        c.text("EXAMINE ").string("mailwire-nonexistent-" + std::to_string(tag_counter_));
        (void)execute(c);
    }
    state_ = {};
}

// ---- messages ------------------------------------------------------------------------------

void client::fetch(const sequence_set& set, std::string_view items, const fetch_handler& on_message,
                   const fetch_options& o) {
    if (set.empty()) return;
    check_command_text(items, "the FETCH items");
    std::vector<std::pair<std::string, std::string>> needs;
    fetch_item_needs(items, needs);
    if (o.changed_since > 0) needs.emplace_back("CONDSTORE", "FETCH (CHANGEDSINCE)");
    for (const auto& [cap, what] : needs) require(cap, what);
    if (o.vanished && !is_enabled("QRESYNC"))
        throw command_error(errc::command_failed,
                            "FETCH (VANISHED) needs the QRESYNC extension enabled (nothing was sent)",
                            context(stage::command, {}, "call enable({\"QRESYNC\"}) or select_qresync() first"));
    command c;
    c.text(o.uid ? "UID FETCH " : "FETCH ").text(set.to_string()).text(" ");
    const bool macro = items.find(' ') == std::string_view::npos || items.starts_with('(');
    if (macro) c.text(items);
    else c.text("(").text(items).text(")");
    if (o.changed_since > 0)
        c.text(fmt::format(" (CHANGEDSINCE {}{})", o.changed_since, o.vanished ? " VANISHED" : ""));
    check(execute(
              c, stage::command,
              [&](const response& r) {
                  // Only the messages asked for: another message's FETCH went to the state above.
                  if (r.has_number && r.is("FETCH") && on_message && about(set, r, scratch_, o.uid))
                      on_message(scratch_);
              },
              o.sink),
          o.uid ? "UID FETCH" : "FETCH");
}

std::vector<fetch_data> client::fetch(const sequence_set& set, std::string_view items, const fetch_options& o) {
    std::vector<fetch_data> out;
    fetch(
        set, items, [&](const fetch_data& f) { bounded_push(out, f, "FETCH results"); }, o);
    return out;
}

std::uint64_t client::fetch_body(std::uint32_t uid, const std::function<void(std::string_view)>& out,
                                 std::string_view section) {
    literal_sink sink;
    std::uint64_t total = 0;
    sink.threshold = 1;
    sink.data = [&](std::string_view bytes) {
        total += bytes.size();
        out(bytes);
    };
    check_command_text(section, "the FETCH section");
    fetch_options o;
    o.sink = &sink;
    bool got = false;
    const std::string item = fmt::format("BODY.PEEK[{}]", section);
    fetch(
        sequence_set(uid), "UID " + item,
        [&](const fetch_data& f) {
            if (f.uid != uid) return;
            for (const auto& s : f.sections) {
                got = true;
                if (!s.streamed && !s.data.empty()) {
                    total += s.data.size();
                    out(s.data);
                }
            }
        },
        o);
    if (!got)
        throw command_error(errc::command_failed, fmt::format("no message with UID {}", uid), context(stage::command));
    return total;
}

std::uint64_t client::fetch_body_to_file(std::uint32_t uid, const std::string& path, std::string_view section) {
    std::unique_ptr<std::FILE, int (*)(std::FILE*)> f(std::fopen(path.c_str(), "wb"), &std::fclose);
    if (!f) throw error(errc::io_error, fmt::format("cannot open {} for writing", path));
    const auto n = fetch_body(
        uid,
        [&](std::string_view b) {
            if (std::fwrite(b.data(), 1, b.size(), f.get()) != b.size())
                throw error(errc::io_error, fmt::format("writing {} failed", path));
        },
        section);
    if (std::fflush(f.get()) != 0) throw error(errc::io_error, fmt::format("writing {} failed", path));
    return n;
}

store_result client::store(const sequence_set& set, store_action action, const std::vector<std::string>& flags,
                           const store_options& o) {
    for (const auto& f : flags) check_command_text(f, "a STORE flag");
    if (o.unchanged_since) require("CONDSTORE", "STORE (UNCHANGEDSINCE)");
    command c;
    c.text(o.uid ? "UID STORE " : "STORE ").text(set.to_string());
    if (o.unchanged_since) c.text(fmt::format(" (UNCHANGEDSINCE {})", *o.unchanged_since));
    c.text(action == store_action::add ? " +FLAGS" : action == store_action::remove ? " -FLAGS" : " FLAGS");
    if (o.silent) c.text(".SILENT");
    c.text(" (" + join(flags, " ") + ")");
    store_result out;
    auto r = check(execute(c, stage::command,
                           [&](const response& u) {
                               if (u.has_number && u.is("FETCH") && about(set, u, scratch_, o.uid))
                                   bounded_push(out.updated, scratch_, "STORE results");
                           }),
                   "STORE");
    if (r.code == "MODIFIED") out.modified = detail::parse_modified(r.code_args);
    return out;
}

copy_result client::copy(const sequence_set& set, std::string_view destination, bool uid) {
    command c;
    c.text(uid ? "UID COPY " : "COPY ").text(set.to_string()).text(" ").string(wire_mailbox(destination));
    auto r = check(execute(c), "COPY");
    copy_result out;
    if (r.code == "COPYUID") {
        if (auto got = detail::parse_copyuid(r.code_args)) out = std::move(*got);
    }
    if (uid) confine(set, out.source, "UID COPY " + set.to_string() + " (its COPYUID)", true);
    return out;
}

copy_result client::move(const sequence_set& set, std::string_view destination, bool uid) {
    if (!has_capability("MOVE")) {
        auto out = copy(set, destination, uid);
        store_options so;
        so.uid = uid;
        so.silent = true;
        store(set, store_action::add, {"\\Deleted"}, so);
        if (uid && has_capability("UIDPLUS")) expunge(set);
        else expunge();
        return out;
    }
    command c;
    c.text(uid ? "UID MOVE " : "MOVE ").text(set.to_string()).text(" ").string(wire_mailbox(destination));
    copy_result out;
    auto take = [&](std::string_view code, std::string_view args) {
        if (!iequals(code, "COPYUID")) return;
        if (auto got = detail::parse_copyuid(args)) out = std::move(*got);
    };
    auto r = check(execute(c, stage::command, [&](const response& u) { take(u.code, u.code_text); }), "MOVE");
    take(r.code, r.code_args);
    if (uid) confine(set, out.source, "UID MOVE " + set.to_string() + " (its COPYUID)", true);
    return out;
}

void client::collect_vanished(const response& r, std::vector<std::pair<std::uint32_t, std::uint32_t>>& ranges) {
    const auto v = interpreted([&] { return detail::interpret_vanished(r); });
    if (!v) return;
    for (const auto& range : v->uids.ranges()) bounded_push(ranges, range, "VANISHED UID ranges");
}

expunge_result client::expunge_with(std::string_view cmd) {
    expunge_result out;
    std::vector<std::pair<std::uint32_t, std::uint32_t>> vanished;
    run(cmd, stage::command, [&](const response& r) {
        if (is_expunge(r)) bounded_push(out.sequence_numbers, r.number, "EXPUNGE results");
        if (r.is("VANISHED")) collect_vanished(r, vanished);
    });
    out.vanished = set_of_ranges(vanished);
    return out;
}

expunge_result client::expunge() { return expunge_with("EXPUNGE"); }

expunge_result client::expunge(const sequence_set& uids) {
    require("UIDPLUS", "UID EXPUNGE");
    return expunge_with("UID EXPUNGE " + uids.to_string());
}

append_result client::append(std::string_view mailbox, const append_message& m) {
    return append(mailbox, std::vector<append_message>{m});
}

append_result client::append(std::string_view mailbox, const std::vector<append_message>& messages) {
    append_result out;
    if (messages.empty()) return out;
    const bool utf8 = is_enabled("UTF8=ACCEPT");
    for (const auto& m : messages)
        for (const auto& f : m.flags) check_command_text(f, "an APPEND flag");
    // RFC 7889: APPENDLIMIT=n is the largest message the server takes; refuse before sending it.
    for (const auto& cap : caps_) {
        if (!cap.starts_with("APPENDLIMIT=")) continue;
        const auto limit = to_u64(std::string_view(cap).substr(12));
        if (limit == 0) continue;
        for (const auto& m : messages) {
            const std::uint64_t size = m.reader ? m.size : m.data.size();
            if (size > limit)
                throw command_error(errc::command_failed,
                                    fmt::format("the message ({} bytes) is larger than the server's APPENDLIMIT of {} "
                                                "bytes (nothing was sent)",
                                                size, limit),
                                    context(stage::command));
        }
    }
    auto add_message = [utf8](command& c, const append_message& m) {
        if (!m.flags.empty()) c.text(" (" + join(m.flags, " ") + ")");
        if (m.date) c.text(" \"" + format_internaldate(*m.date) + "\"");
        c.text(utf8 ? " UTF8 (~" : " ");  // RFC 6855 §4: 8-bit headers allowed
        if (m.reader) c.literal(m.size, m.reader);
        else c.literal(m.data);
        if (utf8) c.text(")");
    };
    auto take = [&](const response_line& r) {
        if (r.code != "APPENDUID") return;
        const auto got = detail::parse_appenduid(r.code_args);
        if (!got) return;
        out.uidvalidity = got->uidvalidity;
        // One code per APPEND command the caller asked for; its size is bounded by the line length.
        for (const auto& [lo, hi] : got->uids.ranges()) out.uids.add(lo, hi);
    };
    if (messages.size() > 1 && has_capability("MULTIAPPEND")) {
        command c;
        c.text("APPEND ").string(wire_mailbox(mailbox));
        for (const auto& m : messages) add_message(c, m);
        take(check(execute(c), "APPEND"));
        return out;
    }
    for (const auto& m : messages) {
        command c;
        c.text("APPEND ").string(wire_mailbox(mailbox));
        add_message(c, m);
        take(check(execute(c), "APPEND"));
    }
    return out;
}

namespace {
void add_query(client::command& c, const search_query& q) {
    if (q.parts().empty() || (q.parts().size() == 1 && q.parts()[0].empty())) {
        c.text("ALL");
        return;
    }
    for (std::size_t i = 0; i < q.parts().size(); ++i) {
        if (i % 2 == 0) c.text(q.parts()[i]);
        else c.literal(q.parts()[i]);
    }
}
}  // namespace

void client::check_query(const search_query& q, std::string_view what) const {
    // The query's text pieces are atoms and quoted strings built by search_query (its strings that
    // cannot be quoted are literals already); search_query::raw() and keywords are the caller's.
    for (std::size_t i = 0; i < q.parts().size(); i += 2) check_command_text(q.parts()[i], "the search query");
    for (const auto& cap : q.required_capabilities()) {
        const auto key = iequals(cap, "WITHIN")      ? "the search keys YOUNGER/OLDER"
                         : iequals(cap, "CONDSTORE") ? "the search key MODSEQ"
                                                     : "a search key";
        require(cap, fmt::format("{} (in {})", key, what));
    }
}

search_result client::search(const search_query& query, const search_options& o) {
    for (const auto& r : o.returns) check_command_text(r, "a SEARCH RETURN option");
    check_query(query, "SEARCH");
    command c;
    c.text(o.uid ? "UID SEARCH" : "SEARCH");
    const bool esearch = !o.returns.empty() && has_capability("ESEARCH");
    if (esearch) c.text(" RETURN (" + join(o.returns, " ") + ")");
    if (query.needs_utf8() && !is_enabled("UTF8=ACCEPT")) c.text(" CHARSET UTF-8");
    c.text(" ");
    add_query(c, query);
    search_result out;
    check(execute(c, stage::command,
                  [&](const response& r) {
                      if (!r.is("SEARCH") && !r.is("ESEARCH")) return;
                      auto part = interpreted([&] { return interpret_search(r, limits().max_list_items); });
                      for (const auto id : part.ids) bounded_push(out.ids, id, "SEARCH results");
                      if (part.min) out.min = part.min;
                      if (part.max) out.max = part.max;
                      if (part.count) out.count = part.count;
                      if (part.all) out.all = std::move(part.all);
                      if (part.modseq) out.modseq = part.modseq;
                  }),
          "SEARCH");
    out.uid = o.uid;
    if (esearch && !out.count &&
        std::any_of(o.returns.begin(), o.returns.end(), [](const std::string& s) { return iequals(s, "COUNT"); }))
        out.count = 0;  // RFC 4731: an empty result omits the data
    // Every match must lie in the sets the query confines it to (a UID key, or a sequence set, under
    // AND): a server reading UIDs as sequence numbers answers outside them.
    sequence_set answer = sequence_set::from(out.ids);
    if (out.all) answer = *out.all;
    if (out.min) answer.add(*out.min);
    if (out.max) answer.add(*out.max);
    for (const auto& [is_uid, bound] : query.bounds()) {
        if (is_uid != o.uid) continue;  // UID SEARCH answers UIDs; a sequence-number bound says nothing of them
        // RFC 3501 §9: "lo:*" above the highest message means that message alone, which is not "lo and
        // up": that one answer is no match, and no error either.
        const auto& r0 = answer.ranges();
        if (r0.size() == 1 && r0[0].first == r0[0].second && r0[0].first != sequence_set::star &&
            !bound.contains(r0[0].first) &&
            std::any_of(bound.ranges().begin(), bound.ranges().end(), [&](const auto& range) {
                return range.second == sequence_set::star && range.first > r0[0].first;
            })) {
            out.ids.clear();
            out.all.reset();
            out.min.reset();
            out.max.reset();
            if (out.count) out.count = 0;
            answer = {};
        }
        confine(bound, answer, fmt::format("{} {}", o.uid ? "UID SEARCH" : "SEARCH", query.text().substr(0, 100)),
                o.uid);
    }
    return out;
}

std::vector<std::uint32_t> client::uids_in(const sequence_set& set, bool uid) {
    std::vector<std::uint32_t> out;
    if (set.empty()) return out;
    if (uid) {
        // search() holds the answer to the query's UID bound: an answer outside `set` never returns.
        out = search(search_query::uid(without_star(set))).ids;
    } else {
        // A sequence-number FETCH names each message's number, so the answer is checked by number.
        fetch(
            set, "(UID)",
            [&](const fetch_data& f) {
                if (f.uid) bounded_push(out, *f.uid, "FETCH results");
            },
            [] {
                fetch_options o;
                o.uid = false;
                return o;
            }());
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
}

std::vector<std::uint32_t> client::sort(std::string_view criteria, const search_query& query, bool uid) {
    check_command_text(criteria, "the SORT criteria");
    require("SORT", "SORT");
    check_query(query, "SORT");
    command c;
    c.text(uid ? "UID SORT (" : "SORT (").text(criteria).text(") UTF-8 ");
    add_query(c, query);
    std::vector<std::uint32_t> out;
    check(execute(c, stage::command,
                  [&](const response& r) {
                      if (!r.is("SORT")) return;
                      const auto part = interpreted([&] { return interpret_search(r, limits().max_list_items); });
                      for (const auto id : part.ids) bounded_push(out, id, "SORT results");
                  }),
          "SORT");
    return out;
}

std::vector<thread_node> client::thread(std::string_view algorithm, const search_query& query, bool uid) {
    check_command_text(algorithm, "the THREAD algorithm");
    require("THREAD=" + upper(algorithm), fmt::format("THREAD {}", algorithm));
    check_query(query, "THREAD");
    command c;
    c.text(uid ? "UID THREAD " : "THREAD ").text(algorithm).text(" UTF-8 ");
    add_query(c, query);
    std::vector<thread_node> out;
    std::size_t nodes = 0;  // across every THREAD response, placeholders included
    check(execute(c, stage::command,
                  [&](const response& r) {
                      if (!r.is("THREAD")) return;
                      const auto max = limits().max_list_items;
                      std::size_t n = 0;
                      auto part = interpreted([&] { return interpret_thread(r, max - std::min(nodes, max), &n); });
                      nodes += n;
                      for (auto& t : part) bounded_push(out, std::move(t), "THREAD results");
                  }),
          "THREAD");
    return out;
}

// ---- IDLE ------------------------------------------------------------------------------------

void client::idle(const std::function<bool(const mailbox_event&)>& on_event, std::chrono::milliseconds max) {
    require("IDLE", "IDLE");
    struct guard {
        client& c;
        ~guard() { c.idle_handler_ = {}; }
    } g{*this};
    idle_stop_.store(false);
    idle_continue_ = true;
    const auto tag = next_tag();
    send_line(tag + " IDLE");
    for (;;) {
        const response& r = read_response(stage::command, nullptr);
        if (r.type == response_line::kind::continuation) break;
        absorb(r);
        if (r.type == response_line::kind::tagged) {
            if (r.tag != tag)
                protocol_failure(errc::protocol_violation, stage::command,
                                 fmt::format("response for unknown tag {}", r.tag));
            auto line = r.to_line();
            done();
            check(line, "IDLE");
            return;  // an OK without continuation: nothing to wait for
        }
    }
    done();
    idle_handler_ = on_event;
    // IDLE's own bound instead of timeouts().command: the caller's duration plus a grace period
    // for the last line; the DONE line starts an ordinary command deadline for the tagged reply.
    constexpr auto idle_grace = std::chrono::seconds(30);
    begin_operation("the IDLE wait", max >= std::chrono::milliseconds::max() - idle_grace
                                         ? std::chrono::milliseconds::max()
                                         : max + idle_grace);
    // Saturate: idle(cb, milliseconds::max()) means "until stopped", not an overflowed deadline.
    const auto start = std::chrono::steady_clock::now();
    const auto room = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::time_point::max() - start);  // compared in ms: no overflow
    const auto deadline = max >= room ? std::chrono::steady_clock::time_point::max() : start + max;
    bool done_sent = false;
    for (;;) {
        if (!done_sent && (idle_stop_.load() || !idle_continue_ || std::chrono::steady_clock::now() >= deadline)) {
            send_line("DONE");
            done_sent = true;
        }
        if (!done_sent && !input_ready(std::chrono::milliseconds(50))) continue;
        const response& r = read_response(stage::command, nullptr);
        if (r.type == response_line::kind::continuation)
            protocol_failure(errc::protocol_violation, stage::command, "unexpected continuation request during IDLE");
        if (r.type == response_line::kind::untagged) {
            if (r.status == status::bye)
                protocol_failure(errc::connection_closed, stage::command, "the server closed the session (BYE)",
                                 std::string(r.text));
            absorb(r);
            done();
            continue;
        }
        if (r.tag != tag)
            protocol_failure(errc::protocol_violation, stage::command,
                             fmt::format("response for unknown tag {}", r.tag));
        absorb(r);
        auto line = r.to_line();
        done();
        check(line, "IDLE");
        return;
    }
}

// ---- QUOTA / METADATA --------------------------------------------------------------------------

std::vector<quota> client::quota_root(std::string_view mailbox) {
    require("QUOTA", "GETQUOTAROOT");
    command c;
    c.text("GETQUOTAROOT ").string(wire_mailbox(mailbox));
    std::vector<quota> out;
    std::vector<std::string> roots;
    check(execute(c, stage::command,
                  [&](const response& r) {
                      const auto max = limits().max_list_items;
                      if (r.is("QUOTAROOT")) {
                          for (auto& root : interpreted([&] { return detail::interpret_quotaroot(r, max); }))
                              bounded_push(roots, std::move(root), "QUOTAROOT roots");
                      } else if (r.is("QUOTA")) {
                          bounded_push(out, interpreted([&] { return detail::interpret_quota(r, max); }),
                                       "QUOTA responses");
                      }
                  }),
          "GETQUOTAROOT");
    for (const auto& root : roots)
        if (std::none_of(out.begin(), out.end(), [&](const quota& q) { return q.root == root; }))
            bounded_push(out, quota{root, {}}, "QUOTA responses");
    return out;
}

quota client::get_quota(std::string_view root) {
    require("QUOTA", "GETQUOTA");
    command c;
    c.text("GETQUOTA ").string(root);
    quota out;
    out.root = std::string(root);
    check(execute(c, stage::command,
                  [&](const response& r) {
                      if (r.is("QUOTA"))
                          out = interpreted([&] { return detail::interpret_quota(r, limits().max_list_items); });
                  }),
          "GETQUOTA");
    return out;
}

void client::set_quota(std::string_view root, const std::vector<std::pair<std::string, std::uint64_t>>& limits) {
    for (const auto& l : limits) check_command_text(l.first, "a quota resource name");
    require("QUOTA", "SETQUOTA");
    command c;
    c.text("SETQUOTA ").string(root).text(" (");
    bool first = true;
    for (const auto& [name, value] : limits) {
        c.text(fmt::format("{}{} {}", first ? "" : " ", name, value));
        first = false;
    }
    c.text(")");
    check(execute(c), "SETQUOTA");
}

std::map<std::string, std::optional<std::string>> client::get_metadata(std::string_view mailbox,
                                                                       const std::vector<std::string>& entries) {
    require(mailbox.empty() && !has_capability("METADATA") ? "METADATA-SERVER" : "METADATA", "GETMETADATA");
    command c;
    c.text("GETMETADATA ").string(wire_mailbox(mailbox)).text(" (");
    for (std::size_t i = 0; i < entries.size(); ++i) {
        if (i > 0) c.text(" ");
        c.string(entries[i]);
    }
    c.text(")");
    std::vector<std::pair<std::string, std::optional<std::string>>> got;
    check(execute(c, stage::command,
                  [&](const response& r) {
                      if (!r.is("METADATA")) return;
                      for (auto& e :
                           interpreted([&] { return detail::interpret_metadata(r, limits().max_list_items); }))
                          bounded_push(got, std::move(e), "METADATA entries");
                  }),
          "GETMETADATA");
    std::map<std::string, std::optional<std::string>> out;
    for (auto& [k, v] : got) out[std::move(k)] = std::move(v);
    return out;
}

void client::set_metadata(std::string_view mailbox, const std::map<std::string, std::optional<std::string>>& entries) {
    require(mailbox.empty() && !has_capability("METADATA") ? "METADATA-SERVER" : "METADATA", "SETMETADATA");
    command c;
    c.text("SETMETADATA ").string(wire_mailbox(mailbox)).text(" (");
    bool first = true;
    for (const auto& [k, v] : entries) {
        if (!first) c.text(" ");
        first = false;
        c.string(k).text(" ");
        if (v) c.string(*v);
        else c.text("NIL");
    }
    c.text(")");
    check(execute(c), "SETMETADATA");
}

}  // namespace mailwire::imap
