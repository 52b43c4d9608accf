#include "mailwire/client.hpp"

#include <fmt/format.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>

#include "net/diagnose.hpp"

namespace mailwire {

// COMPRESS=DEFLATE state: raw deflate both ways (RFC 4978 §4: no zlib header).
struct client_base::zstate {
    z_stream in{};
    z_stream out{};
    std::string raw;  // compressed bytes read but not yet inflated
    std::size_t raw_pos = 0;
    bool in_ok = false, out_ok = false;
    bool ended = false;
};

void client_base::zstate_deleter::operator()(zstate* z) const noexcept {
    if (z == nullptr) return;
    if (z->in_ok) inflateEnd(&z->in);
    if (z->out_ok) deflateEnd(&z->out);
    delete z;
}

client_base::client_base(mailwire::protocol p) : protocol_(p) {}
client_base::~client_base() = default;

const tls_session_info& client_base::tls_info() const noexcept { return stream_.tls_info(); }
bool client_base::is_connected() const noexcept { return stream_.is_open(); }
bool client_base::is_secure() const noexcept { return stream_.is_tls(); }

error_context client_base::context(stage s, std::string server_text, std::string hint) const {
    error_context c;
    c.host = host_;
    c.port = port_;
    c.protocol = std::string(to_string(protocol_));
    c.stage = s;
    c.server_text = std::move(server_text);
    c.hint = std::move(hint);
    return c;
}

void client_base::protocol_failure(errc code, stage s, std::string detail, std::string server_text, std::string hint) {
    stream_.close();
    throw protocol_error(code, std::move(detail), context(s, std::move(server_text), std::move(hint)));
}

void client_base::log(log_direction d, std::string_view line) const {
    if (logger_) logger_(d, line);
}

void client_base::connect(const std::string& host, std::uint16_t port, security mode) {
    if (stream_.is_open()) disconnect(false);
    host_ = host;
    port_ = port != 0 ? port : default_port(protocol_, mode);
    used_ = security::none;
    authenticated_ = false;
    auth_mechanism_.clear();
    auth_fallback_from_.clear();
    greeting_.clear();
    rbuf_.clear();
    rpos_ = 0;
    zs_.reset();
    command_pending_ = false;
    start_operation("connecting", std::chrono::milliseconds::max(), {});
    forget_session_state();
    stream_.set_context(host_, port_, std::string(to_string(protocol_)));
    stream_.connect(host_, port_, timeouts_.connect);

    try {
        switch (mode) {
        case security::implicit_tls:
            handshake();
            used_ = security::implicit_tls;
            greet_plaintext();
            query_capabilities();
            break;
        case security::none:
            greet_plaintext();
            query_capabilities();
            break;
        case security::starttls:
        case security::starttls_when_available:
            greet_plaintext();
            secure_with_starttls(mode == security::starttls);
            break;
        case security::auto_detect:
            if (is_implicit_tls_port(port_)) {
                handshake();
                used_ = security::implicit_tls;
                greet_plaintext();
                query_capabilities();
            } else if (stream_.wait_readable(timeouts_.auto_detect_wait)) {
                // Something arrived: a plaintext greeting means STARTTLS, and it is required.
                greet_plaintext();
                secure_with_starttls(true);
            } else {
                // Silence: the port waits for our ClientHello.
                handshake();
                used_ = security::implicit_tls;
                greet_plaintext();
                query_capabilities();
            }
            break;
        }
    } catch (...) {
        stream_.close();
        throw;
    }
}

void client_base::handshake() { stream_.start_tls(tls_, host_, timeouts_.greeting); }

void client_base::greet_plaintext() {
    // The greeting as a whole gets timeouts().greeting, however the server paces its lines (a
    // multi-line SMTP 220, one byte per interval): each read below is bounded by what is left.
    start_operation("the greeting", timeouts_.greeting, "timeouts().greeting");
    // Before a line parser sees anything, make sure a plaintext greeting is what is coming: a
    // silent port or a TLS record means the server expects TLS first.
    if (buffered() == 0) {
        const auto waited_from = std::chrono::steady_clock::now();
        if (!stream_.wait_readable(timeouts_.greeting)) {
            auto d = net::diagnose_greeting_timeout(context(stage::greeting), timeouts_.greeting);
            stream_.close();
            throw timeout_error(d.code, d.detail, d.ctx);
        }
        if (!fill(stage::greeting, timeouts_.greeting)) {
            // A TLS-first port that gives up waiting for our ClientHello (GNU Mailutils after
            // ~10 s) is the silent port above with a close at the end: the same diagnosis. A close
            // right away is a refusal, not a wait.
            const auto silence =
                std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - waited_from);
            if (!stream_.is_tls() && silence >= net::silent_close_threshold) {
                auto d = net::diagnose_silent_close(context(stage::greeting), silence);
                stream_.close();
                throw tls_error(d.code, d.detail, d.ctx);
            }
            protocol_failure(errc::connection_closed, stage::greeting,
                             "the server closed the connection before greeting");
        }
    }
    const std::string_view head(rbuf_.data() + rpos_, buffered());
    const auto kind = net::classify_first_bytes(head).kind;
    if (!stream_.is_tls() && (kind == net::first_bytes_kind::tls_record || kind == net::first_bytes_kind::binary)) {
        auto d = net::diagnose_unexpected_greeting(context(stage::greeting), std::string(head.substr(0, 16)));
        stream_.close();
        if (d.code == errc::tls_expected) throw tls_error(d.code, d.detail, d.ctx);
        throw protocol_error(d.code, d.detail, d.ctx);
    }
    read_greeting();
}

