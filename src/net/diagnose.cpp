#include "net/diagnose.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <fmt/format.h>

#include <optional>

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
    // The standard port is named as the standard one: a custom port is not wrong for being custom.
    if (c.port == implicit_tls_port(p))
        return fmt::format("use starttls on port {}, or the server's implicit-TLS port with implicit_tls", c.port);
    return fmt::format("use starttls on port {}, or the server's implicit-TLS port with implicit_tls (standard: {})",
                       c.port, implicit_tls_port(p));
}

std::string tls_first_hint(const error_context& c) {
    protocol p{};
    if (!known_protocol(c, p)) return fmt::format("connect to port {} with implicit_tls", c.port);
    if (c.port == starttls_port(p))
        return fmt::format("use implicit_tls on port {} (or starttls on the server's STARTTLS port)", c.port);
    return fmt::format("use implicit_tls on port {} (or starttls on the server's STARTTLS port, standard: {})", c.port,
                       starttls_port(p));
}

// "--client-cert/--client-key" for the CLI user, tls_options for the library user: both read the hint.
std::string client_cert_hint(bool sent) {
    if (sent)
        return "the server refused the client certificate given: check that it is the one the server's CA issued "
               "and that --client-key (tls().client_key_file) is its key";
    return "the server wants a client certificate (mutual TLS): give one with --client-cert FILE and, when the key "
           "is a separate file, --client-key FILE (tls().client_cert_file / client_key_file in the library)";
}

