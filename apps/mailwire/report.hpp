// A small aligned "label  value" text report that never exceeds a given width, and the one gate
// every human-readable line passes on its way to the terminal.
#pragma once

#include <cstddef>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace mailwire::cli {

/// `s` made harmless for a terminal. Subjects, names, mailbox names, file names and server texts
/// come from the network or a message (RFC 2047 can encode any byte), and a terminal obeys escape
/// sequences in them: ESC, the C1 controls (U+0080-U+009F; U+009B is CSI) and, as raw bytes, the
/// 8-bit C1 a terminal in 8-bit mode obeys. Those are shown escaped instead: C0 controls, DEL and
/// bytes that are not UTF-8 as `\xNN`, C1 controls, bidirectional overrides, embeddings, isolates
/// and marks (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F, U+061C, which can make a line read
/// differently from what it is, "Trojan Source") and the line/paragraph separators U+2028/U+2029 as
/// `\uNNNN`. With `multiline`, LF, TAB and the CR of a CRLF pass (blocks of lines, header blocks);
/// otherwise TAB becomes one space and every line break is escaped (one table cell, one field).
[[nodiscard]] std::string terminal_text(std::string_view s, bool multiline = false);

/// Writes `text` through terminal_text(text, true): the one way human output reaches stdout.
void print_out(std::string_view text);
/// The same for stderr (errors, hints, notes, warnings).
void print_err(std::string_view text);

/// `j` serialised for output. JSON's own escaping covers C0 controls; C1 controls and the
/// bidirectional and line-separator characters that terminal_text() escapes are written as
/// `\uNNNN` too, so the text is equal as JSON but carries none of them raw. `indent` < 0: one line.
[[nodiscard]] std::string json_text(const nlohmann::json& j, int indent = 2);

/// Appends `s` as a JSON string literal, escaped as json_text() escapes it: JSON's own escapes for
/// `"`, `\` and C0 controls, C1 controls and the bidirectional and line-separator characters as
/// `\uNNNN`, bytes that are not UTF-8 as U+FFFD. For output written without a nlohmann::json tree
/// (one object per message of a 200,000-message fetch); the result equals json_text()'s as JSON.
void append_json_string(std::string& out, std::string_view s);

/// Terminal columns `s` takes: East Asian Wide and Fullwidth characters (CJK, Hangul, fullwidth
/// forms, most emoji) count 2, combining marks, format characters and zero-width spaces 0, any
/// other character 1; a byte that is not UTF-8 counts 1. A fixed table (Unicode 14), so the
/// result does not depend on the locale as wcwidth() does. Every column, cut and wrap computation
/// of the command line uses it.
[[nodiscard]] std::size_t display_width(std::string_view s) noexcept;

/// The longest prefix of `s` that takes at most `width` columns, cut between characters (a
/// combining mark stays with its base character).
[[nodiscard]] std::string_view cut_to_width(std::string_view s, std::size_t width) noexcept;

/// Splits `text` into lines of at most `width` columns (display_width()), breaking at spaces where
/// possible.
std::vector<std::string> wrap(const std::string& text, std::size_t width);

/// Label/value lines; every label and value goes through terminal_text() before it is laid out,
/// so widths are counted on what the terminal will show.
class text_report {
public:
    explicit text_report(std::size_t width, std::size_t label_width = 16, std::size_t indent = 2)
        : width_(width), label_width_(label_width), indent_(indent) {}

    /// An unindented heading line (wrapped if needed).
    void heading(const std::string& text);
    /// "  label           value", the value wrapped and continued under itself.
    void field(const std::string& label, const std::string& value);
    /// Several values under one label, one per line.
    void fields(const std::string& label, const std::vector<std::string>& values);
    void blank();
    [[nodiscard]] std::string str() const;

private:
    std::size_t width_, label_width_, indent_;
    std::vector<std::string> lines_;
};

}  // namespace mailwire::cli
