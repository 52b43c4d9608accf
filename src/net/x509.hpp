// Decoding X.509 certificates into mailwire::certificate_info (OpenSSL stays in src/net).
#pragma once

#include <openssl/x509.h>

#include "mailwire/security.hpp"

namespace mailwire::net {

certificate_info describe_certificate(X509* cert);

/// Base64 SHA-256 of the certificate's DER SubjectPublicKeyInfo (the RFC 7469 pin); empty on failure.
std::string spki_sha256(X509* cert);

}  // namespace mailwire::net
