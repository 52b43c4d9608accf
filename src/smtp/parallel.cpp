// One stream of messages over several pipelined connections: a shared cursor hands messages out
// lazily (under a lock), each connection runs send_many() on its own thread, and a reorder buffer
// passes outcomes on in input order. The buffer is bounded because the cursor refuses to run more
// than connections × parallel_depth messages ahead of the oldest unreported one; a connection
// refused that way ends its send_many() call (answering its whole pipeline) before it waits, so
// the connection holding the oldest message is never the one waiting.
#include "mailwire/smtp/parallel.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

namespace mailwire::smtp {
namespace {

// A message `next` handed out, with its place in the input order.
struct taken {
    std::size_t index = 0;
    outgoing message;
};

enum class take { got, full, exhausted, stopped };

class runner {
public:
    runner(const connect_function& connect, const std::function<bool(outgoing&)>& next, std::size_t connections,
           const std::function<void(batch_outcome&&)>& done)
        : connect_(connect), next_(next), done_(done), depth_(connections * parallel_depth), errors_(connections),
          live_(connections) {}

    void worker(std::size_t k) noexcept;
    // The connections that will never run (their thread could not start).
    void abandon(std::size_t count) noexcept {
        for (std::size_t i = 0; i < count; ++i) end_worker(nullptr);
    }
    parallel_summary finish();

private:
    take pull_locked(taken& out);
    void give_back(taken&& t);
    void report(batch_outcome&& o) noexcept;
    void deliver_locked(batch_outcome&& o) noexcept;
    void stop_with(std::exception_ptr e);
    void end_worker(std::exception_ptr e) noexcept;
    // Whether a connection whose send_many() call just ended should wait rather than go on.
    [[nodiscard]] bool ready_locked() const {
        return stopped_ || !returned_.empty() || (!exhausted_ && handed_ - emitted_.load() < depth_) ||
               (exhausted_ && connecting_ == 0);
    }

    const connect_function& connect_;
    const std::function<bool(outgoing&)>& next_;
    const std::function<void(batch_outcome&&)>& done_;
    const std::size_t depth_;

    // The cursor and the connections' states.
    std::mutex cursor_mutex_;
    std::condition_variable cursor_cv_;
    std::size_t handed_ = 0;
    bool exhausted_ = false;
    bool stopped_ = false;
    std::size_t connecting_ = 0;  // connections holding their first message while they connect
    std::deque<taken> returned_;  // handed out, never written: a failed connect gave them back
    std::exception_ptr caller_error_;
    std::exception_ptr last_error_;
    std::vector<std::exception_ptr> errors_;  // one per connection, each written by its own thread
    std::size_t live_;
    std::size_t opened_ = 0;
    std::size_t ended_well_ = 0;

