// RFC 2047 decoding (any bytes) and encode→decode round trips (any UTF-8, made single-line),
// with only CRLF SP folding in the encoded form.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "mailwire/error.hpp"
#include "mailwire/mime/charset.hpp"
#include "mailwire/mime/rfc2047.hpp"
#include "mime/detail_text.hpp"

using namespace mailwire::mime;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    try {
        const std::string text = decode_header_text(in);
        if (!is_valid_utf8(text)) std::abort();
        const std::string clean = sanitize_utf8(in);
        const std::string encoded = encode_header_text(clean, size % 40);
        // encode_header_text makes the text single-line (no header injection): that is what
        // must come back.
        if (decode_header_text(encoded) != mailwire::mime::detail::single_line_text(clean)) std::abort();
        for (std::size_t i = 0; i < encoded.size(); ++i) {  // only CRLF SP folding, no NUL
            if (encoded[i] == '\0') std::abort();
            if (encoded[i] == '\r' && encoded.compare(i, 3, "\r\n ") != 0) std::abort();
            if (encoded[i] == '\n' && (i == 0 || encoded[i - 1] != '\r')) std::abort();
        }
    } catch (const mailwire::error&) {}
    return 0;
}
