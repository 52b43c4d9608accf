// Fuzzes a whole smtp::client session: arbitrary server bytes (greeting, multi-line EHLO, SASL,
// pipelined MAIL/RCPT/DATA/BDAT replies) against a fixed script of operations. Input layout and
// verdict rules: session_harness.hpp.
//
// Operation bits (in the order they run):
//   0 AUTH (mechanism chosen from the EHLO AUTH keyword)
//   1 NOOP    2 VRFY postmaster    3 RSET
//   4 send: one recipient, a small message
//   5 send: three recipients, 8BITMIME, DSN (RET/ENVID/NOTIFY/ORCPT), a body with dot-stuffing
//   6 send_many: three messages (pipelined BDAT … LAST when PIPELINING and CHUNKING are offered)
//   7 send: BINARYMIME (BDAT only)
// then QUIT. Option bit 0 turns CHUNKING off (DATA), option bit 1 turns PIPELINING off.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "mailwire/smtp/client.hpp"
#include "session_harness.hpp"

namespace {

namespace smtp = mailwire::smtp;

constexpr std::string_view kMessage =
    "From: fuzz@example.org\r\nTo: rcpt@example.org\r\nSubject: fuzz\r\n\r\nhello\r\n";
// Lines starting with a dot (stuffed on the wire), a bare LF, and 8-bit text.
constexpr std::string_view kDottedMessage =
    "From: fuzz@example.org\r\nTo: a@example.org\r\nSubject: dots\r\n\r\n.\r\n..x\r\nbare\nline \xc3\xa9t\xc3\xa9\r\n";

void script(smtp::client& c, const mwfuzz::input& in) {
    if (in.option(0)) c.use_chunking(false);
    if (in.option(1)) c.use_pipelining(false);

    mwfuzz::op(c, in, 0, "auth", [&] { c.authenticate("fuzz", "secret"); });
    mwfuzz::op(c, in, 1, "noop", [&] { c.noop(); });
    mwfuzz::op(c, in, 2, "vrfy", [&] { (void)c.vrfy("postmaster"); });
    mwfuzz::op(c, in, 3, "rset", [&] { c.rset(); });
    mwfuzz::op(c, in, 4, "send", [&] {
        smtp::envelope env;
        env.from = "fuzz@example.org";
        env.to = {"rcpt@example.org"};
        (void)c.send(env, kMessage);
    });
    mwfuzz::op(c, in, 5, "send 8bit dsn", [&] {
        smtp::envelope env;
        env.from = "fuzz@example.org";
        env.to = {"a@example.org", "b@example.org", "c@example.org"};
        env.body = smtp::body_type::eight_bit_mime;
        env.ret = smtp::dsn_return::headers;
        env.envid = "fuzz-1";
        env.notify = "SUCCESS,FAILURE";
        env.orcpt = true;
        (void)c.send(env, kDottedMessage);
    });
    mwfuzz::op(c, in, 6, "send_many", [&] {
        std::vector<smtp::outgoing> batch;
        for (int i = 0; i < 3; ++i) {
            smtp::outgoing o;
            o.env.from = "fuzz@example.org";
            o.env.to = {"rcpt@example.org"};
            o.message = smtp::memory_source(kMessage);
            batch.push_back(std::move(o));
        }
        (void)c.send_many(std::move(batch));
    });
    mwfuzz::op(c, in, 7, "send binary", [&] {
        smtp::envelope env;
        env.from = "fuzz@example.org";
        env.to = {"rcpt@example.org"};
        env.body = smtp::body_type::binary_mime;
        (void)c.send(env, kMessage);
    });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    mwfuzz::run_session<smtp::client>(data, size, script);
    return 0;
}
