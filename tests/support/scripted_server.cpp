// GCC 12 reports a false -Wmaybe-uninitialized inside std::regex's compiler (std::function in
// _State) at -O2, more so with sanitizers; the warning is about libstdc++ internals, not this file.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include "support/scripted_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <regex>
#include <stdexcept>
#include <string_view>
#include <utility>

namespace mailwire::test {
namespace {

using clock = std::chrono::steady_clock;

// A step did not go as scripted; the message says what arrived instead.
struct step_failure : std::runtime_error {
    using std::runtime_error::runtime_error;
};
// The test asked the server to stop (destructor or stop()).
struct stopped : step_failure {
    stopped() : step_failure("stopped by the test before the script finished") {}
};

[[noreturn]] void fail(const std::string& why) { throw step_failure(why); }

// Bytes as a quoted C-like string, so CR/LF and binary garbage are visible in failure reports.
std::string visible(std::string_view bytes, std::size_t max = 200) {
    std::string out = "\"";
    for (std::size_t i = 0; i < bytes.size() && i < max; ++i) {
        const auto c = static_cast<unsigned char>(bytes[i]);
        if (c == '\r') out += "\\r";
        else if (c == '\n') out += "\\n";
        else if (c == '\t') out += "\\t";
        else if (c == '"' || c == '\\') out += {'\\', static_cast<char>(c)};
        else if (c >= 0x20 && c < 0x7f) out += static_cast<char>(c);
        else {
            char hex[5];
            std::snprintf(hex, sizeof hex, "\\x%02x", c);
            out += hex;
        }
    }
    out += '"';
    if (bytes.size() > max) out += "... (" + std::to_string(bytes.size()) + " bytes)";
    return out;
}

std::string errno_text(int e) { return std::string(std::strerror(e)); }

// Drains OpenSSL's per-thread error queue into one line.
std::string ssl_errors() {
    std::string out;
    while (const unsigned long e = ERR_get_error()) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        out += out.empty() ? "" : "; ";
        out += buf;
    }
    return out.empty() ? "no OpenSSL error queued" : out;
}

// --- the default certificate -------------------------------------------------------------------

struct default_cert {
    std::filesystem::path dir;
    std::string cert, key;

    default_cert() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "mailwire-scripted-XXXXXX").string();
        if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp: " + errno_text(errno));
        dir = tmpl;
        cert = (dir / "localhost.crt").string();
        key = (dir / "localhost.key").string();

        // EC keys are generated in microseconds; RSA would cost every test process a noticeable pause.
        std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> pkey(EVP_EC_gen("P-256"), EVP_PKEY_free);
        std::unique_ptr<X509, decltype(&X509_free)> x(X509_new(), X509_free);
        if (!pkey || !x) throw std::runtime_error("key generation failed: " + ssl_errors());
        X509_set_version(x.get(), 2);
        ASN1_INTEGER_set(X509_get_serialNumber(x.get()), 1);
        X509_gmtime_adj(X509_getm_notBefore(x.get()), -3600);  // tolerate a little clock skew
        X509_gmtime_adj(X509_getm_notAfter(x.get()), 30L * 24 * 3600);
        X509_set_pubkey(x.get(), pkey.get());
        X509_NAME* name = X509_get_subject_name(x.get());
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("localhost"), -1,
                                   -1, 0);
        X509_set_issuer_name(x.get(), name);
        add_ext(x.get(), NID_subject_alt_name, "DNS:localhost,IP:127.0.0.1");
        add_ext(x.get(), NID_basic_constraints, "critical,CA:FALSE");
        if (X509_sign(x.get(), pkey.get(), EVP_sha256()) == 0)
            throw std::runtime_error("signing failed: " + ssl_errors());

        write_pem(cert, [&](BIO* b) { return PEM_write_bio_X509(b, x.get()); });
        write_pem(key, [&](BIO* b) {
            return PEM_write_bio_PrivateKey(b, pkey.get(), nullptr, nullptr, 0, nullptr, nullptr);
        });
    }
    ~default_cert() {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }

    static void add_ext(X509* x, int nid, const char* value) {
        X509V3_CTX ctx;
        X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
        X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
        if (!ext) throw std::runtime_error("bad extension: " + ssl_errors());
        X509_add_ext(x, ext, -1);
        X509_EXTENSION_free(ext);
    }
    template <class Write>
    static void write_pem(const std::string& path, Write write) {
        BIO* b = BIO_new_file(path.c_str(), "w");
        const bool ok = b && write(b) == 1;
        BIO_free(b);
        if (!ok) throw std::runtime_error("cannot write " + path + ": " + ssl_errors());
    }
};

