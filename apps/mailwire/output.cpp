#include "output.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <mutex>
#include <optional>
#include <streambuf>
#include <thread>

#include "common.hpp"
#include "mailwire/error.hpp"

namespace mailwire::cli {

namespace {

using nlohmann::json;

// ---- the stdout sink -----------------------------------------------------------------------------

/// Everything for stdout, buffered here and written with write(2): by the writer when 64 KB are
/// pending, by a flusher thread when output has waited 50 ms (a slow server's first results show
/// while the command waits for the rest), on flush and at exit. std::cout is routed here, so a
/// line written with std::cout anywhere keeps its place among the others. The streambuf has no
/// put area: every character goes through xsputn/overflow and so under the mutex.
class stdout_sink final : public std::streambuf {
public:
    static constexpr std::size_t high_water = 64 * 1024;
    static constexpr auto max_delay = std::chrono::milliseconds(50);

    /// Queues `s`; false when stdout failed (now or earlier).
    bool write(std::string_view s) {
        std::unique_lock lock(m_);
        const bool was_empty = buf_.empty();
        buf_.append(s);
        if (buf_.size() >= high_water || stopped_) {
            drain_locked();
        } else if (was_empty && !s.empty()) {
            pending_since_ = std::chrono::steady_clock::now();
            if (!flusher_.joinable()) flusher_ = std::thread([this] { flusher(); });
            const bool ok = !failed_;
            lock.unlock();
            cv_.notify_one();
            return ok;
        }
        return !failed_;
    }

    /// Writes what is pending; false when stdout failed (now or earlier).
    bool flush() {
        const std::lock_guard lock(m_);
        drain_locked();
        return !failed_;
    }

    /// At exit: stop the flusher, write the rest. Later writes go straight out.
    void stop() {
        {
            const std::lock_guard lock(m_);
            stopped_ = true;
            drain_locked();
        }
        cv_.notify_one();
        if (flusher_.joinable()) flusher_.join();
    }

protected:
    std::streamsize xsputn(const char* s, std::streamsize n) override {
        write(std::string_view(s, static_cast<std::size_t>(n)));
        return n;
    }
    int_type overflow(int_type ch) override {
        if (traits_type::eq_int_type(ch, traits_type::eof())) return traits_type::not_eof(ch);
        const char c = traits_type::to_char_type(ch);
        write(std::string_view(&c, 1));
        return ch;
    }
    int sync() override { return flush() ? 0 : -1; }

private:
    void drain_locked() {
        std::size_t done = 0;
        while (done < buf_.size() && !failed_) {
            const auto n = ::write(STDOUT_FILENO, buf_.data() + done, buf_.size() - done);
            if (n > 0) done += static_cast<std::size_t>(n);
            else if (n < 0 && errno == EINTR) continue;
            else failed_ = true;  // EPIPE with SIGPIPE ignored, ENOSPC, a closed stdout: output is lost
        }
        buf_.clear();
    }

    void flusher() {
        std::unique_lock lock(m_);
        while (!stopped_) {
            if (buf_.empty()) {
                cv_.wait(lock);
                continue;
            }
            const auto due = pending_since_ + max_delay;
            if (std::chrono::steady_clock::now() >= due) drain_locked();
            else cv_.wait_until(lock, due);
        }
    }

