// Fuzzes the POP3 multi-line decoder (unstuffing, terminator detection) and the listing parsers.
//
// The first byte picks a split point; the rest is a multi-line body followed by whatever comes
// next. Decoding must give the same body, the same stopping point and the same byte count whole
// and split; a difference is a bug (trap). Every line before the terminator also goes through the
// LIST/UIDL/STAT parsers, and the line after it through the status parser.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "mailwire/error.hpp"
#include "mailwire/pop3/multiline.hpp"
#include "mailwire/pop3/response.hpp"

namespace {
struct outcome {
    std::string body;
    std::size_t used = 0;
    bool done = false;
};

outcome decode(std::string_view in, std::size_t split) {
    mailwire::pop3::multiline_decoder d;
    outcome o;
    auto sink = [&](std::string_view c) {
        if (c.empty()) __builtin_trap();  // never an empty chunk
        o.body.append(c);
    };
    auto r = d.feed(in.substr(0, split), sink);
    o.used = r.used;
    if (!r.done) {
        if (r.used != split) __builtin_trap();  // all input is used until the end is found
        auto r2 = d.feed(in.substr(split), sink);
        o.used += r2.used;
        r = r2;
    }
    o.done = r.done;
    if (d.body_bytes() != o.body.size()) __builtin_trap();
    if (o.body.size() > in.size()) __builtin_trap();  // unstuffing never adds bytes
    return o;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
    const std::size_t split = in.empty() ? 0 : data[0] % (in.size() + 1);
    const auto whole = decode(in, in.size());
    const auto parts = decode(in, split);
    if (whole.body != parts.body || whole.used != parts.used || whole.done != parts.done) __builtin_trap();

    std::string_view body = whole.body;
    while (!body.empty()) {
        auto nl = body.find('\n');
        auto line = body.substr(0, nl);
        body = nl == std::string_view::npos ? std::string_view{} : body.substr(nl + 1);
        try {
            (void)mailwire::pop3::parse_list_line(line);
        } catch (const mailwire::error&) {}
        try {
            (void)mailwire::pop3::parse_uidl_line(line);
        } catch (const mailwire::error&) {}
        try {
            (void)mailwire::pop3::parse_stat(line);
        } catch (const mailwire::error&) {}
        (void)mailwire::pop3::announced_octets(line);
    }
    auto next = in.substr(whole.used);
    next = next.substr(0, next.find('\n'));
    try {
        auto st = mailwire::pop3::parse_status(next);
        (void)mailwire::pop3::classify_response_code(st.code);
    } catch (const mailwire::error&) {}
    return 0;
}
