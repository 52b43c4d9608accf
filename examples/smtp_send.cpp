// smtp_send — send a message over SMTP submission with STARTTLS and SCRAM authentication.
//
//   MAILWIRE_EXAMPLE_PASSWORD=... smtp_send HOST PORT CA_FILE USER FROM TO
//
// Every argument may instead come from the environment: MAILWIRE_EXAMPLE_HOST, _PORT (default 587),
// _CA_FILE (default: the system's trusted CAs), _USER, _FROM (default USER), _TO (default FROM).
// The password is read from MAILWIRE_EXAMPLE_PASSWORD only: a command line is visible to every
// user of the machine (ps, /proc), so never put a password there.
#include <cstdlib>
#include <iostream>
#include <string>

#include <mailwire/smtp/client.hpp>

namespace {
// argv[i] if given, else the environment variable MAILWIRE_EXAMPLE_<name>, else `fallback`.
std::string setting(int argc, char** argv, int i, const char* name, std::string fallback = {}) {
    if (i < argc && *argv[i] != '\0') return argv[i];
    if (const char* v = std::getenv((std::string("MAILWIRE_EXAMPLE_") + name).c_str())) return v;
    return fallback;
}
}  // namespace

int main(int argc, char** argv) {
    const std::string host = setting(argc, argv, 1, "HOST", "localhost");
    const auto port = static_cast<std::uint16_t>(std::stoi(setting(argc, argv, 2, "PORT", "587")));
    const std::string ca_file = setting(argc, argv, 3, "CA_FILE");
    const std::string user = setting(argc, argv, 4, "USER");
    const std::string from = setting(argc, argv, 5, "FROM", user);
    const std::string to = setting(argc, argv, 6, "TO", from);
    const char* password = std::getenv("MAILWIRE_EXAMPLE_PASSWORD");
    if (user.empty() || password == nullptr) {
        std::cerr << "usage: MAILWIRE_EXAMPLE_PASSWORD=... smtp_send HOST PORT CA_FILE USER [FROM [TO]]\n";
        return 2;
    }

    try {
        mailwire::smtp::client smtp;
        if (!ca_file.empty()) smtp.tls().ca_file = ca_file;  // trust this CA (in addition to the system's)
        // starttls: connect in plaintext, then upgrade. If the server does not offer STARTTLS, or
        // refuses it, connect() throws — mailwire never continues in plaintext in this mode.
        smtp.connect(host, port, mailwire::security::starttls);
        std::cout << "connected to " << host << ':' << port << " with " << smtp.tls_info().version << ' '
                  << smtp.tls_info().cipher << '\n';

        // Ask for SCRAM-SHA-256 only: the password never crosses the wire, and the server proves it
        // knows it too. Without the list, mailwire picks the strongest mechanism both sides offer.
        smtp.authenticate(mailwire::sasl::credentials{.user = user, .password = password}, {"SCRAM-SHA-256"});
        std::cout << "authenticated as " << user << " with " << smtp.authenticated_with() << '\n';

        std::string message = "From: <" + from + ">\r\n";
        message += "To: <" + to + ">\r\n";
        message +=
            "Subject: mailwire example smtp_send\r\n"
            "Message-ID: <smtp-send-example@mailwire.invalid>\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "\r\n"
            "Sent with STARTTLS and SCRAM-SHA-256.\r\n";
        const auto result = smtp.send({.from = from, .to = {to}}, message);
        for (const auto& r : result.recipients)
            std::cout << (r.accepted ? "accepted: " : "refused:  ") << r.address << " (" << r.reply.code << ")\n";
        std::cout << "sent " << result.bytes << " bytes: " << result.final_reply.code << ' '
                  << result.final_reply.text() << '\n';
        smtp.disconnect();  // QUIT
        return result.all_accepted() ? 0 : 1;
    } catch (const mailwire::error& e) {
        // what() names host, port and stage; hint() says what to change.
        std::cerr << "error: " << e.what() << '\n';
        if (!e.hint().empty()) std::cerr << "hint:  " << e.hint() << '\n';
        return 1;
    }
}
