// Fuzzes POP3 status lines, APOP timestamps, unstuffing and CAPA parsing.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "mailwire/error.hpp"
#include "mailwire/pop3/response.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    std::vector<std::string> lines;
    while (!in.empty()) {
        auto nl = in.find('\n');
        auto line = in.substr(0, nl);
        in = nl == std::string_view::npos ? std::string_view{} : in.substr(nl + 1);
        try {
            (void)mailwire::pop3::parse_status(line);
        } catch (const mailwire::error&) {}
        (void)mailwire::pop3::apop_timestamp(line);
        if (auto u = mailwire::pop3::unstuff_line(line)) lines.emplace_back(*u);
    }
    (void)mailwire::pop3::parse_capa(lines);
    return 0;
}
