// TCP + TLS transport. Every socket operation is bounded by a deadline: the socket is non-blocking
// and we poll(). OpenSSL talks to the socket through a small custom BIO that applies the same
// deadlines and records the first bytes the server sent, so a failed handshake can be explained
// ("the port greeted in plaintext") from what actually arrived on the wire.
#include "mailwire/net/stream.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>

#include "net/diagnose.hpp"
#include "net/resolve.hpp"
#include "net/x509.hpp"

namespace mailwire::net {
namespace {

using clock = std::chrono::steady_clock;

/// Before waiting for a server's reply, ask the kernel to acknowledge what arrives at once.
/// Servers that write a reply in two pieces (Postfix's TLS session ticket and its 220 greeting,
/// Dovecot's last lines) otherwise hold the second piece under Nagle until our delayed ACK
/// fires, 40 ms later. Linux clears the flag by itself, hence before every wait.
void quick_ack(int fd) {
#ifdef TCP_QUICKACK
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof one);
#else
    (void)fd;
#endif
}

/// Waits for `events` on fd until `deadline`. Returns false on timeout.
bool wait_fd(int fd, short events, clock::time_point deadline) {
    for (;;) {
        auto left = std::chrono::duration_cast<milliseconds>(deadline - clock::now()).count();
        if (left < 0) left = 0;
        pollfd p{fd, events, 0};
        int r = ::poll(&p, 1, static_cast<int>(std::min<long long>(left, 1 << 30)));
        if (r > 0) return true;
        if (r == 0) return false;
        if (errno != EINTR) return true;  // let the following syscall report the error
    }
}

std::string errno_text(int e) { return std::strerror(e); }

std::string openssl_errors() {
    std::string out;
    while (unsigned long e = ERR_get_error()) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        if (!out.empty()) out += "; ";
        out += buf;
    }
    return out;
}

// ---- the custom BIO --------------------------------------------------------------------------

struct bio_state {
    int fd = -1;
    clock::time_point deadline{};
    bool timed_out = false;
    bool eof = false;
    int sys_errno = 0;
    std::string* record = nullptr;  // when set, received bytes are appended (bounded)
};

int bio_read(BIO* b, char* buf, int len) {
    auto* s = static_cast<bio_state*>(BIO_get_data(b));
    BIO_clear_retry_flags(b);
    for (;;) {
        ssize_t n = ::recv(s->fd, buf, static_cast<size_t>(len), 0);
        if (n > 0) {
            if (s->record != nullptr && s->record->size() < 512)
                s->record->append(buf, std::min<std::size_t>(static_cast<std::size_t>(n), 512 - s->record->size()));
            return static_cast<int>(n);
        }
        if (n == 0) {
            s->eof = true;
            return 0;
        }
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            quick_ack(s->fd);
            if (!wait_fd(s->fd, POLLIN, s->deadline)) {
                s->timed_out = true;
                return -1;
            }
            continue;
        }
        s->sys_errno = errno;
        return -1;
    }
}

int bio_write(BIO* b, const char* buf, int len) {
    auto* s = static_cast<bio_state*>(BIO_get_data(b));
    BIO_clear_retry_flags(b);
    for (;;) {
        ssize_t n = ::send(s->fd, buf, static_cast<size_t>(len), MSG_NOSIGNAL);
        if (n >= 0) return static_cast<int>(n);
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (!wait_fd(s->fd, POLLOUT, s->deadline)) {
                s->timed_out = true;
                return -1;
            }
            continue;
        }
        s->sys_errno = errno;
        return -1;
    }
}

long bio_ctrl(BIO* /*b*/, int cmd, long /*num*/, void* /*ptr*/) { return cmd == BIO_CTRL_FLUSH ? 1 : 0; }

int bio_create(BIO* b) {
    BIO_set_init(b, 1);
    return 1;
}

BIO_METHOD* deadline_bio_method() {
    static BIO_METHOD* method = [] {
        BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "mailwire-deadline");
        BIO_meth_set_read(m, bio_read);
        BIO_meth_set_write(m, bio_write);
        BIO_meth_set_ctrl(m, bio_ctrl);
        BIO_meth_set_create(m, bio_create);
        return m;
    }();
    return method;
}

int version_constant(tls_version v) {
    switch (v) {
    case tls_version::v1_0:
        return TLS1_VERSION;
    case tls_version::v1_1:
        return TLS1_1_VERSION;
    case tls_version::v1_2:
        return TLS1_2_VERSION;
    case tls_version::v1_3:
        return TLS1_3_VERSION;
    }
    return 0;
}

constexpr int min_security_level = 2;

using security_callback = int (*)(const SSL*, const SSL_CTX*, int, int, int, void*, void*);

