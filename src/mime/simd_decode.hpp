// Vector kernels for the MIME hot loops (internal): base64 runs, byte searches for
// quoted-printable and for the parser's line starts. Each kernel exists as plain C++ ("scalar"),
// SSSE3 and AVX2 (x86-64 only, compiled with function target attributes, so the library still
// runs on any x86-64); one set is chosen once per process from the CPU and MAILWIRE_SIMD.
//
// The kernels are exact primitives (a search returns the first match; the base64 run decodes the
// longest prefix of whole quads of alphabet characters), so every path gives identical output.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "mailwire/mime/encoding.hpp"

namespace mailwire::mime::detail {

/// An instruction-set path for the MIME kernels.
enum class simd_path : std::uint8_t { scalar, ssse3, avx2 };

/// "scalar", "ssse3", "avx2".
std::string_view to_string(simd_path p) noexcept;
/// Parses a MAILWIRE_SIMD value (case-insensitive); nullopt when it names no path.
std::optional<simd_path> parse_simd_path(std::string_view s) noexcept;
/// True when this CPU (and this build) can run `p`.
bool simd_supported(simd_path p) noexcept;
/// The path used for a MAILWIRE_SIMD value: the named path when the CPU has it, else the best
/// supported path not above it; the best supported path when `env` is null, empty or unknown.
simd_path simd_choose(const char* env) noexcept;
/// The process's path, chosen once (thread-safe) by simd_choose(getenv("MAILWIRE_SIMD")).
simd_path simd_active() noexcept;

/// One path's kernels.
struct simd_kernels {
    simd_path path;
    /// Decodes whole quads of base64 alphabet characters from p, stepping over whitespace between
    /// quads (where it changes nothing), and stops at '=', junk, a quad split by whitespace or the
    /// end: everything the decoder's state machine does the same way from a quad boundary. Returns
    /// the characters consumed and advances `o` past the bytes written. May store up to 32 bytes
    /// at a time, never at or past `o_end`; the caller keeps room for n / 4 * 3 bytes.
    std::size_t (*b64_run)(const unsigned char* p, std::size_t n, char*& o, const char* o_end) noexcept;
    /// The first byte in [p, e) equal to `a` or `b`; `e` when none.
    const char* (*find2)(const char* p, const char* e, char a, char b) noexcept;
    /// The first '\n' in [p, e - 1) whose next byte is `c1` or `c2`; `e` when none.
    const char* (*find_nl_then)(const char* p, const char* e, char c1, char c2) noexcept;
};

/// The kernels of `p` (an unsupported path gets the best supported one below it).
const simd_kernels& kernels(simd_path p) noexcept;
/// The kernels of simd_active().
const simd_kernels& active_kernels() noexcept;

/// make_decoder(e) on a given path (tests, benchmarks, the differential fuzzer).
std::unique_ptr<decoder> make_decoder(transfer_encoding e, simd_path path);
/// base64_decode(in) on a given path.
std::string base64_decode(std::string_view in, simd_path path);
/// qp_decode(in) (body mode) on a given path.
std::string qp_decode(std::string_view in, simd_path path);

// ---- base64 tables (shared by the kernels and the decoder's slow path) ----------------------------

inline constexpr char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
inline constexpr std::uint8_t b64_pad = 64, b64_space = 65, b64_junk = 66;
inline constexpr std::uint32_t b64_bad = 0x01000000;  // set in every shifted entry of a non-alphabet byte

struct b64_tables {
    std::array<std::uint8_t, 256> v{};                      // 0..63, b64_pad, b64_space or b64_junk
    std::array<std::uint32_t, 256> d0{}, d1{}, d2{}, d3{};  // value shifted for quad position 0..3
};

constexpr b64_tables make_b64_tables() {
    b64_tables t{};
    for (int c = 0; c < 256; ++c) {
        t.v[c] = b64_junk;
        t.d0[c] = t.d1[c] = t.d2[c] = t.d3[c] = b64_bad;
    }
    for (std::uint32_t i = 0; i < 64; ++i) {
        const auto c = static_cast<unsigned char>(b64_alphabet[i]);
        t.v[c] = static_cast<std::uint8_t>(i);
        t.d0[c] = i << 18;
        t.d1[c] = i << 12;
        t.d2[c] = i << 6;
        t.d3[c] = i;
    }
    t.v['='] = b64_pad;
    for (unsigned char c : {' ', '\t', '\r', '\n', '\f', '\v'}) t.v[c] = b64_space;
    return t;
}

inline constexpr b64_tables b64 = make_b64_tables();

}  // namespace mailwire::mime::detail
