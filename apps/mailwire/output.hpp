// Streaming output of the `mailwire` commands: results are written as they arrive — table rows,
// elements of a JSON document, or JSON Lines — and never collected first. Everything a command
// writes to stdout goes through one buffered sink (std::cout is routed into it), flushed when 64 KB
// are pending, when nothing new came for 50 ms, on std::cout.flush() and at exit: a slow server's
// first results are on the screen while the rest arrive, and 200,000 results cost a few hundred
// write() calls, not 200,000.
//
// The shapes (docs/cli.md, "Structured output"):
//   --json    one JSON document, written incrementally: the head fields, then the list as it
//             arrives, then the summary fields, and "ok" LAST:
//               {"mailbox": …, "messages": [ {…}, {…} ], "bytes": 12, "ok": true}
//             A failure after the list began still closes it and ends the document with
//             "error": {…} and "ok": false, so the output is valid JSON whatever happens.
//   --jsonl   JSON Lines: one object per line per result (the same objects as the --json list
//             elements), then exactly one summary line — the head and summary fields, "error" on a
//             failure, and "ok". Only the summary line has an "ok" member; a stream without one
//             was cut off.
//   text      the human table: a header row, then one row per result as it arrives; column widths
//             come from the terminal width (output_width()), never from the data.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "mailwire/mime/date.hpp"
#include "report.hpp"

namespace mailwire::cli {

/// How a command prints its results.
enum class output_format {
    text,   ///< human report or table (terminal_text() on everything)
    json,   ///< --json: one JSON document
    jsonl,  ///< --jsonl: JSON Lines
};

/// Records that --jsonl was given: the --jsonl option's callback calls it (and sets the command's
/// json flag, so errors before any output are structured too).
void select_json_lines() noexcept;
/// The format of this run: jsonl after select_json_lines(), json when `json` (the command's --json
/// flag), else text.
[[nodiscard]] output_format output_format_for(bool json) noexcept;

/// One table column. `width` counts terminal columns (display_width()); 0 means "the rest of the
/// line", for the last column only. Cells are cut with "…" to the width, never widened.
struct column {
    std::string title;
    std::size_t width = 0;
    bool align_right = false;
};

/// `s` as terminal_text() shows it (controls escaped, TAB as a space), cut to `width` columns ("…"
/// marks a cut) and padded to it when `pad`. Widths are display widths: CJK counts 2, combining
/// marks 0.
[[nodiscard]] std::string fit(std::string_view s, std::size_t width, bool pad = true);
/// `s` (through terminal_text()) right-aligned in `width` columns, cut with "…" when longer.
[[nodiscard]] std::string right(std::string_view s, std::size_t width);

/// "2024-01-31 17:05" in the writer's own zone: the date column of the tables.
[[nodiscard]] std::string short_date(const mime::date_time& d);

/// The results of one command, written as they arrive in the run's format.
///
///     list_writer w(output_format_for(o.json), "messages", {{"UID", 7, true}, {"SUBJECT"}});
///     w.begin({{"mailbox", name}});          // --json: `{"mailbox": …, "messages": [`
///     … w.structured() ? w.item(obj) : w.row({uid, subject});   // per result
///     w.end({{"bytes", n}});                 // --json: `], "bytes": n, "ok": true}`
///
/// Only one list_writer is open at a time. When an exception leaves the command after begin(),
/// the writer stays open (its destructor writes nothing while an exception unwinds) until the
/// error reporting (report_error(), through print_json_error()) closes it with the error.
class list_writer {
public:
    /// `key` names the list in --json ("messages", "mailboxes"); `columns` the text table (may be
    /// empty for commands whose text output is not a table: they print with print_out()).
    list_writer(output_format format, std::string key, std::vector<column> columns = {});
    ~list_writer();
    list_writer(const list_writer&) = delete;
    list_writer& operator=(const list_writer&) = delete;

    [[nodiscard]] output_format format() const noexcept { return format_; }
    /// --json or --jsonl: call item(); otherwise row() or print_out().
    [[nodiscard]] bool structured() const noexcept { return format_ != output_format::text; }
    /// Results written so far (item() and row() calls).
    [[nodiscard]] std::size_t count() const noexcept { return count_; }

    /// Starts the output: --json writes `{`, the `head` fields and the opening of the list; text
    /// writes the header row when there are columns; --jsonl writes nothing (the head fields go
    /// to the summary line). `head` must be an object without "ok", "error" or the list key.
    void begin(const nlohmann::json& head = nlohmann::json::object());
    /// One result (an object) in --json/--jsonl; ignored in text. Calls begin() if needed.
    void item(const nlohmann::json& j);
    /// The same with the object already serialised on one line (built with append_json_string()
    /// for every string), for the per-message hot paths that skip the nlohmann::json tree.
    void item_serialised(std::string_view compact_object);
    /// One table row in text, a cell per column, each cut to its width; ignored in --json/--jsonl.
    /// Calls begin() if needed.
    void row(const std::vector<std::string>& cells);
    /// Ends the output: --json closes the list, adds the `summary` fields and "ok": `ok`, and
    /// closes the document; --jsonl writes the summary line. Nothing in text (the command prints
    /// its own summary). Calls begin() if needed; a second end() does nothing.
    void end(const nlohmann::json& summary = nlohmann::json::object(), bool ok = true);
    /// Ends the output with an error object (the "error" member report_error() builds) and
    /// "ok": false. Before begin(): the standalone `{"ok": false, "error": …}` document (one line
    /// in --jsonl). In text nothing: errors go to stderr.
    void fail(const nlohmann::json& error);

private:
    friend struct list_state_access;
    output_format format_;
    std::string key_;
    std::vector<column> columns_;
    nlohmann::json head_;
    bool begun_ = false, ended_ = false;
    std::size_t count_ = 0;
    int exceptions_at_start_ = 0;
};

/// A whole result that is one object (caps, status, probe, parse of one message): --json pretty
/// printed, --jsonl on one line. `j` carries its own "ok".
void print_document(const nlohmann::json& j);

/// The structured error output: closes the open list_writer with `error` (see fail()), or prints
/// `{"ok": false, "error": error}` (one line in --jsonl). The one way a JSON error reaches stdout.
void print_json_error(const nlohmann::json& error);

/// Raw bytes to stdout — a message copied as it is (`fetch --body` of one message, `pop3 retr`),
/// not a report — through the same sink, in order with everything else. Throws
/// mailwire::error(io_error) when stdout cannot be written.
void write_raw(std::string_view bytes);

/// Text for stdout through the sink, in order with everything else; print_out() writes with it.
/// A write failure does not throw here: it shows at the next write_raw() or flush_output().
void write_stdout(std::string_view text);

/// Writes what is pending to stdout now; throws mailwire::error(io_error) when that fails.
void flush_output();

}  // namespace mailwire::cli