// OpenSSL's default security callback, taken from the first context before anything replaced it
// (every new SSL_CTX starts with it).
security_callback default_security_callback(const SSL_CTX* fresh = nullptr) {
    static const security_callback cb = SSL_CTX_get_security_callback(fresh);
    return cb;
}

// Installed only when min_version allows TLS 1.0/1.1. OpenSSL 3 refuses those versions at any
// level above 0 because their handshake signatures use MD5+SHA-1 (RFC 2246 §7.4.3) or SHA-1
// (RFC 4492 §5.4), below 80 bits of security. Level 0 would also let through RSA-512 keys and
// MD5-signed certificates on every connection, TLS 1.3 included. Instead everything goes to the
// default level-2 policy except exactly what those versions need: offering them
// (SSL_SECOP_VERSION) and, once one of them is negotiated, their handshake signature algorithms.
// Certificate keys and certificate signatures (SSL_SECOP_*_KEY, *_MD, and the verifier's auth
// level) stay at level 2 whatever the version.
int legacy_security(const SSL* s, const SSL_CTX* ctx, int op, int bits, int nid, void* other, void* ex) {
    const bool legacy_version = nid == TLS1_VERSION || nid == TLS1_1_VERSION;
    if (op == SSL_SECOP_VERSION && legacy_version) return 1;
    if ((op & SSL_SECOP_OTHER_TYPE) == SSL_SECOP_OTHER_SIGALG && s != nullptr) {
        // Before the ServerHello, SSL_version() is the highest version offered (TLS 1.2+), so the
        // sigalgs we offer are filtered normally; after it, the negotiated one.
        const int v = SSL_version(s);
        if (v == TLS1_VERSION || v == TLS1_1_VERSION) return 1;
    }
    return default_security_callback()(s, ctx, op, bits, nid, other, ex);
}

bool is_ip_literal(const std::string& host) {
    unsigned char buf[sizeof(in6_addr)];
    return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

// Collects every verification failure by depth; always continues so that the decision is made
// once, with the whole picture, by the policy or the user's callback.
int verify_collect(int /*preverify_ok*/, X509_STORE_CTX* ctx);
int verify_results_index() {
    static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

int verify_collect(int preverify_ok, X509_STORE_CTX* ctx) {
    if (preverify_ok == 0) {
        auto* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(ctx, SSL_get_ex_data_X509_STORE_CTX_idx()));
        auto* results = static_cast<std::vector<verify_result>*>(SSL_get_ex_data(ssl, verify_results_index()));
        int code = X509_STORE_CTX_get_error(ctx);
        int depth = X509_STORE_CTX_get_error_depth(ctx);
        if (results != nullptr) {
            bool seen = false;
            for (const auto& r : *results) seen = seen || (r.code == code && r.depth == depth);
            if (!seen) results->push_back({depth, code, X509_verify_cert_error_string(code)});
        }
    }
    return 1;
}

// Client-side TLS session cache shared by all connections of the process. Only sessions whose
// certificate passed the default policy (errors == none, pins satisfied) are kept, together with
// that verdict, so a resumed handshake — which re-runs no verification — can never smuggle in a
// certificate a callback once waved through. The key covers every option that affects trust.
class session_cache {
public:
    struct entry {
        SSL_SESSION* session = nullptr;
        certificate_check check;
    };
    static session_cache& instance() {
        static session_cache cache;
        return cache;
    }
    void put(const std::string& key, SSL_SESSION* s, const certificate_check& check) {
        std::lock_guard lock(mutex_);
        auto& e = entries_[key];
        if (e.session != nullptr) SSL_SESSION_free(e.session);
        e.session = s;
        e.check = check;
        if (entries_.size() > 256) {
            auto victim = entries_.begin();
            if (victim->first == key) ++victim;
            SSL_SESSION_free(victim->second.session);
            entries_.erase(victim);
        }
    }
    /// A new reference to the cached session (caller frees), or null.
    SSL_SESSION* get(const std::string& key, certificate_check& check) {
        std::lock_guard lock(mutex_);
        auto it = entries_.find(key);
        if (it == entries_.end()) return nullptr;
        if (SSL_SESSION_is_resumable(it->second.session) != 1) {
            SSL_SESSION_free(it->second.session);
            entries_.erase(it);
            return nullptr;
        }
        SSL_SESSION_up_ref(it->second.session);
        check = it->second.check;
        return it->second.session;
    }
    ~session_cache() {
        for (auto& [k, e] : entries_) SSL_SESSION_free(e.session);
    }

private:
    std::mutex mutex_;
    std::map<std::string, entry> entries_;
};

int owner_index() {
    static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
    return index;
}

std::string session_key(const tls_options& o, const std::string& host, std::uint16_t port) {
    std::string pins;
    for (const auto& p : o.pins) pins += p + ",";
    return fmt::format("{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}", host, port, o.sni.value_or("-"), o.ca_file, o.ca_dir,
                       o.use_system_store, o.verify_hostname, static_cast<int>(o.min_version),
                       o.max_version ? static_cast<int>(*o.max_version) : -1, o.client_cert_file, o.cipher_list,
                       o.ciphersuites, pins);
}

}  // namespace

