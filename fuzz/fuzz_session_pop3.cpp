// Fuzzes a whole pop3::client session: arbitrary server bytes (greeting, CAPA, SASL, status
// lines, multi-line listings and dot-stuffed bodies, pipelined replies) against a fixed script of
// operations. Input layout and verdict rules: session_harness.hpp.
//
// Operation bits (in the order they run):
//   0 login: option bit 0 → login() (APOP or USER/PASS), else authenticate() (SASL from CAPA)
//   1 STAT      2 LIST          3 LIST 1        4 UIDL       5 UIDL 1
//   6 RETR 1    7 TOP 1 5       8 RETR 1 2 3 pipelined (retrieve)
//   9 LIST 1 2 3 pipelined     10 UIDL 1 2 3 pipelined      11 DELE 1
//  12 RSET     13 NOOP         14 UTF8
// then QUIT. Option bit 1 turns pipelining off; option bit 2 caps a message at 64 bytes
// (max_message_bytes).
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "mailwire/pop3/client.hpp"
#include "session_harness.hpp"

namespace {

namespace pop3 = mailwire::pop3;

/// Counts what a download delivers (the bytes are not kept).
class counting_handler : public pop3::message_handler {
public:
    void data(std::uint32_t, std::string_view chunk) override { bytes += chunk.size(); }
    std::uint64_t bytes = 0;
};

void script(pop3::client& c, const mwfuzz::input& in) {
    if (in.option(1)) c.use_pipelining(false);
    if (in.option(2)) c.max_message_bytes(64);
    constexpr std::array<std::uint32_t, 3> numbers{1, 2, 3};

    mwfuzz::op(c, in, 0, "login", [&] {
        if (in.option(0)) c.login("fuzz", "secret");
        else c.authenticate("fuzz", "secret");
    });
    mwfuzz::op(c, in, 1, "stat", [&] { (void)c.stat(); });
    mwfuzz::op(c, in, 2, "list", [&] { (void)c.list(); });
    mwfuzz::op(c, in, 3, "list 1", [&] { (void)c.list(1); });
    mwfuzz::op(c, in, 4, "uidl", [&] { (void)c.uidl(); });
    mwfuzz::op(c, in, 5, "uidl 1", [&] { (void)c.uidl(1); });
    mwfuzz::op(c, in, 6, "retr", [&] { (void)c.retr(1); });
    mwfuzz::op(c, in, 7, "top", [&] {
        std::uint64_t bytes = 0;
        (void)c.top(1, 5, [&bytes](std::string_view b) { bytes += b.size(); });
    });
    mwfuzz::op(c, in, 8, "retrieve", [&] {
        counting_handler h;
        (void)c.retrieve(numbers, h);
    });
    mwfuzz::op(c, in, 9, "list 1 2 3", [&] { (void)c.list(numbers); });
    mwfuzz::op(c, in, 10, "uidl 1 2 3", [&] { (void)c.uidl(numbers); });
    mwfuzz::op(c, in, 11, "dele", [&] { c.dele(1); });
    mwfuzz::op(c, in, 12, "rset", [&] { c.rset(); });
    mwfuzz::op(c, in, 13, "noop", [&] { c.noop(); });
    mwfuzz::op(c, in, 14, "utf8", [&] { c.utf8(); });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    mwfuzz::run_session<pop3::client>(data, size, script);
    return 0;
}
