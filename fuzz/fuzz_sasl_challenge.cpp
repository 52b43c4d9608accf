// Fuzzes the SASL client mechanisms with arbitrary server challenges: SCRAM server-first and
// server-final, the XOAUTH2/OAUTHBEARER error JSON, LOGIN prompts, CRAM-MD5 challenges, the
// strict base64 decoder and SASLprep.
//
// Input: one selector byte, then up to three challenges separated by '\n'.
// Only mailwire::error may escape a mechanism; the base64 round trip must hold exactly.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "mailwire/error.hpp"
#include "mailwire/sasl/base64.hpp"
#include "mailwire/sasl/mechanism.hpp"
#include "sasl/detail.hpp"

namespace {

using namespace mailwire::sasl;

std::vector<std::string_view> split(std::string_view in) {
    std::vector<std::string_view> parts;
    while (parts.size() < 3) {
        const auto nl = in.find('\n');
        parts.push_back(in.substr(0, nl));
        if (nl == std::string_view::npos) break;
        in.remove_prefix(nl + 1);
    }
    return parts;
}

credentials creds() {
    credentials c;
    c.user = "user";
    c.password = "pencil";
    c.oauth_token = "tok";
    c.server_host = "imap.example.com";
    c.server_port = 993;
    return c;
}

// Runs every challenge through `m`, redacting each answer as the protocol logger would.
void drive(mechanism& m, const std::vector<std::string_view>& challenges, bool success_data_last) {
    if (m.has_initial_response()) (void)m.redact(m.step({}).view());
    for (std::size_t i = 0; i < challenges.size(); ++i) {
        if (success_data_last && i + 1 == challenges.size()) {
            m.verify_success(challenges[i]);
            return;
        }
        (void)m.redact(m.step(challenges[i]).view());
        (void)m.complete();
    }
    (void)m.server_error();
}

void base64_round_trip(std::string_view in) {
    const std::string enc = base64_encode(in);
    if (base64_decode(enc) != in) std::abort();
    if (auto dec = detail::try_base64_decode(in); dec && base64_encode(*dec) != in) std::abort();  // canonical only
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const unsigned selector = data[0];
    const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
    const auto parts = split(rest);
    const bool success_data_last = (selector & 0x80) != 0;
    try {
        switch ((selector & 0x7f) % 10) {
        case 0: {  // SCRAM-SHA-1 with the RFC 5802 nonce, so the RFC exchange is a seed
            auto m = detail::make_scram(detail::scram_hash::sha1, false, creds(), std::nullopt,
                                        "fyko+d2lbbFgONRv9qkxdawL", 4096);
            drive(*m, parts, success_data_last);
            break;
        }
        case 1: {  // SCRAM-SHA-256 with the RFC 7677 nonce
            auto m = detail::make_scram(detail::scram_hash::sha256, false, creds(), std::nullopt,
                                        "rOprNGfwEbeRWgbNEkqO", 4096);
            drive(*m, parts, success_data_last);
            break;
        }
        case 2: {  // SCRAM-SHA-256-PLUS
            auto m = detail::make_scram(detail::scram_hash::sha256, true, creds(),
                                        channel_binding{"tls-exporter", {1, 2, 3, 4}}, "abc", 4096);
            drive(*m, parts, success_data_last);
            break;
        }
        case 3:
            drive(*make_mechanism("XOAUTH2", creds()), parts, success_data_last);
            break;
        case 4:
            drive(*make_mechanism("OAUTHBEARER", creds()), parts, success_data_last);
            break;
        case 5:
            drive(*make_mechanism("LOGIN", creds()), parts, success_data_last);
            break;
        case 6:
            drive(*make_mechanism("CRAM-MD5", creds()), parts, success_data_last);
            break;
        case 7:
            base64_round_trip(rest);
            break;
        case 8:
            (void)detail::parse_oauth_error(rest);
            break;
        case 9:
            (void)saslprep(rest);
            break;
        }
    } catch (const mailwire::error&) {}
    return 0;
}
