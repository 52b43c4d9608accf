// Fuzzes IMAP status-line classification, capability lists and literal announcements.
#include <cstddef>
#include <cstdint>
#include <string>

#include "mailwire/error.hpp"
#include "mailwire/imap/status.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    while (!in.empty()) {
        auto nl = in.find('\n');
        auto line = in.substr(0, nl);
        in = nl == std::string_view::npos ? std::string_view{} : in.substr(nl + 1);
        (void)mailwire::imap::trailing_literal(line);
        try {
            auto r = mailwire::imap::parse_response_line(line);
            (void)mailwire::imap::parse_capabilities(r.code_args);
        } catch (const mailwire::error&) {}
    }
    return 0;
}
