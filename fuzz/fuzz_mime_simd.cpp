// Differential target for the MIME vector paths: base64 and quoted-printable decoding on every
// path this CPU runs (SSSE3, AVX2) must give the scalar path's output and error flag, whole and
// split at the input's chosen offset; the search kernels must find what the scalar ones find.
// Byte 0 picks the chunk split, the rest is the input.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "mailwire/mime/encoding.hpp"
#include "mime/simd_decode.hpp"

using namespace mailwire::mime;
using detail::simd_path;

namespace {
void check(bool ok) {
    if (!ok) std::abort();
}

struct result {
    std::string text;
    bool errors = false;
    bool operator==(const result&) const = default;
};

result decode(transfer_encoding e, simd_path path, std::string_view in, std::size_t split) {
    auto d = detail::make_decoder(e, path);
    result r;
    d->decode(in.substr(0, split), r.text);
    d->decode(in.substr(split), r.text);
    d->finish(r.text);
    r.errors = d->saw_errors();
    return r;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
    const std::size_t split = in.empty() ? 0 : data[0] % (in.size() + 1);
    const auto& scalar = detail::kernels(simd_path::scalar);
    for (auto e : {transfer_encoding::base64, transfer_encoding::quoted_printable}) {
        const result want = decode(e, simd_path::scalar, in, in.size());
        for (auto path : {simd_path::ssse3, simd_path::avx2}) {
            if (!detail::simd_supported(path)) continue;
            check(decode(e, path, in, in.size()) == want);
            check(decode(e, path, in, split) == want);
        }
    }
    const char* b = in.data();
    const char* end = b + in.size();
    for (auto path : {simd_path::ssse3, simd_path::avx2}) {
        if (!detail::simd_supported(path)) continue;
        const auto& k = detail::kernels(path);
        for (const char* p = b; p <= end; p += 1 + (end - p) / 3) {
            check(k.find2(p, end, '=', '\n') == scalar.find2(p, end, '=', '\n'));
            check(k.find_nl_then(p, end, '-', 'F') == scalar.find_nl_then(p, end, '-', 'F'));
            if (p == end) break;
        }
    }
    return 0;
}