void client_base::secure_with_starttls(bool required) {
    if (required && greeting_preauthenticated()) {
        // RFC 3501 §7.1.4: PREAUTH leaves no chance to negotiate TLS first.
        protocol_failure(errc::preauth_without_tls, stage::greeting,
                         "the server greeted with PREAUTH, so STARTTLS can no longer be negotiated", greeting_,
                         fmt::format("use implicit_tls on port {}", implicit_tls_port(protocol_)));
    }
    query_capabilities();
    if (!offers_starttls()) {
        if (!required) return;  // starttls_when_available: stay plain (credentials still guarded)
        stream_.close();
        throw tls_error(errc::starttls_unavailable,
                        fmt::format("the server does not offer {}", starttls_command(protocol_)),
                        context(stage::starttls, {},
                                fmt::format("use implicit_tls on port {} if the server has it; never send "
                                            "credentials over this connection",
                                            implicit_tls_port(protocol_))));
    }
    start_tls();
}

void client_base::start_tls() {
    if (!stream_.is_open()) throw error(errc::not_connected, "start_tls needs a connection", context(stage::starttls));
    if (stream_.is_tls())
        throw error(errc::invalid_argument, "the connection is already encrypted", context(stage::starttls));
    try {
        request_starttls();
    } catch (const command_error&) {
        stream_.close();  // never fall back to plaintext after asking for TLS
        throw;
    }
    // Response injection (CVE-2021-22947 and friends): nothing may follow the reply in plaintext.
    if (buffered() != 0 || stream_.wait_readable(std::chrono::milliseconds(0))) {
        std::string extra(rbuf_.data() + rpos_, std::min<std::size_t>(buffered(), 80));
        protocol_failure(errc::starttls_injection, stage::starttls,
                         fmt::format("the server sent data after its {} reply and before the TLS handshake; "
                                     "refusing to continue (possible response injection)",
                                     starttls_command(protocol_)),
                         extra, "this is a man-in-the-middle symptom or a broken server; use implicit TLS");
    }
    rbuf_.clear();
    rpos_ = 0;
    try {
        handshake();
    } catch (const tls_error& e) {
        stream_.close();
        // The server said yes to STARTTLS and then answered our ClientHello in plaintext (Courier:
        // "NO STARTTLS failed: 500 Error starting couriertls."): its fault, not the port's mode.
        if (e.code() != errc::tls_plaintext_greeting) throw;
        auto d = net::diagnose_starttls_not_started(context(stage::tls_handshake), e);
        throw tls_error(d.code, d.detail, d.ctx);
    } catch (...) {
        stream_.close();
        throw;
    }
    used_ = security::starttls;
    forget_session_state();
    query_capabilities();
}

