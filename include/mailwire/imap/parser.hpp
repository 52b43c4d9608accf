// The IMAP response parser (RFC 3501 §7, §9): sans-I/O and incremental.
//
// Two layers:
//  - response_parser::next(buffer) frames responses in the caller's buffer: a response is a line,
//    plus every literal it announces ({n}, {n+}, ~{n}) and the line continuing after each. It says
//    "need more", "a whole response of N bytes is here", or — for literals at least
//    parser_limits::stream_threshold bytes — hands the literal out in pieces as they arrive, so a
//    1 GB message never sits in memory. The result never depends on how the input was split.
//  - The framed bytes are tokenised into a response: tokens are string_views into the caller's
//    buffer (no copy per token); lists are a flat node array linked by sibling indices.
//
// Typed interpretation of FETCH, LIST, STATUS, ESEARCH … lives in mailwire/imap/types.hpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mailwire/export.hpp"
#include "mailwire/imap/status.hpp"

namespace mailwire::imap {

/// What a server may send; exceeding a limit is a protocol_error with errc::limit_exceeded.
struct parser_limits {
    std::size_t max_line_length = 1 << 20;        ///< one line between literals, bytes
    std::uint64_t max_literal_size = 1ull << 40;  ///< one literal, bytes (streamed or not)
    std::size_t max_response_bytes = 64u << 20;   ///< a response held in memory (streamed literals excluded)
    unsigned max_depth = 64;                      ///< nesting of parenthesised lists
    std::size_t max_tokens = 2u << 20;            ///< tokens in one response (each costs ~48 bytes)
    /// Literals of at least this many bytes are streamed (literal_begin/literal_data events)
    /// instead of being kept in the response. The default never streams.
    std::uint64_t stream_threshold = ~0ull;
};

/// One token or list in a parsed response.
struct node {
    /// What the token is.
    enum class kind : std::uint8_t {
        atom,     ///< a bare word: `FLAGS`, `\Seen`, `BODY[1.2]<0>`
        number,   ///< digits only (also an atom): `number` holds the value
        string,   ///< a quoted string
        literal,  ///< {n} followed by n bytes
        nil,      ///< NIL
        list      ///< a parenthesised list: first_child / count
    };
    kind type = kind::atom;            ///< what the token is
    bool escaped = false;              ///< string: `text` still contains backslash escapes
    bool streamed = false;             ///< literal: its bytes went to a sink; `text` is empty
    std::string_view text;             ///< atom text, string content (between the quotes), literal bytes
    std::uint64_t number = 0;          ///< number value; literal size
    std::uint32_t first_child = npos;  ///< list: index of the first element
    std::uint32_t next = npos;         ///< index of the next sibling
    std::uint32_t count = 0;           ///< list: number of elements
    static constexpr std::uint32_t npos = 0xffffffffu;  ///< "no node" for the index fields
};

/// A parsed response; views point into the buffer it was parsed from.
struct MAILWIRE_API response {
    response_line::kind type = response_line::kind::untagged;  ///< untagged, tagged or continuation
    std::string_view tag;                                      ///< tagged responses
    imap::status status = imap::status::none;                  ///< OK/NO/BAD/PREAUTH/BYE; none for data responses
    std::string_view code;                 ///< response code name as sent ("UIDNEXT"); empty when none
    std::string_view code_text;            ///< raw text after the code name inside the brackets
    std::uint32_t code_args = node::npos;  ///< first node of the code's arguments, if tokenisable
    std::string_view text;                 ///< human-readable text; continuation: the whole text
    bool has_number = false;               ///< "* 12 EXISTS"
    std::uint32_t number = 0;              ///< the number of "* 12 EXISTS" when has_number
    std::string_view name;                 ///< data response name as sent: "FETCH", "LIST", "CAPABILITY" …
    std::uint32_t data = node::npos;       ///< first node after the name
    std::vector<node> nodes;               ///< every token of the response; indexes link them

    /// Node `i` (no bounds check beyond the vector's).
    const node& at(std::uint32_t i) const { return nodes[i]; }
    /// Whether the data response name is `n` (ASCII case-insensitive): r.is("FETCH").
    [[nodiscard]] bool is(std::string_view n) const noexcept;
    /// Whether the response code is `c` (ASCII case-insensitive): r.code_is("UIDNEXT").
    [[nodiscard]] bool code_is(std::string_view c) const noexcept;
    /// The response as a status line (copies), for error texts and response_line users.
    [[nodiscard]] response_line to_line() const;
};

/// Parses one complete framed response (line + literals, no trailing CRLF required). `streamed`
/// lists offsets of literal announcements ('{') whose bytes are absent (they went to a sink).
MAILWIRE_API void parse_response(std::string_view framed, response& out, const parser_limits& lim = {},
                                 const std::vector<std::size_t>& streamed = {});

/// Incremental framer + tokenizer.
class MAILWIRE_API response_parser {
public:
    /// A parser enforcing `lim`.
    explicit response_parser(parser_limits lim = {}) : lim_(lim) {}

    /// What next() found.
    struct event {
        /// The kind of event.
        enum class kind {
            need_more,                   ///< feed more bytes (nothing consumed)
            response,                    ///< response() is ready; its views point into the buffer (and into the
                                         ///< parser for responses with streamed literals); consume afterwards
            literal_begin,               ///< a streamed literal starts: literal_seq/literal_item/literal_size
            literal_data,                ///< `data` is the next piece of the streamed literal
        } type = kind::need_more;        ///< the kind of event
        std::size_t consumed = 0;        ///< bytes of the buffer to drop after handling the event
        std::string_view data;           ///< literal_data
        std::uint64_t literal_size = 0;  ///< literal_begin: size of the streamed literal
        std::uint32_t literal_seq = 0;   ///< "* seq FETCH" the literal belongs to (0 if unknown)
        std::string_view literal_item;   ///< the FETCH item naming it: "BODY[]", "BODY[1.2]<0>"
    };

    /// Looks at `buf`, the unconsumed bytes starting at a response boundary (the same bytes as
    /// last time plus whatever arrived, after dropping what earlier events consumed).
    event next(std::string_view buf);
    /// The response of the last `response` event.
    [[nodiscard]] const response& current() const noexcept { return resp_; }
    /// The limits in force; may be changed between responses.
    parser_limits& limits() noexcept { return lim_; }
    /// Forgets a partly framed response (after a connection reset).
    void reset();

private:
    event finish(std::string_view framed, std::size_t consumed);

    parser_limits lim_;
    response resp_;
    // Framing state, relative to the buffer start of the current call.
    std::size_t scan_ = 0;        ///< bytes of the current response already framed
    std::size_t line_start_ = 0;  ///< where the current line began
    std::size_t kept_ = 0;        ///< response bytes counted against max_response_bytes
    // Streaming state.
    bool split_ = false;              ///< part of this response was streamed; the rest is in side_
    std::uint64_t literal_left_ = 0;  ///< bytes of a streamed literal still to hand out
    bool in_literal_ = false;
    std::string side_;
    std::vector<std::size_t> streamed_;
};

/// Reads a quoted string / literal / atom / NIL node as text (escapes resolved); NIL → "".
MAILWIRE_API std::string node_string(const node& n);
/// Case-insensitive ASCII equality.
MAILWIRE_API bool iequals(std::string_view a, std::string_view b) noexcept;

}  // namespace mailwire::imap
