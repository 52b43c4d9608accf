// Vector kernels for base64, quoted-printable and the parser's line scan (see simd_decode.hpp).
//
// Base64 follows the published vector method (Muła and Lemire, "Faster Base64 Encoding and
// Decoding using AVX2 Instructions"): each input byte is split into its high and low nibble; two
// 16-entry pshufb tables give a class bit set per nibble, and a byte is outside the alphabet
// exactly when the two sets intersect. A third table, indexed by the high nibble ('/' shares its
// nibble with '+' and is told apart by one compare), holds the offset that turns a character into
// its 6-bit value. pmaddubsw then joins pairs of values into 12 bits, pmaddwd pairs of those into
// the 24 bits of a quad, and a byte shuffle drops the fourth (zero) byte of every quad. A vector
// that holds a non-alphabet byte (a line break, '=', junk) still yields the quads before it, and
// whitespace between quads is stepped over in the kernel, so a 76-character MIME line costs two
// AVX2 steps and one partial step, without a return to the byte-by-byte state machine.
#include "mime/simd_decode.hpp"

#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define MAILWIRE_MIME_X86 1
#include <immintrin.h>
#endif

namespace mailwire::mime::detail {
namespace {

// ---- scalar -------------------------------------------------------------------------------------

// Whole quads through the shifted tables, four characters per step; stops at the first quad with a
// non-alphabet character.
inline std::size_t b64_quads(const unsigned char* p, std::size_t n, char* o) noexcept {
    std::size_t i = 0;
    for (; n - i >= 4; i += 4, o += 3) {
        const std::uint32_t x = b64.d0[p[i]] | b64.d1[p[i + 1]] | b64.d2[p[i + 2]] | b64.d3[p[i + 3]];
        if (x & b64_bad) break;
        o[0] = static_cast<char>(x >> 16);
        o[1] = static_cast<char>(x >> 8);
        o[2] = static_cast<char>(x);
    }
    return i;
}

// Whitespace between quads changes nothing in the decoder's state: the kernels step over it, so
// a MIME line break (after 76 characters, 19 whole quads) does not leave the kernel.
inline const unsigned char* skip_space(const unsigned char* p, const unsigned char* end) noexcept {
    while (p < end && b64.v[*p] == b64_space) ++p;
    return p;
}

std::size_t b64_run_scalar(const unsigned char* p, std::size_t n, char*& o, const char*) noexcept {
    const unsigned char* const start = p;
    const unsigned char* const end = p + n;
    for (;;) {
        const std::size_t used = b64_quads(p, static_cast<std::size_t>(end - p), o);
        p += used;
        o += used / 4 * 3;
        const unsigned char* next = skip_space(p, end);
        if (next == p) break;  // '=', junk, a quad split by a break, or the end
        p = next;
    }
    return static_cast<std::size_t>(p - start);
}

// Eight bytes at a time: a zero byte of (w ^ pattern) marks a match (the SWAR zero-byte test).
inline std::uint64_t zero_bytes(std::uint64_t x) noexcept {
    return (x - 0x0101010101010101ULL) & ~x & 0x8080808080808080ULL;
}

const char* find2_scalar(const char* p, const char* e, char a, char b) noexcept {
    const std::uint64_t pa = 0x0101010101010101ULL * static_cast<unsigned char>(a);
    const std::uint64_t pb = 0x0101010101010101ULL * static_cast<unsigned char>(b);
    while (e - p >= 8) {
        std::uint64_t w;
        std::memcpy(&w, p, 8);
        if (zero_bytes(w ^ pa) | zero_bytes(w ^ pb)) break;
        p += 8;
    }
    for (; p < e; ++p)
        if (*p == a || *p == b) return p;
    return e;
}

const char* find_nl_then_scalar(const char* p, const char* e, char c1, char c2) noexcept {
    constexpr std::uint64_t nl = 0x0A0A0A0A0A0A0A0AULL;
    while (e - p >= 9) {  // a word and the byte after it
        std::uint64_t w;
        std::memcpy(&w, p, 8);
        if (zero_bytes(w ^ nl) != 0) {  // a '\n' in this word: look at its bytes in order
            for (const char* q = p; q < p + 8; ++q)
                if (*q == '\n' && (q[1] == c1 || q[1] == c2)) return q;
        }
        p += 8;
    }
    for (; e - p >= 2; ++p)
        if (*p == '\n' && (p[1] == c1 || p[1] == c2)) return p;
    return e;
}

#if MAILWIRE_MIME_X86

// ---- SSSE3 --------------------------------------------------------------------------------------

// Class bits: 0x01 high nibble 2 ('+' '/'), 0x02 nibble 3 (digits), 0x04 nibbles 4 and 6 (letters
// from 1), 0x08 nibbles 5 and 7 (letters up to A), 0x10 every other nibble (never valid).
// lut_lo[l] holds the classes in which low nibble l is NOT a character of the alphabet.
#define MW_B64_LUT_LO 0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x13, 0x1A, 0x1B, 0x1B, 0x1B, 0x1A
#define MW_B64_LUT_HI 0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10
// Offset to the 6-bit value by high nibble; index 1 is '/' (nibble 2 minus one).
#define MW_B64_LUT_ROLL 0, 16, 19, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0
// The three bytes of each 32-bit quad value, most significant first; the fourth lane byte dropped.
#define MW_B64_PACK 2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1

__attribute__((target("ssse3"))) std::size_t b64_run_ssse3(const unsigned char* p, std::size_t n, char*& o,
                                                           const char* o_end) noexcept {
    const unsigned char* const start = p;
    const unsigned char* const end = p + n;
    const __m128i lut_lo = _mm_setr_epi8(MW_B64_LUT_LO);
    const __m128i lut_hi = _mm_setr_epi8(MW_B64_LUT_HI);
    const __m128i lut_roll = _mm_setr_epi8(MW_B64_LUT_ROLL);
    const __m128i pack = _mm_setr_epi8(MW_B64_PACK);
    const __m128i nibble = _mm_set1_epi8(0x0F);
    const __m128i slash = _mm_set1_epi8('/');
    for (;;) {
        if (end - p < 16 || o_end - o < 16) {
            const std::size_t used = b64_quads(p, static_cast<std::size_t>(end - p), o);
            p += used;
            o += used / 4 * 3;
        } else {
            const __m128i in = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
            const __m128i hi = _mm_and_si128(_mm_srli_epi32(in, 4), nibble);
            const __m128i lo = _mm_and_si128(in, nibble);
            const __m128i bad = _mm_and_si128(_mm_shuffle_epi8(lut_lo, lo), _mm_shuffle_epi8(lut_hi, hi));
            const __m128i roll = _mm_shuffle_epi8(lut_roll, _mm_add_epi8(_mm_cmpeq_epi8(in, slash), hi));
            const __m128i v = _mm_add_epi8(in, roll);
            const __m128i pairs = _mm_maddubs_epi16(v, _mm_set1_epi32(0x01400140));
            const __m128i quads = _mm_madd_epi16(pairs, _mm_set1_epi32(0x00011000));
            _mm_storeu_si128(reinterpret_cast<__m128i*>(o), _mm_shuffle_epi8(quads, pack));
            const auto good = static_cast<unsigned>(_mm_movemask_epi8(_mm_cmpeq_epi8(bad, _mm_setzero_si128())));
            if (good == 0xFFFF) {
                p += 16;
                o += 12;
                continue;
            }
            // The quads before the first non-alphabet byte are decoded already.
            const auto whole = static_cast<unsigned>(__builtin_ctz(~good)) / 4;
            p += whole * 4;
            o += whole * 3;
        }
        const unsigned char* next = skip_space(p, end);
        if (next == p) break;  // '=', junk, a quad split by a break, or the end
        p = next;
    }
    return static_cast<std::size_t>(p - start);
}

__attribute__((target("ssse3"))) const char* find2_ssse3(const char* p, const char* e, char a, char b) noexcept {
    const __m128i va = _mm_set1_epi8(a), vb = _mm_set1_epi8(b);
    while (e - p >= 16) {
        const __m128i x = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        const auto m =
            static_cast<unsigned>(_mm_movemask_epi8(_mm_or_si128(_mm_cmpeq_epi8(x, va), _mm_cmpeq_epi8(x, vb))));
        if (m != 0) return p + __builtin_ctz(m);
        p += 16;
    }
    for (; p < e; ++p)
        if (*p == a || *p == b) return p;
    return e;
}

__attribute__((target("ssse3"))) const char* find_nl_then_ssse3(const char* p, const char* e, char c1,
                                                                char c2) noexcept {
    const __m128i nl = _mm_set1_epi8('\n'), v1 = _mm_set1_epi8(c1), v2 = _mm_set1_epi8(c2);
    while (e - p >= 17) {
        const __m128i a = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
        const __m128i b = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + 1));
        const __m128i hit =
            _mm_and_si128(_mm_cmpeq_epi8(a, nl), _mm_or_si128(_mm_cmpeq_epi8(b, v1), _mm_cmpeq_epi8(b, v2)));
        const auto m = static_cast<unsigned>(_mm_movemask_epi8(hit));
        if (m != 0) return p + __builtin_ctz(m);
        p += 16;
    }
    for (; e - p >= 2; ++p)
        if (*p == '\n' && (p[1] == c1 || p[1] == c2)) return p;
    return e;
}

