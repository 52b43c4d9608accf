// Content-Type / Content-Disposition parsing; format→parse round trip of what was parsed.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "mailwire/error.hpp"
#include "mailwire/mime/charset.hpp"
#include "mailwire/mime/params.hpp"

using namespace mailwire::mime;

namespace {
void check(bool ok) {
    if (!ok) std::abort();
}

bool plain_name(const std::string& n) {
    if (n.empty()) return false;
    for (char c : n)
        if (c == '*' || static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7F) return false;
    return true;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    try {
        const content_type ct = parse_content_type(in);
        check(!ct.type.empty() && !ct.subtype.empty());
        for (const auto& p : ct.params) check(is_valid_utf8(p.value));
        const content_disposition cd = parse_content_disposition(in);
        (void)cd.filename();
        std::vector<parameter> ps;
        for (const auto& p : ct.params)
            if (plain_name(p.name)) ps.push_back(p);
        check(parse_parameters(format_parameters(ps)) == ps);
        check(parse_parameters(format_parameters_folded(ps, size % 60)) == ps);
    } catch (const mailwire::error&) {}
    return 0;
}
