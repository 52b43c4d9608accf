#include "net/x509.hpp"

#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <fmt/format.h>

#include <arpa/inet.h>

#include <memory>

namespace mailwire::net {
namespace {

std::string name_to_string(const X509_NAME* name) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
    X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
    char* data = nullptr;
    long len = BIO_get_mem_data(bio.get(), &data);
    return std::string(data, static_cast<std::size_t>(len));
}

std::chrono::system_clock::time_point asn1_time(const ASN1_TIME* t) {
    struct tm tm {};
    if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return {};
    return std::chrono::system_clock::from_time_t(timegm(&tm));
}

// "AB:CD:…" (upper-case hex pairs joined by colons).
std::string hex_colon(const unsigned char* p, unsigned n) {
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(std::size_t{n} * 3);
    for (unsigned i = 0; i < n; ++i) {
        if (i != 0) out.push_back(':');
        out.push_back(digits[p[i] >> 4]);
        out.push_back(digits[p[i] & 0x0F]);
    }
    return out;
}

std::string base64(const unsigned char* p, int n) {
    std::string out(static_cast<std::size_t>(4 * ((n + 2) / 3)) + 1, '\0');
    int len = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), p, n);
    out.resize(static_cast<std::size_t>(len));
    return out;
}

std::vector<std::string> alt_names(X509* cert) {
    std::vector<std::string> out;
    auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
    if (names == nullptr) return out;
    for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
        const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, i);
        if (gn->type == GEN_DNS) {
            const auto* s = gn->d.dNSName;
            out.push_back("DNS:" + std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                               static_cast<std::size_t>(ASN1_STRING_length(s))));
        } else if (gn->type == GEN_IPADD) {
            const auto* s = gn->d.iPAddress;
            char buf[INET6_ADDRSTRLEN] = {};
            int len = ASN1_STRING_length(s);
            if (len == 4 || len == 16)
                inet_ntop(len == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(s), buf, sizeof buf);
            out.push_back(std::string("IP:") + buf);
        } else if (gn->type == GEN_EMAIL) {
            const auto* s = gn->d.rfc822Name;
            out.push_back("email:" + std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                                 static_cast<std::size_t>(ASN1_STRING_length(s))));
        }
    }
    GENERAL_NAMES_free(names);
    return out;
}

}  // namespace

// RFC 7469 §2.4: the pin is the hash of the whole DER SubjectPublicKeyInfo (algorithm identifier
// and parameters included). X509_pubkey_digest() would hash only the key's bit string, a value
// no other tool (openssl dgst, curl --pinnedpubkey, HPKP) produces.
std::string spki_sha256(X509* cert) {
    unsigned char* der = nullptr;
    const int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &der);
    if (len <= 0) return {};
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned md_len = 0;
    const int ok = EVP_Digest(der, static_cast<std::size_t>(len), md, &md_len, EVP_sha256(), nullptr);
    OPENSSL_free(der);
    return ok == 1 ? base64(md, static_cast<int>(md_len)) : std::string();
}

certificate_info describe_certificate(X509* cert) {
    certificate_info info;
    info.subject = name_to_string(X509_get_subject_name(cert));
    info.issuer = name_to_string(X509_get_issuer_name(cert));
    info.subject_alt_names = alt_names(cert);
    if (BIGNUM* bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), nullptr)) {
        char* hex = BN_bn2hex(bn);
        info.serial = hex;
        OPENSSL_free(hex);
        BN_free(bn);
    }
    info.not_before = asn1_time(X509_get0_notBefore(cert));
    info.not_after = asn1_time(X509_get0_notAfter(cert));

    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned md_len = 0;
    X509_digest(cert, EVP_sha256(), md, &md_len);
    info.sha256_fingerprint = hex_colon(md, md_len);
    info.spki_sha256 = spki_sha256(cert);

    if (EVP_PKEY* key = X509_get0_pubkey(cert)) {
        std::string kind = EVP_PKEY_get0_type_name(key) != nullptr ? EVP_PKEY_get0_type_name(key) : "key";
        char group[64] = {};
        std::size_t glen = 0;
        if (EVP_PKEY_get_group_name(key, group, sizeof group, &glen) == 1) info.public_key = kind + " " + group;
        else info.public_key = fmt::format("{} {}", kind, EVP_PKEY_get_bits(key));
    }
    info.signature_algorithm = OBJ_nid2ln(X509_get_signature_nid(cert));

    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), BIO_free);
    PEM_write_bio_X509(bio.get(), cert);
    char* data = nullptr;
    long len = BIO_get_mem_data(bio.get(), &data);
    info.pem.assign(data, static_cast<std::size_t>(len));
    return info;
}

}  // namespace mailwire::net
