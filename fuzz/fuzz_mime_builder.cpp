// Message builder, reply() and forward(): whatever a caller passes and whatever a received
// message holds, the built message has CRLF-only header blocks with proper folding, and parsing
// it back finds exactly the header fields that were built, entity by entity (no injected
// header, no early end of the header block). Bad structured values may only throw
// mailwire::error.
//
// Input: builder fields separated by 0xFF bytes (display name, local part, domain, recipient
// name, subject, header name, header value, Message-ID, file name, MIME type / Content-ID);
// the whole input is also parsed as a received message and replied to and forwarded.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "mailwire/error.hpp"
#include "mailwire/mime/builder.hpp"
#include "mailwire/mime/serializer.hpp"

namespace mime = mailwire::mime;

namespace {

template <class F>
void attempt(F&& f) {
    try {
        f();
    } catch (const mailwire::error&) {}
}

void check_header_block(std::string_view wire) {
    const auto end = wire.find("\r\n\r\n");
    if (end == std::string_view::npos) std::abort();
    const std::string_view head = wire.substr(0, end + 2);
    for (std::size_t i = 0; i < head.size(); ++i) {
        const char c = head[i];
        if (c == '\0') std::abort();
        if (c == '\r' && (i + 1 >= head.size() || head[i + 1] != '\n')) std::abort();
        if (c == '\n' && (i == 0 || head[i - 1] != '\r')) std::abort();
        // A line that starts a field has a colon; a continuation has more than blanks.
        if (i == 0 || head[i - 1] == '\n') {
            const auto eol = head.find("\r\n", i);
            const std::string_view line = head.substr(i, eol - i);
            if (line.empty()) std::abort();
            if (line.front() == ' ' || line.front() == '\t') {
                if (line.find_first_not_of(" \t") == std::string_view::npos) std::abort();
            } else if (line.find(':') == std::string_view::npos) {
                std::abort();
            }
        }
    }
}

// Field names of `e` and its parts, not descending into an embedded message (a forwarded
// original is written back as its raw bytes: what it holds is its sender's business).
void header_names(const mime::entity& e, std::vector<std::vector<std::string>>& out) {
    std::vector<std::string> names;
    for (const auto& h : e.headers()) names.push_back(h.name);
    out.push_back(std::move(names));
    for (const auto& p : e.parts()) header_names(p, out);
}

std::vector<std::vector<std::string>> header_names(const mime::entity& e) {
    std::vector<std::vector<std::string>> out;
    header_names(e, out);
    return out;
}

void check(const mime::message_builder& b) {
    mime::message m;
    try {
        m = b.build();
    } catch (const mailwire::error&) {
        return;
    }
    const std::string wire = mime::to_string(m);
    check_header_block(wire);
    const auto back = mime::message::parse(wire);
    if (header_names(back) != header_names(m)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    std::vector<std::string> f;
    for (std::size_t i = 0; f.size() < 10;) {
        const auto sep = in.find('\xFF', i);
        f.emplace_back(in.substr(i, sep == std::string_view::npos ? std::string_view::npos : sep - i));
        i = sep == std::string_view::npos ? in.size() : sep + 1;
    }

    mime::message_builder b;
    b.from({"", "a", "example.com"}).to({"", "b", "example.org"}).text("x");
    attempt([&] { b.from({f[0], f[1], f[2]}); });
    attempt([&] { b.to({f[3], f[1], f[2]}); });
    attempt([&] { b.reply_to({f[3], "r", f[2]}); });
    b.subject(f[4]);
    attempt([&] { b.header(f[5], f[6]); });
    attempt([&] { b.message_id(f[7]); });
    attempt([&] { b.attach(f[8], "data", f[9]); });
    attempt([&] { b.html("<p>x</p>").inline_image(f[9], f[8], "img"); });
    check(b);

    mime::message original;
    try {
        original = mime::message::parse(in);
    } catch (const mailwire::error&) {
        return 0;
    }
    const mime::mailbox me{"", "me", "example.com"};
    auto r = mime::message_builder::reply(original, (size & 1) != 0, me);
    r.to({"", "z", "example.com"});
    check(r);
    for (const bool as_attachment : {true, false}) {
        auto fw = mime::message_builder::forward(original, as_attachment);
        fw.from(me).to({"", "z", "example.com"});
        check(fw);
    }
    return 0;
}