// ---- impl ------------------------------------------------------------------------------------

struct ctx_free {
    void operator()(SSL_CTX* c) const noexcept { SSL_CTX_free(c); }
};
struct ssl_free {
    void operator()(SSL* s) const noexcept { SSL_free(s); }
};
using ctx_ptr = std::unique_ptr<SSL_CTX, ctx_free>;
using ssl_ptr = std::unique_ptr<SSL, ssl_free>;

struct stream::impl {
    int fd = -1;
    SSL_CTX* ctx = nullptr;
    SSL* ssl = nullptr;
    bio_state bio;
    error_context context;
    std::string peer;
    tls_session_info info;
    std::string handshake_bytes;
    std::vector<verify_result> verify_results;
    std::string cache_key;                   // empty: resumption off
    bool cache_allowed = false;              // set once the certificate passed the default policy
    SSL_SESSION* pending_session = nullptr;  // a session that arrived before the verdict
    bool cert_requested = false;             // the server sent a CertificateRequest
    bool client_cert_configured = false;     // tls_options named a client certificate

    ~impl() { reset(); }

    // Notes a CertificateRequest from the server (RFC 8446 §4.3.2, RFC 5246 §7.4.4), so that a
    // refusal that follows can be explained as "the server wants a client certificate".
    static void on_message(int write_p, int /*version*/, int content_type, const void* buf, std::size_t len, SSL* s,
                           void* /*arg*/) {
        if (write_p != 0 || content_type != SSL3_RT_HANDSHAKE || len == 0) return;
        if (static_cast<const unsigned char*>(buf)[0] != SSL3_MT_CERTIFICATE_REQUEST) return;
        if (auto* self = static_cast<impl*>(SSL_get_ex_data(s, owner_index()))) self->cert_requested = true;
    }

    static int on_new_session(SSL* s, SSL_SESSION* sess) {
        auto* self = static_cast<impl*>(SSL_get_ex_data(s, owner_index()));
        if (self == nullptr || self->cache_key.empty()) return 0;
        if (self->cache_allowed) {
            session_cache::instance().put(self->cache_key, sess, self->info.certificate);
            return 1;  // we own the reference now
        }
        if (self->pending_session != nullptr) SSL_SESSION_free(self->pending_session);
        self->pending_session = sess;
        return 1;
    }

    void reset() noexcept {
        if (pending_session != nullptr) SSL_SESSION_free(pending_session);
        pending_session = nullptr;
        cache_allowed = false;
        if (ssl != nullptr) SSL_free(ssl);  // frees the BIO too
        if (ctx != nullptr) SSL_CTX_free(ctx);
        ssl = nullptr;
        ctx = nullptr;
        if (fd >= 0) ::close(fd);
        fd = -1;
    }

    error_context ctx_at(stage s) const {
        auto c = context;
        c.stage = s;
        return c;
    }

    [[noreturn]] void throw_timeout(stage s, std::string_view what, milliseconds t) const {
        auto c = ctx_at(s);
        c.hint = "raise the timeout if the server is just slow, or check that it is reachable";
        throw timeout_error(errc::timeout, fmt::format("{} timed out after {} ms", what, t.count()), c);
    }