void client_base::disconnect(bool quit) noexcept {
    if (quit && stream_.is_open()) {
        try {
            send_logout();
        } catch (...) {
            // The connection is going away either way.
        }
    }
    stream_.close();
    rbuf_.clear();
    rpos_ = 0;
    zs_.reset();
}

void client_base::check_command_text(std::string_view text, std::string_view what) const {
    const auto bad = text.find_first_of(std::string_view("\r\n\0", 3));
    if (bad == std::string_view::npos) return;
    const char c = text[bad];
    throw error(errc::invalid_argument,
                fmt::format("{} contains {} (at byte {}); refusing to send it, as it would end the command "
                            "line and inject another",
                            what,
                            c == '\r'   ? "CR"
                            : c == '\n' ? "LF"
                                        : "NUL",
                            bad),
                context(stage::command));
}

void client_base::append_command_line(std::string& out, std::string_view line) const {
    check_command_text(line, "a command line");
    note_command(line);
    // One allocation for line and CRLF: appending CRLF separately could reallocate and free a
    // buffer holding the line (a LOGIN password) unwiped. Growth stays geometric for batches.
    if (const std::size_t need = out.size() + line.size() + 2; need > out.capacity())
        out.reserve(std::max(need, 2 * out.capacity()));
    out.append(line).append("\r\n");
}

