// Fuzzes the sans-I/O interpretation of the responses the client used to decode inline (NAMESPACE,
// QUOTA, QUOTAROOT, METADATA, ID, VANISHED, COPYUID/APPENDUID/MODIFIED codes) and the THREAD tree.
// The first byte picks the collection bound (so the limit paths run too) and the chunk size; the
// rest is server output, framed by the incremental parser. Every parser sees every response: each
// must either return a value or throw a mailwire::error, never crash, hang or exceed its bound.
#include <cstddef>
#include <cstdint>
#include <string>

#include "imap/responses.hpp"
#include "mailwire/error.hpp"
#include "mailwire/imap/parser.hpp"
#include "mailwire/imap/types.hpp"

namespace {

using namespace mailwire::imap;

template <class F>
void guarded(F&& f) {
    try {
        f();
    } catch (const mailwire::error&) {}
}

std::size_t count_nodes(const std::vector<thread_node>& forest) {
    std::size_t n = 0;
    std::vector<const thread_node*> pending;
    for (const auto& t : forest) pending.push_back(&t);
    while (!pending.empty()) {
        const thread_node* t = pending.back();
        pending.pop_back();
        ++n;
        for (const auto& c : t->children) pending.push_back(&c);
    }
    return n;
}

void interpret(const response& r, std::size_t bound) {
    guarded([&] {
        const auto ns = detail::interpret_namespace(r, bound);
        if (ns.personal.size() + ns.other_users.size() + ns.shared.size() > bound) __builtin_trap();
    });
    guarded([&] {
        if (detail::interpret_quota(r, bound).resources.size() > bound) __builtin_trap();
    });
    guarded([&] {
        if (detail::interpret_quotaroot(r, bound).size() > bound) __builtin_trap();
    });
    guarded([&] {
        if (detail::interpret_metadata(r, bound).size() > bound) __builtin_trap();
    });
    guarded([&] {
        if (detail::interpret_id(r, bound).size() > bound) __builtin_trap();
    });
    guarded([&] { (void)detail::interpret_vanished(r); });
    guarded([&] {
        std::size_t n = 0;
        auto forest = interpret_thread(r, bound, &n);
        if (n > bound || count_nodes(forest) != n) __builtin_trap();
        const auto copy = forest;  // iterative copy, compare and destroy
        if (!(copy == forest)) __builtin_trap();
    });
    guarded([&] {
        if (interpret_search(r, bound).ids.size() > bound) __builtin_trap();
    });
    const auto args = r.code_text;
    (void)detail::parse_copyuid(args);
    (void)detail::parse_appenduid(args);
    (void)detail::parse_modified(args);
    (void)detail::parse_copyuid(r.text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::size_t bound = (data[0] & 0x0f) == 0 ? 1000 : (data[0] & 0x0f);
    const std::size_t chunk = 1 + (data[0] >> 4) * 7;
    parser_limits lim;
    lim.max_response_bytes = 1 << 16;
    lim.max_line_length = 1 << 14;
    lim.max_depth = 16;
    const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
    response_parser p(lim);
    std::string buf;
    try {
        for (std::size_t pos = 0; pos < in.size(); pos += chunk) {
            buf.append(in.substr(pos, chunk));
            for (;;) {
                auto ev = p.next(buf);
                if (ev.type == response_parser::event::kind::need_more) break;
                if (ev.type == response_parser::event::kind::response) interpret(p.current(), bound);
                if (ev.consumed > buf.size()) __builtin_trap();
                buf.erase(0, ev.consumed);
            }
        }
    } catch (const mailwire::error&) {}
    return 0;
}