    void connect(const std::string& host, std::uint16_t port, milliseconds timeout) {
        // One deadline for the lookup and every connection attempt together.
        const auto deadline = clock::now() + timeout;
        const auto addresses = detail::resolve(host, port, deadline, timeout, ctx_at(stage::resolve));

        std::string failures;
        bool timed_out = false;
        for (const auto& ai : addresses) {
            char addr[INET6_ADDRSTRLEN] = {};
            const void* a =
                ai.family == AF_INET6
                    ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in6*>(&ai.storage)->sin6_addr)
                    : static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(&ai.storage)->sin_addr);
            inet_ntop(ai.family, a, addr, sizeof addr);
            int s = ::socket(ai.family, ai.socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai.protocol);
            if (s < 0) {
                failures += fmt::format("{}: {}; ", addr, errno_text(errno));
                continue;
            }
            int one = 1;
            // Small command/response exchanges must not wait on Nagle meeting delayed ACKs.
            ::setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            int r = ::connect(s, reinterpret_cast<const sockaddr*>(&ai.storage), ai.length);
            if (r != 0 && errno == EINPROGRESS) {
                if (!wait_fd(s, POLLOUT, deadline)) {
                    ::close(s);
                    timed_out = true;
                    failures += fmt::format("{}: timed out; ", addr);
                    break;
                }
                int err = 0;
                socklen_t len = sizeof err;
                ::getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len);
                r = err == 0 ? 0 : -1;
                errno = err;
            }
            if (r != 0) {
                failures += fmt::format("{}: {}; ", addr, errno_text(errno));
                ::close(s);
                continue;
            }
            fd = s;
            peer = addr;
            return;
        }
        if (failures.size() >= 2) failures.resize(failures.size() - 2);
        auto c = ctx_at(stage::connect);
        if (timed_out) {
            c.hint = "the host did not answer; check the port and any firewall";
            throw timeout_error(errc::timeout,
                                fmt::format("connect timed out after {} ms ({})", timeout.count(), failures), c);
        }
        c.hint = "check the port number and that the server is running";
        throw connect_error(errc::connect_failed, fmt::format("connection refused or failed ({})", failures), c);
    }

    // A client context configured from `o`, or config_error; nothing is kept on failure.
    [[nodiscard]] ctx_ptr make_ctx(const tls_options& o) const {
        ERR_clear_error();  // so that a failure below quotes only its own OpenSSL errors
        ctx_ptr owned(SSL_CTX_new(TLS_client_method()));
        if (!owned)
            throw config_error(errc::configuration, "SSL_CTX_new failed: " + openssl_errors(),
                               ctx_at(stage::tls_handshake));
        SSL_CTX* sc = owned.get();
        auto fail = [&](std::string what) {
            auto c = ctx_at(stage::tls_handshake);
            std::string errs = openssl_errors();
            throw config_error(errc::configuration, errs.empty() ? what : what + ": " + errs, c);
        };
        if (o.max_version && *o.max_version < o.min_version) fail("TLS max_version is below min_version");
        const bool legacy = o.min_version < tls_version::v1_2;
        if (SSL_CTX_set_min_proto_version(sc, version_constant(o.min_version)) != 1)
            fail(fmt::format("this OpenSSL cannot do {}", to_string(o.min_version)));
        if (o.max_version && SSL_CTX_set_max_proto_version(sc, version_constant(*o.max_version)) != 1)
            fail(fmt::format("this OpenSSL cannot do {}", to_string(*o.max_version)));
        if (!o.cipher_list.empty() && SSL_CTX_set_cipher_list(sc, o.cipher_list.c_str()) != 1)
            fail(fmt::format("invalid cipher list '{}'", o.cipher_list));
        // Security level 2 on every connection (RSA/DH keys >= 2048 bits, no SHA-1/MD5 certificate
        // signatures), set here rather than inherited from openssl.cnf, and after the cipher list,
        // whose "@SECLEVEL=n" could lower it. Certificate verification takes its auth level from
        // this too. Old versions get a narrow exemption (legacy_security), never a lower level.
        if (SSL_CTX_get_security_level(sc) < min_security_level) SSL_CTX_set_security_level(sc, min_security_level);
        if (legacy) {
            default_security_callback(sc);  // remembers OpenSSL's own before we replace it
            SSL_CTX_set_security_callback(sc, legacy_security);
        }
        if (!o.ciphersuites.empty() && SSL_CTX_set_ciphersuites(sc, o.ciphersuites.c_str()) != 1)
            fail(fmt::format("invalid TLS 1.3 cipher suites '{}'", o.ciphersuites));
        if (!o.ca_file.empty() || !o.ca_dir.empty()) {
            if (SSL_CTX_load_verify_locations(sc, o.ca_file.empty() ? nullptr : o.ca_file.c_str(),
                                              o.ca_dir.empty() ? nullptr : o.ca_dir.c_str()) != 1)
                fail(fmt::format("cannot load CA file '{}' / dir '{}'", o.ca_file, o.ca_dir));
        }
        if ((o.ca_file.empty() && o.ca_dir.empty()) || o.use_system_store) SSL_CTX_set_default_verify_paths(sc);
        if (!o.client_cert_file.empty()) {
            if (SSL_CTX_use_certificate_chain_file(sc, o.client_cert_file.c_str()) != 1)
                fail(fmt::format("cannot load client certificate '{}'", o.client_cert_file));
            const auto& key = o.client_key_file.empty() ? o.client_cert_file : o.client_key_file;
            if (SSL_CTX_use_PrivateKey_file(sc, key.c_str(), SSL_FILETYPE_PEM) != 1)
                fail(fmt::format("cannot load client key '{}'", key));
            if (SSL_CTX_check_private_key(sc) != 1) fail("client key does not match the client certificate");
        }
        SSL_CTX_set_verify(sc, SSL_VERIFY_PEER, verify_collect);
        if (o.session_resumption) {
            SSL_CTX_set_session_cache_mode(sc, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
            SSL_CTX_sess_set_new_cb(sc, &impl::on_new_session);
        }
        SSL_CTX_set_options(sc, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
        return owned;
    }

    void start_tls(const tls_options& o, const std::string& host, milliseconds timeout) {
        // Precondition failures change nothing.
        if (fd < 0) throw error(errc::not_connected, "start_tls on a closed stream", ctx_at(stage::tls_handshake));
        if (ssl != nullptr) throw error(errc::invalid_argument, "TLS is already active", ctx_at(stage::tls_handshake));
        // Any other failure, a refused configuration included, closes the connection and drops all
        // TLS state: after asking for TLS the connection must never carry plaintext (the peer may
        // already expect our ClientHello), and a later attempt starts from a fresh connect().
        try {
            handshake(o, host, timeout);
        } catch (...) {
            reset();
            throw;
        }
    }

    void handshake(const tls_options& o, const std::string& host, milliseconds timeout) {
        ctx_ptr new_ctx = make_ctx(o);
        ssl_ptr new_ssl(SSL_new(new_ctx.get()));
        if (!new_ssl)
            throw config_error(errc::configuration, "SSL_new failed: " + openssl_errors(),
                               ctx_at(stage::tls_handshake));
        BIO* b = BIO_new(deadline_bio_method());
        if (b == nullptr)
            throw config_error(errc::configuration, "BIO_new failed: " + openssl_errors(),
                               ctx_at(stage::tls_handshake));
        BIO_set_data(b, &bio);
        SSL_set_bio(new_ssl.get(), b, b);  // the SSL owns the BIO from here
        SSL_set_ex_data(new_ssl.get(), verify_results_index(), &verify_results);
        SSL_set_ex_data(new_ssl.get(), owner_index(), this);
        SSL_set_msg_callback(new_ssl.get(), &impl::on_message);
        cert_requested = false;
        client_cert_configured = !o.client_cert_file.empty();

        const bool ip = is_ip_literal(host);
        const std::string sni = o.sni ? *o.sni : (ip ? std::string() : host);
        if (!sni.empty() && SSL_set_tlsext_host_name(new_ssl.get(), sni.c_str()) != 1)
            throw config_error(errc::configuration, fmt::format("invalid SNI name '{}'", sni),
                               ctx_at(stage::tls_handshake));
        if (o.verify_hostname) {
            // Fail closed: a name that cannot be set would otherwise go unchecked.
            X509_VERIFY_PARAM* param = SSL_get0_param(new_ssl.get());
            X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
            const int ok = ip ? X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str())
                              : X509_VERIFY_PARAM_set1_host(param, host.c_str(), 0);
            if (ok != 1)
                throw config_error(errc::configuration, fmt::format("cannot verify the name '{}'", host),
                                   ctx_at(stage::tls_handshake));
        }
        std::string key = o.session_resumption ? session_key(o, host, context.port) : std::string();
        certificate_check cached_check;
        if (!key.empty()) {
            if (SSL_SESSION* cached = session_cache::instance().get(key, cached_check)) {
                SSL_set_session(new_ssl.get(), cached);
                SSL_SESSION_free(cached);
            }
        }

        // Nothing below allocates before SSL_connect; the stream owns the TLS objects from here.
        ctx = new_ctx.release();
        ssl = new_ssl.release();
        cache_key = std::move(key);
        verify_results.clear();
        bio = bio_state{};
        bio.fd = fd;
        handshake_bytes.clear();
        bio.record = &handshake_bytes;

        bio.deadline = clock::now() + timeout;
        ERR_clear_error();
        int r = SSL_connect(ssl);
        bio.record = nullptr;
        if (r != 1) {
            int ssl_err = SSL_get_error(ssl, r);
            const unsigned long lib_err = ERR_peek_error();
            std::string errs = openssl_errors();
            const bool timed_out = bio.timed_out;
            const bool eof = bio.eof;
            const int sys = bio.sys_errno;
            auto c = ctx_at(stage::tls_handshake);
            complete_first_line();
            const auto versions =
                fmt::format("{}–{}", to_string(o.min_version), to_string(o.max_version.value_or(tls_version::v1_3)));
            reset_tls_keep_nothing();
            if (timed_out) {
                // Silence after our ClientHello: the peer is not speaking TLS, or waits for us in plaintext.
                diagnosis d = diagnose_handshake_timeout(c, handshake_bytes, timeout);
                if (d.code == errc::timeout) throw timeout_error(d.code, d.detail, d.ctx);
                throw tls_error(d.code, d.detail, d.ctx);
            }
            diagnosis d = diagnose_handshake_failure(c, handshake_bytes, lib_err, errs, ssl_err, eof, sys, versions,
                                                     cert_requested, client_cert_configured);
            throw tls_error(d.code, d.detail, d.ctx);
        }
        collect_session_info(host, o);
        if (info.resumed && !cached_check.chain.empty()) {
            // No verification ran: the verdict is the one stored with the session.
            info.certificate = cached_check;
        }
        decide_certificate(o);
        if (!cache_key.empty() && info.certificate.accepted_by_default) {
            cache_allowed = true;
            if (pending_session != nullptr) {
                session_cache::instance().put(cache_key, pending_session, info.certificate);
                pending_session = nullptr;
            }
        }
    }

    // OpenSSL stops reading after the 5-byte record header it could not parse. When those bytes
    // look like text, read the rest of the server's first line so the error can quote it.
    void complete_first_line() noexcept {
        if (fd < 0 || handshake_bytes.empty() || handshake_bytes.find('\n') != std::string::npos) return;
        if (classify_first_bytes(handshake_bytes).kind != first_bytes_kind::plaintext_line) return;
        const auto deadline = clock::now() + milliseconds(300);
        char buf[512];
        while (handshake_bytes.size() < 512 && handshake_bytes.find('\n') == std::string::npos) {
            ssize_t n = ::recv(fd, buf, std::min<std::size_t>(sizeof buf, 512 - handshake_bytes.size()), 0);
            if (n > 0) {
                handshake_bytes.append(buf, static_cast<std::size_t>(n));
                continue;
            }
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && wait_fd(fd, POLLIN, deadline)) continue;
            if (n < 0 && errno == EINTR) continue;
            break;
        }
    }

    void reset_tls_keep_nothing() noexcept {
        if (pending_session != nullptr) SSL_SESSION_free(pending_session);
        pending_session = nullptr;
        cache_allowed = false;
        if (ssl != nullptr) SSL_free(ssl);
        ssl = nullptr;
        if (ctx != nullptr) SSL_CTX_free(ctx);
        ctx = nullptr;
        if (fd >= 0) ::close(fd);
        fd = -1;
    }

    void collect_session_info(const std::string& host, const tls_options& o) {
        info = {};
        info.version = SSL_get_version(ssl);
        if (const SSL_CIPHER* c = SSL_get_current_cipher(ssl)) info.cipher = SSL_CIPHER_get_name(c);
        int group = SSL_get_negotiated_group(ssl);
        if (group != 0) {
            const char* name = SSL_group_to_name(ssl, group);
            info.group = name != nullptr ? name : OBJ_nid2sn(group & ~TLSEXT_nid_unknown);
        }
        info.resumed = SSL_session_reused(ssl) == 1;
        auto& check = info.certificate;
        check.host = host;
        check.verify_results = verify_results;
        if (STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl)) {
            for (int i = 0; i < sk_X509_num(chain); ++i)
                check.chain.push_back(describe_certificate(sk_X509_value(chain, i)));
        }
        X509* leaf = SSL_get0_peer_certificate(ssl);
        if (check.chain.empty() || leaf == nullptr) {
            check.errors |= policy_error::not_available;
        }
        for (const auto& r : check.verify_results) {
            if (r.code == X509_V_ERR_HOSTNAME_MISMATCH || r.code == X509_V_ERR_IP_ADDRESS_MISMATCH)
                check.errors |= policy_error::name_mismatch;
            else check.errors |= policy_error::chain_errors;
        }
        // What the server sent beyond its leaf is unauthenticated: anyone can append a public
        // certificate. Only the chain OpenSSL built to a trust anchor is vouched for, and OpenSSL
        // also keeps a partial chain when verification fails, hence only without chain errors.
        const bool verified = leaf != nullptr && !any(check.errors & policy_error::chain_errors);
        if (verified) {
            if (STACK_OF(X509)* chain = SSL_get0_verified_chain(ssl))
                for (int i = 0; i < sk_X509_num(chain); ++i)
                    check.verified_chain.push_back(describe_certificate(sk_X509_value(chain, i)));
        }
        if (!o.pins.empty() && leaf != nullptr) {
            // RFC 7469 §2.6: a pin matches a key of the validated chain. When validation failed
            // (a pin used to override it) the one key that counts is the leaf's, which the server
            // proved it holds by signing the handshake.
            std::vector<std::string> keys;
            if (verified)
                for (const auto& cert : check.verified_chain) keys.push_back(cert.spki_sha256);
            else keys.push_back(spki_sha256(leaf));
            for (const auto& key : keys)
                for (const auto& pin : o.pins)
                    if (!key.empty() && (pin == "sha256/" + key || pin == key)) check.pin_matched = true;
        }
    }

    // The one place a certificate is accepted or rejected. The default verdict (no policy error,
    // pins satisfied) can be narrowed by on_certificate (a veto) and widened only by the
    // explicitly named override_rejection, and only for chain or name errors: a pin mismatch or a
    // missing certificate is final.
    void decide_certificate(const tls_options& o) {
        auto& check = info.certificate;
        const bool pins_ok = o.pins.empty() || check.pin_matched;
        check.accepted_by_default = pins_ok && check.errors == policy_error::none;
        bool accept = check.accepted_by_default;
        std::string why;
        if (!pins_ok) {
            why = check.verified_chain.empty()
                      ? "the server's own key does not match the configured SPKI pin (the chain failed "
                        "verification, so no other certificate of it counts)"
                      : "no key of the verified chain matches the configured SPKI pin";
        } else {
            try {
                if (o.on_certificate && !o.on_certificate(check)) {
                    accept = false;
                    why = "the certificate callback rejected it";
                } else if (!accept && o.override_rejection && overridable(check)) {
                    accept = o.override_rejection(check);
                    if (!accept) why = "override_rejection did not accept it";
                }
            } catch (...) {
                reset_tls_keep_nothing();
                throw;
            }
        }
        if (accept) return;
        auto c = ctx_at(stage::tls_handshake);
        diagnosis d = diagnose_certificate(c, check, why);
        SSL_shutdown(ssl);
        reset_tls_keep_nothing();
        throw certificate_error(d.detail, d.ctx, check);
    }

    static bool overridable(const certificate_check& check) {
        constexpr auto fixable = policy_error::chain_errors | policy_error::name_mismatch;
        return !check.chain.empty() && !any(check.errors & policy_error::not_available) && any(check.errors & fixable);
    }

    std::size_t read_some(std::span<char> buf, milliseconds timeout) {
        if (fd < 0) throw error(errc::not_connected, "read on a closed connection", ctx_at(stage::command));
        const auto deadline = clock::now() + timeout;
        if (ssl != nullptr) {
            bio.deadline = deadline;
            bio.timed_out = false;
            ERR_clear_error();
            std::size_t got = 0;
            int r = SSL_read_ex(ssl, buf.data(), buf.size(), &got);
            if (r == 1) return got;
            int e = SSL_get_error(ssl, r);
            if (e == SSL_ERROR_ZERO_RETURN) return 0;
            if (bio.timed_out) throw_timeout(stage::command, "read", timeout);
            if (e == SSL_ERROR_SYSCALL && bio.eof) return 0;
            auto c = ctx_at(stage::command);
            if (bio.sys_errno == 0) {
                // An alert from the server (a TLS 1.3 certificate_required arrives with the first read).
                const unsigned long lib_err = ERR_peek_error();
                const std::string text = openssl_errors();
                diagnosis d = diagnose_tls_read_failure(c, lib_err, text, client_cert_configured);
                if (d.code != errc::io_error) throw tls_error(d.code, d.detail, d.ctx);
                throw error(errc::io_error, fmt::format("TLS read failed: {}", text), c);
            }
            throw error(errc::io_error, fmt::format("TLS read failed: {}", errno_text(bio.sys_errno)), c);
        }
        for (;;) {
            ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
            if (n >= 0) return static_cast<std::size_t>(n);
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                quick_ack(fd);
                if (!wait_fd(fd, POLLIN, deadline)) throw_timeout(stage::command, "read", timeout);
                continue;
            }
            if (errno == ECONNRESET) return 0;
            throw error(errc::io_error, fmt::format("read failed: {}", errno_text(errno)), ctx_at(stage::command));
        }
    }

    void write_all(std::string_view data, milliseconds timeout) {
        if (fd < 0) throw error(errc::not_connected, "write on a closed connection", ctx_at(stage::command));
        const auto deadline = clock::now() + timeout;
        if (ssl != nullptr) {
            bio.deadline = deadline;
            bio.timed_out = false;
            while (!data.empty()) {
                ERR_clear_error();
                std::size_t n = 0;
                if (SSL_write_ex(ssl, data.data(), data.size(), &n) != 1) {
                    if (bio.timed_out) throw_timeout(stage::command, "write", timeout);
                    throw error(errc::io_error,
                                fmt::format("TLS write failed: {}",
                                            bio.sys_errno != 0 ? errno_text(bio.sys_errno) : openssl_errors()),
                                ctx_at(stage::command));
                }
                data.remove_prefix(n);
            }
            return;
        }
        while (!data.empty()) {
            ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
            if (n >= 0) {
                data.remove_prefix(static_cast<std::size_t>(n));
                continue;
            }
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (!wait_fd(fd, POLLOUT, deadline)) throw_timeout(stage::command, "write", timeout);
                continue;
            }
            throw error(errc::io_error, fmt::format("write failed: {}", errno_text(errno)), ctx_at(stage::command));
        }
    }

    bool wait_readable(milliseconds timeout) {
        if (fd < 0) return false;
        if (ssl != nullptr && SSL_pending(ssl) > 0) return true;
        return wait_fd(fd, POLLIN, clock::now() + timeout);
    }

    void close() noexcept {
        if (ssl != nullptr && fd >= 0) {
            // Best effort close_notify; do not wait for the peer's.
            bio.deadline = clock::now() + milliseconds(200);
            SSL_shutdown(ssl);
            ERR_clear_error();
        }
        reset();
    }
};

