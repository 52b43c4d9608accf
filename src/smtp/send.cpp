// SMTP mail transactions: MAIL/RCPT/DATA or BDAT, pipelined when the server allows it.
#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <istream>

#include "mailwire/mime/address.hpp"
#include "mailwire/smtp/client.hpp"
#include "mailwire/smtp/data.hpp"
#include "read_ahead.hpp"

namespace mailwire::smtp {
namespace {

constexpr std::size_t block_size = 256 * 1024;
// A message up to detail::inline_limit rides in the same write as MAIL/RCPT as one "BDAT n LAST":
// one round trip for the whole transaction.
using detail::inline_limit;
using detail::prefixed_source;
using detail::read_ahead;
constexpr std::size_t bdat_chunk = 256 * 1024;

bool is_ascii(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// RFC 3461 §4.1: notify-esmtp-value = "NEVER" / 1#notify-list-element, elements SUCCESS,
// FAILURE and DELAY (case-insensitive). Anything else is refused rather than sent as it is.
bool valid_notify(std::string_view v) {
    if (v.empty()) return false;
    auto is = [](std::string_view t, std::string_view k) {
        return t.size() == k.size() && std::equal(t.begin(), t.end(), k.begin(), [](char a, char b) {
                   return std::toupper(static_cast<unsigned char>(a)) == b;
               });
    };
    bool never = false;
    std::size_t count = 0;
    while (true) {
        const auto comma = v.find(',');
        const auto t = v.substr(0, comma);
        if (is(t, "NEVER")) never = true;
        else if (!is(t, "SUCCESS") && !is(t, "FAILURE") && !is(t, "DELAY")) return false;
        ++count;
        if (comma == std::string_view::npos) break;
        v.remove_prefix(comma + 1);
    }
    return !never || count == 1;
}

class memory_source_impl final : public message_source {
public:
    explicit memory_source_impl(std::string_view b) : bytes_(b), all_(b) {}
    std::size_t read(char* buf, std::size_t n) override {
        n = std::min(n, bytes_.size());
        std::copy_n(bytes_.data(), n, buf);
        bytes_.remove_prefix(n);
        return n;
    }
    std::optional<std::uint64_t> size() const override { return all_.size(); }
    std::optional<std::uint64_t> transmitted_size() const override { return smtp::transmitted_size(all_); }

private:
    std::string_view bytes_;
    std::string_view all_;
};

class istream_source final : public message_source {
public:
    explicit istream_source(std::istream& in, std::optional<std::uint64_t> size = std::nullopt)
        : in_(&in), size_(size) {}
    std::size_t read(char* buf, std::size_t n) override {
        in_->read(buf, static_cast<std::streamsize>(n));
        return static_cast<std::size_t>(in_->gcount());
    }
    std::optional<std::uint64_t> size() const override { return size_; }

private:
    std::istream* in_;
    std::optional<std::uint64_t> size_;
};

class file_source_impl final : public message_source {
public:
    explicit file_source_impl(const std::string& path) : path_(path), file_(path, std::ios::binary) {
        if (!file_) throw error(errc::invalid_argument, fmt::format("cannot open message file {}", path));
        file_.seekg(0, std::ios::end);
        size_ = static_cast<std::uint64_t>(file_.tellg());
        file_.seekg(0);
    }
    std::size_t read(char* buf, std::size_t n) override {
        file_.read(buf, static_cast<std::streamsize>(n));
        return static_cast<std::size_t>(file_.gcount());
    }
    std::optional<std::uint64_t> size() const override { return size_; }
    // The file read once more, in blocks, to count its line ends (only for a message too large
    // to be counted as it is read ahead).
    std::optional<std::uint64_t> transmitted_size() const override {
        std::ifstream in(path_, std::ios::binary);
        if (!in) return size_;
        transmitted_size_counter count;
        std::string block(block_size, '\0');
        while (in) {
            in.read(block.data(), static_cast<std::streamsize>(block.size()));
            count.feed(std::string_view(block.data(), static_cast<std::size_t>(in.gcount())));
        }
        return in.bad() ? size_ : std::optional<std::uint64_t>(count.finish());
    }

private:
    std::string path_;
    std::ifstream file_;
    std::uint64_t size_ = 0;
};

// Offset of the first byte of 0x80 or above, npos when none.
std::size_t first_8bit(std::string_view s) {
    const auto it = std::find_if(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
    return it == s.end() ? std::string_view::npos : static_cast<std::size_t>(it - s.begin());
}

// Where the header section ends (after its blank line, CRLF or LF); s.size() when not within s.
std::size_t header_section_end(std::string_view s) {
    if (s.starts_with("\r\n")) return 2;
    if (s.starts_with("\n")) return 1;
    for (std::size_t i = s.find('\n'); i != std::string_view::npos; i = s.find('\n', i + 1)) {
        std::size_t j = i + 1;
        if (j < s.size() && s[j] == '\r') ++j;
        if (j < s.size() && s[j] == '\n') return j + 1;
    }
    return s.size();
}

// "local@domain" with a UTF-8 domain as its IDNA A-label, when the local part is ASCII (the
// address then needs no SMTPUTF8); as it is otherwise.
std::string with_ascii_domain(const std::string& address) {
    if (is_ascii(address)) return address;
    const auto at = address.rfind('@');
    if (at == std::string::npos || !is_ascii(std::string_view(address).substr(0, at))) return address;
    mime::mailbox m;
    m.domain = address.substr(at + 1);
    if (m.domain.empty() || m.domain.front() == '[') return address;
    const std::string a = m.domain_ascii();
    return is_ascii(a) ? address.substr(0, at + 1) + a : address;
}

}  // namespace

message_source::~message_source() = default;
std::unique_ptr<message_source> memory_source(std::string_view bytes) {
    return std::make_unique<memory_source_impl>(bytes);
}
std::unique_ptr<message_source> file_source(const std::string& path) {
    return std::make_unique<file_source_impl>(path);
}
std::unique_ptr<message_source> stream_source(std::istream& in) { return std::make_unique<istream_source>(in); }

std::size_t send_result::accepted() const noexcept {
    return static_cast<std::size_t>(
        std::count_if(recipients.begin(), recipients.end(), [](const recipient_result& r) { return r.accepted; }));
}

smtp_error::smtp_error(errc code, std::string detail, error_context ctx, smtp::reply r, std::string recipient)
    : command_error(code, std::move(detail), std::move(ctx)), reply_(std::move(r)), recipient_(std::move(recipient)) {}

void client::fail(const smtp::reply& r, stage s, std::string what, std::string recipient,
                  std::vector<recipient_result> rcpts) {
    const bool closing = r.code == 421;
    if (closing) stream().close();  // RFC 5321 §3.8: 421 means the server is closing
    smtp_error e(closing ? errc::connection_closed : errc::command_failed,
                 fmt::format("{}: {} {}", what, r.code, r.text()), context(s, r.text()), r, std::move(recipient));
    e.recipients = std::move(rcpts);
    throw e;
}

void client::check_address(std::string_view a, std::string_view what) const {
    check_command_text(a, what);  // CR, LF, NUL: the one rule for command text, with its message
    // Angle brackets would close the path early and let the rest pose as ESMTP parameters; other
    // controls have no place in an address (RFC 5321 §4.1.2, RFC 6531 §3.3 for UTF-8). A space is
    // only legal inside a quoted local part ("john doe"@example.com).
    bool quoted = false;
    bool escaped = false;  // after a backslash in a quoted string: the byte is literal (still checked)
    for (std::size_t i = 0; i < a.size(); ++i) {
        const auto c = static_cast<unsigned char>(a[i]);
        const char* problem = nullptr;
        if (c < 0x20 || c == 0x7f) problem = "a control character";
        else if (c == '<' || c == '>') problem = "an angle bracket";
        else if (c == ' ' && !quoted) problem = "a space outside a quoted local part";
        if (problem != nullptr)
            throw error(errc::invalid_argument,
                        fmt::format("{} contains {} (at byte {}); refusing to send it", what, problem, i),
                        context(stage::command));
        if (escaped) escaped = false;
        else if (c == '"' && (i == 0 || quoted)) quoted = !quoted;
        else if (c == '\\' && quoted) escaped = true;
    }
}

void client::rset() {
    auto r = exchange("RSET");
    if (!r.positive()) fail(r, stage::command, "RSET refused");
}

smtp::reply client::vrfy(std::string_view user) {
    check_address(user, "the VRFY argument");
    return exchange(fmt::format("VRFY {}", user));
}

std::string client::mail_command(const envelope& env, std::optional<std::uint64_t> size) const {
    std::string cmd = fmt::format("MAIL FROM:<{}>", env.from);
    if (size && caps_.has_size) cmd += fmt::format(" SIZE={}", *size);
    if (env.body == body_type::eight_bit_mime && caps_.eight_bit_mime) cmd += " BODY=8BITMIME";
    if (env.body == body_type::binary_mime) cmd += " BODY=BINARYMIME";
    if (env.smtputf8 || !is_ascii(env.from) ||
        std::any_of(env.to.begin(), env.to.end(), [](const std::string& a) { return !is_ascii(a); }))
        cmd += " SMTPUTF8";
    if (caps_.dsn) {
        if (env.ret == dsn_return::full) cmd += " RET=FULL";
        if (env.ret == dsn_return::headers) cmd += " RET=HDRS";
        if (!env.envid.empty()) cmd += " ENVID=" + xtext(env.envid);
    }
    if (env.requiretls) cmd += " REQUIRETLS";
    return cmd;
}

std::string client::rcpt_command(const envelope& env, const std::string& rcpt) const {
    std::string cmd = fmt::format("RCPT TO:<{}>", rcpt);
    if (caps_.dsn) {
        if (!env.notify.empty()) cmd += " NOTIFY=" + env.notify;
        if (env.orcpt) cmd += " ORCPT=rfc822;" + xtext(rcpt);
    }
    return cmd;
}

send_result client::send(const envelope& env, std::string_view message) {
    auto src = memory_source(message);
    return send(env, *src);
}

void client::check_envelope(const envelope& env, std::optional<std::uint64_t> size) const {
    if (!is_connected()) throw error(errc::not_connected, "send needs a connection", context(stage::command));
    if (env.to.empty()) throw error(errc::invalid_argument, "no recipients", context(stage::command));
    check_address(env.from, "the sender address (envelope.from)");
    for (std::size_t i = 0; i < env.to.size(); ++i)
        check_address(env.to[i], fmt::format("recipient address {} (envelope.to[{}])", i + 1, i));
    if (!env.notify.empty()) {
        check_command_text(env.notify, "envelope.notify");
        if (!valid_notify(env.notify))
            throw error(errc::invalid_argument,
                        fmt::format("envelope.notify `{}` is neither NEVER nor a comma-separated list of SUCCESS, "
                                    "FAILURE and DELAY (RFC 3461 §4.1)",
                                    env.notify),
                        context(stage::command));
    }
    check_command_text(env.envid, "envelope.envid");
    if (size && caps_.has_size && caps_.size > 0 && *size > caps_.size) {
        throw smtp_error(errc::limit_exceeded,
                         fmt::format("the message has {} bytes, more than the server's limit of {} (SIZE)", *size,
                                     caps_.size),
                         context(stage::command, {}, "send a smaller message or use another server"), {});
    }
    const bool utf8 = env.smtputf8 || !is_ascii(env.from) ||
                      std::any_of(env.to.begin(), env.to.end(), [](const std::string& a) { return !is_ascii(a); });
    if (utf8 && !caps_.smtputf8)
        throw smtp_error(errc::invalid_argument, "non-ASCII addresses need SMTPUTF8, which the server does not offer",
                         context(stage::command), {});
    if (env.body == body_type::binary_mime && !(caps_.binary_mime && caps_.chunking))
        throw smtp_error(errc::invalid_argument, "BINARYMIME needs the server's BINARYMIME and CHUNKING",
                         context(stage::command), {});
    if (env.requiretls && !(caps_.requiretls && is_secure()))
        throw smtp_error(errc::invalid_argument, "REQUIRETLS asked for, but the server does not offer it over TLS",
                         context(stage::command), {});
}

envelope client::prepare_envelope(const envelope& env, std::string_view head, bool whole) const {
    envelope out = env;
    // RFC 6531 §3.4: raw UTF-8 in the header section needs SMTPUTF8 on MAIL FROM, and a server
    // without it must not get such a message at all.
    const std::string_view headers = head.substr(0, header_section_end(head));
    if (const auto at = first_8bit(headers); at != std::string_view::npos) {
        if (!caps_.smtputf8)
            throw smtp_error(errc::invalid_argument,
                             fmt::format("the message's header section is not ASCII (byte {}): UTF-8 in headers needs "
                                         "SMTPUTF8 (RFC 6531), which the server does not offer",
                                         at),
                             context(stage::command, {},
                                     "encode the headers (RFC 2047 names and subjects, IDNA domains), or send through "
                                     "a server that offers SMTPUTF8"),
                             {});
        out.smtputf8 = true;
    }
    // RFC 6152: 8-bit body bytes need BODY=8BITMIME. Known only for a message read whole; a
    // larger one goes with the body type the caller gave.
    if (whole && env.body != body_type::binary_mime) {
        if (const auto at = first_8bit(head.substr(headers.size())); at != std::string_view::npos) {
            if (!caps_.eight_bit_mime)
                throw smtp_error(errc::invalid_argument,
                                 fmt::format("the message has 8-bit data (byte {}) and the server does not offer "
                                             "8BITMIME (RFC 6152)",
                                             headers.size() + at),
                                 context(stage::command, {},
                                         "encode the body (quoted-printable or base64), or send through a server "
                                         "that offers 8BITMIME"),
                                 {});
            out.body = body_type::eight_bit_mime;
        }
    }
    // Without SMTPUTF8 an address can still go when only its domain is UTF-8: as an A-label.
    if (!caps_.smtputf8) {
        out.from = with_ascii_domain(out.from);
        for (auto& t : out.to) t = with_ascii_domain(t);
    }
    return out;
}

std::optional<std::uint64_t> client::announced_size(const envelope& env, const message_source& src,
                                                    const std::string* whole) {
    // BINARYMIME goes as it is; everything else with CRLF line ends (RFC 1870 §4).
    const bool binary = env.body == body_type::binary_mime;
    if (whole != nullptr) return binary ? whole->size() : transmitted_size(*whole);
    return binary ? src.size() : src.transmitted_size();
}

send_result client::send(const envelope& env_in, message_source& message) {
    const auto size = message.size();
    // The envelope, and the source's own size (a lower bound of the size as transmitted), are
    // checked before anything is read.
    check_envelope(prepare_envelope(env_in, {}, false), size);
    // A message up to inline_limit is read before anything is sent: its size as transmitted and
    // what its headers and body hold (UTF-8, 8-bit) decide MAIL FROM's parameters.
    std::string ahead;
    const bool whole = read_ahead(message, inline_limit, ahead);
    const envelope env = prepare_envelope(env_in, ahead, whole);
    const auto wire_size = announced_size(env, message, whole ? &ahead : nullptr);
    check_envelope(env, wire_size);

    const bool use_bdat = (chunking_ && caps_.chunking) || env.body == body_type::binary_mime;
    const bool pipe = pipelining_ && caps_.pipelining;
    send_result result;
    result.chunked = use_bdat;

    std::vector<std::string> commands;
    commands.push_back(mail_command(env, wire_size));
    for (const auto& r : env.to) commands.push_back(rcpt_command(env, r));
    // Every line through the one gate before the first byte goes out, pipelined or not: a refused
    // line must leave nothing half sent.
    std::string batch;
    for (const auto& c : commands) append_command_line(batch, c);

    // A small message rides along as "BDAT n LAST" in the same write.
    std::string inline_body;
    bool bdat_inline = false;
    if (pipe && use_bdat && whole) {
        result.bytes = ahead.size();
        if (env.body == body_type::binary_mime) {
            inline_body = std::move(ahead);
        } else {
            data_encoder enc(false);
            enc.encode(ahead, inline_body);
            enc.finish(inline_body);
        }
        ahead.clear();
        bdat_inline = true;
    }

    std::size_t outstanding = 0;  // replies owed by the server for what we pipelined
    auto read_owed = [&](stage s) {
        --outstanding;
        return read_reply(s);
    };
    if (pipe) {
        for (const auto& c : commands) log(log_direction::client, c);
        outstanding = commands.size();
        if (bdat_inline) {
            const auto bdat = fmt::format("BDAT {} LAST", inline_body.size());
            append_command_line(batch, bdat);
            log(log_direction::client, bdat);
            log(log_direction::client, fmt::format("<message: {} bytes>", inline_body.size()));
            batch += inline_body;  // a message body, not a command line
            ++outstanding;
        } else if (!use_bdat) {
            append_command_line(batch, "DATA");
            log(log_direction::client, "DATA");
            ++outstanding;
        }
        send_raw(batch);
    }

    // Drains replies still owed after a failure so the session stays in step, then resets.
    auto abandon = [&](bool data_open) {
        while (outstanding > 0) {
            auto r = read_owed(stage::command);
            if (r.code == 354) {
                // DATA was accepted after all: end the empty body (RFC 2920 §3.1).
                send_line(".");
                read_reply(stage::data);
            }
            if (r.code == 421) fail(r, stage::command, "the server is closing the connection");
        }
        if (data_open) return;
        rset();
    };

    auto mail = pipe ? read_owed(stage::command) : exchange(commands[0]);
    if (!mail.positive()) {
        if (mail.code == 421) fail(mail, stage::command, "the server is closing the connection");
        try {
            abandon(false);
        } catch (const smtp_error&) {}
        fail(mail, stage::command, "MAIL FROM refused");
    }
    for (std::size_t i = 0; i < env.to.size(); ++i) {
        auto r = pipe ? read_owed(stage::command) : exchange(commands[i + 1]);
        if (r.code == 421) fail(r, stage::command, "the server is closing the connection");
        result.recipients.push_back({env_in.to[i], r.positive(), std::move(r)});  // as the caller gave it
    }
    if (result.accepted() == 0) {
        abandon(false);
        const auto& first = result.recipients.front();
        fail(first.reply, stage::command,
             env.to.size() == 1 ? "the recipient was refused" : "every recipient was refused", first.address,
             result.recipients);
    }

    if (bdat_inline) {
        auto r = read_owed(stage::data);
        if (!r.positive()) {
            if (r.code != 421) rset();
            fail(r, stage::data, "the message was refused", {}, result.recipients);
        }
        result.final_reply = std::move(r);
        if (progress_) progress_(result.bytes, size);
        return result;
    }

    if (use_bdat) {
        upload_bdat(message, result, std::move(ahead), env.body == body_type::binary_mime);
        return result;
    }
    auto data = pipe ? read_owed(stage::data) : exchange("DATA", stage::data);
    if (data.code != 354) {
        if (data.code != 421) rset();
        fail(data, stage::data, "DATA refused", {}, result.recipients);
    }
    prefixed_source rest(std::move(ahead), message, message.size());
    upload_data(rest, result);
    return result;
}

void client::upload_data(message_source& message, send_result& result) {
    data_encoder enc(true);
    std::string in(block_size, '\0');
    std::string out;
    const auto total = message.size();
    log(log_direction::client, "<message, dot-stuffed>");
    for (;;) {
        const auto n = message.read(in.data(), in.size());
        if (n == 0) break;
        out.clear();
        enc.encode(std::string_view(in.data(), n), out);
        send_raw(out);
        if (progress_) progress_(enc.consumed(), total);
    }
    out.clear();
    enc.finish(out);
    log(log_direction::client, ".");
    send_raw(out);
    result.bytes = enc.consumed();
    auto r = read_reply(stage::data);
    if (!r.positive()) fail(r, stage::data, "the message was refused", {}, result.recipients);
    result.final_reply = std::move(r);
}

void client::upload_bdat(message_source& message, send_result& result, std::string raw_prefix, bool binary) {
    // Each chunk is sent with its BDAT command in one write; its reply is read before the next
    // one so a refusal stops the upload early. The source is read one chunk ahead to know which
    // chunk is the LAST.
    const bool text = !binary;  // text bodies get canonical CRLF; BINARYMIME goes as it is
    data_encoder enc(false);
    std::string raw(bdat_chunk, '\0');
    std::string current;
    std::uint64_t consumed = raw_prefix.size();
    if (text) enc.encode(raw_prefix, current);
    else current = std::move(raw_prefix);
    auto fill = [&](std::string& chunk) {
        while (chunk.size() < bdat_chunk) {
            const auto n = message.read(raw.data(), bdat_chunk - chunk.size());
            if (n == 0) return false;
            consumed += n;
            if (text) enc.encode(std::string_view(raw.data(), n), chunk);
            else chunk.append(raw.data(), n);
        }
        return true;
    };
    bool more = fill(current);
    const auto total = message.size();
    // Three buffers, reused for every chunk: memory stays flat whatever the message size.
    std::string next;
    std::string out;
    next.reserve(bdat_chunk + bdat_chunk / 32);
    out.reserve(bdat_chunk + bdat_chunk / 32 + 32);
    for (;;) {
        next.clear();
        if (more) more = fill(next);
        const bool last = !more && next.empty();
        if (last && text) enc.finish(current);
        const auto cmd = fmt::format("BDAT {}{}", current.size(), last ? " LAST" : "");
        out.clear();
        append_command_line(out, cmd);
        log(log_direction::client, cmd);
        out.append(current);  // the chunk's bytes are not a command line
        send_raw(out);
        auto r = read_reply(stage::data);
        if (!r.positive()) {
            if (r.code != 421 && !last) rset();
            fail(r, stage::data, "BDAT refused", {}, result.recipients);
        }
        if (progress_) progress_(consumed, total);
        if (last) {
            result.final_reply = std::move(r);
            result.bytes = consumed;
            return;
        }
        std::swap(current, next);
    }
}

}  // namespace mailwire::smtp
