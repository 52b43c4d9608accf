#include "mailwire/ports.hpp"

namespace mailwire {

std::string_view to_string(protocol p) noexcept {
    switch (p) {
    case protocol::imap:
        return "imap";
    case protocol::pop3:
        return "pop3";
    case protocol::smtp:
        return "smtp";
    }
    return "unknown";
}

std::uint16_t implicit_tls_port(protocol p) noexcept {
    switch (p) {
    case protocol::imap:
        return 993;
    case protocol::pop3:
        return 995;
    case protocol::smtp:
        return 465;
    }
    return 0;
}

std::uint16_t starttls_port(protocol p) noexcept {
    switch (p) {
    case protocol::imap:
        return 143;
    case protocol::pop3:
        return 110;
    case protocol::smtp:
        return 587;
    }
    return 0;
}

std::uint16_t default_port(protocol p, security mode) noexcept {
    return mode == security::implicit_tls || mode == security::auto_detect ? implicit_tls_port(p) : starttls_port(p);
}

bool is_implicit_tls_port(std::uint16_t port) noexcept { return port == 993 || port == 995 || port == 465; }

bool protocol_from_port(std::uint16_t port, protocol& out) noexcept {
    switch (port) {
    case 143:
    case 993:
        out = protocol::imap;
        return true;
    case 110:
    case 995:
        out = protocol::pop3;
        return true;
    case 25:
    case 465:
    case 587:
    case 2525:
        out = protocol::smtp;
        return true;
    default:
        return false;
    }
}

std::string_view starttls_command(protocol p) noexcept { return p == protocol::pop3 ? "STLS" : "STARTTLS"; }

}  // namespace mailwire