const default_cert& the_default_cert() {
    static const default_cert c;  // thread-safe, once per process
    return c;
}

using ctx_ptr = std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)>;

ctx_ptr make_server_ctx(const tls_server_options& o) {
    ctx_ptr ctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
    if (!ctx) fail("SSL_CTX_new: " + ssl_errors());
    if (o.security_level >= 0) SSL_CTX_set_security_level(ctx.get(), o.security_level);
    if (!o.extended_master_secret) SSL_CTX_set_options(ctx.get(), SSL_OP_NO_EXTENDED_MASTER_SECRET);
    const std::string& cert = o.cert_file.empty() ? scripted_server::default_cert_file() : o.cert_file;
    const std::string& key = o.key_file.empty() ? scripted_server::default_key_file() : o.key_file;
    if (SSL_CTX_use_certificate_chain_file(ctx.get(), cert.c_str()) != 1)
        fail("cannot load certificate " + cert + ": " + ssl_errors());
    if (SSL_CTX_use_PrivateKey_file(ctx.get(), key.c_str(), SSL_FILETYPE_PEM) != 1)
        fail("cannot load key " + key + ": " + ssl_errors());
    const auto is_old = [](tls_proto v) { return v != tls_proto::any && v < tls_proto::v1_2; };
    if (o.security_level < 0 && (is_old(o.min_version) || is_old(o.max_version)))
        SSL_CTX_set_security_level(ctx.get(), 0);  // TLS 1.0/1.1 need SHA-1, banned at Debian's level 2
    if (o.min_version != tls_proto::any) SSL_CTX_set_min_proto_version(ctx.get(), static_cast<int>(o.min_version));
    if (o.max_version != tls_proto::any) SSL_CTX_set_max_proto_version(ctx.get(), static_cast<int>(o.max_version));
    if (!o.ciphers.empty() && SSL_CTX_set_cipher_list(ctx.get(), o.ciphers.c_str()) != 1)
        fail("bad cipher list " + o.ciphers + ": " + ssl_errors());
    if (o.require_client_cert) {
        // Any certificate would do (the test is about one being missing); none fails the handshake.
        SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT,
                           [](int, X509_STORE_CTX*) { return 1; });
    }
    // A client that closes without close_notify simply reached EOF as far as the script is concerned.
    SSL_CTX_set_options(ctx.get(), SSL_OP_IGNORE_UNEXPECTED_EOF);
    return ctx;
}

}  // namespace

// --- state shared by the test thread and the server thread -------------------------------------

namespace detail {

struct shared {
    script the_script;
    server_options options;
    int listen_fd = -1;
    int stop_fd = -1;  // eventfd, readable once stop was requested; part of every poll
    std::uint16_t port = 0;
    std::atomic<int> accepted{0};

    mutable std::mutex mutex;  // guards everything below
    std::string received, sent;
    std::vector<std::string> captured;
    std::vector<std::string> failures;

    ~shared() {
        if (listen_fd >= 0) ::close(listen_fd);
        if (stop_fd >= 0) ::close(stop_fd);
    }

    void request_stop() const {
        const std::uint64_t one = 1;
        [[maybe_unused]] auto n = ::write(stop_fd, &one, sizeof one);
    }