    std::mutex m_;
    std::condition_variable cv_;
    std::string buf_;
    std::chrono::steady_clock::time_point pending_since_;
    bool stopped_ = false, failed_ = false;
    std::thread flusher_;
};

/// The sink, created on first use: what stdio holds so far is written first, then std::cout is
/// routed into the sink. Never destroyed: std::cout is flushed after every static destructor,
/// and an exit handler has already stopped the flusher thread and written the rest by then.
stdout_sink& sink() {
    static stdout_sink* const s = [] {
        std::fflush(stdout);
        std::cout.flush();
        auto* p = new stdout_sink;  // NOLINT(cppcoreguidelines-owning-memory): lives until exit
        std::cout.rdbuf(p);
        std::atexit([] { sink().stop(); });
        return p;
    }();
    return *s;
}

void out(std::string_view s) { (void)sink().write(s); }

// ---- the open list ---------------------------------------------------------------------------

bool json_lines = false;

/// What closing a list needs once its writer is gone (an exception unwound it before
/// report_error() printed the error).
struct dangling_list {
    output_format format;
    json head;
    bool any_items;
};
std::optional<dangling_list> dangling;
list_writer* open_writer = nullptr;

/// --json: `"key": value` members at one indent level, each after a separator.
void write_members(const json& obj) {
    for (auto it = obj.begin(); it != obj.end(); ++it)
        out(",\n  " + json_text(json(it.key()), -1) + ": " + json_text(it.value(), -1));
}

/// Closes a list that began: --json ends the array and the document with `tail` and "ok";
/// --jsonl writes the summary line (`head` and `tail` merged, then "ok").
void close_list(output_format format, const json& head, bool any_items, const json& tail, bool ok) {
    if (format == output_format::json) {
        out(any_items ? "\n  ]" : "]");
        write_members(tail);
        out(ok ? ",\n  \"ok\": true\n}\n" : ",\n  \"ok\": false\n}\n");
    } else if (format == output_format::jsonl) {
        json line = head;
        for (auto it = tail.begin(); it != tail.end(); ++it) line[it.key()] = it.value();
        line["ok"] = ok;
        out(json_text(line, -1) + "\n");
    }
}

/// Terminal columns left for a last column of width 0.
std::size_t rest_width(const std::vector<column>& cols) {
    std::size_t used = 0;
    for (std::size_t i = 0; i + 1 < cols.size(); ++i) used += cols[i].width + 2;
    const std::size_t w = output_width();
    return w > used + 10 ? w - used : 10;
}

}  // namespace

void select_json_lines() noexcept { json_lines = true; }

output_format output_format_for(bool json) noexcept {
    if (json_lines) return output_format::jsonl;
    return json ? output_format::json : output_format::text;
}

std::string fit(std::string_view s, std::size_t width, bool pad) {
    std::string clean = terminal_text(s);
    std::size_t w = display_width(clean);
    if (w > width) {
        clean = std::string(cut_to_width(clean, width > 0 ? width - 1 : 0)) + "…";
        w = display_width(clean);
    }
    if (pad && w < width) clean.append(width - w, ' ');
    return clean;
}

std::string right(std::string_view s, std::size_t width) {
    // Numbers and sizes: never cut (a cut number misleads); a longer one shifts the row instead.
    std::string clean = terminal_text(s);
    const std::size_t w = display_width(clean);
    return std::string(width > w ? width - w : 0, ' ') + clean;
}

std::string short_date(const mime::date_time& d) {
    using namespace std::chrono;
    const auto local = d.utc + minutes(d.offset_minutes);
    const auto day = floor<days>(local);
    const year_month_day ymd{day};
    const hh_mm_ss hms{local - day};
    return fmt::format("{:04}-{:02}-{:02} {:02}:{:02}", static_cast<int>(ymd.year()),
                       static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), hms.hours().count(),
                       hms.minutes().count());
}

list_writer::list_writer(output_format format, std::string key, std::vector<column> columns)
    : format_(format), key_(std::move(key)), columns_(std::move(columns)),
      exceptions_at_start_(std::uncaught_exceptions()) {
    dangling.reset();  // a new command's output: nothing of an older one is left to close
}

list_writer::~list_writer() {
    if (open_writer == this) open_writer = nullptr;
    if (!begun_ || ended_) return;
    if (std::uncaught_exceptions() > exceptions_at_start_) {
        // Unwinding to the error reporting: it closes the list with the error.
        dangling = dangling_list{format_, std::move(head_), count_ > 0};
        return;
    }
    // Returned without end(): a slip in the command. Still leave valid output.
    try {
        fail({{"code", "internal"}, {"message", "the command ended without completing its output"}});
    } catch (...) {  // NOLINT(bugprone-empty-catch): nothing sensible to do in a destructor
    }
}

