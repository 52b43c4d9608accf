// Fuzzes a whole imap::client session: arbitrary server bytes (greeting, capabilities, SASL,
// untagged data, literals, IDLE events …) against a fixed script of operations. Input layout and
// verdict rules: session_harness.hpp.
//
// Operation bits (in the order they run; tags are A0001, A0002, … in command order):
//   0 login: option bit 0 → LOGIN, else authenticate() (SASL mechanism chosen from AUTH=)
//   1 CAPABILITY          2 NAMESPACE           3 LIST "" * (option bit 1: RETURN (SPECIAL-USE
//   4 STATUS INBOX          CHILDREN STATUS (MESSAGES UNSEEN)), falling back to STATUS per mailbox)
//   5 SELECT INBOX (option bit 2: CONDSTORE)
//   6 UID FETCH 1:* with literals (option bit 3: stream literals of 16+ bytes to a sink)
//   7 UID SEARCH UNSEEN FROM (option bit 4: ESEARCH RETURN (MIN MAX COUNT))
//   8 UID THREAD REFERENCES  9 IDLE for a few ms  10 GETQUOTAROOT INBOX
//  11 APPEND a small literal 12 UID STORE +FLAGS \Deleted, then EXPUNGE
//  13 UID SORT (REVERSE DATE) 14 UID FETCH 1 BODY.PEEK[] streamed (fetch_body)
//  15 SELECT INBOX (QRESYNC …) (enables QRESYNC first)
// then LOGOUT.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mailwire/imap/client.hpp"
#include "session_harness.hpp"

namespace {

using namespace std::chrono_literals;
namespace imap = mailwire::imap;

constexpr std::string_view kMessage =
    "From: fuzz@example.org\r\nTo: rcpt@example.org\r\nSubject: fuzz\r\n\r\nhello\r\n";

void script(imap::client& c, const mwfuzz::input& in) {
    // The observer outlives this function (the harness disconnects afterwards, and a BYE during
    // LOGOUT is an event), so it owns its counter instead of capturing a local by reference.
    c.on_mailbox_event(
        [events = std::size_t{0}](const imap::mailbox_event&, const imap::mailbox_state&) mutable { ++events; });

    mwfuzz::op(c, in, 0, "login", [&] {
        if (in.option(0)) c.login("fuzz", "secret");
        else c.authenticate("fuzz", "secret");
    });
    mwfuzz::op(c, in, 1, "capability", [&] { (void)c.capability(); });
    mwfuzz::op(c, in, 2, "namespace", [&] { (void)c.namespaces(); });
    mwfuzz::op(c, in, 3, "list", [&] {
        imap::list_options o;
        if (in.option(1)) {
            o.return_special_use = true;
            o.return_children = true;
            o.status_items = {"MESSAGES", "UNSEEN"};
        }
        (void)c.list("", "*", o);
    });
    mwfuzz::op(c, in, 4, "status", [&] { (void)c.status("INBOX"); });
    mwfuzz::op(c, in, 5, "select", [&] { (void)c.select("INBOX", in.option(2)); });
    mwfuzz::op(c, in, 6, "fetch", [&] {
        std::uint64_t streamed = 0;
        imap::literal_sink sink;
        sink.begin = [](std::uint32_t, std::string_view, std::uint64_t) {};
        sink.data = [&streamed](std::string_view bytes) { streamed += bytes.size(); };
        sink.threshold = 16;
        imap::fetch_options o;
        if (in.option(3)) o.sink = &sink;
        std::size_t messages = 0;
        c.fetch(
            imap::sequence_set::all(),
            "UID FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODYSTRUCTURE BODY.PEEK[HEADER.FIELDS (SUBJECT)] BODY.PEEK[]",
            [&messages](const imap::fetch_data&) { ++messages; }, o);
    });
    mwfuzz::op(c, in, 7, "search", [&] {
        imap::search_options o;
        if (in.option(4)) o.returns = {"MIN", "MAX", "COUNT"};
        (void)c.search(imap::search_query::unseen() && imap::search_query::from("bob"), o);
    });
    mwfuzz::op(c, in, 8, "thread", [&] { (void)c.thread("REFERENCES", imap::search_query::all()); });
    mwfuzz::op(c, in, 9, "idle", [&] { c.idle([](const imap::mailbox_event&) { return true; }, 5ms); });
    mwfuzz::op(c, in, 10, "quota", [&] { (void)c.quota_root("INBOX"); });
    mwfuzz::op(c, in, 11, "append", [&] {
        imap::append_message m;
        m.data = kMessage;
        m.flags = {"\\Seen"};
        (void)c.append("INBOX", m);
    });
    mwfuzz::op(c, in, 12, "store+expunge", [&] {
        (void)c.store(imap::sequence_set::all(), imap::store_action::add, {"\\Deleted"});
        (void)c.expunge();
    });
    mwfuzz::op(c, in, 13, "sort", [&] { (void)c.sort("REVERSE DATE", imap::search_query::all()); });
    mwfuzz::op(c, in, 14, "fetch_body", [&] {
        std::uint64_t bytes = 0;
        (void)c.fetch_body(1, [&bytes](std::string_view b) { bytes += b.size(); });
    });
    mwfuzz::op(c, in, 15, "select_qresync", [&] {
        imap::qresync_params p;
        p.uidvalidity = 1;
        p.modseq = 1;
        p.known_uids = imap::sequence_set(1, 10);
        (void)c.select_qresync("INBOX", p);
    });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    mwfuzz::run_session<imap::client>(data, size, script);
    return 0;
}
