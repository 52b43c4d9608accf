// POP3 multi-line responses (RFC 1939 §3) — a sans-I/O decoder: bytes in, unstuffed body bytes out.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include "mailwire/export.hpp"

namespace mailwire::pop3 {

/// Removes the byte-stuffing of a multi-line response body (a leading "." on a line is dropped)
/// and finds its terminating line ".". Feed it the bytes that follow the "+OK" status line, split
/// anywhere: the result never depends on where the input was cut.
///
/// Body bytes are passed on unchanged otherwise (CRLF stays CRLF, binary bytes pass), as views
/// into the input — no copy — so one feed normally produces one output chunk. A bare LF is
/// accepted as a line end, so ".\n" also terminates (a stuffing server can never send it as data).
class MAILWIRE_API multiline_decoder {
public:
    /// Receives body bytes; never called with an empty chunk.
    using output = std::function<void(std::string_view chunk)>;
    /// What one feed() did.
    struct result {
        std::size_t used = 0;  ///< bytes of the input consumed; after `done` the rest is the next response
        bool done = false;     ///< the terminating line was consumed
        /// Field-wise comparison.
        bool operator==(const result&) const = default;
    };

    /// Consumes bytes up to and including the terminating line (all of `in` if it is not there).
    result feed(std::string_view in, const output& out);
    /// The terminating line has been consumed; feed() consumes nothing more until reset().
    [[nodiscard]] bool done() const noexcept { return state_ == state::done; }
    /// Body bytes produced so far (the message size once done).
    [[nodiscard]] std::uint64_t body_bytes() const noexcept { return bytes_; }
    /// Ready for the next response.
    void reset() noexcept {
        state_ = state::line_start;
        bytes_ = 0;
    }

private:
    enum class state : unsigned char { line_start, dot, dot_cr, mid_line, done };
    state state_ = state::line_start;
    std::uint64_t bytes_ = 0;
};

}  // namespace mailwire::pop3