void list_writer::begin(const json& head) {
    if (begun_) return;
    begun_ = true;
    head_ = head.is_object() ? head : json::object();
    open_writer = this;
    switch (format_) {
    case output_format::json: {
        out("{");
        bool first = true;
        for (auto it = head_.begin(); it != head_.end(); ++it) {
            out(std::string(first ? "\n  " : ",\n  ") + json_text(json(it.key()), -1) + ": " +
                json_text(it.value(), -1));
            first = false;
        }
        out(std::string(first ? "\n  " : ",\n  ") + json_text(json(key_), -1) + ": [");
        break;
    }
    case output_format::jsonl:
        break;
    case output_format::text:
        if (!columns_.empty()) {
            std::vector<std::string> titles;
            titles.reserve(columns_.size());
            for (const auto& c : columns_) titles.push_back(c.title);
            row(titles);
            count_ = 0;  // the header is no result
        }
        break;
    }
}

void list_writer::item(const json& j) {
    if (format_ == output_format::text) return;
    item_serialised(json_text(j, -1));
}

void list_writer::item_serialised(std::string_view compact_object) {
    if (!begun_) begin();
    if (format_ == output_format::text || ended_) return;
    if (format_ == output_format::json) out(count_ == 0 ? "\n    " : ",\n    ");
    out(compact_object);
    if (format_ == output_format::jsonl) out("\n");
    ++count_;
}

void list_writer::row(const std::vector<std::string>& cells) {
    if (!begun_) begin();
    if (format_ != output_format::text || ended_) return;
    std::string line;
    for (std::size_t i = 0; i < columns_.size(); ++i) {
        const auto& c = columns_[i];
        const std::string_view cell = i < cells.size() ? std::string_view(cells[i]) : std::string_view();
        if (i > 0) line += "  ";
        const bool last = i + 1 == columns_.size();
        const std::size_t w = c.width == 0 && last ? rest_width(columns_) : c.width;
        line += c.align_right ? right(cell, w) : fit(cell, w, !last);
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out(line + "\n");  // every cell went through terminal_text() in fit()/right()
    ++count_;
}

void list_writer::end(const json& summary, bool ok) {
    if (!begun_) begin();
    if (ended_) return;
    ended_ = true;
    if (open_writer == this) open_writer = nullptr;
    close_list(format_, head_, count_ > 0, summary.is_object() ? summary : json::object(), ok);
}

void list_writer::fail(const json& error) {
    if (ended_) return;
    ended_ = true;
    if (open_writer == this) open_writer = nullptr;
    if (format_ == output_format::text) return;
    if (!begun_) {
        print_document({{"ok", false}, {"error", error}});
        return;
    }
    close_list(format_, head_, count_ > 0, {{"error", error}}, false);
}

void print_document(const json& j) {
    out(json_text(j, output_format_for(true) == output_format::jsonl ? -1 : 2) + "\n");
}

void print_json_error(const json& error) {
    if (open_writer != nullptr) {
        open_writer->fail(error);
    } else if (dangling) {
        const auto d = std::move(*dangling);
        dangling.reset();
        close_list(d.format, d.head, d.any_items, {{"error", error}}, false);
    } else {
        print_document({{"ok", false}, {"error", error}});
    }
    (void)sink().flush();
}

void write_raw(std::string_view bytes) {
    if (!sink().write(bytes)) throw error(errc::io_error, "writing to stdout failed");
}

void write_stdout(std::string_view text) { out(text); }

void flush_output() {
    if (!sink().flush()) throw error(errc::io_error, "writing to stdout failed");
}

}  // namespace mailwire::cli
