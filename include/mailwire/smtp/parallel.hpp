// mailwire::smtp::send_parallel — one stream of messages spread over several pipelined SMTP
// connections, outcomes reported in input order.
#pragma once

#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <vector>

#include "mailwire/export.hpp"
#include "mailwire/smtp/client.hpp"

namespace mailwire::smtp {

/// Opens one connection for send_parallel(): a connected client, authenticated as needed, ready to
/// send. Called on that connection's own thread with its number (0 … connections − 1); it may
/// throw (the connection then counts as failed) and must not return null.
using connect_function = std::function<std::unique_ptr<client>(std::size_t connection)>;

/// How far ahead of the oldest unreported message send_parallel() hands messages out, per
/// connection: outcomes waiting for an earlier one are held in memory, at most this many times
/// the number of connections.
inline constexpr std::size_t parallel_depth = 64;

/// How a send_parallel() run went.
struct parallel_summary {
    /// Messages `next` handed out; each got exactly one outcome.
    std::size_t messages = 0;
    /// Connections that were opened (a connection opens only when a message is there for it).
    std::size_t opened = 0;
    /// One entry per connection asked for: null when it ended well or was never needed, else
    /// what ended it (its connect failed, or its session ended mid-batch).
    std::vector<std::exception_ptr> errors;
};

/// Sends the messages `next` hands out over up to `connections` connections at once, each its own
/// client (from `connect`) running client::send_many() (pipelined) on its own thread; the calling
/// thread runs the first connection.
///
/// - `next` is called under a lock, one call at a time, only when a connection is about to take a
///   message, so the source is read lazily and needs no locking of its own; each message's
///   message_source is then read on the thread of the connection that took it. Its position in
///   the order `next` handed it out is the outcome's batch_outcome::index.
/// - `done` receives one outcome per message handed out, one call at a time and in input order:
///   message i as soon as messages 0 … i are all answered. Outcomes that finish early wait in a
///   buffer bounded by `connections` × parallel_depth: no connection takes a message that far
///   ahead of the oldest unreported one (it finishes its pipeline and waits instead).
/// - A connection is opened only when there is a message for it, so `connections` larger than
///   the number of messages opens no idle sessions. When a connect fails, the message it was
///   opened for (never written anywhere) goes to another connection.
/// - When a session ends (421, a lost connection, a timeout), the messages it had on the wire get
///   outcomes with that error (client::send_many: a message whose data was answered is done,
///   the others failed); they are never sent again, so no message is sent twice. The messages
///   `next` has not handed out yet go to the other connections. A message is lost only to the
///   outcome that reports it failed.
/// - Returns when `next` has no more messages and every outcome is delivered. Throws, after every
///   outcome was delivered, when every connection that was opened or tried ended in an error: the
///   last of those errors (messages `next` has not handed out then remain untouched, as with
///   send_many()). An exception from `next` or `done` stops the handing out; the messages on the
///   wire are answered (their outcomes still reach `done`, unless `done` threw) and it is thrown.
/// - Throws error(errc::invalid_argument) when `connections` is 0, before doing anything.
MAILWIRE_API parallel_summary send_parallel(const connect_function& connect, const std::function<bool(outgoing&)>& next,
                                            std::size_t connections, const std::function<void(batch_outcome&&)>& done);

}  // namespace mailwire::smtp
