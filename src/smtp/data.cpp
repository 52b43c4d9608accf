#include "mailwire/smtp/data.hpp"

#include <cstring>

namespace mailwire::smtp {

void data_encoder::encode(std::string_view in, std::string& out) {
    consumed_ += in.size();
    if (in.empty()) return;
    out.reserve(out.size() + in.size() + in.size() / 64 + 4);
    const char* p = in.data();
    const char* const end = p + in.size();
    while (p < end) {
        if (pending_cr_) {
            pending_cr_ = false;
            out += "\r\n";
            at_line_start_ = true;
            if (*p == '\n') {
                ++p;
                continue;
            }
        }
        if (at_line_start_ && stuff_ && *p == '.') out += '.';
        // Copy the run up to the next line end in one go: the common case is long clean lines.
        const char* stop = p;
        while (stop < end && *stop != '\r' && *stop != '\n') ++stop;
        out.append(p, static_cast<std::size_t>(stop - p));
        if (stop > p) at_line_start_ = false;
        p = stop;
        if (p == end) break;
        if (*p == '\n') {  // bare LF
            out += "\r\n";
            at_line_start_ = true;
            ++p;
        } else {  // CR: wait for a possible LF, which may be in the next chunk
            pending_cr_ = true;
            ++p;
        }
    }
}

void data_encoder::finish(std::string& out) {
    if (pending_cr_) {
        pending_cr_ = false;
        out += "\r\n";
        at_line_start_ = true;
    }
    if (!at_line_start_) out += "\r\n";
    at_line_start_ = true;
    if (stuff_) out += ".\r\n";
}

void transmitted_size_counter::feed(std::string_view in) noexcept {
    // The rules of data_encoder(false), counted instead of written.
    for (const char c : in) {
        if (pending_cr_) {
            pending_cr_ = false;
            n_ += 2;
            at_line_start_ = true;
            if (c == '\n') continue;
        }
        if (c == '\r') {
            pending_cr_ = true;
        } else if (c == '\n') {
            n_ += 2;
            at_line_start_ = true;
        } else {
            ++n_;
            at_line_start_ = false;
        }
    }
}

std::uint64_t transmitted_size_counter::finish() noexcept {
    if (pending_cr_) {
        pending_cr_ = false;
        n_ += 2;
        at_line_start_ = true;
    }
    if (!at_line_start_) n_ += 2;
    at_line_start_ = true;
    return n_;
}

std::uint64_t transmitted_size(std::string_view message) noexcept {
    transmitted_size_counter c;
    c.feed(message);
    return c.finish();
}

std::string xtext(std::string_view s) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (c < 0x21 || c > 0x7e || c == '+' || c == '=') {
            out += '+';
            out += hex[c >> 4];
            out += hex[c & 15];
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

}  // namespace mailwire::smtp