    // Waits until fd is ready for `events` (fd < 0: just sleeps) or the deadline passes.
    // Returns false at the deadline; throws `stopped` when the test asked to stop.
    bool poll_until(int fd, short events, clock::time_point deadline) const {
        for (;;) {
            pollfd p[2] = {{stop_fd, POLLIN, 0}, {fd, events, 0}};
            const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - clock::now());
            const int r = ::poll(p, fd >= 0 ? 2 : 1, static_cast<int>(std::clamp<long long>(left.count(), 0, INT_MAX)));
            if (r < 0 && errno == EINTR) continue;
            if (r < 0) fail("poll: " + errno_text(errno));
            if (p[0].revents) throw stopped();
            if (r > 0) return true;
            if (clock::now() >= deadline) return false;
        }
    }

    void sleep_until(clock::time_point deadline) const { poll_until(-1, 0, deadline); }

    void record(std::string shared::*where, std::string_view bytes) {
        std::lock_guard lock(mutex);
        (this->*where).append(bytes);
    }
};

// One accepted connection: a socket, optionally wrapped in TLS, with an input buffer the line and
// byte readers share (so a line read that pulls in more bytes loses none).
class session {
public:
    session(int fd, shared& sh) : fd_(fd), sh_(sh) {}
    ~session() {
        if (ssl_) SSL_free(ssl_);
        if (fd_ >= 0) ::close(fd_);
    }
    session(const session&) = delete;
    session& operator=(const session&) = delete;

    void begin_step() { deadline_ = clock::now() + sh_.options.timeout; }
    bool is_open() const { return fd_ >= 0; }

    void write(std::string_view data) {
        require_open();
        sh_.record(&shared::sent, data);
        while (!data.empty()) {
            if (ssl_) {
                ERR_clear_error();
                errno = 0;
                const int n =
                    SSL_write(ssl_, data.data(), static_cast<int>(std::min<std::size_t>(data.size(), INT_MAX)));
                if (n > 0) data.remove_prefix(static_cast<std::size_t>(n));
                else await_ssl(n, "TLS write");
            } else {
                const ssize_t n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
                if (n >= 0) data.remove_prefix(static_cast<std::size_t>(n));
                else if (errno == EAGAIN || errno == EWOULDBLOCK) await(POLLOUT);
                else if (errno != EINTR) fail("send failed: " + errno_text(errno));
            }
        }
    }

    // Reads one line including its LF; fails if it grows past max_line or the client closes first.
    std::string read_raw_line() {
        for (std::size_t scanned = 0;;) {
            const auto lf = in_.find('\n', scanned);
            if (lf != std::string::npos && lf < sh_.options.max_line) return take(lf + 1);
            if (in_.size() > sh_.options.max_line)
                fail("line longer than " + std::to_string(sh_.options.max_line) + " bytes: " + visible(in_, 80));
            scanned = in_.size();
            if (!fill()) fail(closed_while("a line"));
        }
    }
    std::string read_line() {
        std::string line = read_raw_line();
        line.pop_back();
        if (!line.empty() && line.back() == '\r') line.pop_back();
        return line;
    }

    std::string read_exact(std::size_t n) {
        while (in_.size() < n)
            if (!fill()) fail(closed_while(std::to_string(n) + " bytes"));
        return take(n);
    }

    std::string read_until(std::string_view terminator) {
        for (std::size_t from = 0;;) {
            const auto at = in_.find(terminator, from);
            if (at != std::string::npos) return take(at + terminator.size());
            if (in_.size() > sh_.options.max_capture) fail("no " + visible(terminator) + " within max_capture bytes");
            from = in_.size() >= terminator.size() ? in_.size() - terminator.size() + 1 : 0;
            if (!fill()) fail(closed_while(visible(terminator)));
        }
    }

    void expect_eof() {
        if (!in_.empty() || fill()) fail("expected the client to close, but it sent " + visible(in_));
    }

