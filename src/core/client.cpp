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
    greeting_.clear();
    rbuf_.clear();
    rpos_ = 0;
    zs_.reset();
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
    // Before a line parser sees anything, make sure a plaintext greeting is what is coming: a
    // silent port or a TLS record means the server expects TLS first.
    if (buffered() == 0) {
        if (!stream_.wait_readable(timeouts_.greeting)) {
            auto d = net::diagnose_greeting_timeout(context(stage::greeting), timeouts_.greeting);
            stream_.close();
            throw timeout_error(d.code, d.detail, d.ctx);
        }
        if (!fill(stage::greeting, timeouts_.greeting))
            protocol_failure(errc::connection_closed, stage::greeting,
                             "the server closed the connection before greeting");
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
    out.append(line).append("\r\n");
}

void client_base::list_limit_exceeded(std::string_view what) {
    protocol_failure(errc::limit_exceeded, stage::command,
                     fmt::format("{} exceeded limits().max_list_items ({} entries)", what, limits_.max_list_items));
}

void client_base::send_line(std::string_view line) { send_line_masked(line, line); }

void client_base::send_line_masked(std::string_view line, std::string_view logged) {
    std::string out;
    out.reserve(line.size() + 2);
    append_command_line(out, line);  // before logging: a refused line was never sent
    log(log_direction::client, logged);
    send_raw(out);
}

void client_base::send_raw(std::string_view bytes) {
    try {
        transport_write(bytes);
    } catch (...) {
        // A failed or timed-out write leaves the session in an unknown state: it is over.
        stream_.close();
        throw;
    }
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

std::size_t client_base::transport_read(char* out, std::size_t max, std::chrono::milliseconds timeout) {
    if (!zs_) return stream_.read_some(std::span<char>(out, max), timeout);
    auto& z = *zs_;
    for (;;) {
        if (z.ended) return 0;
        if (z.raw_pos == z.raw.size()) {
            z.raw.resize(16384);
            z.raw_pos = 0;
            const auto n = stream_.read_some(std::span<char>(z.raw.data(), z.raw.size()), timeout);
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
    if (!fill(s, s == stage::greeting ? timeouts_.greeting : timeouts_.io))
        protocol_failure(errc::connection_closed, s, "the server closed the connection",
                         std::string(rbuf_.data() + rpos_, std::min<std::size_t>(buffered(), 200)));
}

bool client_base::input_ready(std::chrono::milliseconds timeout) {
    if (buffered() > 0) return true;
    if (zs_ && zs_->raw_pos < zs_->raw.size()) return true;
    return stream_.wait_readable(timeout);
}

bool client_base::fill(stage s, std::chrono::milliseconds timeout) {
    if (rpos_ > 0 && rpos_ == rbuf_.size()) {
        rbuf_.clear();
        rpos_ = 0;
    } else if (rpos_ > (1u << 16)) {
        rbuf_.erase(0, rpos_);
        rpos_ = 0;
    }
    const std::size_t old = rbuf_.size();
    const std::size_t chunk = 16 * 1024;
    rbuf_.resize(old + chunk);
    std::size_t n = 0;
    try {
        n = transport_read(rbuf_.data() + old, chunk, timeout);
    } catch (error& e) {
        rbuf_.resize(old);
        stream_.close();  // a failed or timed-out read leaves the session in an unknown state
        // Re-stamp the stage: the transport only knows it was reading.
        error_context c = e.context();
        c.stage = s;
        if (dynamic_cast<timeout_error*>(&e) != nullptr) throw timeout_error(e.code(), e.detail(), c);
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
        if (!fill(s, s == stage::greeting ? timeouts_.greeting : timeouts_.io))
            protocol_failure(errc::connection_closed, s, "the server closed the connection",
                             std::string(begin, std::min<std::size_t>(avail, 200)));
    }
}

std::size_t client_base::read_some(char* out, std::size_t max, stage s) {
    if (buffered() == 0 && !fill(s, timeouts_.io))
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
