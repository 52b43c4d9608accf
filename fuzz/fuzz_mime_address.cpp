// Address lists: no crash; parse(format(parse(x))) == parse(x).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "mailwire/error.hpp"
#include "mailwire/mime/address.hpp"
#include "mailwire/mime/charset.hpp"

using namespace mailwire::mime;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    try {
        const auto list = parse_address_list(in);
        for (const auto& a : list)
            for (const auto& m : a.members) {
                if (!is_valid_utf8(m.name)) std::abort();
                (void)m.domain_ascii();
                (void)m.domain_unicode();
            }
        (void)parse_mailbox_list(in);
        const std::string formatted = format_address_list(list);
        if (parse_address_list(formatted) != list) std::abort();
    } catch (const mailwire::error&) {}
    return 0;
}
