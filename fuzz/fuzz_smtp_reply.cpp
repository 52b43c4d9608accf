// Fuzzes the SMTP reply parser and EHLO capability parser with arbitrary server bytes.
#include <cstddef>
#include <cstdint>
#include <string>

#include "mailwire/error.hpp"
#include "mailwire/smtp/reply.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    mailwire::smtp::reply_parser p;
    p.set_max_lines(64);
    while (!in.empty()) {
        auto nl = in.find('\n');
        auto line = in.substr(0, nl);
        in = nl == std::string_view::npos ? std::string_view{} : in.substr(nl + 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        try {
            if (p.feed_line(line)) {
                auto r = p.take();
                (void)r.text();
                (void)mailwire::smtp::parse_ehlo(r);
            }
        } catch (const mailwire::error&) {
            p = {};
        }
    }
    return 0;
}
