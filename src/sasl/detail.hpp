// Internals of the SASL layer, shared by src/sasl and its unit tests and fuzz target.
// Not installed; no OpenSSL header here either (the crypto helpers hide it).
// MAILWIRE_API on a few of these only lets the tests link against a shared libmailwire.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "mailwire/error.hpp"
#include "mailwire/sasl/mechanism.hpp"

namespace mailwire::sasl::detail {

// ---- base64 -------------------------------------------------------------------------------
/// Strict decode (see base64_decode); nullopt instead of throwing.
MAILWIRE_API std::optional<std::string> try_base64_decode(std::string_view text);

// ---- crypto (OpenSSL 3 EVP, in crypto.cpp) --------------------------------------------------
// The results are secrets: in SCRAM every one of them (SaltedPassword, ClientKey, StoredKey,
// ServerKey, the proof) lets an attacker log in or verify password guesses; in CRAM-MD5 the
// HMAC is the response.
/// HMAC with digest `md` ("SHA1", "SHA256", "MD5").
MAILWIRE_API secret hmac(const char* md, std::string_view key, std::string_view data);
/// Hash with digest `md`.
MAILWIRE_API secret digest(const char* md, std::string_view data);
/// PBKDF2-HMAC-`md` (RFC 5802's Hi()) with output length = the digest size.
MAILWIRE_API secret pbkdf2(const char* md, std::string_view password, std::string_view salt, std::uint32_t iterations);
/// Cryptographically random bytes (RAND_bytes).
std::string random_bytes(std::size_t n);
/// Constant-time comparison of equal-length strings (false when the lengths differ).
bool equal_secret(std::string_view a, std::string_view b) noexcept;
/// Overwrites a secret before its memory is released (mailwire::detail::wipe).
void cleanse(std::string& s) noexcept;
void cleanse_bytes(void* p, std::size_t n) noexcept;

// ---- the mechanisms (make_mechanism validates names; these validate credentials) ----------------
std::unique_ptr<mechanism> make_plain(const credentials& c);
std::unique_ptr<mechanism> make_login(const credentials& c);
std::unique_ptr<mechanism> make_cram_md5(const credentials& c);
std::unique_ptr<mechanism> make_external(const credentials& c);
std::unique_ptr<mechanism> make_oauth(bool oauthbearer, const credentials& c);

// ---- SCRAM (RFC 5802, RFC 7677) ----------------------------------------------------------------
enum class scram_hash { sha1, sha256 };
/// Iteration counts above this are refused: a hostile server could otherwise make the client
/// burn CPU for minutes (10 million PBKDF2-SHA-256 rounds take a few seconds).
inline constexpr std::uint32_t scram_max_iterations = 10'000'000;
/// Test hook: a SCRAM mechanism with a fixed client nonce (must be printable ASCII without ',')
/// and an optional lower iteration ceiling (the fuzzer keeps PBKDF2 cheap with it).
MAILWIRE_API std::unique_ptr<mechanism> make_scram(scram_hash h, bool plus, const credentials& c,
                                                   std::optional<channel_binding> cb, std::string client_nonce,
                                                   std::uint32_t max_iterations = scram_max_iterations);
/// RFC 5802 §5.1 saslname: "=" → "=3D", "," → "=2C" (also RFC 5801 gs2 authzid).
MAILWIRE_API std::string escape_saslname(std::string_view s);

// ---- OAuth error challenges (XOAUTH2, RFC 7628 §3.2.2) -------------------------------------
struct oauth_error {
    bool parsed = false;  ///< the challenge was a JSON object
    std::string status, schemes, scope, openid_configuration;
    /// One line for the auth_error: "status=invalid_token scope=... ", or the sanitized text.
    std::string summary;
};
MAILWIRE_API oauth_error parse_oauth_error(std::string_view json);

// ---- helpers -------------------------------------------------------------------------------
/// Server text made safe for an error message: control bytes escaped, cut at `max` bytes.
std::string printable(std::string_view s, std::size_t max = 256);
/// ASCII upper case.
std::string upper(std::string_view s);
/// The mechanisms mailwire implements, space separated, strongest first (for error messages).
std::string implemented_names();
/// Throws auth_error(code, detail) with stage=authenticate and the server text attached.
[[noreturn]] void fail(errc code, std::string detail, std::string_view server_text = {});

}  // namespace mailwire::sasl::detail
