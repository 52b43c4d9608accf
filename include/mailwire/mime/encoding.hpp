// Content-Transfer-Encoding (RFC 2045 §6): streaming decoders and encoders, one-shot helpers.
//
// Decoders are stateful and accept input split anywhere (a chunk may end inside a base64 quad,
// a "=XX" escape or a CRLF). They are tolerant: junk is skipped and reported via saw_errors(),
// never thrown, because a mail reader must show what it can.
//
// On x86-64 the base64 and quoted-printable decoders (and the MIME parser's line scan) use AVX2
// or SSSE3 when the CPU has them, chosen once per process; the output is the same on every path.
// The environment variable MAILWIRE_SIMD=scalar|ssse3|avx2 caps the choice (for comparisons and
// benchmarks); a path the CPU lacks falls back to the best one below it.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "mailwire/export.hpp"

namespace mailwire::mime {

/// A Content-Transfer-Encoding.
enum class transfer_encoding {
    seven_bit,         ///< "7bit": short lines of ASCII (the default)
    eight_bit,         ///< "8bit": short lines, 8-bit bytes allowed
    binary,            ///< "binary": any bytes, no line structure
    quoted_printable,  ///< "quoted-printable" (RFC 2045 §6.7)
    base64,            ///< "base64" (RFC 2045 §6.8)
    uuencode,          ///< "x-uuencode" and its aliases (not standard, still common)
    unknown,           ///< anything else; the body is passed through undecoded
};

/// Parses a Content-Transfer-Encoding value, case-insensitive, blanks and comments ignored.
/// "7bit"/"8bit"/"binary"/"quoted-printable"/"base64"; "x-uuencode", "x-uue", "uuencode", "uue"
/// → uuencode; empty → seven_bit (RFC 2045 §6.1 default); anything else → unknown.
MAILWIRE_API transfer_encoding parse_transfer_encoding(std::string_view value);

/// The header spelling: "7bit", "8bit", "binary", "quoted-printable", "base64", "x-uuencode";
/// unknown → "".
MAILWIRE_API std::string_view to_string(transfer_encoding e) noexcept;

/// A streaming decoder. Feed chunks with decode(), then call finish() once.
class MAILWIRE_API decoder {
public:
    virtual ~decoder();
    /// Decodes `in`, appending to `out`. Incomplete trailing input is kept for the next call.
    virtual void decode(std::string_view in, std::string& out) = 0;
    /// Flushes what is left (a partial quad, a dangling "=", trailing blanks) to `out`.
    virtual void finish(std::string& out) = 0;
    /// True once malformed input was seen (bad characters, bad escapes, truncated data).
    [[nodiscard]] virtual bool saw_errors() const noexcept = 0;
};

/// Decoder for `e`; 7bit, 8bit, binary and unknown get the identity decoder.
MAILWIRE_API std::unique_ptr<decoder> make_decoder(transfer_encoding e);

/// Base64 (RFC 2045 §6.8) decode of a whole string; skips whitespace and junk, accepts missing
/// padding, stops nothing at '=' (data after padding is decoded too, as concatenated streams).
MAILWIRE_API std::string base64_decode(std::string_view in);
/// Base64 encode; lines of `line_length` characters (rounded down to a multiple of 4) separated
/// by CRLF, no CRLF after the last line; 0 = one line.
MAILWIRE_API std::string base64_encode(std::string_view in, std::size_t line_length = 76);

/// Quoted-printable (RFC 2045 §6.7) decode of a whole string. Accepts lower-case hex, keeps a bad
/// escape ("=G1", "=" at the end) as written, removes trailing blanks on each line and soft line
/// breaks ("=" + blanks + line end). Line ends are kept as they are (CRLF or LF).
/// header_mode: RFC 2047 "Q" — '_' is a space, no line structure.
MAILWIRE_API std::string qp_decode(std::string_view in, bool header_mode = false);
/// Quoted-printable encode. Body mode: line ends (CRLF or LF) become CRLF, lines are soft-broken
/// so none exceeds 76 characters, blanks before a line end and at the very end are encoded, as are
/// bare CR/LF, '=', 8-bit and control bytes, and a '.' or "From " at a line start (safe for SMTP
/// and mbox). header_mode: RFC 2047 "Q" with the phrase-safe alphabet, spaces as '_', no breaks.
MAILWIRE_API std::string qp_encode(std::string_view in, bool header_mode = false);

/// A streaming encoder for the serialiser: feed chunks with encode(), then finish() once.
class MAILWIRE_API encoder {
public:
    virtual ~encoder();
    /// Encodes `in`, appending to `out`; input may be split anywhere.
    virtual void encode(std::string_view in, std::string& out) = 0;
    /// Flushes pending state. The output does not end with a line break; the caller adds one.
    virtual void finish(std::string& out) = 0;
};

/// Encoder for `e`: base64 (76-character CRLF lines), quoted-printable (as qp_encode), uuencode
/// ("begin 644 attachment" ... "end", CRLF lines); identity for 7bit/8bit/binary/unknown.
MAILWIRE_API std::unique_ptr<encoder> make_encoder(transfer_encoding e);

/// Which encoding a body needs. `sample` may be the whole body or its first few hundred KB.
/// 7bit: ASCII, no NUL, no bare CR, lines ≤ 998 (and, when !is_text, no bare LF: binary data must
/// survive line-end canonicalisation). quoted_printable: text that is mostly ASCII (≤ 1/6 of bytes
/// need escaping) without NUL. base64: everything else.
MAILWIRE_API transfer_encoding choose_encoding(std::string_view sample, bool is_text);

}  // namespace mailwire::mime
