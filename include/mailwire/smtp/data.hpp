// SMTP body transfer codecs — sans-I/O, streaming (feed chunks split anywhere).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "mailwire/export.hpp"

namespace mailwire::smtp {

/// Encodes a message for DATA (RFC 5321 §4.5.2): bare LF and bare CR become CRLF, a line starting
/// with "." gets a second one, and finish() ends the last line and appends ".\r\n". With
/// `stuff_dots` false it only canonicalises line endings (BDAT of a text message).
class MAILWIRE_API data_encoder {
public:
    /// `stuff_dots` false: line ends only, no dot-stuffing and no final "." (for BDAT).
    explicit data_encoder(bool stuff_dots = true) noexcept : stuff_(stuff_dots) {}
    /// Appends the encoded form of `in` to `out`.
    void encode(std::string_view in, std::string& out);
    /// Ends the body: CRLF if the last line was open, then ".\r\n" when stuffing.
    void finish(std::string& out);
    /// Bytes of input seen so far.
    [[nodiscard]] std::uint64_t consumed() const noexcept { return consumed_; }

private:
    bool stuff_;
    bool at_line_start_ = true;
    bool pending_cr_ = false;  // a CR whose LF may come in the next chunk
    std::uint64_t consumed_ = 0;
};

/// Counts the size of a message as transmitted (RFC 1870 §4): every line end as CRLF (a bare LF
/// or CR counts two octets), plus the CRLF that ends an open last line — the bytes BDAT carries,
/// and DATA before dot-stuffing and the final "." (which SIZE= does not count). Feed chunks split
/// anywhere, then call finish() once.
class MAILWIRE_API transmitted_size_counter {
public:
    /// Counts `in`.
    void feed(std::string_view in) noexcept;
    /// The total, with the last line ended.
    [[nodiscard]] std::uint64_t finish() noexcept;

private:
    std::uint64_t n_ = 0;
    bool at_line_start_ = true;
    bool pending_cr_ = false;
};

/// transmitted_size_counter over one piece: the SIZE= value of `message`.
[[nodiscard]] MAILWIRE_API std::uint64_t transmitted_size(std::string_view message) noexcept;

/// xtext (RFC 3461 §4): "+" and "=" and bytes outside 0x21–0x7E as "+HH".
MAILWIRE_API std::string xtext(std::string_view s);

}  // namespace mailwire::smtp
