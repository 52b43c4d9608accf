// Test helper: records parser events as comparable text, merging adjacent data events so the
// record does not depend on how the input was split.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "mailwire/mime/parser.hpp"

namespace mailwire::test {

struct event_recorder : mime::parser_handler {
    std::vector<std::string> events;
    std::string raw;      // every raw byte reported, in order
    std::string decoded;  // all decoded bytes, parts separated by '|'
    char last = 0;

    void data(char kind, std::string_view s) {
        raw.append(s);
        if (last == kind && !events.empty()) {
            events.back().append(s);
        } else {
            events.push_back(std::string(1, kind) + ":" + std::string(s));
            last = kind;
        }
    }
    void mark(std::string e) {
        events.push_back(std::move(e));
        last = 0;
    }

    void on_message_begin(std::string_view from) override {
        raw.append(from);
        mark("message " + std::string(from));
    }
    void on_part_begin(const mime::part_head& h) override {
        std::string e = "begin depth=" + std::to_string(h.depth) + " type=" + h.type->mime_type() +
                        " kind=" + std::to_string(static_cast<int>(h.kind)) + " fields=";
        for (const auto& f : h.headers()) {
            raw.append(f.raw);
            e += "[" + std::string(f.name) + "=" + std::string(f.value) + "]";
        }
        raw.append(h.separator);
        e += " sep=" + std::to_string(h.separator.size());
        mark(std::move(e));
    }
    void on_body(std::string_view s) override { data('b', s); }
    void on_decoded(std::string_view s) override { decoded.append(s); }
    void on_preamble(std::string_view s) override { data('p', s); }
    void on_boundary(std::string_view s, bool close) override {
        raw.append(s);
        mark(std::string(close ? "close:" : "delim:") + std::string(s));
    }
    void on_epilogue(std::string_view s) override { data('e', s); }
    void on_part_end() override {
        decoded += '|';
        mark("end");
    }
    void on_message_end(std::string_view trailer) override {
        raw.append(trailer);
        mark("message-end " + std::string(trailer));
    }

    bool operator==(const event_recorder& o) const {
        return events == o.events && raw == o.raw && decoded == o.decoded;
    }

    std::string dump() const {
        std::string s;
        for (const auto& e : events) s += e + "\n";
        return s;
    }
};

/// Parses `chunks` and returns the recorder.
inline event_recorder parse_chunks(const std::vector<std::string_view>& chunks, mime::parser_options opt = {}) {
    event_recorder r;
    mime::parser p(r, opt);
    for (auto c : chunks) p.feed(c);
    p.finish();
    return r;
}

}  // namespace mailwire::test
