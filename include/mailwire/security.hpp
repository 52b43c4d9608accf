/// \file
/// Connection security: the five modes, TLS options, certificate checks and timeouts.
///
/// No OpenSSL type is reachable from here: the TLS layer lives behind a pimpl in src/net.
/// docs/security.md explains the modes, the ports and the STARTTLS pitfalls in full.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mailwire/export.hpp"

namespace mailwire {

/// How a connection is secured. The same five modes for IMAP, POP3 and SMTP.
enum class security {
    none,                     ///< plain TCP; nothing encrypted
    implicit_tls,             ///< TLS from the first byte (993, 995, 465)
    starttls,                 ///< plain connect, then STARTTLS/STLS — required, never falls back
    starttls_when_available,  ///< STARTTLS if offered, else stay plain (no credentials unless allowed)
    auto_detect,              ///< implicit TLS on 993/995/465; else plaintext greeting → STARTTLS
                              ///< (required), silence → the port expects TLS first, handshake
};
/// The canonical name: "none", "implicit_tls", "starttls", "starttls_when_available", "auto".
MAILWIRE_API std::string_view to_string(security s) noexcept;
/// Parses the CLI spellings, case-insensitively: none|plain, tls|implicit_tls|ssl, starttls,
/// starttls-if-available|starttls_when_available, auto. nullopt for anything else.
MAILWIRE_API std::optional<security> parse_security(std::string_view s) noexcept;

/// A TLS protocol version, for tls_options::min_version and max_version (ordered: v1_0 < v1_3).
enum class tls_version {
    v1_0,  ///< TLS 1.0 (RFC 2246); obsolete (RFC 8996), for old servers only
    v1_1,  ///< TLS 1.1 (RFC 4346); obsolete (RFC 8996), for old servers only
    v1_2,  ///< TLS 1.2 (RFC 5246); the default minimum
    v1_3,  ///< TLS 1.3 (RFC 8446)
};
/// OpenSSL's spelling: "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3".
MAILWIRE_API std::string_view to_string(tls_version v) noexcept;
/// Accepts "1.2", "tls1.2", "TLSv1.2" (any case; "1" for 1.0); nullopt for anything else.
MAILWIRE_API std::optional<tls_version> parse_tls_version(std::string_view s) noexcept;

/// Why a certificate failed verification. Flags; combine with | and test with & (or any()).
enum class policy_error : unsigned {
    none = 0,                 ///< the certificate passed every check
    not_available = 1u << 0,  ///< the server presented no certificate
    name_mismatch = 1u << 1,  ///< the certificate does not match the host name
    chain_errors = 1u << 2,   ///< untrusted issuer, expired, not yet valid, revoked, bad signature …
};
/// Both sets of flags.
constexpr policy_error operator|(policy_error a, policy_error b) noexcept {
    return static_cast<policy_error>(static_cast<unsigned>(a) | static_cast<unsigned>(b));
}
/// The flags set in both; `any(e & policy_error::name_mismatch)` tests one flag.
constexpr policy_error operator&(policy_error a, policy_error b) noexcept {
    return static_cast<policy_error>(static_cast<unsigned>(a) & static_cast<unsigned>(b));
}
/// The other flags: `(c.errors & ~ignored) == policy_error::none` holds when every failure is
/// one of those in `ignored`.
constexpr policy_error operator~(policy_error a) noexcept {
    return static_cast<policy_error>(~static_cast<unsigned>(a) & 7u);
}
/// Adds the flags of `b` to `a`.
constexpr policy_error& operator|=(policy_error& a, policy_error b) noexcept { return a = a | b; }
/// True when any flag is set.
constexpr bool any(policy_error e) noexcept { return e != policy_error::none; }
/// "name_mismatch, chain_errors" or "none".
MAILWIRE_API std::string to_string(policy_error e);

/// One certificate of the peer's chain, decoded.
struct certificate_info {
    std::string subject;                               ///< RFC 2253 distinguished name
    std::string issuer;                                ///< RFC 2253 distinguished name
    std::vector<std::string> subject_alt_names;        ///< "DNS:host", "IP:127.0.0.1"
    std::string serial;                                ///< hex
    std::chrono::system_clock::time_point not_before;  ///< start of the validity period
    std::chrono::system_clock::time_point not_after;   ///< end of the validity period (expiry)
    std::string sha256_fingerprint;                    ///< hex, colon separated, of the DER certificate
    std::string spki_sha256;                           ///< base64 SHA-256 of the SubjectPublicKeyInfo (for pinning)
    std::string public_key;                            ///< "RSA 2048", "EC prime256v1", …
    std::string signature_algorithm;                   ///< how the issuer signed it, "sha256WithRSAEncryption"
    std::string pem;                                   ///< the certificate in PEM form, e.g. to save and trust it
};

/// An OpenSSL verification result at one depth of the chain (0 = the server's own certificate).
struct verify_result {
    int depth = 0;        ///< position in the chain: 0 the server's certificate, 1 its issuer, ...
    int code = 0;         ///< X509_V_ERR_* value
    std::string message;  ///< X509_verify_cert_error_string()
};

/// Everything the certificate-validation callback gets to decide with.
struct certificate_check {
    std::string host;                           ///< the name (or address) checked against the certificate
    std::vector<certificate_info> chain;        ///< leaf first, as the server sent it
    policy_error errors = policy_error::none;   ///< what failed; none means the default policy accepts
    std::vector<verify_result> verify_results;  ///< every failure OpenSSL reported, by depth
    bool pin_matched = false;                   ///< a configured SPKI pin matched this chain
};

/// Decides whether to continue with a certificate. Return true to accept.
///
/// Called during the handshake, on the thread that drives the client, for every TLS connection
/// (also when errors == none, so it can apply a stricter policy); not called when a configured pin
/// did not match. An exception thrown from it closes the connection and propagates. Accepting a
/// certificate the default policy rejects is rarely right: prefer ca_file or a pin for a private
/// CA or a self-signed server.
using certificate_callback = std::function<bool(const certificate_check&)>;

/// TLS settings. Defaults are secure: verification on, TLS 1.2+, system CA store, SNI.
///
/// Copied into each handshake: changing the options affects the next connection, not the current.
struct tls_options {
    /// The oldest version accepted. Below v1_2 also lowers OpenSSL's security level so the
    /// SHA-1 signatures of those versions work; a version the linked OpenSSL cannot do is a
    /// config_error.
    tls_version min_version = tls_version::v1_2;
    std::optional<tls_version> max_version;  ///< empty: the newest the library supports
    std::string cipher_list;                 ///< TLS ≤ 1.2 ciphers (OpenSSL syntax); empty: OpenSSL default
    std::string ciphersuites;                ///< TLS 1.3 suites; empty: OpenSSL default
    std::string ca_file;                     ///< PEM bundle of trusted CAs
    std::string ca_dir;                      ///< hashed CA directory
    /// Trust the system CA store as well. With ca_file or ca_dir set, false trusts only those
    /// (the usual choice for a private CA); without them the system store is always used.
    bool use_system_store = true;
    std::string client_cert_file;    ///< PEM client certificate (chain) for mutual TLS / SASL EXTERNAL
    std::string client_key_file;     ///< PEM private key; empty: taken from client_cert_file
    std::optional<std::string> sni;  ///< server name to send; default: the host if it is a name; "" sends none
    /// Check that the certificate is for the host connected to (its name or IP address; no
    /// partial wildcards). When false, a mismatch is not reported as policy_error::name_mismatch.
    bool verify_hostname = true;
    /// SPKI pins, "sha256/BASE64". When set, a chain containing a pinned key is required; a pin
    /// match does not override other policy errors unless the callback accepts them.
    std::vector<std::string> pins;
    certificate_callback on_certificate;  ///< empty: accept only errors == none (and pins, if any)
    /// Resume TLS sessions with the same server and options (process-wide cache). Only sessions
    /// whose certificate passed the default policy are cached, with that verdict.
    bool session_resumption = true;
};

/// What was negotiated on a TLS connection.
struct tls_session_info {
    std::string version;            ///< "TLSv1.3"
    std::string cipher;             ///< "TLS_AES_256_GCM_SHA384"
    std::string group;              ///< key exchange group, "X25519"
    std::string alpn;               ///< the ALPN protocol agreed on; empty, as mailwire offers none
    bool resumed = false;           ///< an earlier session was resumed (abbreviated handshake)
    certificate_check certificate;  ///< the chain and its verification outcome
};

/// Timeouts for one connection. Each operation gets its own deadline; passing one throws
/// timeout_error and closes the connection. Defaults: 15 s connect and greeting, 60 s per I/O.
struct timeouts {
    /// Name resolution and the TCP connect over all addresses of the host, together (a lookup
    /// still unanswered at the deadline is abandoned: timeout_error at stage::resolve).
    std::chrono::milliseconds connect{15000};
    std::chrono::milliseconds greeting{15000};  ///< wait for the server's first line; also the TLS handshake
    std::chrono::milliseconds io{60000};        ///< each read/write once connected
    /// In `auto_detect` mode on a non-standard port: how long to wait for a plaintext greeting
    /// before concluding the port expects TLS first.
    std::chrono::milliseconds auto_detect_wait{2000};
};

}  // namespace mailwire