    // The reorder buffer.
    std::mutex emit_mutex_;
    std::map<std::size_t, batch_outcome> waiting_;
    std::atomic<std::size_t> emitted_{0};
    bool done_failed_ = false;
};

take runner::pull_locked(taken& out) {
    if (stopped_) return take::stopped;
    if (!returned_.empty()) {
        out = std::move(returned_.front());
        returned_.pop_front();
        return take::got;
    }
    if (exhausted_) return take::exhausted;
    if (handed_ - emitted_.load() >= depth_) return take::full;
    outgoing m;
    try {
        if (!next_(m)) {
            exhausted_ = true;
            return take::exhausted;
        }
    } catch (...) {
        if (!caller_error_) caller_error_ = std::current_exception();
        stopped_ = true;
        cursor_cv_.notify_all();
        return take::stopped;
    }
    out.index = handed_++;
    out.message = std::move(m);
    return take::got;
}

void runner::give_back(taken&& t) {
    {
        std::lock_guard lock(cursor_mutex_);
        const auto at = std::find_if(returned_.begin(), returned_.end(),
                                     [&](const taken& r) { return r.index > t.index; });  // oldest first
        returned_.insert(at, std::move(t));
    }
    cursor_cv_.notify_all();
}

void runner::stop_with(std::exception_ptr e) {
    {
        std::lock_guard lock(cursor_mutex_);
        if (!caller_error_) caller_error_ = std::move(e);
        stopped_ = true;
    }
    cursor_cv_.notify_all();
}

void runner::deliver_locked(batch_outcome&& o) noexcept {
    emitted_.store(emitted_.load() + 1);
    if (done_failed_) return;
    try {
        done_(std::move(o));
    } catch (...) {
        done_failed_ = true;  // no more calls; the exception is thrown once the connections are done
        stop_with(std::current_exception());
    }
}

void runner::report(batch_outcome&& o) noexcept {
    {
        std::lock_guard lock(emit_mutex_);
        if (o.index != emitted_.load()) {
            waiting_.emplace(o.index, std::move(o));
            return;
        }
        deliver_locked(std::move(o));
        for (auto it = waiting_.begin(); it != waiting_.end() && it->first == emitted_.load(); it = waiting_.erase(it))
            deliver_locked(std::move(it->second));
    }
    // The window moved: a connection waiting for it may go on. Taking the lock orders this
    // notification after a waiter's check of the window.
    { std::lock_guard lock(cursor_mutex_); }
    cursor_cv_.notify_all();
}

void runner::end_worker(std::exception_ptr e) noexcept {
    std::deque<taken> orphans;
    {
        std::lock_guard lock(cursor_mutex_);
        if (e) last_error_ = e;
        --live_;
        // Messages given back by a failed connect: nobody is left to take them, or nobody will.
        if (live_ == 0 || stopped_) orphans.swap(returned_);
    }
    cursor_cv_.notify_all();
    if (orphans.empty()) return;
    if (!e) e = last_error_;
    if (!e)
        e = std::make_exception_ptr(
            error(errc::not_connected, "not sent: sending stopped before its turn", error_context{}));
    for (auto& t : orphans) report(batch_outcome{t.index, {}, e});
}

void runner::worker(std::size_t k) noexcept {
    taken first;
    {
        std::unique_lock lock(cursor_mutex_);
        for (;;) {
            const auto t = pull_locked(first);
            if (t == take::got) break;
            // Nothing to take now. Connections still connecting may yet give a message back.
            if (t == take::full || (t == take::exhausted && connecting_ > 0)) {
                cursor_cv_.wait(lock);
                continue;
            }
            lock.unlock();
            end_worker(nullptr);
            return;
        }
        ++connecting_;
    }
    std::unique_ptr<client> c;
    try {
        c = connect_(k);
        if (!c) throw error(errc::invalid_argument, "the connect function returned no client");
    } catch (...) {
        errors_[k] = std::current_exception();
        give_back(std::move(first));
        {
            std::lock_guard lock(cursor_mutex_);
            --connecting_;
        }
        end_worker(errors_[k]);
        return;
    }
    {
        std::lock_guard lock(cursor_mutex_);
        --connecting_;
        ++opened_;
    }
    cursor_cv_.notify_all();

    std::optional<taken> carry(std::move(first));
    std::deque<std::size_t> mine;  // input positions of this call's messages, oldest first
    for (;;) {
        try {
            c->send_many(
                [&](outgoing& m) {
                    taken t;
                    if (carry) {
                        t = std::move(*carry);
                        carry.reset();
                    } else {
                        std::lock_guard lock(cursor_mutex_);
                        if (pull_locked(t) != take::got) return false;
                    }
                    mine.push_back(t.index);
                    m = std::move(t.message);
                    return true;
                },
                [&](batch_outcome&& o) {
                    if (mine.empty()) return;
                    o.index = mine.front();
                    mine.pop_front();
                    report(std::move(o));
                });
        } catch (...) {
            // The session ended: what it had on the wire got its outcome from send_many; anything
            // left without one gets this error too, and a message never written goes back.
            const auto e = std::current_exception();
            errors_[k] = e;
            for (const auto i : mine) report(batch_outcome{i, {}, e});
            if (carry) give_back(std::move(*carry));
            c.reset();
            end_worker(e);
            return;
        }
        for (const auto i : mine)  // send_many gives every message an outcome; never lose one regardless
            report(
                batch_outcome{i,
                              {},
                              std::make_exception_ptr(error(errc::protocol_violation, "no outcome for this message"))});
        mine.clear();
        std::unique_lock lock(cursor_mutex_);
        cursor_cv_.wait(lock, [&] { return ready_locked(); });
        if (stopped_ || (returned_.empty() && exhausted_)) break;
    }
    try {
        c->disconnect();
    } catch (...) {  // the messages are answered; a failed QUIT changes nothing about them
    }
    {
        std::lock_guard lock(cursor_mutex_);
        ++ended_well_;
    }
    end_worker(nullptr);
}

parallel_summary runner::finish() {
    if (caller_error_) std::rethrow_exception(caller_error_);
    if (ended_well_ == 0 && last_error_) std::rethrow_exception(last_error_);
    parallel_summary s;
    s.messages = handed_;
    s.opened = opened_;
    s.errors = std::move(errors_);
    return s;
}

}  // namespace

parallel_summary send_parallel(const connect_function& connect, const std::function<bool(outgoing&)>& next,
                               std::size_t connections, const std::function<void(batch_outcome&&)>& done) {
    if (connections == 0) throw error(errc::invalid_argument, "send_parallel needs at least one connection");
    runner r(connect, next, connections, done);
    std::vector<std::thread> threads;
    threads.reserve(connections - 1);
    for (std::size_t k = 1; k < connections; ++k) {
        try {
            threads.emplace_back([&r, k] { r.worker(k); });
        } catch (const std::system_error&) {
            r.abandon(connections - k);  // the connections that have a thread carry the batch
            break;
        }
    }
    r.worker(0);
    for (auto& t : threads) t.join();
    return r.finish();
}

}  // namespace mailwire::smtp