// An internal_error alert from the server, in the handshake or after it: its fault, not ours.
constexpr const char* server_tls_fault =
    "the fault is in the server's TLS setup (its certificate, key or TLS library), not in mailwire's settings; "
    "tell the server's administrator";

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
                                     const std::string& versions, bool cert_requested, bool client_cert_sent) {
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
    // TLS 1.2: a server that asked for a certificate and got none (or one it does not trust)
    // answers with a handshake_failure or certificate alert; that is about the client's identity,
    // not about ciphers. Best effort: only when a CertificateRequest was seen.
    if (cert_requested &&
        (reason == SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE || reason == SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED ||
         reason == SSL_R_SSLV3_ALERT_BAD_CERTIFICATE || reason == SSL_R_TLSV1_ALERT_UNKNOWN_CA ||
         reason == SSL_R_TLSV1_ALERT_ACCESS_DENIED)) {
        d.detail = fmt::format("the server asked for a client certificate and refused the handshake: {}", openssl_text);
        d.ctx.hint = faq(client_cert_hint(client_cert_sent), "client-certificate");
        return d;
    }
    switch (reason) {
    case SSL_R_TLSV1_ALERT_INTERNAL_ERROR:
        d.detail = fmt::format("the server aborted the TLS handshake with an internal_error alert: {}", openssl_text);
        d.ctx.hint = faq(server_tls_fault, "server-tls-broken");
        return d;
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

diagnosis diagnose_silent_close(const error_context& ctx, std::chrono::milliseconds silence) {
    diagnosis d{errc::tls_expected, {}, ctx};
    d.detail = fmt::format(
        "port {} said nothing for {} ms and then closed the connection without a greeting: the port probably "
        "expects TLS first (it gave up waiting for a TLS ClientHello)",
        ctx.port, silence.count());
    d.ctx.hint = faq(tls_first_hint(ctx), "port-expects-tls");
    return d;
}

std::string sanitize_server_text(std::string_view text, std::size_t max) {
    std::string out;
    for (const char ch : text) {
        if (out.size() >= max) {
            out += "...";
            break;
        }
        const auto c = static_cast<unsigned char>(ch);
        if (c == '\r' || c == '\n') break;
        out += c >= 0x20 && c < 0x7f ? ch : '?';
    }
    return out;
}

namespace {

struct mail_protocol_shape {
    protocol p;
    const char* name;
    const char* tool;  // the CLI command that speaks it
};

// Which mail protocol a first line belongs to, by its shape: RFC 3501 §7.1 untagged OK/PREAUTH/BYE,
// RFC 1939 §3 +OK/-ERR, RFC 5321 §4.2 three digits and SP/-/end (220, or 421/554 refusals).
std::optional<mail_protocol_shape> greeting_protocol(std::string_view line) {
    const auto starts = [&line](std::string_view prefix) {
        if (line.size() < prefix.size()) return false;
        for (std::size_t i = 0; i < prefix.size(); ++i) {
            const char a = line[i] >= 'a' && line[i] <= 'z' ? static_cast<char>(line[i] - 32) : line[i];
            if (a != prefix[i]) return false;
        }
        return line.size() == prefix.size() || line[prefix.size()] == ' ' || line[prefix.size()] == '\r';
    };
    if (starts("* OK") || starts("* PREAUTH") || starts("* BYE"))
        return mail_protocol_shape{protocol::imap, "IMAP", "imap"};
    if (starts("+OK") || starts("-ERR")) return mail_protocol_shape{protocol::pop3, "POP3", "pop3"};
    const auto digit = [&line](std::size_t i) { return line.size() > i && line[i] >= '0' && line[i] <= '9'; };
    if (digit(0) && digit(1) && digit(2) && line[0] >= '2' && line[0] <= '5' &&
        (line.size() == 3 || line[3] == ' ' || line[3] == '-'))
        return mail_protocol_shape{protocol::smtp, "SMTP", "send"};
    return std::nullopt;
}

// "an IMAP", "an SMTP" (said "es-em-tee-pee"), "a POP3".
const char* article(std::string_view name) { return name == "IMAP" || name == "SMTP" ? "an" : "a"; }

std::string upper(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
    return out;
}

}  // namespace

diagnosis diagnose_foreign_greeting(const error_context& ctx, std::string_view line) {
    diagnosis d{errc::protocol_violation, {}, ctx};
    const std::string shown = sanitize_server_text(line);
    d.ctx.server_text = shown;
    const std::string own = ctx.protocol.empty() ? std::string("mail") : upper(ctx.protocol);
    protocol mine{};
    const bool known = known_protocol(ctx, mine);
    const auto found = greeting_protocol(line);
    if (!found || (known && found->p == mine)) {
        d.detail = fmt::format("the greeting is not {} {} greeting", article(own), own);
        d.ctx.hint = fmt::format("check that port {} serves {}", ctx.port, own);
        return d;
    }
    d.detail = fmt::format("port {} greeted like {} {} server (`{}`), not {} {} server", ctx.port, article(found->name),
                           found->name, shown, article(own), own);
    std::string hint = fmt::format(
        "this port serves {} (standard ports: {} with starttls, {} with implicit TLS; "
        "`mailwire {}` speaks it)",
        found->name, starttls_port(found->p), implicit_tls_port(found->p), found->tool);
    if (known)
        hint += fmt::format("; for {} use the server's {} port (standard: {} with starttls, {} with implicit TLS)", own,
                            own, starttls_port(mine), implicit_tls_port(mine));
    d.ctx.hint = faq(std::move(hint), "wrong-protocol");
    return d;
}

diagnosis diagnose_starttls_not_started(const error_context& ctx, const error& e) {
    diagnosis d{errc::tls_handshake_failed, {}, ctx};
    protocol p{};
    const std::string command = known_protocol(ctx, p) ? std::string(starttls_command(p)) : std::string("STARTTLS");
    const std::string said = sanitize_server_text(e.server_text());
    d.ctx.server_text = said;
    d.detail = said.empty() ? fmt::format("the server accepted {} and then did not start TLS: {}", command, e.detail())
                            : fmt::format(
                                  "the server accepted {} and then failed to start TLS: instead of a "
                                  "handshake it answered in plaintext `{}`",
                                  command, said);
    d.ctx.hint = faq(fmt::format("this is a fault on the server (its TLS setup is broken); mailwire never goes on "
                                 "in plaintext after {}: tell the server's administrator, or try the server's "
                                 "implicit-TLS port",
                                 command),
                     "server-tls-broken");
    return d;
}

diagnosis diagnose_tls_read_failure(const error_context& ctx, unsigned long lib_err, const std::string& openssl_text,
                                    bool client_cert_sent) {
    diagnosis d{errc::tls_handshake_failed, {}, ctx};
    switch (ERR_GET_REASON(lib_err)) {
    case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
    case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
    case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
    case SSL_R_TLSV1_ALERT_ACCESS_DENIED:
        // TLS 1.3 (RFC 8446 §4.4.2.4): the server checks our Certificate after the client
        // considers the handshake done, so its refusal arrives with the first read.
        d.detail = fmt::format("the server ended the TLS session after the handshake: {}", openssl_text);
        d.ctx.hint = faq(client_cert_hint(client_cert_sent), "client-certificate");
        return d;
    case SSL_R_TLSV1_ALERT_INTERNAL_ERROR:
        d.detail = fmt::format("the server ended the TLS session with an internal_error alert: {}", openssl_text);
        d.ctx.hint = faq(server_tls_fault, "server-tls-broken");
        return d;
    default:
        break;
    }
    d.code = errc::io_error;
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
