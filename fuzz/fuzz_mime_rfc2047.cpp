// RFC 2047 decoding (any bytes) and encode→decode round trips (any UTF-8).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "mailwire/error.hpp"
#include "mailwire/mime/charset.hpp"
#include "mailwire/mime/rfc2047.hpp"

using namespace mailwire::mime;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    try {
        const std::string text = decode_header_text(in);
        if (!is_valid_utf8(text)) std::abort();
        const std::string clean = sanitize_utf8(in);
        const std::string encoded = encode_header_text(clean, size % 40);
        if (decode_header_text(encoded) != clean) std::abort();
    } catch (const mailwire::error&) {}
    return 0;
}