// ---- AVX2 ---------------------------------------------------------------------------------------

__attribute__((target("avx2"))) std::size_t b64_run_avx2(const unsigned char* p, std::size_t n, char*& o,
                                                         const char* o_end) noexcept {
    const unsigned char* const start = p;
    const unsigned char* const end = p + n;
    // pshufb looks up within each 128-bit lane: every table is there twice.
    const __m256i lut_lo = _mm256_setr_epi8(MW_B64_LUT_LO, MW_B64_LUT_LO);
    const __m256i lut_hi = _mm256_setr_epi8(MW_B64_LUT_HI, MW_B64_LUT_HI);
    const __m256i lut_roll = _mm256_setr_epi8(MW_B64_LUT_ROLL, MW_B64_LUT_ROLL);
    const __m256i pack = _mm256_setr_epi8(MW_B64_PACK, MW_B64_PACK);
    const __m256i join = _mm256_setr_epi32(0, 1, 2, 4, 5, 6, 3, 7);  // 12 + 12 bytes, contiguous
    const __m256i nibble = _mm256_set1_epi8(0x0F);
    const __m256i slash = _mm256_set1_epi8('/');
    for (;;) {
        if (end - p < 32 || o_end - o < 32) {
            // The last characters (or the last 32 bytes of room): 16-character steps, then quads.
            return static_cast<std::size_t>(p - start) + b64_run_ssse3(p, static_cast<std::size_t>(end - p), o, o_end);
        }
        const __m256i in = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
        const __m256i hi = _mm256_and_si256(_mm256_srli_epi32(in, 4), nibble);
        const __m256i lo = _mm256_and_si256(in, nibble);
        const __m256i bad = _mm256_and_si256(_mm256_shuffle_epi8(lut_lo, lo), _mm256_shuffle_epi8(lut_hi, hi));
        const __m256i roll = _mm256_shuffle_epi8(lut_roll, _mm256_add_epi8(_mm256_cmpeq_epi8(in, slash), hi));
        const __m256i v = _mm256_add_epi8(in, roll);
        const __m256i pairs = _mm256_maddubs_epi16(v, _mm256_set1_epi32(0x01400140));
        const __m256i quads = _mm256_madd_epi16(pairs, _mm256_set1_epi32(0x00011000));
        const __m256i out = _mm256_permutevar8x32_epi32(_mm256_shuffle_epi8(quads, pack), join);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(o), out);
        if (_mm256_testz_si256(bad, bad)) {
            p += 32;
            o += 24;
            continue;
        }
        // The quads before the first non-alphabet byte are decoded already.
        const auto good = static_cast<unsigned>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(bad, _mm256_setzero_si256())));
        const auto whole = static_cast<unsigned>(__builtin_ctz(~good)) / 4;
        p += whole * 4;
        o += whole * 3;
        const unsigned char* next = skip_space(p, end);
        if (next == p) break;  // '=', junk, a quad split by a break
        p = next;
    }
    return static_cast<std::size_t>(p - start);
}