stream::stream() : impl_(std::make_unique<impl>()) {}
stream::~stream() = default;
stream::stream(stream&&) noexcept = default;
stream& stream::operator=(stream&&) noexcept = default;

void stream::set_context(std::string host, std::uint16_t port, std::string protocol) {
    impl_->context.host = std::move(host);
    impl_->context.port = port;
    impl_->context.protocol = std::move(protocol);
}
const error_context& stream::context() const noexcept { return impl_->context; }

void stream::connect(const std::string& host, std::uint16_t port, milliseconds timeout) {
    impl_->reset();
    impl_->info = {};
    if (impl_->context.host.empty()) set_context(host, port, {});
    impl_->connect(host, port, timeout);
}
void stream::start_tls(const tls_options& opts, const std::string& host, milliseconds timeout) {
    impl_->start_tls(opts, host, timeout);
}
std::size_t stream::read_some(std::span<char> buf, milliseconds timeout) { return impl_->read_some(buf, timeout); }
void stream::write_all(std::string_view data, milliseconds timeout) { impl_->write_all(data, timeout); }
bool stream::wait_readable(milliseconds timeout) { return impl_->wait_readable(timeout); }
void stream::close() noexcept { impl_->close(); }
bool stream::is_open() const noexcept { return impl_->fd >= 0; }
bool stream::is_tls() const noexcept { return impl_->ssl != nullptr; }
const std::string& stream::peer_address() const noexcept { return impl_->peer; }
std::string stream::local_address() const {
    if (impl_->fd < 0) return {};
    sockaddr_storage ss{};
    socklen_t len = sizeof ss;
    if (::getsockname(impl_->fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return {};
    char buf[INET6_ADDRSTRLEN] = {};
    if (ss.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &reinterpret_cast<sockaddr_in6*>(&ss)->sin6_addr, buf, sizeof buf);
    else inet_ntop(AF_INET, &reinterpret_cast<sockaddr_in*>(&ss)->sin_addr, buf, sizeof buf);
    return buf;
}
const tls_session_info& stream::tls_info() const noexcept { return impl_->info; }
const std::string& stream::handshake_bytes() const noexcept { return impl_->handshake_bytes; }

std::vector<unsigned char> stream::channel_binding(std::string_view type) const {
    std::vector<unsigned char> out;
    SSL* ssl = impl_->ssl;
    if (ssl == nullptr) return out;
    // RFC 9266 §2 and RFC 7627 §5.4 (triple handshake): below TLS 1.3 the keying material (and
    // the Finished message tls-unique takes) is unique to the connection only with the extended
    // master secret. Without it an attacker can relay one handshake into two connections with the
    // same binding, so no binding of any type is offered.
    if (SSL_version(ssl) < TLS1_3_VERSION && SSL_get_extms_support(ssl) != 1) return out;
    if (type == "tls-exporter") {
        // RFC 9266 §2: 32 bytes, label "EXPORTER-Channel-Binding", no context.
        out.resize(32);
        static constexpr char label[] = "EXPORTER-Channel-Binding";
        if (SSL_export_keying_material(ssl, out.data(), out.size(), label, sizeof label - 1, nullptr, 0, 0) != 1)
            out.clear();
    } else if (type == "tls-unique") {
        // RFC 5929 §3.1: the first Finished message; undefined for TLS 1.3.
        if (SSL_version(ssl) >= TLS1_3_VERSION) return out;
        unsigned char buf[EVP_MAX_MD_SIZE];
        std::size_t n = SSL_session_reused(ssl) ? SSL_get_peer_finished(ssl, buf, sizeof buf)
                                                : SSL_get_finished(ssl, buf, sizeof buf);
        out.assign(buf, buf + n);
    }
    return out;
}

}  // namespace mailwire::net
