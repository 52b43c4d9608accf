// Streaming, sans-I/O MIME parser (RFC 5322 / RFC 2045-2049), in the style of Beast's
// basic_parser and GMime: feed() bytes as they arrive, finish() at the end, and receive events.
//
// Every input byte is reported exactly once, through exactly one event, so concatenating the raw
// views of all events (from_line, header raw, separator, body, preamble, boundary, epilogue,
// trailer) gives the input back. That is what makes byte-identical re-serialisation possible.
//
// Rules (decided here, documented because real mail breaks all of them):
// - Lines end at LF; a CR before the LF belongs to the line ending. Bare CR is ordinary data.
// - Header fields: `name WSP* ":" value`, name = printable ASCII except ':' (RFC 5322 §3.6.8,
//   with the obsolete WSP before the colon of §4.5). Lines starting with WSP continue the previous
//   field (unfolding, §2.2.3). 8-bit bytes are kept raw.
// - A header line that is neither a field, a continuation nor blank (no colon, an 8-bit or empty
//   name, a UTF-8 BOM before the name, a continuation with nothing to continue) is kept as a
//   field with an empty name and skipped; the header block goes on until a blank line. This is
//   GMime's behaviour; such lines still count against max_header_bytes. When a part has several
//   Content-Type (or Content-Transfer-Encoding) fields, the last one counts (GMime does the same).
// - A boundary delimiter (RFC 2046 §5.1.1) is recognised only at a line start, as "--" boundary
//   followed only by blanks; "--" boundary "--" closes. Every open multipart's boundary is
//   checked, innermost first, so a boundary of an outer multipart also ends the inner ones (a
//   missing close delimiter is tolerated), and an inner boundary that is a prefix of an outer one
//   is told apart. The line ending before a delimiter belongs to the delimiter (§5.1.1). A
//   delimiter line longer than 4096 bytes is not recognised. A boundary line found among a part's
//   headers ends that part (no separator, empty body); a delimiter line directly after another
//   counts once (no empty part between them, as in GMime): its bytes go with the next delimiter.
// - message/news (RFC 1036 era) is descended into like message/rfc822.
// - A multipart without a usable boundary parameter is a leaf. message/rfc822 and message/global
//   are descended into when their transfer encoding is 7bit/8bit/binary (an encoded message
//   stays a leaf, its decoded body can be parsed again). Parts of multipart/digest default to
//   message/rfc822 (RFC 2046 §5.1.5).
// - A first line "From " (mbox envelope) is reported through on_message_begin. In mbox mode every
//   "From " at a line start starts a new message; the line ending before it is the message's
//   trailer. With unquote_from, one '>' is removed from body lines matching ">+From " (mboxrd);
//   only then does the output differ from the input.
#pragma once

#include <cstddef>
#include <istream>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "mailwire/export.hpp"
#include "mailwire/mime/encoding.hpp"
#include "mailwire/mime/params.hpp"

