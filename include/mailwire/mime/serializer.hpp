// Writing entity trees back to bytes.
//
// An unmodified parsed message is written back byte for byte: raw header bytes, the original
// blank line, raw bodies, preamble, delimiter lines and epilogue, with their original line ends.
// Headers set through the API are written canonically, folded at whitespace to at most 78 columns
// where possible, with CRLF. Bodies set through set_content are encoded (Content-Transfer-Encoding)
// while writing, in 64 KiB pieces, so a large attachment is never held twice.
#pragma once

#include <string>
#include <string_view>

#include "mailwire/export.hpp"
#include "mailwire/mime/message.hpp"

namespace mailwire::mime {

/// Where serialised bytes go.
class MAILWIRE_API output {
public:
    virtual ~output();
    /// Takes the next piece of output (called many times, in order).
    virtual void write(std::string_view bytes) = 0;
};

/// Appends to a std::string.
class MAILWIRE_API string_output : public output {
public:
    /// Appends to `s`, which must outlive this object.
    explicit string_output(std::string& s) : s_(s) {}
    /// Appends `bytes` to the string.
    void write(std::string_view bytes) override { s_.append(bytes); }

private:
    std::string& s_;
};

/// Writes an entity (headers, blank line, body or parts).
MAILWIRE_API void serialize(const entity& e, output& out);
/// Writes a message, including its mbox envelope line and trailer when it has them.
MAILWIRE_API void serialize(const message& m, output& out);
/// serialize() of an entity into a string.
[[nodiscard]] MAILWIRE_API std::string to_string(const entity& e);
/// serialize() of a message into a string.
[[nodiscard]] MAILWIRE_API std::string to_string(const message& m);
/// Writes a message to a file (created or truncated); throws mailwire::error (io_error).
MAILWIRE_API void write_file(const message& m, const std::string& path);

/// A header field written canonically: "Name: value" CRLF, folded at whitespace so lines stay
/// within 78 columns where possible. A value that already contains line breaks is taken as
/// pre-folded and written as it is.
///
/// Every header the serialiser writes from API values goes through here, so this is where header
/// injection stops: throws mailwire::error (invalid_argument) when `name` is not an RFC 5322 §2.2
/// field name (1..996 printable US-ASCII characters except colon) or `value` contains NUL or a
/// line break that is not folding (CRLF followed by a space or tab, then by something other than
/// blanks; RFC 5322 §2.2.3): a bare CR, a bare LF and an empty continuation line are rejected.
[[nodiscard]] MAILWIRE_API std::string format_header(std::string_view name, std::string_view value);

}  // namespace mailwire::mime