    void expect_client_hello() {
        if (ssl_) fail("TLS is already active");
        while (in_.size() < 2)
            if (!fill()) fail(closed_while("a TLS record"));
        if (in_[0] != '\x16' || in_[1] != '\x03')
            fail("expected a TLS handshake record (16 03 ...), got " + visible(in_));
        // Consume exactly the record so a later plaintext step starts on a clean buffer.
        const std::string header = read_exact(5);
        read_exact(static_cast<std::size_t>(static_cast<unsigned char>(header[3])) << 8 |
                   static_cast<unsigned char>(header[4]));
    }

    void start_tls(const tls_server_options& options) {
        require_open();
        if (ssl_) fail("TLS is already active");
        // Anything buffered here was sent before our reply to STARTTLS: the client pipelined plaintext.
        if (!in_.empty()) fail("the client sent plaintext before the TLS handshake: " + visible(in_));
        ctx_ptr ctx = make_server_ctx(options);
        ssl_ = SSL_new(ctx.get());  // holds its own reference to ctx
        if (!ssl_ || SSL_set_fd(ssl_, fd_) != 1) fail("SSL_new: " + ssl_errors());
        for (;;) {
            ERR_clear_error();
            errno = 0;
            const int r = SSL_accept(ssl_);
            if (r == 1) return;
            await_ssl(r, "TLS handshake");
        }
    }

    void stall(std::chrono::milliseconds d) {
        require_open();
        const auto until = clock::now() + d;
        // Watch the raw socket only for the client's EOF: peeking consumes nothing, so a TLS record or
        // command sent meanwhile is still there for the next step.
        while (sh_.poll_until(fd_, POLLIN, until)) {
            char c;
            const ssize_t n = ::recv(fd_, &c, 1, MSG_PEEK);
            if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) return;  // client gone
            if (n > 0) break;
        }
        sh_.sleep_until(until);
    }

    void sleep(std::chrono::milliseconds d) { sh_.sleep_until(clock::now() + d); }

    // True when the client has closed (EOF or error on the raw socket); peeks, consumes nothing.
    bool peer_closed() const {
        if (fd_ < 0) return true;
        pollfd p{fd_, POLLIN, 0};
        if (::poll(&p, 1, 0) <= 0) return false;
        if (p.revents & (POLLERR | POLLHUP)) return true;
        char c;
        const ssize_t n = ::recv(fd_, &c, 1, MSG_PEEK | MSG_DONTWAIT);
        return n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK);
    }

    // notify: send close_notify first. Shuts down our side, then waits briefly for the client's EOF:
    // closing a socket with unread input makes the kernel send RST, and the client could lose our last
    // reply to ECONNRESET. The wait also puts the client's last words in the transcript.
    void close(bool notify) {
        require_open();
        if (ssl_ && notify) SSL_shutdown(ssl_);  // one-way: our close_notify, no wait for the client's
        ::shutdown(fd_, SHUT_WR);
        deadline_ = std::min(deadline_, clock::now() + std::chrono::milliseconds(100));
        try {
            while (fill()) in_.clear();
        } catch (const stopped&) {
            throw;
        } catch (const step_failure&) {  // timeout or reset: the client is not our concern any more
        }
        ::close(std::exchange(fd_, -1));
    }

    void reset() {
        require_open();
        const linger lg{1, 0};  // linger on with timeout 0: close() sends RST and drops unsent data
        ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        ::close(std::exchange(fd_, -1));
    }

    void set_match(const std::smatch& m) {
        groups_.clear();
        for (const auto& g : m) groups_.push_back(g.str());
    }

    // `$0`..`$9` from the last regex match, `$$` as `$`; any other `$` is kept as is.
    std::string substitute(std::string_view text) const {
        std::string out;
        for (std::size_t i = 0; i < text.size(); ++i) {
            const char next = i + 1 < text.size() ? text[i + 1] : '\0';
            if (text[i] != '$' || !(next == '$' || (next >= '0' && next <= '9'))) {
                out += text[i];
                continue;
            }
            ++i;
            if (next == '$') {
                out += '$';
                continue;
            }
            const auto n = static_cast<std::size_t>(next - '0');
            if (n >= groups_.size())
                fail(std::string("$") + next + " used, but the last match has " +
                     std::to_string(groups_.empty() ? 0 : groups_.size() - 1) + " groups");
            out += groups_[n];
        }
        return out;
    }

    void capture(std::string bytes) {
        std::lock_guard lock(sh_.mutex);
        sh_.captured.push_back(std::move(bytes));
    }

