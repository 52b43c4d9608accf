// A program outside the mailwire tree: includes the umbrella header, connects to the test
// server's IMAPS port (the CA from the harness env file) and prints the negotiated TLS version.
//
//   packaging_consumer ENV_FILE     (tests/support/servers/mwservers writes ENV_FILE)
#include <fstream>
#include <iostream>
#include <map>
#include <string>

#include <mailwire/mailwire.hpp>

int main(int argc, char** argv) {
    if (argc != 2) {
        std::cerr << "usage: packaging_consumer ENV_FILE\n";
        return 2;
    }
    std::map<std::string, std::string> env;
    std::ifstream in(argv[1]);
    for (std::string line; std::getline(in, line);)
        if (auto eq = line.find('='); eq != std::string::npos && line[0] != '#')
            env[line.substr(0, eq)] = line.substr(eq + 1);
    try {
        mailwire::imap::client imap;
        imap.tls().ca_file = env.at("CA_FILE");
        imap.connect(env.at("HOST"), static_cast<std::uint16_t>(std::stoi(env.at("IMAPS_PORT"))),
                     mailwire::security::implicit_tls);
        std::cout << "consumer connected to " << imap.host() << ':' << imap.port() << " with "
                  << imap.tls_info().version << " (" << mailwire::to_string(imap.security_used()) << ")\n";
        imap.disconnect();
        return 0;
    } catch (const mailwire::error& e) {
        std::cerr << "error: " << e.what() << '\n';
        return 1;
    } catch (const std::out_of_range&) {
        std::cerr << "error: " << argv[1] << " lacks HOST, IMAPS_PORT or CA_FILE\n";
        return 1;
    }
}
