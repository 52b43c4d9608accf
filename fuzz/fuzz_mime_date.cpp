// Dates: no crash; what parses formats and parses back to the same instant and zone.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "mailwire/error.hpp"
#include "mailwire/mime/date.hpp"

using namespace mailwire::mime;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    try {
        if (auto d = parse_date(in)) {
            auto back = parse_date(format_date(*d));
            if (!back || *back != *d) std::abort();
        }
    } catch (const mailwire::error&) {}
    return 0;
}