namespace mailwire::mime {

/// Limits; exceeding one throws mailwire::parse_error with errc::limit_exceeded.
struct parser_limits {
    std::size_t max_header_bytes = 4u << 20;  ///< one entity's header block
    std::size_t max_line_length = 1u << 20;   ///< one physical header line (body lines are unlimited)
    std::size_t max_depth = 128;              ///< nesting of multiparts and embedded messages
    std::size_t max_parts = 100000;           ///< entities per message
};

/// What the input holds.
enum class input_format {
    message,  ///< one message (a leading "From " line is taken as its envelope)
    mbox,     ///< a sequence of messages separated by "From " lines
};

/// How the parser reads its input.
struct parser_options {
    input_format format = input_format::message;  ///< one message or an mbox
    bool decode = false;                          ///< also deliver decoded leaf bodies through on_decoded
    bool unquote_from = false;                    ///< mbox: ">From " → "From " in bodies (mboxrd)
    parser_limits limits;                         ///< limits against hostile input
};

/// One header field, as views into the parser's buffer (valid during on_part_begin only).
struct header_field {
    std::string_view name;   ///< as written, without blanks before the colon; "" for a line that is not a field
    std::string_view value;  ///< after the colon and its leading blanks, folding kept, final line end removed
    std::string_view raw;    ///< the whole field with its line ending(s), exactly as in the input
};

/// What a part contains.
enum class part_kind {
    leaf,       ///< a body
    multipart,  ///< parts between boundary delimiters
    message,    ///< an embedded message (message/rfc822, message/global, message/news)
};

/// What on_part_begin reports about a part.
struct part_head {
    const std::vector<header_field>* fields = nullptr;  ///< the header fields, in order (see headers())
    std::string_view separator;          ///< the blank line ending the headers ("\r\n", "\n") or "" when missing
    const content_type* type = nullptr;  ///< parsed Content-Type (the default when absent); never null in events
    transfer_encoding encoding = transfer_encoding::seven_bit;  ///< parsed Content-Transfer-Encoding
    part_kind kind = part_kind::leaf;                           ///< leaf, multipart or embedded message
    std::string_view boundary;                                  ///< multipart boundary parameter (without "--")
    std::size_t depth = 0;                                      ///< 0 = the message itself

    /// The header fields, in order.
    [[nodiscard]] const std::vector<header_field>& headers() const { return *fields; }
    /// First field named `name` (case-insensitive), nullptr when absent.
    [[nodiscard]] const header_field* find(std::string_view name) const;
};

/// Receives parser events. Views are valid only during the call.
class MAILWIRE_API parser_handler {
public:
    virtual ~parser_handler();
    /// A message starts; `from_line` is its mbox envelope line with line ending, or "".
    virtual void on_message_begin(std::string_view from_line);
    /// A part's headers are complete. Parts nest: begin/end pairs form the tree.
    virtual void on_part_begin(const part_head& head);
    /// Raw (still encoded) bytes of a leaf body, in pieces.
    virtual void on_body(std::string_view raw);
    /// Decoded bytes of a leaf body (only with parser_options::decode).
    virtual void on_decoded(std::string_view data);
    /// Bytes of a multipart before its first delimiter.
    virtual void on_preamble(std::string_view raw);
    /// A delimiter line with the line ending before it and its own; `close` for "--b--". Doubled
    /// delimiter lines arrive as consecutive calls with no part between them.
    virtual void on_boundary(std::string_view raw, bool close);
    /// Bytes of a multipart after its close delimiter.
    virtual void on_epilogue(std::string_view raw);
    /// The innermost open part ends.
    virtual void on_part_end();
    /// The message ends; `trailer` is the line ending before the next mbox "From " line, or "".
    virtual void on_message_end(std::string_view trailer);
};

/// The streaming parser. Not copyable; reusable after finish() (or reset()).
class MAILWIRE_API parser {
public:
    /// A parser reporting to `handler`, which must outlive it.
    explicit parser(parser_handler& handler, parser_options options = {});
    ~parser();
    parser(const parser&) = delete;
    parser& operator=(const parser&) = delete;

    /// Consumes `data` (any split is fine). Throws parse_error on a limit; the parser must then
    /// be reset() before further use.
    void feed(std::string_view data);
    /// Ends the input: closes open parts and the message. The parser is then ready for new input.
    void finish();
    /// Drops all state (e.g. after an exception).
    void reset();

    /// Number of messages completed so far (mbox).
    [[nodiscard]] std::size_t messages() const noexcept;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

/// Streams a file through a parser: a regular file is mapped 4 MiB at a time, anything else
/// read in 256 KiB blocks (never the whole file in memory). Throws
/// mailwire::error (errc::io_error) when the file cannot be read.
MAILWIRE_API void parse_file(const std::string& path, parser_handler& handler, parser_options options = {});
/// Same for an already open file descriptor (not closed).
MAILWIRE_API void parse_fd(int fd, parser_handler& handler, parser_options options = {});
/// Same for a std::istream.
MAILWIRE_API void parse_stream(std::istream& in, parser_handler& handler, parser_options options = {});

}  // namespace mailwire::mime