private:
    void require_open() const {
        if (fd_ < 0) fail("the connection is already closed");
    }

    std::string take(std::size_t n) {
        std::string out = in_.substr(0, n);
        in_.erase(0, n);
        return out;
    }

    std::string closed_while(const std::string& waiting_for) const {
        return "the client closed the connection while the server waited for " + waiting_for +
               (in_.empty() ? "" : "; it had sent " + visible(in_));
    }

    void await(short events) {
        if (!sh_.poll_until(fd_, events, deadline_))
            fail("timed out after " + std::to_string(sh_.options.timeout.count()) + " ms " +
                 (events == POLLIN ? "waiting for the client" : "waiting for the client to read") +
                 (in_.empty() ? "" : "; it had sent " + visible(in_)));
    }

    // After a failed SSL_* call: wait for what OpenSSL needs, or fail with its reason.
    void await_ssl(int ret, const char* what) {
        const int e = SSL_get_error(ssl_, ret);
        if (e == SSL_ERROR_WANT_READ) return await(POLLIN);
        if (e == SSL_ERROR_WANT_WRITE) return await(POLLOUT);
        if (e == SSL_ERROR_SYSCALL && ERR_peek_error() == 0)
            fail(std::string(what) + " failed: " + (errno ? errno_text(errno) : "the client closed the connection"));
        fail(std::string(what) + " failed: " + ssl_errors());
    }

    // Appends what the client sent next to in_ (and the transcript). false at EOF.
    bool fill() {
        require_open();
        char buf[16384];
        for (;;) {
            ssize_t n;
            if (ssl_) {
                ERR_clear_error();
                errno = 0;
                const int r = SSL_read(ssl_, buf, sizeof buf);
                const int e = r > 0 ? SSL_ERROR_NONE : SSL_get_error(ssl_, r);
                if (e == SSL_ERROR_ZERO_RETURN) return false;
                if (e != SSL_ERROR_NONE) {
                    await_ssl(r, "TLS read");
                    continue;
                }
                n = r;
            } else {
                n = ::recv(fd_, buf, sizeof buf, 0);
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                    await(POLLIN);
                    continue;
                }
                if (n < 0 && errno == EINTR) continue;
                if (n < 0) fail("recv failed: " + errno_text(errno));
                if (n == 0) return false;
            }
            in_.append(buf, static_cast<std::size_t>(n));
            sh_.record(&shared::received, std::string_view(buf, static_cast<std::size_t>(n)));
            return true;
        }
    }

    int fd_;
    shared& sh_;
    SSL* ssl_ = nullptr;
    std::string in_;
    std::vector<std::string> groups_;
    clock::time_point deadline_ = clock::now();
};

}  // namespace detail

// --- script steps ----------------------------------------------------------------------------

using detail::session;

script& script::add(std::string what, std::function<void(session&)> run) {
    steps_.push_back({std::move(what), std::move(run)});
    return *this;
}

script& script::send(std::string text) {
    return add("send(" + visible(text, 60) + ")", [text](session& s) { s.write(s.substitute(text)); });
}
script& script::send_raw(std::string bytes) {
    return add("send_raw(" + visible(bytes, 60) + ")", [bytes](session& s) { s.write(bytes); });
}
script& script::send_split(std::vector<std::string> parts, duration pause) {
    return add("send_split(" + std::to_string(parts.size()) + " parts)", [parts, pause](session& s) {
        for (std::size_t i = 0; i < parts.size(); ++i) {
            if (i > 0) s.sleep(pause);
            s.write(s.substitute(parts[i]));
        }
    });
}

