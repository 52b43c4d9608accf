#include "progress.hpp"

#include "report.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>

namespace mailwire::cli {

bool progress_enabled(const std::string& mode) {
    if (mode == "always") return true;
    if (mode == "never") return false;
    return ::isatty(STDERR_FILENO) == 1;
}

std::string human_bytes(std::uint64_t n) {
    if (n < 1000) return fmt::format("{} B", n);
    if (n < 1000 * 1000) return fmt::format("{:.1f} KB", static_cast<double>(n) / 1e3);
    if (n < 1000ull * 1000 * 1000) return fmt::format("{:.1f} MB", static_cast<double>(n) / 1e6);
    return fmt::format("{:.2f} GB", static_cast<double>(n) / 1e9);
}

progress::progress(bool enabled, std::string what, std::uint64_t total)
    : enabled_(enabled), what_(terminal_text(what)),  // a mailbox or file name: shown escaped like all human output
      total_(total), start_(std::chrono::steady_clock::now()) {}

progress::~progress() {
    if (enabled_ && !finished_ && done_ > 0) std::fputs("\n", stderr);  // leave the partial line readable
}

void progress::update(std::uint64_t done) {
    done_ = done;
    if (!enabled_ || finished_) return;
    const auto now = std::chrono::steady_clock::now();
    if (now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
    draw(false);
}

void progress::finish() {
    if (!enabled_ || finished_) return;
    draw(true);
    finished_ = true;
}

void progress::draw(bool final) {
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double rate = secs > 0 ? static_cast<double>(done_) / secs : 0;
    std::string line = fmt::format("{}: {}", what_, human_bytes(done_));
    if (total_ > 0 && !final)
        line += fmt::format(" of {} ({:.0f}%)", human_bytes(total_),
                            100.0 * static_cast<double>(done_) / static_cast<double>(total_));
    if (final) line += fmt::format(" in {:.1f} s", secs);
    if (secs > 0.05) line += fmt::format(", {}/s", human_bytes(static_cast<std::uint64_t>(rate)));
    // \r redraws in place on a terminal; the final state ends the line.
    std::fprintf(stderr, "\r%-70s%s", line.c_str(), final ? "\n" : "");
    std::fflush(stderr);
}

}  // namespace mailwire::cli
