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
    /// Base64 SHA-256 of the DER SubjectPublicKeyInfo: the RFC 7469 pin value, the same as
    /// `openssl x509 -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256
    /// -binary | base64` and curl's `--pinnedpubkey sha256//`.
    std::string spki_sha256;
    std::string public_key;           ///< "RSA 2048", "EC prime256v1", …
    std::string signature_algorithm;  ///< how the issuer signed it, "sha256WithRSAEncryption"
    std::string pem;                  ///< the certificate in PEM form, e.g. to save and trust it
};

/// An OpenSSL verification result at one depth of the chain (0 = the server's own certificate).
struct verify_result {
    int depth = 0;        ///< position in the chain: 0 the server's certificate, 1 its issuer, ...
    int code = 0;         ///< X509_V_ERR_* value
    std::string message;  ///< X509_verify_cert_error_string()
};

/// Everything the certificate callbacks get to decide with.
struct certificate_check {
    std::string host;                     ///< the name (or address) checked against the certificate
    std::vector<certificate_info> chain;  ///< leaf first, as the server sent it (unverified extras included)
    /// The chain verification built, leaf first up to the trusted root; empty when verification
    /// failed. Only these certificates are vouched for: a server may send any public certificate.
    std::vector<certificate_info> verified_chain;
    policy_error errors = policy_error::none;   ///< what failed; none means the chain and name verified
    std::vector<verify_result> verify_results;  ///< every failure OpenSSL reported, by depth
    /// A configured SPKI pin matched: a key of verified_chain when the chain verified, otherwise
    /// only the leaf's key (the one key the server proved it holds in the handshake). A
    /// certificate the server merely appended never matches.
    bool pin_matched = false;
    /// The default policy's verdict: no policy error and, when pins are configured, a pin match.
    /// on_certificate can only turn a true into a rejection; override_rejection is asked only
    /// when this is false.
    bool accepted_by_default = false;
};

/// An extra check on top of the default policy; return false to reject.
///
/// Called during the handshake, on the thread that drives the client, for every TLS connection
/// whose pins (if any) matched, whatever the default verdict (check.accepted_by_default). It can
/// only veto: true keeps the default verdict (a certificate the default policy rejects stays
/// rejected unless tls_options::override_rejection accepts it), false rejects. An exception
/// thrown from it closes the connection and propagates.
using certificate_callback = std::function<bool(const certificate_check&)>;

/// Accepts a certificate the default policy rejected; return true to accept.
///
/// Called only when the default policy rejected the certificate because of chain or name errors
/// (never for a pin mismatch, nor when the server sent no certificate), after on_certificate
/// did not veto. For trust on first use or a known self-signed fingerprint: compare something
/// specific (the leaf's sha256_fingerprint, a pin_matched leaf key), never "any error is fine".
using certificate_override = std::function<bool(const certificate_check&)>;