script& script::trickle(std::string text, duration pause) {
    return add("trickle(" + visible(text, 60) + ", " + std::to_string(pause.count()) + " ms)",
               [text, pause](session& s) {
                   const std::string bytes = s.substitute(text);
                   for (std::size_t i = 0; i < bytes.size(); ++i) {
                       if (i > 0) s.sleep(pause);
                       if (s.peer_closed()) return;
                       s.write(std::string_view(bytes).substr(i, 1));
                   }
               });
}
script& script::repeat(std::string line, duration every, duration total) {
    return add("repeat(" + visible(line, 60) + ")", [line, every, total](session& s) {
        const auto until = clock::now() + total;
        while (clock::now() < until) {
            if (s.peer_closed()) return;
            s.write(s.substitute(line));
            s.sleep(every);
        }
    });
}

script& script::expect_line_matching(const std::string& ecma_regex) {
    // Compiled here so a bad pattern throws std::regex_error in the test, not in the server thread.
    auto re = std::make_shared<const std::regex>(ecma_regex);
    return add("expect_line_matching(/" + ecma_regex + "/)", [re](session& s) {
        const std::string line = s.read_line();
        std::smatch m;
        if (!std::regex_search(line, m, *re)) fail("got " + visible(line));
        s.set_match(m);
    });
}
script& script::respond(std::function<std::string(const std::string& line)> reply) {
    return add("respond(...)", [reply](session& s) {
        const std::string line = s.read_line();
        std::string out;
        try {
            out = reply(line);
        } catch (const std::exception& e) {
            fail(std::string("respond: ") + e.what() + " (line " + visible(line) + ")");
        }
        s.write(out);
    });
}
script& script::expect_line(std::string text) {
    return add("expect_line(" + visible(text, 60) + ")", [text](session& s) {
        const std::string want = s.substitute(text);
        const std::string line = s.read_line();
        if (line != want) fail("expected " + visible(want) + ", got " + visible(line));
    });
}
script& script::expect_exact(std::string text) {
    return add("expect_exact(" + visible(text, 60) + ")", [text](session& s) {
        const std::string want = s.substitute(text);
        const std::string got = s.read_exact(want.size());
        if (got != want) {
            const auto at = std::mismatch(want.begin(), want.end(), got.begin()).first - want.begin();
            fail("bytes differ at offset " + std::to_string(at) + ": got " + visible(got));
        }
    });
}
script& script::expect_bytes(std::size_t n) {
    return add("expect_bytes(" + std::to_string(n) + ")", [n](session& s) { s.capture(s.read_exact(n)); });
}
script& script::expect_eof() {
    return add("expect_eof()", [](session& s) { s.expect_eof(); });
}
script& script::expect_tls_client_hello() {
    return add("expect_tls_client_hello()", [](session& s) { s.expect_client_hello(); });
}
script& script::read_until(std::string terminator) {
    return add("read_until(" + visible(terminator) + ")",
               [terminator](session& s) { s.capture(s.read_until(terminator)); });
}
script& script::read_dot_body() {
    return add("read_dot_body()", [](session& s) {
        std::string body;
        for (;;) {
            const std::string line = s.read_raw_line();
            body += line;
            if (line == ".\r\n" || line == ".\n") break;
        }
        s.capture(std::move(body));
    });
}

script& script::start_tls(tls_server_options tls) {
    return add("start_tls()", [tls](session& s) { s.start_tls(tls); });
}
script& script::tls_first(tls_server_options tls) {
    return add("tls_first()", [tls](session& s) { s.start_tls(tls); });
}
script& script::stall(duration d) {
    return add("stall(" + std::to_string(d.count()) + " ms)", [d](session& s) { s.stall(d); });
}
script& script::close() {
    return add("close()", [](session& s) { s.close(true); });
}
script& script::drop() {
    return add("drop()", [](session& s) { s.close(false); });
}
script& script::reset() {
    return add("reset()", [](session& s) { s.reset(); });
}

// --- the server ------------------------------------------------------------------------------

