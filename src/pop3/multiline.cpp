#include "mailwire/pop3/multiline.hpp"

#include <cstring>

namespace mailwire::pop3 {

multiline_decoder::result multiline_decoder::feed(std::string_view in, const output& out) {
    const char* const begin = in.data();
    const char* const end = begin + in.size();
    const char* p = begin;
    const char* run = p;  // start of the body bytes not yet passed on
    auto flush = [&](const char* upto) {
        if (upto > run) {
            out(std::string_view(run, static_cast<std::size_t>(upto - run)));
            bytes_ += static_cast<std::uint64_t>(upto - run);
        }
    };
    auto finish = [&]() {
        state_ = state::done;
        return result{static_cast<std::size_t>(p - begin), true};
    };
    if (state_ == state::done) return {0, true};
    while (p < end) {
        switch (state_) {
        case state::mid_line: {
            // The hot path: one memchr per line, no per-byte work, no output until something must
            // be dropped or the input ends.
            const void* nl = std::memchr(p, '\n', static_cast<std::size_t>(end - p));
            if (nl == nullptr) {
                p = end;
            } else {
                p = static_cast<const char*>(nl) + 1;
                state_ = state::line_start;
            }
            break;
        }
        case state::line_start:
            if (*p == '.') {
                flush(p);  // RFC 1939 §3: the first "." of a line is stuffing (or the terminator)
                run = ++p;
                state_ = state::dot;
            } else {
                state_ = state::mid_line;
            }
            break;
        case state::dot:
            if (*p == '\r') {
                run = ++p;  // held back: ".\r\n" ends the body, ".\rX" keeps the CR
                state_ = state::dot_cr;
            } else if (*p == '\n') {
                ++p;
                return finish();
            } else {
                state_ = state::mid_line;
            }
            break;
        case state::dot_cr:
            if (*p == '\n') {
                ++p;
                return finish();
            }
            out(std::string_view("\r", 1));
            ++bytes_;
            state_ = state::mid_line;
            break;
        case state::done:
            return finish();
        }
    }
    flush(end);
    return {in.size(), false};
}

}  // namespace mailwire::pop3
