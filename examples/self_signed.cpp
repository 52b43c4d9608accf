// self_signed — connect to an IMAP server whose certificate is self-signed, accepting it only when
// it is exactly the certificate you expect (its SHA-256 fingerprint), through override_rejection.
//
//   self_signed HOST PORT [FINGERPRINT]
//
// Arguments may instead come from MAILWIRE_EXAMPLE_HOST, _PORT (default 993) and _FINGERPRINT
// (hex, colon separated, as `openssl x509 -noout -fingerprint -sha256` prints it). Without a
// fingerprint the example shows the one the server presented and refuses to continue.
//
// Why this is rarely the right thing: override_rejection accepts what the default policy
// rejected, and one that returns true for "any self-signed certificate" accepts every attacker's
// certificate too — that is what "accept any certificate" means. Prefer, in order:
//   1. a certificate from a CA (Let's Encrypt is free), verified by default — no code at all;
//   2. for a private CA or a self-signed server certificate: trust exactly that file with
//      tls().ca_file = "server-or-ca.pem" (the host name is still checked);
//   3. to survive CA changes but not key changes: tls().pins = {"sha256/<SPKI hash>"}.
// The override is for the rest: decisions a person makes (show the fingerprint, remember it), as
// here, where the comparison against a fingerprint known in advance is the whole security. It is
// only asked when the default policy rejected the certificate; a certificate that verifies
// normally never reaches it (on_certificate, by contrast, can add checks but never accept).
#include <cctype>
#include <cstdlib>
#include <iostream>
#include <string>

#include <mailwire/imap/client.hpp>

namespace {
std::string setting(int argc, char** argv, int i, const char* name, std::string fallback = {}) {
    if (i < argc && *argv[i] != '\0') return argv[i];
    if (const char* v = std::getenv((std::string("MAILWIRE_EXAMPLE_") + name).c_str())) return v;
    return fallback;
}

bool same_fingerprint(std::string a, std::string b) {
    for (auto* s : {&a, &b})
        for (auto& c : *s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return !a.empty() && a == b;
}
}  // namespace

int main(int argc, char** argv) {
    const std::string host = setting(argc, argv, 1, "HOST", "localhost");
    const auto port = static_cast<std::uint16_t>(std::stoi(setting(argc, argv, 2, "PORT", "993")));
    const std::string expected = setting(argc, argv, 3, "FINGERPRINT");

    mailwire::imap::client imap;
    imap.override_rejection([&](const mailwire::certificate_check& check) {
        const auto& leaf = check.chain.front();  // never empty here: no certificate is never overridable
        std::cout << "certificate for " << check.host << ": " << leaf.subject << "\n"
                  << "  problems:    " << mailwire::to_string(check.errors) << "\n"
                  << "  sha256:      " << leaf.sha256_fingerprint << "\n"
                  << "  spki pin:    sha256/" << leaf.spki_sha256 << '\n';
        // Accept only a self-signed leaf (one certificate, issuer == subject) whose only problem
        // is the untrusted chain — the name must still match — and only the one we expect.
        const bool self_signed = check.chain.size() == 1 && leaf.issuer == leaf.subject;
        const bool only_untrusted = check.errors == mailwire::policy_error::chain_errors;
        if (self_signed && only_untrusted && same_fingerprint(leaf.sha256_fingerprint, expected)) {
            std::cout << "accepted the self-signed certificate: its fingerprint is the expected one\n";
            return true;
        }
        std::cout << "rejected: "
                  << (expected.empty() ? "no expected fingerprint given" : "not the expected certificate") << '\n';
        return false;
    });

    try {
        imap.connect(host, port, mailwire::security::implicit_tls);
        std::cout << "connected with " << imap.tls_info().version << "; greeting: " << imap.greeting() << '\n';
        imap.disconnect();
        return 0;
    } catch (const mailwire::certificate_error& e) {
        std::cerr << "error: " << e.what() << '\n';
        return 3;
    } catch (const mailwire::error& e) {
        std::cerr << "error: " << e.what() << '\n';
        if (!e.hint().empty()) std::cerr << "hint:  " << e.hint() << '\n';
        return 1;
    }
}
