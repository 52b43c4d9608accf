// Strict base64 (RFC 4648 §4). Small enough to own: OpenSSL's EVP_DecodeBlock accepts
// whitespace and does not report padding, and we want every non-canonical input refused.
#include "mailwire/sasl/base64.hpp"

#include <array>

#include "sasl/detail.hpp"

namespace mailwire::sasl {
namespace {

constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<std::int8_t, 256> make_table() {
    std::array<std::int8_t, 256> t{};
    for (auto& v : t) v = -1;
    for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(alphabet[i])] = static_cast<std::int8_t>(i);
    return t;
}
constexpr auto table = make_table();

}  // namespace

namespace {

// One encoder for both output types: std::string for public data, mailwire::secret for SASL
// messages that carry a credential (reserved up front, so it never reallocates and leaves no
// partial copy behind).
template <class Out>
void encode_into(Out& out, std::string_view bytes) {
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    auto at = [&](std::size_t k) { return static_cast<unsigned>(static_cast<unsigned char>(bytes[k])); };
    for (; i + 3 <= bytes.size(); i += 3) {
        unsigned v = at(i) << 16 | at(i + 1) << 8 | at(i + 2);
        out.push_back(alphabet[v >> 18 & 63]);
        out.push_back(alphabet[v >> 12 & 63]);
        out.push_back(alphabet[v >> 6 & 63]);
        out.push_back(alphabet[v & 63]);
    }
    if (std::size_t rest = bytes.size() - i; rest > 0) {
        unsigned v = at(i) << 16 | (rest == 2 ? at(i + 1) << 8 : 0u);
        out.push_back(alphabet[v >> 18 & 63]);
        out.push_back(alphabet[v >> 12 & 63]);
        out.push_back(rest == 2 ? alphabet[v >> 6 & 63] : '=');
        out.push_back('=');
    }
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
    std::string out;
    encode_into(out, bytes);
    return out;
}

secret base64_encode_secret(std::string_view bytes) {
    secret out;
    encode_into(out, bytes);
    return out;
}

std::optional<std::string> detail::try_base64_decode(std::string_view text) {
    if (text.size() % 4 != 0) return std::nullopt;
    std::string out;
    out.reserve(text.size() / 4 * 3);
    for (std::size_t i = 0; i < text.size(); i += 4) {
        const bool last = i + 4 == text.size();
        int pad = 0;
        if (last) pad = (text[i + 3] == '=') + (text[i + 3] == '=' && text[i + 2] == '=');
        unsigned v = 0;
        for (int k = 0; k < 4 - pad; ++k) {
            auto d = table[static_cast<unsigned char>(text[i + k])];
            if (d < 0) return std::nullopt;  // includes a stray '=' in the middle
            v = v << 6 | static_cast<unsigned>(d);
        }
        if (pad == 0) {
            out += static_cast<char>(v >> 16 & 0xff);
            out += static_cast<char>(v >> 8 & 0xff);
            out += static_cast<char>(v & 0xff);
        } else if (pad == 1) {  // 18 bits: 16 data + 2 that must be zero
            if (v & 0x3) return std::nullopt;
            out += static_cast<char>(v >> 10 & 0xff);
            out += static_cast<char>(v >> 2 & 0xff);
        } else {  // 12 bits: 8 data + 4 that must be zero
            if (v & 0xf) return std::nullopt;
            out += static_cast<char>(v >> 4 & 0xff);
        }
    }
    return out;
}

std::string base64_decode(std::string_view text) {
    auto r = detail::try_base64_decode(text);
    if (!r) detail::fail(errc::protocol_violation, "invalid base64 in SASL data", text);
    return std::move(*r);
}

}  // namespace mailwire::sasl