__attribute__((target("avx2"))) const char* find2_avx2(const char* p, const char* e, char a, char b) noexcept {
    const __m256i va = _mm256_set1_epi8(a), vb = _mm256_set1_epi8(b);
    while (e - p >= 32) {
        const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
        const auto m = static_cast<unsigned>(
            _mm256_movemask_epi8(_mm256_or_si256(_mm256_cmpeq_epi8(x, va), _mm256_cmpeq_epi8(x, vb))));
        if (m != 0) return p + __builtin_ctz(m);
        p += 32;
    }
    return find2_ssse3(p, e, a, b);
}

__attribute__((target("avx2"))) const char* find_nl_then_avx2(const char* p, const char* e, char c1, char c2) noexcept {
    const __m256i nl = _mm256_set1_epi8('\n'), v1 = _mm256_set1_epi8(c1), v2 = _mm256_set1_epi8(c2);
    while (e - p >= 33) {
        const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
        const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p + 1));
        const __m256i hit = _mm256_and_si256(_mm256_cmpeq_epi8(a, nl),
                                             _mm256_or_si256(_mm256_cmpeq_epi8(b, v1), _mm256_cmpeq_epi8(b, v2)));
        const auto m = static_cast<unsigned>(_mm256_movemask_epi8(hit));
        if (m != 0) return p + __builtin_ctz(m);
        p += 32;
    }
    return find_nl_then_ssse3(p, e, c1, c2);
}

