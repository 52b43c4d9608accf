// mailwire — connection security: modes, TLS options and certificate checks.
//
// No OpenSSL type is reachable from here: the TLS layer lives behind a pimpl in src/net.
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
MAILWIRE_API std::string_view to_string(security s) noexcept;
/// Parses the CLI spellings: none, tls|implicit_tls, starttls, starttls-if-available, auto.
MAILWIRE_API std::optional<security> parse_security(std::string_view s) noexcept;

enum class tls_version { v1_0, v1_1, v1_2, v1_3 };
MAILWIRE_API std::string_view to_string(tls_version v) noexcept;
/// Accepts "1.2", "tls1.2", "TLSv1.2".
MAILWIRE_API std::optional<tls_version> parse_tls_version(std::string_view s) noexcept;

/// Why a certificate failed verification. Flags; combine with | and test with &.
enum class policy_error : unsigned {
    none = 0,
    not_available = 1u << 0,  ///< the server presented no certificate
    name_mismatch = 1u << 1,  ///< the certificate does not match the host name
    chain_errors = 1u << 2,   ///< untrusted issuer, expired, not yet valid, revoked, bad signature …
};
constexpr policy_error operator|(policy_error a, policy_error b) noexcept {
    return static_cast<policy_error>(static_cast<unsigned>(a) | static_cast<unsigned>(b));
}
constexpr policy_error operator&(policy_error a, policy_error b) noexcept {
    return static_cast<policy_error>(static_cast<unsigned>(a) & static_cast<unsigned>(b));
}
constexpr policy_error operator~(policy_error a) noexcept {
    return static_cast<policy_error>(~static_cast<unsigned>(a) & 7u);
}
constexpr policy_error& operator|=(policy_error& a, policy_error b) noexcept { return a = a | b; }
constexpr bool any(policy_error e) noexcept { return e != policy_error::none; }
/// "name_mismatch, chain_errors" or "none".
MAILWIRE_API std::string to_string(policy_error e);

/// One certificate of the peer's chain, decoded.
struct certificate_info {
    std::string subject;                   ///< RFC 2253 distinguished name
    std::string issuer;                    ///< RFC 2253 distinguished name
    std::vector<std::string> subject_alt_names;  ///< "DNS:host", "IP:127.0.0.1"
    std::string serial;                    ///< hex
    std::chrono::system_clock::time_point not_before;
    std::chrono::system_clock::time_point not_after;
    std::string sha256_fingerprint;        ///< hex, colon separated, of the DER certificate
    std::string spki_sha256;               ///< base64 SHA-256 of the SubjectPublicKeyInfo (for pinning)
    std::string public_key;                ///< "RSA 2048", "EC prime256v1", …
    std::string signature_algorithm;
    std::string pem;
};

/// An OpenSSL verification result at one depth of the chain (0 = the server's own certificate).
struct verify_result {
    int depth = 0;
    int code = 0;         ///< X509_V_ERR_* value
    std::string message;  ///< X509_verify_cert_error_string()
};

/// Everything the certificate-validation callback gets to decide with.
struct certificate_check {
    std::string host;                      ///< the name (or address) checked against the certificate
    std::vector<certificate_info> chain;   ///< leaf first, as the server sent it
    policy_error errors = policy_error::none;
    std::vector<verify_result> verify_results;  ///< every failure OpenSSL reported, by depth
    bool pin_matched = false;              ///< a configured SPKI pin matched this chain
};

/// Decides whether to continue with a certificate. Return true to accept.
using certificate_callback = std::function<bool(const certificate_check&)>;

/// TLS settings. Defaults are secure: verification on, TLS 1.2+, system CA store, SNI.
struct tls_options {
    tls_version min_version = tls_version::v1_2;
    std::optional<tls_version> max_version;  ///< empty: the newest the library supports
    std::string cipher_list;   ///< TLS ≤ 1.2 ciphers (OpenSSL syntax); empty: OpenSSL default
    std::string ciphersuites;  ///< TLS 1.3 suites; empty: OpenSSL default
    std::string ca_file;       ///< PEM bundle of trusted CAs
    std::string ca_dir;        ///< hashed CA directory
    bool use_system_store = true;  ///< also trust the system store (ignored when ca_file/ca_dir set and this is false)
    std::string client_cert_file;  ///< PEM client certificate (chain) for mutual TLS / SASL EXTERNAL
    std::string client_key_file;   ///< PEM private key; empty: taken from client_cert_file
    std::optional<std::string> sni;  ///< server name to send; default: the host if it is a name
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
    std::string version;  ///< "TLSv1.3"
    std::string cipher;   ///< "TLS_AES_256_GCM_SHA384"
    std::string group;    ///< key exchange group, "X25519"
    std::string alpn;
    bool resumed = false;
    certificate_check certificate;  ///< the chain and its verification outcome
};

/// Timeouts for one connection. Each operation gets its own deadline.
struct timeouts {
    std::chrono::milliseconds connect{15000};
    std::chrono::milliseconds greeting{15000};  ///< wait for the server's first line
    std::chrono::milliseconds io{60000};        ///< each read/write once connected
    /// In `auto_detect` mode on a non-standard port: how long to wait for a plaintext greeting
    /// before concluding the port expects TLS first.
    std::chrono::milliseconds auto_detect_wait{2000};
};

}  // namespace mailwire