namespace {

// Accepts one connection within the timeout, or returns -1.
int accept_one(const detail::shared& sh) {
    const auto deadline = clock::now() + sh.options.timeout;
    for (;;) {
        if (!sh.poll_until(sh.listen_fd, POLLIN, deadline)) return -1;
        const int fd = ::accept4(sh.listen_fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            const int one = 1;  // each write leaves at once: split replies stay split
            ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            return fd;
        }
        if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED) fail("accept: " + errno_text(errno));
    }
}

void run_connection(detail::shared& sh, int fd) {
    session s(fd, sh);
    const auto& steps = sh.the_script.steps();
    for (std::size_t i = 0; i < steps.size(); ++i) {
        s.begin_step();
        try {
            steps[i].run(s);
        } catch (const std::exception& e) {
            const std::string where = "step " + std::to_string(i + 1) + " " + steps[i].what + ": ";
            if (dynamic_cast<const stopped*>(&e)) throw stopped();
            throw step_failure(where + e.what());
        }
    }
    if (s.is_open()) {  // the script ended without close/drop/reset: close cleanly
        s.begin_step();
        s.close(true);
    }
}

void serve(detail::shared& sh) noexcept {
    // A write to a socket the client already closed raises SIGPIPE. send() avoids it with
    // MSG_NOSIGNAL, but OpenSSL writes with write(); block the signal in this thread only, so the
    // test process still sees SIGPIPE behaviour of the library under test unchanged.
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, nullptr);

    const auto report = [&](std::string what) {
        std::lock_guard lock(sh.mutex);
        sh.failures.push_back(std::move(what));
    };
    for (int n = 1; n <= sh.options.connections; ++n) {
        const std::string conn = "connection " + std::to_string(n) + ": ";
        try {
            const int fd = accept_one(sh);
            if (fd < 0) {
                report(conn + "no client connected within " + std::to_string(sh.options.timeout.count()) + " ms");
                return;
            }
            ++sh.accepted;
            run_connection(sh, fd);
        } catch (const stopped& e) {
            report(conn + e.what());
            return;
        } catch (const std::exception& e) {
            report(conn + e.what());
        } catch (...) {
            report(conn + "unknown exception");
        }
    }
}

}  // namespace

scripted_server::scripted_server(script s, server_options options) : shared_(std::make_unique<detail::shared>()) {
    auto& sh = *shared_;
    sh.the_script = std::move(s);
    sh.options = options;
    sh.stop_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    sh.listen_fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (sh.stop_fd < 0 || sh.listen_fd < 0) throw std::runtime_error("socket: " + errno_text(errno));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;  // the kernel picks a free port: tests can run in parallel
    socklen_t len = sizeof addr;
    if (::bind(sh.listen_fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(sh.listen_fd, 16) != 0 ||
        ::getsockname(sh.listen_fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
        throw std::runtime_error("bind/listen on 127.0.0.1: " + errno_text(errno));
    sh.port = ntohs(addr.sin_port);
    thread_ = std::thread(serve, std::ref(sh));
}

scripted_server::~scripted_server() { stop(); }

std::uint16_t scripted_server::port() const { return shared_->port; }

std::string scripted_server::wait() {
    if (thread_.joinable()) thread_.join();
    std::lock_guard lock(shared_->mutex);
    std::string out;
    for (const auto& f : shared_->failures) out += (out.empty() ? "" : "\n") + f;
    return out;
}

std::string scripted_server::stop() {
    shared_->request_stop();
    return wait();
}

std::string scripted_server::received() const {
    std::lock_guard lock(shared_->mutex);
    return shared_->received;
}
std::string scripted_server::sent() const {
    std::lock_guard lock(shared_->mutex);
    return shared_->sent;
}
std::vector<std::string> scripted_server::captured() const {
    std::lock_guard lock(shared_->mutex);
    return shared_->captured;
}
int scripted_server::accepted() const { return shared_->accepted.load(); }

const std::string& scripted_server::default_cert_file() { return the_default_cert().cert; }
const std::string& scripted_server::default_key_file() { return the_default_cert().key; }

}  // namespace mailwire::test