#undef MW_B64_LUT_LO
#undef MW_B64_LUT_HI
#undef MW_B64_LUT_ROLL
#undef MW_B64_PACK

#endif  // MAILWIRE_MIME_X86

constexpr simd_kernels scalar_kernels{simd_path::scalar, b64_run_scalar, find2_scalar, find_nl_then_scalar};
#if MAILWIRE_MIME_X86
constexpr simd_kernels ssse3_kernels{simd_path::ssse3, b64_run_ssse3, find2_ssse3, find_nl_then_ssse3};
constexpr simd_kernels avx2_kernels{simd_path::avx2, b64_run_avx2, find2_avx2, find_nl_then_avx2};
#endif

char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

}  // namespace

std::string_view to_string(simd_path p) noexcept {
    switch (p) {
    case simd_path::scalar:
        return "scalar";
    case simd_path::ssse3:
        return "ssse3";
    case simd_path::avx2:
        return "avx2";
    }
    return "scalar";
}

std::optional<simd_path> parse_simd_path(std::string_view s) noexcept {
    for (auto p : {simd_path::scalar, simd_path::ssse3, simd_path::avx2}) {
        const std::string_view name = to_string(p);
        if (s.size() != name.size()) continue;
        bool same = true;
        for (std::size_t i = 0; i < s.size() && same; ++i) same = lower(s[i]) == name[i];
        if (same) return p;
    }
    return std::nullopt;
}

bool simd_supported(simd_path p) noexcept {
    switch (p) {
    case simd_path::scalar:
        return true;
#if MAILWIRE_MIME_X86
    case simd_path::ssse3:
        __builtin_cpu_init();  // idempotent; needed when the first call runs during static initialisation
        return __builtin_cpu_supports("ssse3");
    case simd_path::avx2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2");
#else
    default:
        return false;
#endif
    }
    return false;
}

simd_path simd_choose(const char* env) noexcept {
    simd_path want = simd_path::avx2;
    if (env != nullptr && *env != '\0') {
        if (const auto named = parse_simd_path(env)) want = *named;
    }
    while (want != simd_path::scalar && !simd_supported(want))
        want = static_cast<simd_path>(static_cast<std::uint8_t>(want) - 1);
    return want;
}

simd_path simd_active() noexcept {
    static const simd_path chosen = simd_choose(std::getenv("MAILWIRE_SIMD"));
    return chosen;
}

const simd_kernels& kernels(simd_path p) noexcept {
    switch (simd_choose(to_string(p).data())) {
#if MAILWIRE_MIME_X86
    case simd_path::avx2:
        return avx2_kernels;
    case simd_path::ssse3:
        return ssse3_kernels;
#endif
    default:
        return scalar_kernels;
    }
}

const simd_kernels& active_kernels() noexcept {
    static const simd_kernels& chosen = kernels(simd_active());
    return chosen;
}

}  // namespace mailwire::mime::detail
