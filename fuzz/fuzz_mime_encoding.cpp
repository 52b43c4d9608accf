// Transfer-encoding decoders and encoders: no crash, split-independence, round trips.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "mailwire/error.hpp"
#include "mailwire/mime/encoding.hpp"

using namespace mailwire::mime;

namespace {
void check(bool ok) {
    if (!ok) std::abort();
}

std::string decode(transfer_encoding e, std::string_view in, std::size_t split) {
    auto d = make_decoder(e);
    std::string out;
    d->decode(in.substr(0, split), out);
    d->decode(in.substr(split), out);
    d->finish(out);
    return out;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const transfer_encoding encodings[] = {transfer_encoding::base64, transfer_encoding::quoted_printable,
                                           transfer_encoding::uuencode, transfer_encoding::seven_bit};
    const transfer_encoding e = encodings[data[0] % 4];
    const std::string_view in(reinterpret_cast<const char*>(data) + 2, size - 2);
    const std::size_t split = in.empty() ? 0 : data[1] % (in.size() + 1);
    try {
        // Decoding must not depend on where the input is split.
        const std::string whole = decode(e, in, in.size());
        check(decode(e, in, split) == whole);
        if (e == transfer_encoding::base64) check(base64_decode(in) == whole);
        if (e == transfer_encoding::quoted_printable) check(qp_decode(in) == whole);
        (void)qp_decode(in, true);
        (void)choose_encoding(in, data[1] & 1);
        (void)parse_transfer_encoding(in);

        // Encoders: decode(encode(x)) gives x back (QP canonicalises line ends to CRLF).
        auto enc = make_encoder(e);
        std::string encoded;
        enc->encode(in.substr(0, split), encoded);
        enc->encode(in.substr(split), encoded);
        enc->finish(encoded);
        // Encoding must not depend on the split either.
        auto enc2 = make_encoder(e);
        std::string encoded_whole;
        enc2->encode(in, encoded_whole);
        enc2->finish(encoded_whole);
        check(encoded_whole == encoded);
        std::string expect(in);
        if (e == transfer_encoding::quoted_printable) {
            expect.clear();
            for (std::size_t i = 0; i < in.size(); ++i) {
                if (in[i] == '\n' && (i == 0 || in[i - 1] != '\r')) expect.push_back('\r');
                expect.push_back(in[i]);
            }
            // Every encoded line is at most 76 characters and ends in CRLF.
            std::size_t line = 0;
            for (std::size_t i = 0; i < encoded.size(); ++i) {
                if (encoded[i] == '\r') {
                    check(i + 1 < encoded.size() && encoded[i + 1] == '\n' && line <= 76);
                    line = 0;
                    ++i;
                } else {
                    check(encoded[i] != '\n');
                    ++line;
                }
            }
            check(line <= 76);
        }
        check(decode(e, encoded, encoded.size() / 2) == expect);
    } catch (const mailwire::error&) {}
    return 0;
}
