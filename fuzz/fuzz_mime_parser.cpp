// MIME parser: every byte reported once, results independent of the split, byte-identical
// re-serialisation through the model, decoding and mbox mode exercised.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "mailwire/error.hpp"
#include "mailwire/mime/message.hpp"
#include "mailwire/mime/parser.hpp"
#include "mailwire/mime/serializer.hpp"

namespace mime = mailwire::mime;

namespace {
void check(bool ok) {
    if (!ok) std::abort();
}

struct recorder : mime::parser_handler {
    std::string raw, decoded, shape;
    void on_message_begin(std::string_view f) override {
        raw.append(f);
        shape += 'M';
    }
    void on_part_begin(const mime::part_head& h) override {
        for (const auto& f : h.headers()) raw.append(f.raw);
        raw.append(h.separator);
        shape += '(' + h.type->mime_type() + std::to_string(h.depth);
    }
    void on_body(std::string_view s) override { raw.append(s); }
    void on_decoded(std::string_view s) override { decoded.append(s); }
    void on_preamble(std::string_view s) override { raw.append(s); }
    void on_boundary(std::string_view s, bool close) override {
        raw.append(s);
        shape += close ? '|' : '-';
    }
    void on_epilogue(std::string_view s) override { raw.append(s); }
    void on_part_end() override { shape += ')'; }
    void on_message_end(std::string_view t) override {
        raw.append(t);
        shape += 'E';
    }
};

recorder run(std::string_view in, const mime::parser_options& opt, std::size_t step) {
    recorder r;
    mime::parser p(r, opt);
    for (std::size_t i = 0; i < in.size(); i += step) p.feed(in.substr(i, step));
    p.finish();
    return r;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
    mime::parser_options opt;
    opt.decode = true;
    opt.format = (data[0] & 1) ? mime::input_format::mbox : mime::input_format::message;
    opt.limits.max_depth = 40;
    try {
        const recorder whole = run(in, opt, in.size() + 1);
        check(whole.raw == in);
        const std::size_t step = 1 + data[0] % 13;
        const recorder split = run(in, opt, step);
        check(split.raw == whole.raw && split.decoded == whole.decoded && split.shape == whole.shape);
        if (opt.format == mime::input_format::message) {
            const mime::message m = mime::message::parse(in, opt);
            check(mime::to_string(m) == in);
            m.walk([](const mime::entity& e, std::size_t) {
                (void)e.decoded_body();
                (void)e.text();
                (void)e.subject();
                (void)e.filename();
            });
        }
    } catch (const mailwire::error&) {}
    return 0;
}
