#include "net/diagnose.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <fmt/format.h>

#include "mailwire/net/stream.hpp"
#include "mailwire/ports.hpp"

namespace mailwire::net {
namespace {

bool known_protocol(const error_context& c, protocol& p) {
    if (c.protocol == "imap") p = protocol::imap;
    else if (c.protocol == "pop3") p = protocol::pop3;
    else if (c.protocol == "smtp") p = protocol::smtp;
    else return false;
    return true;
}

std::string plaintext_hint(const error_context& c) {
    protocol p{};
    if (!known_protocol(c, p))
        return fmt::format(
            "port {} speaks plaintext first: connect with starttls (or none), or use the server's "
            "implicit-TLS port with implicit_tls",
            c.port);
    return fmt::format("use starttls on port {}, or port {} with implicit_tls", c.port, implicit_tls_port(p));
}

std::string tls_first_hint(const error_context& c) {
    protocol p{};
    if (!known_protocol(c, p)) return fmt::format("connect to port {} with implicit_tls", c.port);
    return fmt::format("use implicit_tls on port {} (or starttls on port {})", c.port, starttls_port(p));
}

// Every diagnosis points at its entry in the troubleshooting FAQ (docs/faq.md).
std::string faq(std::string hint, std::string_view anchor) { return fmt::format("{} (docs/faq.md#{})", hint, anchor); }

std::string describe_chain_error(const verify_result& r) {
    return fmt::format("{} (verify code {} at depth {})", r.message, r.code, r.depth);
}

}  // namespace

first_bytes classify_first_bytes(std::string_view bytes) noexcept {
    first_bytes out;
    if (bytes.empty()) return out;
    const auto b0 = static_cast<unsigned char>(bytes[0]);
    if ((b0 == 0x15 || b0 == 0x16 || b0 == 0x17) && (bytes.size() < 2 || bytes[1] == 0x03)) {
        out.kind = first_bytes_kind::tls_record;
        return out;
    }
    std::size_t i = 0;
    for (; i < bytes.size() && i < 512; ++i) {
        const auto c = static_cast<unsigned char>(bytes[i]);
        if (c == '\r' || c == '\n') break;
        if (c < 0x20 && c != '\t') {
            out.kind = first_bytes_kind::binary;
            return out;
        }
    }
    out.kind = first_bytes_kind::plaintext_line;
    out.first_line.assign(bytes.substr(0, std::min<std::size_t>(i, 120)));
    return out;
}

diagnosis diagnose_handshake_failure(const error_context& ctx, const std::string& bytes, unsigned long lib_err,
                                     const std::string& openssl_text, int ssl_error, bool eof, int sys_errno,
                                     const std::string& versions) {
    diagnosis d{errc::tls_handshake_failed, {}, ctx};
    const auto first = classify_first_bytes(bytes);
    if (first.kind == first_bytes_kind::plaintext_line && !first.first_line.empty()) {
        d.code = errc::tls_plaintext_greeting;
        d.ctx.server_text = first.first_line;
        d.detail = fmt::format(
            "the TLS handshake failed due to an unexpected packet format: port {} greeted in "
            "plaintext with `{}`",
            ctx.port, first.first_line);
        d.ctx.hint = faq(plaintext_hint(ctx), "unexpected-packet-format");
        return d;
    }
    const int reason = ERR_GET_REASON(lib_err);
    switch (reason) {
    case SSL_R_TLSV1_ALERT_PROTOCOL_VERSION:
    case SSL_R_UNSUPPORTED_PROTOCOL:
    case SSL_R_NO_PROTOCOLS_AVAILABLE:
    case SSL_R_WRONG_SSL_VERSION:
        d.detail =
            fmt::format("the server and mailwire share no TLS version (we offered {}): {}", versions, openssl_text);
        d.ctx.hint =
            faq("run `mailwire probe` to see which versions the server accepts, then adjust "
                "tls().min_version / max_version (--tls-min/--tls-max)",
                "no-shared-version");
        return d;
    case SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE:
    case SSL_R_NO_SHARED_CIPHER:
    case SSL_R_NO_CIPHERS_AVAILABLE:
    case SSL_R_NO_SUITABLE_SIGNATURE_ALGORITHM:
        d.detail = fmt::format(
            "the server refused the handshake: no cipher suite or signature algorithm in common "
            "(we offered {}): {}",
            versions, openssl_text);
        d.ctx.hint =
            faq("check tls().cipher_list / ciphersuites (--ciphers); `mailwire probe` shows what the "
                "server negotiates",
                "no-shared-cipher");
        return d;
    case SSL_R_WRONG_VERSION_NUMBER:
    case SSL_R_PACKET_LENGTH_TOO_LONG:
    case SSL_R_RECORD_LENGTH_MISMATCH:
        d.code = errc::tls_plaintext_greeting;
        d.detail = fmt::format(
            "the TLS handshake failed due to an unexpected packet format: the server on port {} "
            "did not answer in TLS",
            ctx.port);
        d.ctx.hint = faq(plaintext_hint(ctx), "unexpected-packet-format");
        return d;
    default:
        break;
    }
    if (eof && bytes.empty()) {
        d.detail = "the server closed the connection during the TLS handshake without a word";
        d.ctx.hint = faq("the port may not speak TLS, or it refused our TLS versions/ciphers; `mailwire probe` tells",
                         "closed-during-handshake");
        return d;
    }
    if (sys_errno != 0) {
        d.code = errc::io_error;
        d.detail = fmt::format("the connection failed during the TLS handshake: {}", std::strerror(sys_errno));
        return d;
    }
    d.detail = fmt::format("TLS handshake failed ({}): {}", ssl_error,
                           openssl_text.empty() ? std::string("no details from OpenSSL") : openssl_text);
    return d;
}

diagnosis diagnose_handshake_timeout(const error_context& ctx, const std::string& bytes,
                                     std::chrono::milliseconds timeout) {
    diagnosis d{errc::timeout, {}, ctx};
    const auto first = classify_first_bytes(bytes);
    if (first.kind == first_bytes_kind::plaintext_line && !first.first_line.empty()) {
        d.code = errc::tls_plaintext_greeting;
        d.ctx.server_text = first.first_line;
        d.detail = fmt::format("port {} greeted in plaintext with `{}` instead of answering the TLS handshake",
                               ctx.port, first.first_line);
        d.ctx.hint = faq(plaintext_hint(ctx), "unexpected-packet-format");
        return d;
    }
    d.detail = fmt::format("the server did not answer the TLS handshake within {} ms", timeout.count());
    d.ctx.hint = faq("if this port greets in plaintext only after a delay, use starttls; otherwise raise the timeout",
                     "handshake-timeout");
    return d;
}

diagnosis diagnose_greeting_timeout(const error_context& ctx, std::chrono::milliseconds timeout) {
    diagnosis d{errc::tls_expected, {}, ctx};
    d.detail = fmt::format("no greeting from port {} within {} ms: the port probably expects TLS first", ctx.port,
                           timeout.count());
    d.ctx.hint = faq(tls_first_hint(ctx), "port-expects-tls");
    return d;
}

diagnosis diagnose_unexpected_greeting(const error_context& ctx, const std::string& bytes) {
    diagnosis d{errc::tls_expected, {}, ctx};
    const auto first = classify_first_bytes(bytes);
    if (first.kind == first_bytes_kind::tls_record) {
        d.detail =
            fmt::format("port {} answered with a TLS record instead of a plaintext greeting: it expects TLS first",
                        ctx.port);
        d.ctx.hint = faq(tls_first_hint(ctx), "port-expects-tls");
    } else {
        d.code = errc::protocol_violation;
        d.detail = fmt::format("port {} sent binary data instead of a {} greeting", ctx.port,
                               ctx.protocol.empty() ? std::string("plaintext") : ctx.protocol);
        d.ctx.hint = faq("check that the port belongs to this protocol", "binary-greeting");
    }
    return d;
}

diagnosis diagnose_certificate(const error_context& ctx, const certificate_check& check, const std::string& why) {
    diagnosis d{errc::certificate_rejected, {}, ctx};
    std::vector<std::string> reasons;
    if (any(check.errors & policy_error::not_available)) reasons.emplace_back("the server presented no certificate");
    if (any(check.errors & policy_error::name_mismatch)) {
        std::string names;
        if (!check.chain.empty())
            for (const auto& n : check.chain.front().subject_alt_names) names += (names.empty() ? "" : ", ") + n;
        reasons.push_back(fmt::format("name_mismatch: the certificate is for {} , not {}",
                                      names.empty() ? check.chain.empty() ? "?" : check.chain.front().subject : names,
                                      check.host));
    }
    if (any(check.errors & policy_error::chain_errors)) {
        std::string what;
        for (const auto& r : check.verify_results) {
            if (r.code == X509_V_ERR_HOSTNAME_MISMATCH || r.code == X509_V_ERR_IP_ADDRESS_MISMATCH) continue;
            what += (what.empty() ? "" : "; ") + describe_chain_error(r);
        }
        reasons.push_back("chain_errors: " + what);
    }
    std::string detail = "server certificate rejected";
    if (!reasons.empty()) {
        detail += ": ";
        for (std::size_t i = 0; i < reasons.size(); ++i) detail += (i ? "; " : "") + reasons[i];
    }
    if (!why.empty()) detail += " (" + why + ")";
    if (!check.chain.empty())
        detail += fmt::format(" [subject {}, issuer {}]", check.chain.front().subject, check.chain.front().issuer);
    d.detail = detail;
    if (!why.empty() && why.find("pin") != std::string::npos)
        d.ctx.hint =
            faq("the server's key changed or the pin is wrong; compare with `mailwire probe` output "
                "(spki_sha256)",
                "certificate-pin-mismatch");
    else if (any(check.errors & policy_error::name_mismatch) && !any(check.errors & policy_error::chain_errors))
        d.ctx.hint = faq("connect using a host name the certificate lists, or fix the server certificate",
                         "certificate-name-mismatch");
    else
        d.ctx.hint =
            faq("trust the issuing CA with tls().ca_file (--cafile), or decide in tls().override_rejection; "
                "do not disable verification in production",
                "certificate-untrusted");
    d.ctx.server_text.clear();
    return d;
}

}  // namespace mailwire::net
