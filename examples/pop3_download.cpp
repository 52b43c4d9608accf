// pop3_download — download every message of a POP3 mailbox into a directory, one .eml per message.
//
//   MAILWIRE_EXAMPLE_PASSWORD=... pop3_download HOST PORT CA_FILE USER [DIR]
//
// Arguments may instead come from MAILWIRE_EXAMPLE_HOST, _PORT (default 995), _CA_FILE (default:
// the system's trusted CAs), _USER and _DIR (default "."). The password is read from
// MAILWIRE_EXAMPLE_PASSWORD only. security::auto_detect: implicit TLS on 995; on any other port a
// plaintext greeting means STLS (RFC 2595), required — it never continues without TLS — and a
// silent port is taken to expect TLS first.
// Messages are left on the server (no DELE): the file names are the server's unique ids (UIDL),
// so running it again downloads only what is new.
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include <mailwire/pop3/client.hpp>

namespace {
std::string setting(int argc, char** argv, int i, const char* name, std::string fallback = {}) {
    if (i < argc && *argv[i] != '\0') return argv[i];
    if (const char* v = std::getenv((std::string("MAILWIRE_EXAMPLE_") + name).c_str())) return v;
    return fallback;
}

// A UIDL is 1-70 printable ASCII characters, but may contain '/' or start with '.'.
std::string file_name_for(const std::string& uid) {
    std::string out;
    for (char c : uid) out += (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') ? c : '_';
    return out + ".eml";
}
}  // namespace

int main(int argc, char** argv) {
    const std::string host = setting(argc, argv, 1, "HOST", "localhost");
    const auto port = static_cast<std::uint16_t>(std::stoi(setting(argc, argv, 2, "PORT", "995")));
    const std::string ca_file = setting(argc, argv, 3, "CA_FILE");
    const std::string user = setting(argc, argv, 4, "USER");
    const std::filesystem::path dir = setting(argc, argv, 5, "DIR", ".");
    const char* password = std::getenv("MAILWIRE_EXAMPLE_PASSWORD");
    if (user.empty() || password == nullptr) {
        std::cerr << "usage: MAILWIRE_EXAMPLE_PASSWORD=... pop3_download HOST PORT CA_FILE USER [DIR]\n";
        return 2;
    }

    try {
        mailwire::pop3::client pop;
        if (!ca_file.empty()) pop.tls().ca_file = ca_file;
        pop.connect(host, port, mailwire::security::auto_detect);
        pop.authenticate(user, password);
        const auto stat = pop.stat();
        std::cout << "logged in as " << user << " over " << pop.tls_info().version << " ("
                  << mailwire::to_string(pop.security_used()) << "): " << stat.count << " messages, " << stat.size
                  << " bytes\n";

        std::filesystem::create_directories(dir);
        std::uint32_t downloaded = 0;
        std::uint64_t bytes = 0;
        for (const auto& m : pop.uidl()) {
            const auto path = dir / file_name_for(m.uid);
            if (std::filesystem::exists(path)) continue;  // fetched on an earlier run
            // RETR streams: each chunk is written as it arrives (dot-unstuffed), so a large
            // message never sits in memory. Write to a temporary name, rename when complete.
            const auto partial = std::filesystem::path(path).concat(".part");
            std::ofstream out(partial, std::ios::binary);
            bytes += pop.retr(m.number,
                              [&](std::string_view chunk) { out.write(chunk.data(), std::streamsize(chunk.size())); });
            out.close();
            std::filesystem::rename(partial, path);
            ++downloaded;
        }
        std::cout << "downloaded " << downloaded << " messages (" << bytes << " bytes) into " << dir.string() << '\n';
        pop.disconnect();  // QUIT (nothing was marked deleted, so nothing is removed)
        return 0;
    } catch (const mailwire::error& e) {
        std::cerr << "error: " << e.what() << '\n';
        if (!e.hint().empty()) std::cerr << "hint:  " << e.hint() << '\n';
        return 1;
    } catch (const std::filesystem::filesystem_error& e) {
        std::cerr << "error: " << e.what() << '\n';
        return 1;
    }
}
