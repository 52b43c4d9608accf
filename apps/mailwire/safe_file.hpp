// Every file the CLI writes (imap fetch -o, pop3 retr -o, parse --extract) goes through here:
// created 0600 with O_CREAT|O_EXCL|O_NOFOLLOW in the target directory (a planted symlink is never
// followed, nothing existing is truncated, saved mail is not readable by other users whatever the
// umask), written under a temporary name, and published under its final name with a rename that
// never replaces (renameat2 RENAME_NOREPLACE, or link()+unlink() where the file system lacks it).
// The temporary is removed on every path that does not publish it (RAII).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace mailwire::cli {

/// An open directory that files are created in. All names are resolved relative to its
/// descriptor, so renaming or replacing the directory path while we work changes nothing.
class output_dir {
public:
    /// Opens `path` (created, with its parents, when `create`). Throws
    /// mailwire::error(io_error) when it is not a usable directory.
    explicit output_dir(std::string path, bool create = true);
    ~output_dir();
    output_dir(const output_dir&) = delete;
    output_dir& operator=(const output_dir&) = delete;

    [[nodiscard]] int fd() const noexcept { return fd_; }
    [[nodiscard]] const std::string& path() const noexcept { return path_; }
    /// `path()/name` for messages and reports.
    [[nodiscard]] std::string path_of(std::string_view name) const;
    /// Whether `name` exists in the directory (a symlink counts, dangling or not).
    [[nodiscard]] bool has(const std::string& name) const;

private:
    std::string path_;
    int fd_ = -1;
};

/// A new file `.mailwire-XXXXXXXX.part` in a directory, mode 0600, removed by the destructor
/// unless publish() gave it its final name.
class temp_file {
public:
    explicit temp_file(const output_dir& dir);
    ~temp_file();
    temp_file(const temp_file&) = delete;
    temp_file& operator=(const temp_file&) = delete;

    void write(std::string_view data);
    /// Flushes, closes and renames the file to `name` unless `name` exists; false (and the
    /// temporary still there, for another try or the destructor) when it does. Throws io_error on
    /// any other failure.
    [[nodiscard]] bool publish(const std::string& name);
    /// Removes the temporary now (also what the destructor does).
    void discard() noexcept;
    [[nodiscard]] std::uint64_t bytes() const noexcept { return bytes_; }
    /// The temporary's path, for messages.
    [[nodiscard]] std::string path() const { return dir_.path_of(name_); }

private:
    void flush();
    const output_dir& dir_;
    std::string name_, buffer_;
    int fd_ = -1;
    bool linked_ = false;  ///< the temporary name exists in the directory
    std::uint64_t bytes_ = 0;
};

/// Free names for many files with possibly equal wished names: "a", "a-2", "a-3", ... before the
/// extension. It remembers the next suffix for each wished name, so n equal names cost O(n)
/// attempts in all, not O(n^2).
class name_allocator {
public:
    /// Publishes `file` under `wished` or the first free variant of it; returns the name used.
    /// Throws io_error after `max_suffix` variants.
    std::string publish(temp_file& file, const std::string& wished);

    static constexpr unsigned max_suffix = 1'000'000;

private:
    std::unordered_map<std::string, unsigned> next_;
};

/// Opens a file the user named for writing (--log): created 0600 or truncated, never through a
/// symlink (O_NOFOLLOW: a link planted at a predictable name in /tmp cannot redirect it); a path
/// naming a device or FIFO (/dev/stderr) is opened as it is, without creating or truncating
/// anything. Returns the descriptor; throws mailwire::error(io_error) on failure.
[[nodiscard]] int open_user_file(const std::string& path);

/// A name for a file in a directory from one a message or server chose: directory parts (either
/// slash) dropped; C0 and C1 controls, DEL, bytes that are not UTF-8 and `:*?"<>|` replaced by `_`;
/// bidirectional overrides, embeddings, isolates and marks (U+202A-U+202E, U+2066-U+2069, U+200E,
/// U+200F, U+061C) and U+2028/U+2029 removed; leading dots, blanks, `_` and `-` (no hidden file,
/// no "..", nothing a command takes for an option) and trailing dots and blanks removed; at most 160
/// bytes (cut on a UTF-8 boundary, the extension kept). "" when nothing is left.
[[nodiscard]] std::string safe_file_name(std::string_view name);

}  // namespace mailwire::cli
