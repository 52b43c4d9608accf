// Progress for long uploads and downloads: one line on stderr, redrawn at most ten times a second,
// only when stderr is a terminal (or --progress always), never mixed into stdout or --json output.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace mailwire::cli {

/// --progress auto|always|never: auto means "when stderr is a terminal".
[[nodiscard]] bool progress_enabled(const std::string& mode);

class progress {
public:
    /// `what` labels the line ("RETR 3", "upload a.eml"); `total` is the expected size (0 if unknown).
    progress(bool enabled, std::string what, std::uint64_t total = 0);
    ~progress();
    progress(const progress&) = delete;
    progress& operator=(const progress&) = delete;

    /// Sets the number of bytes done so far; redraws when enough time has passed.
    void update(std::uint64_t done);
    /// Adds `n` bytes to the count.
    void add(std::uint64_t n) { update(done_ + n); }
    /// Draws the final state ("… 50.0 MB in 1.2 s, 41.7 MB/s") and ends the line. Idempotent.
    void finish();
    [[nodiscard]] std::uint64_t done() const noexcept { return done_; }

private:
    void draw(bool final);

    bool enabled_;
    bool finished_ = false;
    std::string what_;
    std::uint64_t total_;
    std::uint64_t done_ = 0;
    std::chrono::steady_clock::time_point start_, last_draw_;
};

/// "1.5 MB", "312 KB", "17 B" (decimal units, as transfer rates are usually given).
[[nodiscard]] std::string human_bytes(std::uint64_t n);

}  // namespace mailwire::cli