namespace {

/// The bound on one read at stage `s`: the greeting has its own, everything after it timeouts().io.
std::chrono::milliseconds per_read_timeout(stage s, const timeouts& t) {
    return s == stage::greeting ? t.greeting : t.io;
}

// "the FETCH response" for "A0007 FETCH 1:* FLAGS" (IMAP: after the tag; "UID FETCH" kept whole),
// "the RETR response" for "RETR 3"; empty for lines that are no command (SASL responses, "*").
// Only an upper-case verb of a few letters counts: the name ends up in an error message, and
// must never be taken from a credential.
std::string command_phrase(protocol p, std::string_view line) {
    const auto word = [&line]() {
        const auto sp = line.find(' ');
        const auto w = line.substr(0, sp);
        line = sp == std::string_view::npos ? std::string_view{} : line.substr(sp + 1);
        return w;
    };
    const auto is_verb = [](std::string_view w) {
        return !w.empty() && w.size() <= 16 &&
               std::all_of(w.begin(), w.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
    };
    if (p == protocol::imap) {
        if (line == "DONE") return "the IDLE response";  // RFC 2177: DONE ends IDLE; the tagged reply follows
        if (word().empty()) return {};                   // the tag
    }
    const auto first = word();
    if (!is_verb(first)) return {};  // checked before any copy: a SASL response line is a credential
    std::string verb(first);
    if (p == protocol::imap && verb == "UID") {
        const auto next = word();
        if (is_verb(next)) verb.append(" ").append(next);
    }
    return fmt::format("the {} response", verb);
}

std::string describe(std::chrono::milliseconds d) {
    if (d.count() % 1000 == 0) return fmt::format("{} s", d.count() / 1000);
    return fmt::format("{} ms", d.count());
}

}  // namespace

void client_base::note_command(std::string_view line) const {
    // The first command line since the last write names the operation that write starts.
    if (command_pending_) return;
    command_pending_ = true;
    pending_what_ = command_phrase(protocol_, line);
}

void client_base::start_operation(std::string what, std::chrono::milliseconds budget, std::string_view limit_name) {
    op_start_ = std::chrono::steady_clock::now();
    op_budget_ = budget;
    op_credit_bytes_ = 0;
    op_what_ = std::move(what);
    op_limit_ = limit_name;
}

void client_base::begin_operation(std::string_view what, std::chrono::milliseconds budget) {
    start_operation(std::string(what), budget, {});
}

std::chrono::steady_clock::time_point client_base::operation_deadline() const noexcept {
    using namespace std::chrono;
    using tp = steady_clock::time_point;
    if (op_budget_ == milliseconds::max() || op_budget_.count() <= 0) return tp::max();
    // Saturating: a huge budget or credit means "no deadline", never a wrapped-around one.
    const auto room = duration_cast<milliseconds>(tp::max() - op_start_);
    auto total = op_budget_;
    if (timeouts_.min_transfer_rate > 0 && op_credit_bytes_ > 0) {
        const auto credit_ms = op_credit_bytes_ / timeouts_.min_transfer_rate * 1000 +
                               op_credit_bytes_ % timeouts_.min_transfer_rate * 1000 / timeouts_.min_transfer_rate;
        if (credit_ms >= static_cast<std::uint64_t>((room - total).count())) return tp::max();
        total += milliseconds(static_cast<milliseconds::rep>(credit_ms));
    }
    if (total >= room) return tp::max();
    return op_start_ + total;
}

void client_base::operation_timed_out(stage s) {
    stream_.close();
    std::string detail = fmt::format("{} did not complete within {}", op_what_.empty() ? "the response" : op_what_,
                                     describe(op_budget_));
    if (!op_limit_.empty()) detail += fmt::format(" ({})", op_limit_);
    if (op_credit_bytes_ > 0 && timeouts_.min_transfer_rate > 0)
        detail +=
            fmt::format(" plus {} for the {} body bytes streamed at timeouts().min_transfer_rate ({} bytes/s)",
                        describe(std::chrono::milliseconds(op_credit_bytes_ * 1000 / timeouts_.min_transfer_rate)),
                        op_credit_bytes_, timeouts_.min_transfer_rate);
    std::string hint = op_limit_ == "timeouts().greeting"
                           ? "the server is too slow to greet, or is holding the connection open on purpose; raise "
                             "timeouts().greeting (--timeout) if it is just slow"
                           : "the server kept the response going without finishing it (a trickle, or endless "
                             "untagged/continuation lines); raise timeouts().command (--command-timeout) if it is "
                             "just slow";
    throw timeout_error(errc::timeout, std::move(detail), context(s, {}, std::move(hint)));
}

void client_base::list_limit_exceeded(std::string_view what) {
    protocol_failure(errc::limit_exceeded, stage::command,
                     fmt::format("{} exceeded limits().max_list_items ({} entries)", what, limits_.max_list_items));
}

void client_base::send_line(std::string_view line) { send_line_masked(line, line); }

void client_base::send_line_masked(std::string_view line, std::string_view logged) {
    std::string out;
    // A masked line carries a credential (AUTH, PASS, LOGIN, SASL responses): its copy here is
    // wiped before it is freed, also when the write fails. Reserved so it never reallocates.
    const detail::wipe_on_exit wipe_out(out);
    out.reserve(line.size() + 2);
    // A masked line is named after its logged form (noted first, so append_command_line never
    // parses the credential): the operation's name must not come from a secret.
    const bool masked = logged.data() != line.data() || logged.size() != line.size();
    if (masked) note_command(logged);
    append_command_line(out, line);  // before logging: a refused line was never sent
    log(log_direction::client, logged);
    send_raw(out);
}

void client_base::send_raw(std::string_view bytes) {
    try {
        transport_write(bytes);
    } catch (...) {
        // A failed or timed-out write leaves the session in an unknown state: it is over.
        command_pending_ = false;
        stream_.close();
        throw;
    }
    // The whole-command clock (timeouts().command) starts once the command, or the last piece of
    // its payload (a literal, a message body), has been written: the server cannot make the client
    // write, so restarting here gives a hostile server nothing, and the time an upload takes never
    // counts against the response. A write that carries a new command line names the operation.
    std::string what = command_pending_ && !pending_what_.empty() ? std::move(pending_what_) : std::move(op_what_);
    command_pending_ = false;
    pending_what_.clear();
    start_operation(std::move(what), timeouts_.command, "timeouts().command");
}

void client_base::transport_write(std::string_view bytes) {
    if (!zs_) {
        stream_.write_all(bytes, timeouts_.io);
        return;
    }
    // COMPRESS: deflate and flush every write (Z_SYNC_FLUSH) so the server sees whole commands.
    auto& z = zs_->out;
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
    std::size_t left = bytes.size();
    char chunk[16384];
    do {
        const auto piece = static_cast<uInt>(std::min<std::size_t>(left, 1u << 30));  // avail_in is 32-bit
        z.avail_in = piece;
        left -= piece;
        const int flush = left == 0 ? Z_SYNC_FLUSH : Z_NO_FLUSH;
        do {
            z.next_out = reinterpret_cast<Bytef*>(chunk);
            z.avail_out = sizeof chunk;
            if (deflate(&z, flush) == Z_STREAM_ERROR)
                throw error(errc::io_error, "deflate failed", context(stage::command));
            const std::size_t n = sizeof chunk - z.avail_out;
            if (n > 0) stream_.write_all(std::string_view(chunk, n), timeouts_.io);
        } while (z.avail_out == 0);
    } while (left > 0);
}

std::size_t client_base::transport_read(char* out, std::size_t max, std::chrono::steady_clock::time_point deadline) {
    // One deadline for the whole call: with COMPRESS, a server sending empty deflate blocks
    // would otherwise get a fresh timeout for every raw read that inflates to nothing.
    const auto left = [&] {
        const auto l = std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
        if (l.count() <= 0) throw timeout_error(errc::timeout, "read timed out", context(stage::command));
        return l;
    };
    if (!zs_) return stream_.read_some(std::span<char>(out, max), left());
    auto& z = *zs_;
    for (;;) {
        if (z.ended) return 0;
        if (z.raw_pos == z.raw.size()) {
            z.raw.resize(16384);
            z.raw_pos = 0;
            const auto n = stream_.read_some(std::span<char>(z.raw.data(), z.raw.size()), left());
            z.raw.resize(n);
            if (n == 0) return 0;
        }
        const auto room = static_cast<uInt>(std::min<std::size_t>(max, 1u << 30));
        z.in.next_in = reinterpret_cast<Bytef*>(z.raw.data() + z.raw_pos);
        z.in.avail_in = static_cast<uInt>(z.raw.size() - z.raw_pos);
        z.in.next_out = reinterpret_cast<Bytef*>(out);
        z.in.avail_out = room;
        const int rc = inflate(&z.in, Z_SYNC_FLUSH);
        z.raw_pos = z.raw.size() - z.in.avail_in;
        const std::size_t produced = room - z.in.avail_out;
        if (rc == Z_STREAM_END) z.ended = true;
        else if (rc != Z_OK && rc != Z_BUF_ERROR)
            throw error(errc::protocol_violation, "the server sent a corrupt compressed stream",
                        context(stage::command));
        if (produced > 0) return produced;
    }
}

void client_base::start_compression() {
    std::unique_ptr<zstate, zstate_deleter> z(new zstate);
    if (inflateInit2(&z->in, -15) != Z_OK) throw error(errc::io_error, "inflateInit2 failed");
    z->in_ok = true;
    if (deflateInit2(&z->out, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        throw error(errc::io_error, "deflateInit2 failed");
    z->out_ok = true;
    // Whatever followed the server's OK is already compressed.
    z->raw.assign(rbuf_.data() + rpos_, rbuf_.size() - rpos_);
    rbuf_.clear();
    rpos_ = 0;
    zs_ = std::move(z);
}

void client_base::read_more(stage s) {
    if (!fill(s, per_read_timeout(s, timeouts_)))
        protocol_failure(errc::connection_closed, s, "the server closed the connection",
                         std::string(rbuf_.data() + rpos_, std::min<std::size_t>(buffered(), 200)));
}

bool client_base::input_ready(std::chrono::milliseconds timeout) {
    if (buffered() > 0) return true;
    if (zs_ && zs_->raw_pos < zs_->raw.size()) return true;
    return stream_.wait_readable(timeout);
}

bool client_base::fill(stage s, std::chrono::milliseconds per_read) {
    using clock = std::chrono::steady_clock;
    // Each read is bounded by `per_read` (timeouts().io, or .greeting) and by what is left of the
    // whole operation (timeouts().command, .greeting, begin_operation()).
    const auto now = clock::now();
    const auto op_deadline = operation_deadline();
    if (now >= op_deadline) operation_timed_out(s);
    const bool op_binds = op_deadline - now <= per_read;
    const auto read_deadline = op_binds ? op_deadline : now + per_read;

    constexpr std::size_t chunk = 16 * 1024;
    if (rpos_ > 0 && rpos_ == rbuf_.size()) {
        rbuf_.clear();
        rpos_ = 0;
    } else if (rpos_ > (1u << 16)) {
        rbuf_.erase(0, rpos_);
        rpos_ = 0;
    }
    if constexpr (relocate_on_refill) {
        // Sanitizer/debug builds: every refill moves the buffer and frees the old one. A normal
        // build reallocates only when the buffer grows (or shifts it when compacting), so a view
        // kept across a refill breaks only sometimes; here it is a use-after-free every time.
        std::string fresh;
        fresh.reserve(rbuf_.size() - rpos_ + chunk);
        fresh.append(rbuf_, rpos_, std::string::npos);
        rbuf_.swap(fresh);
        rpos_ = 0;
    }
    const std::size_t old = rbuf_.size();
    rbuf_.resize(old + chunk);
    std::size_t n = 0;
    try {
        n = transport_read(rbuf_.data() + old, chunk, read_deadline);
    } catch (error& e) {
        rbuf_.resize(old);
        const bool timed_out = dynamic_cast<timeout_error*>(&e) != nullptr;
        if (timed_out && op_binds) operation_timed_out(s);
        stream_.close();  // a failed or timed-out read leaves the session in an unknown state
        // Re-stamp the stage: the transport only knows it was reading.
        error_context c = e.context();
        c.stage = s;
        if (timed_out) throw timeout_error(e.code(), e.detail(), c);
        if (dynamic_cast<tls_error*>(&e) != nullptr) throw tls_error(e.code(), e.detail(), c);  // a TLS alert
        throw protocol_error(e.code(), e.detail(), c);
    }
    rbuf_.resize(old + n);
    return n > 0;
}

std::string_view client_base::read_line(stage s) {
    std::size_t scanned = 0;
    for (;;) {
        const char* begin = rbuf_.data() + rpos_;
        const std::size_t avail = rbuf_.size() - rpos_;
        if (const void* nl = std::memchr(begin + scanned, '\n', avail - scanned)) {
            const auto len = static_cast<std::size_t>(static_cast<const char*>(nl) - begin);
            if (len > limits_.max_line_length)
                protocol_failure(errc::limit_exceeded, s,
                                 fmt::format("a response line exceeded {} bytes", limits_.max_line_length));
            std::size_t end = len;
            if (end > 0 && begin[end - 1] == '\r') --end;
            rpos_ += len + 1;
            std::string_view line(begin, end);
            log(log_direction::server, line);
            return line;
        }
        scanned = avail;
        if (avail > limits_.max_line_length)
            protocol_failure(errc::limit_exceeded, s,
                             fmt::format("a response line exceeded {} bytes", limits_.max_line_length));
        // fill() may move the buffer (always, in sanitizer builds): `begin` is stale after it,
        // so the partial line for the error is taken from the buffer anew.
        if (!fill(s, per_read_timeout(s, timeouts_)))
            protocol_failure(errc::connection_closed, s, "the server closed the connection",
                             std::string(rbuf_.data() + rpos_, std::min<std::size_t>(buffered(), 200)));
    }
}

std::size_t client_base::read_some(char* out, std::size_t max, stage s) {
    if (buffered() == 0 && !fill(s, per_read_timeout(s, timeouts_)))
        protocol_failure(errc::connection_closed, s, "the server closed the connection in the middle of a transfer");
    const std::size_t n = std::min(max, buffered());
    std::memcpy(out, rbuf_.data() + rpos_, n);
    rpos_ += n;
    return n;
}

void client_base::require_secure_for_credentials(std::string_view what) const {
    if (stream_.is_tls() || allow_plaintext_auth_) return;
    throw auth_error(errc::plaintext_auth_refused,
                     fmt::format("refusing to send {} over an unencrypted connection", what),
                     context(stage::authenticate, {},
                             "connect with starttls or implicit_tls, or set allow_plaintext_auth(true) "
                             "(--allow-plaintext-auth) if you accept the risk"));
}

}  // namespace mailwire
