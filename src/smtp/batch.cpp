// Several messages over one connection, pipelined across messages: a small message's MAIL, RCPT
// and "BDAT n LAST" with its bytes go out while earlier messages still await their replies
// (RFC 2920 §3.1, RFC 3030 §4.2), so the server always has the next transaction in hand.
#include <fmt/format.h>

#include <algorithm>
#include <deque>

#include "mailwire/smtp/client.hpp"
#include "mailwire/smtp/data.hpp"
#include "read_ahead.hpp"

namespace mailwire::smtp {
namespace {

// As in send(): a message up to detail::inline_limit (when its size is known) rides along with
// its commands.
using detail::inline_limit;
using detail::prefixed_source;
// Messages in flight. When the window is full, replies are read until half of it is left, and
// the next half is written in one go: few writes, and the server never runs dry.
constexpr std::size_t window = 32;
// Bytes written whose replies are still owed; bounds what sits in socket buffers.
constexpr std::size_t max_unsettled_bytes = 2u << 20;

// A message written to the pipeline whose replies are still to be read.
struct flight {
    std::size_t index = 0;
    std::vector<std::string> to;
    bool rset = false;  // an RSET went before its MAIL
    std::size_t wire_bytes = 0;
    send_result result;
};

}  // namespace

std::vector<batch_outcome> client::send_many(std::vector<outgoing> messages) {
    std::vector<batch_outcome> out;
    out.reserve(messages.size());
    std::size_t i = 0;
    send_many(
        [&](outgoing& m) {
            if (i == messages.size()) return false;
            m = std::move(messages[i++]);
            return true;
        },
        [&](batch_outcome&& o) { out.push_back(std::move(o)); });
    return out;
}

void client::send_many(const std::function<bool(outgoing&)>& next, const std::function<void(batch_outcome&&)>& done) {
    if (!is_connected()) throw error(errc::not_connected, "send needs a connection", context(stage::command));
    const bool pipelined = pipelining_ && caps_.pipelining && chunking_ && caps_.chunking;
    std::deque<flight> flights;
    std::string out;  // written at the next flush
    std::size_t unsettled = 0;
    const bool logging = has_logger();

    auto flush = [&] {
        if (out.empty()) return;
        send_raw(out);
        out.clear();
    };
    // The session is over: every message in flight gets the error, then `current` (the message in
    // hand, if any: every message `next` handed out gets an outcome), and the error is thrown.
    auto fatal = [&](std::exception_ptr e, batch_outcome* current = nullptr) {
        if (is_connected()) stream().close();  // out of step with the server: nothing more can be trusted
        for (auto& f : flights) done(batch_outcome{f.index, std::move(f.result), e});
        flights.clear();
        if (current != nullptr) {
            current->error = e;
            done(std::move(*current));
        }
        std::rethrow_exception(e);
    };
    // Reads the replies owed for the oldest message in flight and reports its outcome.
    auto settle = [&] {
        flight& f = flights.front();
        batch_outcome o{f.index, {}, nullptr};
        try {
            flush();
            auto closing = [&](const smtp::reply& r) {
                if (r.code == 421) fail(r, stage::command, "the server is closing the connection");
            };
            if (f.rset) closing(read_reply(stage::command));
            const auto mail = read_reply(stage::command);
            closing(mail);
            for (const auto& rcpt : f.to) {
                auto r = read_reply(stage::command);
                closing(r);
                f.result.recipients.push_back({rcpt, r.positive(), std::move(r)});
            }
            auto last = read_reply(stage::data);
            if (last.code == 421)
                fail(last, stage::data, "the server is closing the connection", {}, f.result.recipients);
            unsettled -= f.wire_bytes;
            if (!mail.positive()) fail(mail, stage::command, "MAIL FROM refused");
            if (f.result.accepted() == 0) {
                const auto& first = f.result.recipients.front();
                fail(first.reply, stage::command,
                     f.to.size() == 1 ? "the recipient was refused" : "every recipient was refused", first.address,
                     f.result.recipients);
            }
            if (!last.positive()) fail(last, stage::data, "the message was refused", {}, f.result.recipients);
            f.result.final_reply = std::move(last);
        } catch (const error&) {
            if (!is_connected()) fatal(std::current_exception());
            o.error = std::current_exception();
        }
        o.result = std::move(f.result);
        flights.pop_front();
        done(std::move(o));
    };
    auto settle_all = [&] {
        while (!flights.empty()) settle();
    };
    // settle_all() before `current` goes: when the session ends there, `current` gets the error too.
    auto settle_all_before = [&](batch_outcome& current) {
        try {
            settle_all();
        } catch (...) {
            current.error = std::current_exception();
            done(std::move(current));
            throw;
        }
    };

    std::string raw, body;
    for (std::size_t index = 0;; ++index) {
        outgoing m;
        try {
            if (!next(m)) break;
        } catch (...) {
            settle_all();  // the caller's failure: answer what is on the wire, keep the session in step
            throw;
        }
        batch_outcome o{index, {}, nullptr};
        if (!m.message) {
            o.error = std::make_exception_ptr(error(errc::invalid_argument, "no message", context(stage::command)));
            settle_all_before(o);
            done(std::move(o));
            continue;
        }
        const auto size = m.message->size();
        const bool small = pipelined && size && *size <= inline_limit;
        bool read_whole = false;
        std::string head;  // this message's command lines, built through the gate before any is queued
        // The previous transaction's fate is unknown yet. After a refused BDAT the state is
        // indeterminate and an RSET must come before anything else (RFC 3030 §2; Postfix leaves a
        // DATA transaction open when every RCPT was refused): start clean.
        const bool rset_first = !flights.empty();
        try {
            // MAIL FROM's SIZE=, BODY= and SMTPUTF8 from the bytes when read whole (send.cpp).
            envelope env = prepare_envelope(m.env, {}, false);
            auto announced = size;  // a lower bound; send() checks the rest when not read whole
            if (small) {
                read_whole = detail::read_ahead(*m.message, *size, raw);
                if (read_whole) {
                    env = prepare_envelope(m.env, raw, true);
                    announced = announced_size(env, *m.message, &raw);
                }
            }
            check_envelope(env, announced);
            if (read_whole) {
                if (rset_first) append_command_line(head, "RSET");
                append_command_line(head, mail_command(env, announced));
                for (const auto& r : env.to) append_command_line(head, rcpt_command(env, r));
            }
        } catch (...) {
            // Nothing of this message was sent (a bad envelope, its source failed): its outcome,
            // and the batch goes on.
            if (!is_connected()) fatal(std::current_exception(), &o);
            o.error = std::current_exception();
            settle_all_before(o);
            done(std::move(o));
            continue;
        }

        if (!read_whole) {
            // One at a time, as send() does it, once everything before it is answered.
            settle_all_before(o);
            std::unique_ptr<message_source> rest;
            message_source* src = m.message.get();
            if (small) {
                // Its size: nothing, since the source's own figure proved wrong.
                rest = std::make_unique<prefixed_source>(std::move(raw), *m.message, std::nullopt);
                src = rest.get();
                raw.clear();
            }
            try {
                o.result = send(m.env, *src);
            } catch (const smtp_error&) {
                if (!is_connected()) fatal(std::current_exception(), &o);  // 421
                o.error = std::current_exception();                        // refused; send() has reset the transaction
            } catch (...) {
                // Anything else (the source failed mid-upload, a timeout) leaves the transaction
                // half done: the session cannot go on.
                fatal(std::current_exception(), &o);
            }
            done(std::move(o));
            continue;
        }

        // Pipelined: [RSET] MAIL RCPT… BDAT n LAST <bytes>, replies read later.
        flight f;
        f.index = index;
        f.to = m.env.to;
        f.rset = rset_first;
        f.result.bytes = raw.size();
        f.result.chunked = true;
        body.clear();
        if (m.env.body == body_type::binary_mime) {
            body.swap(raw);
        } else {
            data_encoder enc(false);
            enc.encode(raw, body);
            enc.finish(body);
        }
        m.message.reset();  // closes a file source now, not after the batch
        const auto start = out.size();
        const auto bdat = fmt::format("BDAT {} LAST", body.size());
        append_command_line(head, bdat);
        if (logging) {
            std::string_view lines = head;
            while (!lines.empty()) {
                const auto end = lines.find("\r\n");
                log(log_direction::client, lines.substr(0, end));
                lines.remove_prefix(end + 2);
            }
            log(log_direction::client, fmt::format("<message: {} bytes>", body.size()));
        }
        out += head;
        out += body;  // the message itself, not a command line
        f.wire_bytes = out.size() - start;
        unsettled += f.wire_bytes;
        flights.push_back(std::move(f));
        if (progress_) progress_(flights.back().result.bytes, size);
        if (flights.size() >= window || unsettled > max_unsettled_bytes) {
            while (!flights.empty() && (flights.size() > window / 2 || unsettled > max_unsettled_bytes / 2)) settle();
        } else if (flights.size() == 1) {
            // Nothing else in flight: the server would wait for us, so write now.
            try {
                flush();
            } catch (const error&) {
                fatal(std::current_exception());
            }
        }
    }
    settle_all();
}

}  // namespace mailwire::smtp
