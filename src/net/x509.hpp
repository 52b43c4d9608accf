// Decoding X.509 certificates into mailwire::certificate_info (OpenSSL stays in src/net).
#pragma once

#include <openssl/x509.h>

#include "mailwire/security.hpp"

namespace mailwire::net {

certificate_info describe_certificate(X509* cert);

}  // namespace mailwire::net