/// TLS settings. Defaults are secure: verification on, TLS 1.2+, system CA store, SNI.
///
/// Copied into each handshake: changing the options affects the next connection, not the current.
struct tls_options {
    /// The oldest version accepted. Key sizes and certificate signatures are held to OpenSSL
    /// security level 2 on every connection whatever the version (RSA/DH ≥ 2048 bits, no SHA-1
    /// or MD5 certificate signatures); below v1_2 only the MD5/SHA-1 handshake signatures that
    /// TLS 1.0 and 1.1 themselves use are allowed, and only when such a version is negotiated.
    /// A version the linked OpenSSL cannot do is a config_error.
    tls_version min_version = tls_version::v1_2;
    std::optional<tls_version> max_version;  ///< empty: the newest the library supports
    /// TLS ≤ 1.2 ciphers (OpenSSL syntax); empty: OpenSSL default. An `@SECLEVEL=` below 2 in it
    /// is raised to 2.
    std::string cipher_list;
    std::string ciphersuites;  ///< TLS 1.3 suites; empty: OpenSSL default
    std::string ca_file;       ///< PEM bundle of trusted CAs
    std::string ca_dir;        ///< hashed CA directory
    /// Trust the system CA store as well. With ca_file or ca_dir set, false trusts only those
    /// (the usual choice for a private CA); without them the system store is always used.
    bool use_system_store = true;
    std::string client_cert_file;    ///< PEM client certificate (chain) for mutual TLS / SASL EXTERNAL
    std::string client_key_file;     ///< PEM private key; empty: taken from client_cert_file
    std::optional<std::string> sni;  ///< server name to send; default: the host if it is a name; "" sends none
    /// Check that the certificate is for the host connected to (its name or IP address; no
    /// partial wildcards). When false, a mismatch is not reported as policy_error::name_mismatch.
    bool verify_hostname = true;
    /// SPKI pins, "sha256/BASE64" (certificate_info::spki_sha256). When set, a key of the
    /// verified chain must match (the leaf's key when verification failed); a mismatch is never
    /// overridable. A pin match does not excuse other policy errors: only override_rejection can.
    std::vector<std::string> pins;
    /// Extra check, can only reject (certificate_callback); empty: the default verdict stands.
    certificate_callback on_certificate;
    /// Accepts certificates the default policy rejected for chain or name errors
    /// (certificate_override); empty: a rejection stands.
    certificate_override override_rejection;
    /// Resume TLS sessions with the same server and options (process-wide cache). Only sessions
    /// whose certificate the default policy accepted are cached, with that verdict.
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

/// Timeouts for one connection; passing one throws timeout_error (errc::timeout) and closes the
/// connection. Two kinds of bound apply together: `io` bounds each single read or write, and the
/// whole-operation deadlines (`greeting`, `command`) bound a stage as a whole, so a server that
/// trickles one byte per `io` interval, or answers with `* OK still working` lines for ever, cannot
/// hold a call longer than the stage's budget. The error says which stage ran out and which limit
/// it was ("the greeting did not complete within 15 s (timeouts().greeting)").
///
/// Defaults: 15 s connect, greeting and handshake, 60 s per read/write, 300 s per command.
struct timeouts {
    /// Name resolution and the TCP connect over all addresses of the host, together (a lookup
    /// still unanswered at the deadline is abandoned: timeout_error at stage::resolve).
    std::chrono::milliseconds connect{15000};
    /// The server's greeting as a whole: from the first wait until its last line was read
    /// (stage::greeting). The same budget bounds each TLS handshake as a whole (implicit TLS and
    /// after STARTTLS; stage::tls_handshake), however the server paces its records.
    std::chrono::milliseconds greeting{15000};
    /// Each single read or write once connected. A write must finish within it as a whole, so an
    /// upload in 64 KiB pieces needs the server to take at least 64 KiB per `io`.
    std::chrono::milliseconds io{60000};
    /// Each command with its whole response (stage::command and the others after the greeting):
    /// the clock starts when the client writes the command line (or the last piece of its
    /// payload: a literal, a message body) and covers every read until the response is complete
    /// and the next command is written. Time spent in the caller's callbacks during the response
    /// counts too. Bodies streamed to a sink (IMAP FETCH literals, POP3 RETR/TOP) extend it by
    /// their size at `min_transfer_rate`. IMAP IDLE has its own bound (the idle duration plus a
    /// grace period). Zero: no whole-command bound (only `io` applies).
    std::chrono::milliseconds command{300000};
    /// Bytes per second a streamed body must at least move at: each byte delivered to a sink
    /// adds 1/min_transfer_rate s to the command's deadline, so a slow but steady download of any
    /// size completes while a trickle of short lines still runs out. Default 4096 (4 KiB/s);
    /// zero: bodies earn no extension.
    std::uint32_t min_transfer_rate = 4096;
    /// In `auto_detect` mode on a non-standard port: how long to wait for a plaintext greeting
    /// before concluding the port expects TLS first.
    std::chrono::milliseconds auto_detect_wait{2000};
};

}  // namespace mailwire
