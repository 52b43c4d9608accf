// Fuzzes the incremental IMAP response parser and the typed interpretation of every response:
// the first byte picks a chunk size and whether big literals are streamed, the rest is server output.
#include <cstddef>
#include <cstdint>
#include <string>

#include "mailwire/error.hpp"
#include "mailwire/imap/parser.hpp"
#include "mailwire/imap/types.hpp"

namespace {

// One object reused across the responses of an input, as the client does: it must always end up
// equal to a fresh interpretation (storage reuse must never leak a previous message's data).
mailwire::imap::fetch_data reused;

void interpret(const mailwire::imap::response& r) {
    using namespace mailwire::imap;
    try {
        if (r.is("FETCH")) {
            const auto fresh = interpret_fetch(r);
            interpret_fetch(r, reused);
            if (!(fresh == reused)) __builtin_trap();
        }
        if (r.is("LIST") || r.is("LSUB")) (void)interpret_list(r);
        else if (r.is("STATUS")) (void)interpret_status(r);
        else if (r.is("SEARCH") || r.is("ESEARCH") || r.is("SORT")) (void)interpret_search(r);
        else if (r.is("THREAD")) (void)interpret_thread(r);
        (void)r.to_line();
        for (const auto& n : r.nodes) (void)decode_mailbox_name(n.text);
    } catch (const mailwire::error&) {}
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::size_t chunk = 1 + (data[0] & 0x1f);
    mailwire::imap::parser_limits lim;
    if (data[0] & 0x20) lim.stream_threshold = 4;
    if (data[0] & 0x40) lim.max_depth = 8;
    lim.max_response_bytes = 1 << 16;
    lim.max_line_length = 1 << 14;
    const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
    mailwire::imap::response_parser p(lim);
    std::string buf;
    reused = {};
    try {
        for (std::size_t pos = 0; pos < in.size(); pos += chunk) {
            buf.append(in.substr(pos, chunk));
            for (;;) {
                auto ev = p.next(buf);
                if (ev.type == mailwire::imap::response_parser::event::kind::need_more) break;
                if (ev.type == mailwire::imap::response_parser::event::kind::response) interpret(p.current());
                if (ev.consumed > buf.size()) __builtin_trap();
                buf.erase(0, ev.consumed);
            }
        }
    } catch (const mailwire::error&) {}
    return 0;
}
