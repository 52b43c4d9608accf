// The only place in the SASL layer that includes OpenSSL: HMAC, hashes, PBKDF2 and randomness,
// all through the OpenSSL 3 EVP interfaces.
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <climits>

#include "sasl/detail.hpp"

namespace mailwire::sasl::detail {
namespace {

[[noreturn]] void openssl_failure(const char* what) {
    unsigned long e = ERR_get_error();
    char buf[256] = "no OpenSSL error queued";
    if (e != 0) ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    // Usually a provider that refuses the digest (MD5 under a FIPS-only configuration).
    error_context ctx;
    ctx.stage = stage::authenticate;
    throw auth_error(errc::configuration, std::string(what) + " failed: " + buf, std::move(ctx));
}

const unsigned char* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

}  // namespace

secret hmac(const char* md, std::string_view key, std::string_view data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    std::size_t len = 0;
    if (!EVP_Q_mac(nullptr, "HMAC", nullptr, md, nullptr, key.data(), key.size(), bytes(data), data.size(), out,
                   sizeof out, &len))
        openssl_failure("HMAC");
    secret r(std::string_view(reinterpret_cast<const char*>(out), len));
    OPENSSL_cleanse(out, sizeof out);
    return r;
}

secret digest(const char* md, std::string_view data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    std::size_t len = 0;
    if (!EVP_Q_digest(nullptr, md, nullptr, data.data(), data.size(), out, &len)) openssl_failure("digest");
    secret r(std::string_view(reinterpret_cast<const char*>(out), len));
    OPENSSL_cleanse(out, sizeof out);
    return r;
}

secret pbkdf2(const char* md, std::string_view password, std::string_view salt, std::uint32_t iterations) {
    EVP_MD* m = EVP_MD_fetch(nullptr, md, nullptr);
    if (m == nullptr) openssl_failure("EVP_MD_fetch");
    const int size = EVP_MD_get_size(m);
    if (size <= 0 || size > EVP_MAX_MD_SIZE || iterations == 0 || iterations > INT_MAX || password.size() > INT_MAX ||
        salt.size() > INT_MAX) {
        EVP_MD_free(m);
        throw auth_error(errc::invalid_argument, "PBKDF2 parameters out of range");
    }
    unsigned char out[EVP_MAX_MD_SIZE];
    const int ok = PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), bytes(salt),
                                     static_cast<int>(salt.size()), static_cast<int>(iterations), m, size, out);
    EVP_MD_free(m);
    if (!ok) {
        OPENSSL_cleanse(out, sizeof out);
        openssl_failure("PBKDF2");
    }
    secret r(std::string_view(reinterpret_cast<const char*>(out), static_cast<std::size_t>(size)));
    OPENSSL_cleanse(out, sizeof out);
    return r;
}

std::string random_bytes(std::size_t n) {
    std::string out(n, '\0');
    if (n > INT_MAX || RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1)
        openssl_failure("RAND_bytes");
    return out;
}

bool equal_secret(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

void cleanse_bytes(void* p, std::size_t n) noexcept {
    if (n != 0) OPENSSL_cleanse(p, n);
}

void cleanse(std::string& s) noexcept { mailwire::detail::wipe(s); }

}  // namespace mailwire::sasl::detail
