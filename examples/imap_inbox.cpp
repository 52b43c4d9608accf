// imap_inbox — list the mailboxes, show the newest messages of INBOX, then wait for new mail with IDLE.
//
//   MAILWIRE_EXAMPLE_PASSWORD=... imap_inbox HOST PORT CA_FILE USER [IDLE_SECONDS]
//
// Arguments may instead come from MAILWIRE_EXAMPLE_HOST, _PORT (default 993), _CA_FILE (default:
// the system's trusted CAs), _USER and _IDLE_SECONDS (default 30). The password is read from
// MAILWIRE_EXAMPLE_PASSWORD only, never from the command line (visible to other users in ps).
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <iostream>
#include <string>

#include <mailwire/imap/client.hpp>

namespace {
std::string setting(int argc, char** argv, int i, const char* name, std::string fallback = {}) {
    if (i < argc && *argv[i] != '\0') return argv[i];
    if (const char* v = std::getenv((std::string("MAILWIRE_EXAMPLE_") + name).c_str())) return v;
    return fallback;
}

std::string first_sender(const mailwire::imap::envelope& env) {
    if (env.from.empty() || env.from.front().members.empty()) return "(no sender)";
    return env.from.front().members.front().address();
}
}  // namespace

int main(int argc, char** argv) {
    const std::string host = setting(argc, argv, 1, "HOST", "localhost");
    const auto port = static_cast<std::uint16_t>(std::stoi(setting(argc, argv, 2, "PORT", "993")));
    const std::string ca_file = setting(argc, argv, 3, "CA_FILE");
    const std::string user = setting(argc, argv, 4, "USER");
    const int idle_seconds = std::stoi(setting(argc, argv, 5, "IDLE_SECONDS", "30"));
    const char* password = std::getenv("MAILWIRE_EXAMPLE_PASSWORD");
    if (user.empty() || password == nullptr) {
        std::cerr << "usage: MAILWIRE_EXAMPLE_PASSWORD=... imap_inbox HOST PORT CA_FILE USER [IDLE_SECONDS]\n";
        return 2;
    }

    try {
        mailwire::imap::client imap;
        if (!ca_file.empty()) imap.tls().ca_file = ca_file;
        // Implicit TLS (port 993): encrypted from the first byte, as RFC 8314 recommends.
        imap.connect(host, port, mailwire::security::implicit_tls);
        imap.authenticate(user, password);  // the strongest mechanism both sides support
        std::cout << "logged in as " << user << " (" << imap.authenticated_with() << ", " << imap.tls_info().version
                  << ")\n";

        for (const auto& mailbox : imap.list()) std::cout << "mailbox: " << mailbox.entry.name << '\n';

        const auto& inbox = imap.select("INBOX");
        std::cout << "INBOX: " << inbox.exists << " messages\n";
        if (inbox.exists > 0) {
            // The newest ten, by sequence number; ENVELOPE is parsed for us (subject decoded).
            const std::uint32_t first = inbox.exists > 10 ? inbox.exists - 9 : 1;
            imap.fetch({first, inbox.exists}, "UID ENVELOPE RFC822.SIZE",
                       [](const mailwire::imap::fetch_data& m) {
                           std::cout << "  #" << m.seq << " uid " << m.uid.value_or(0) << "  "
                                     << (m.env ? first_sender(*m.env) : "") << "  " << (m.env ? m.env->subject : "")
                                     << "  (" << m.rfc822_size.value_or(0) << " bytes)\n";
                       },
                       {.uid = false});
        }

        // IDLE: the server pushes changes; end after idle_seconds (or call stop_idle() from
        // another thread). Servers drop idle clients after 30 minutes, so real programs re-idle
        // at most every 29 minutes.
        std::cout << "idling for " << idle_seconds << " s ...\n" << std::flush;
        imap.idle(
            [](const mailwire::imap::mailbox_event& e) {
                if (e.type == mailwire::imap::mailbox_event::kind::exists)
                    std::cout << "new mail: INBOX now has " << e.number << " messages\n";
                else if (e.type == mailwire::imap::mailbox_event::kind::expunge)
                    std::cout << "message " << e.number << " was expunged\n";
                return true;  // keep idling; false ends idle() now
            },
            std::chrono::seconds(idle_seconds));
        std::cout << "IDLE ended\n";
        imap.disconnect();  // LOGOUT
        return 0;
    } catch (const mailwire::error& e) {
        std::cerr << "error: " << e.what() << '\n';
        if (!e.hint().empty()) std::cerr << "hint:  " << e.hint() << '\n';
        return 1;
    }
}
