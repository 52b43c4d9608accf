// Small digests the protocols need outside SASL (APOP). OpenSSL does the hashing.
#pragma once

#include <string>
#include <string_view>

namespace mailwire::detail {

/// MD5 of `data` as 32 lower-case hex digits.
std::string md5_hex(std::string_view data);

}  // namespace mailwire::detail
