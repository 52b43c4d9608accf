#include "core/digest.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

namespace mailwire::detail {

std::string md5_hex(std::string_view data) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned len = 0;
    EVP_Digest(data.data(), data.size(), md, &len, EVP_md5(), nullptr);
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(2 * len);  // no reallocation: APOP's digest must not leave partial copies behind
    for (unsigned i = 0; i < len; ++i) {
        out += hex[md[i] >> 4];
        out += hex[md[i] & 15];
    }
    OPENSSL_cleanse(md, sizeof md);
    return out;
}

}  // namespace mailwire::detail
