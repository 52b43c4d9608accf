// test_certs: certificates for the TLS trust tests, made with the `openssl` command line tool.
//
// The tool, not the library under test, so that a pin or a weak certificate is exactly what any
// other program would produce. Generated once per process in a temporary directory, removed at exit:
//
//   genuine.{crt,key}   self-signed EC P-256 for localhost/127.0.0.1: the "real" server, pinned
//   evil-ca.{crt,key}   an attacker's CA (trusted in the tests where the attacker got a CA trusted)
//   evil.{crt,key}      attacker leaf for localhost/127.0.0.1, issued by evil-ca
//   append.crt          evil.crt followed by genuine.crt: the chain-append attack
//   good-ca.{crt,key}   a CA the tests trust, for the weak certificates below
//   rsa1024.{crt,key}   leaf with an RSA-1024 key, SHA-256 signed by good-ca
//   sha1.{crt,key}      EC P-256 leaf whose signature by good-ca is ecdsa-with-SHA1
#pragma once

#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>

namespace mailwire::test {

class test_certs {
public:
    static const test_certs& get() {
        static const test_certs c;  // once per process
        return c;
    }
    /// Path of a generated file, e.g. file("genuine.crt").
    std::string file(const std::string& name) const { return (dir_ / name).string(); }

    /// The RFC 7469 pin of a certificate file as the openssl tool computes it: base64 SHA-256 of
    /// the DER SubjectPublicKeyInfo (the pipeline curl's documentation gives for --pinnedpubkey).
    static std::string openssl_pin(const std::string& cert_file) {
        return output("openssl x509 -in '" + cert_file +
                      "' -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | "
                      "openssl base64 -A");
    }

    test_certs(const test_certs&) = delete;
    test_certs& operator=(const test_certs&) = delete;
    ~test_certs() {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }

private:
    test_certs() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "mailwire-certs-XXXXXX").string();
        if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        dir_ = tmpl;
        std::ofstream(file("openssl.cnf")) << "[req]\n"
                                              "distinguished_name = dn\n"
                                              "[dn]\n"
                                              "[ca]\n"
                                              "basicConstraints = critical,CA:TRUE\n"
                                              "keyUsage = critical,keyCertSign,cRLSign\n"
                                              "subjectKeyIdentifier = hash\n"
                                              "[leaf]\n"
                                              "basicConstraints = critical,CA:FALSE\n"
                                              "subjectAltName = DNS:localhost,IP:127.0.0.1\n"
                                              "subjectKeyIdentifier = hash\n"
                                              "authorityKeyIdentifier = keyid\n"
                                              "[selfleaf]\n"
                                              "basicConstraints = critical,CA:FALSE\n"
                                              "subjectAltName = DNS:localhost,IP:127.0.0.1\n";
        const std::string ec = "-newkey ec -pkeyopt ec_paramgen_curve:P-256";
        self_signed("genuine", "/CN=localhost/O=Genuine", "selfleaf", ec);
        self_signed("evil-ca", "/CN=Evil CA", "ca", ec);
        self_signed("good-ca", "/CN=Good CA", "ca", ec);
        leaf("evil", "evil-ca", ec, "-sha256", 2);
        leaf("rsa1024", "good-ca", "-newkey rsa:1024", "-sha256", 3);
        leaf("sha1", "good-ca", ec, "-sha1", 4);
        run("cat '" + file("evil.crt") + "' '" + file("genuine.crt") + "' > '" + file("append.crt") + "'");
    }

    void self_signed(const std::string& name, const std::string& subject, const std::string& ext,
                     const std::string& key) const {
        run("openssl req -x509 -new -config '" + file("openssl.cnf") + "' -extensions " + ext + " " + key +
            " -nodes -sha256 -days 30 -subj '" + subject + "' -keyout '" + file(name + ".key") + "' -out '" +
            file(name + ".crt") + "'");
    }

    void leaf(const std::string& name, const std::string& ca, const std::string& key, const std::string& digest,
              int serial) const {
        run("openssl req -new -config '" + file("openssl.cnf") + "' " + key +
            " -nodes -subj '/CN=localhost' -keyout '" + file(name + ".key") + "' -out '" + file(name + ".csr") + "'");
        run("openssl x509 -req -in '" + file(name + ".csr") + "' -CA '" + file(ca + ".crt") + "' -CAkey '" +
            file(ca + ".key") + "' -set_serial " + std::to_string(serial) + " -days 30 " + digest + " -extfile '" +
            file("openssl.cnf") + "' -extensions leaf -out '" + file(name + ".crt") + "'");
    }

    static void run(const std::string& cmd) {
        const std::string quiet = cmd + " 2>/dev/null";
        if (std::system(quiet.c_str()) != 0) throw std::runtime_error("failed: " + cmd);
    }

    static std::string output(const std::string& cmd) {
        FILE* p = ::popen((cmd + " 2>/dev/null").c_str(), "r");
        if (p == nullptr) throw std::runtime_error("popen failed: " + cmd);
        std::string out;
        char buf[256];
        while (std::fgets(buf, sizeof buf, p) != nullptr) out += buf;
        if (::pclose(p) != 0) throw std::runtime_error("failed: " + cmd);
        while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
        return out;
    }

    std::filesystem::path dir_;
};

}  // namespace mailwire::test
