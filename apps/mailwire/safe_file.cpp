#include "safe_file.hpp"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <utility>

#include "mailwire/error.hpp"

namespace mailwire::cli {

namespace {

[[noreturn]] void io_failure(const std::string& what) { throw mailwire::error(errc::io_error, what); }

/// Buffered bytes are written once this much has gathered (few system calls, bounded memory).
constexpr std::size_t write_buffer = 256u << 10;

std::string random_hex() {
    unsigned char b[8];
    std::size_t got = 0;
    while (got < sizeof b) {
        const ssize_t n = ::getrandom(b + got, sizeof b - got, 0);
        if (n < 0) {
            if (errno == EINTR) continue;
            io_failure(fmt::format("getrandom failed: {}", std::strerror(errno)));
        }
        got += static_cast<std::size_t>(n);
    }
    std::string s;
    for (const auto c : b) s += fmt::format("{:02x}", c);
    return s;
}

}  // namespace

// ---- output_dir ----------------------------------------------------------------------------------

output_dir::output_dir(std::string path, bool create) : path_(std::move(path)) {
    if (path_.empty()) path_ = ".";
    if (create) {
        std::error_code ec;
        std::filesystem::create_directories(path_, ec);
        if (ec) io_failure(fmt::format("cannot create {}: {}", path_, ec.message()));
    }
    fd_ = ::open(path_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd_ < 0) io_failure(fmt::format("cannot open the directory {}: {}", path_, std::strerror(errno)));
}

output_dir::~output_dir() {
    if (fd_ >= 0) ::close(fd_);
}

std::string output_dir::path_of(std::string_view name) const {
    return (std::filesystem::path(path_) / std::string(name)).string();
}

bool output_dir::has(const std::string& name) const {
    struct stat st {};
    return ::fstatat(fd_, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
}

// ---- temp_file -----------------------------------------------------------------------------------

temp_file::temp_file(const output_dir& dir) : dir_(dir) {
    // A random name: another process cannot have planted anything there in advance, and O_EXCL
    // refuses whatever it may plant in between (a symlink included), so we simply try again.
    for (int attempt = 0; attempt < 64; ++attempt) {
        name_ = ".mailwire-" + random_hex() + ".part";
        fd_ = ::openat(dir_.fd(), name_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd_ >= 0) {
            linked_ = true;
            return;
        }
        if (errno != EEXIST) io_failure(fmt::format("cannot create {}: {}", path(), std::strerror(errno)));
    }
    io_failure(fmt::format("cannot create a temporary file in {}", dir_.path()));
}

temp_file::~temp_file() { discard(); }

void temp_file::discard() noexcept {
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
    if (linked_) {
        ::unlinkat(dir_.fd(), name_.c_str(), 0);
        linked_ = false;
    }
    buffer_.clear();
}

void temp_file::write(std::string_view data) {
    if (fd_ < 0) io_failure(fmt::format("writing {} after it was closed", path()));
    buffer_.append(data);
    bytes_ += data.size();
    if (buffer_.size() >= write_buffer) flush();
}

void temp_file::flush() {
    std::size_t off = 0;
    while (off < buffer_.size()) {
        const ssize_t n = ::write(fd_, buffer_.data() + off, buffer_.size() - off);
        if (n < 0) {
            if (errno == EINTR) continue;
            const int err = errno;
            discard();
            io_failure(fmt::format("cannot write {}: {}", path(), std::strerror(err)));
        }
        off += static_cast<std::size_t>(n);
    }
    buffer_.clear();
}

bool temp_file::publish(const std::string& name) {
    if (!linked_) io_failure(fmt::format("publishing {} after it was removed", dir_.path_of(name)));
    if (fd_ >= 0) {
        flush();
        const int fd = std::exchange(fd_, -1);
        if (::close(fd) != 0) {
            const int err = errno;
            discard();
            io_failure(fmt::format("cannot write {}: {}", path(), std::strerror(err)));
        }
    }
    // Never replace: an existing file (or symlink, or anything) under `name` stays as it is.
    if (::renameat2(dir_.fd(), name_.c_str(), dir_.fd(), name.c_str(), RENAME_NOREPLACE) == 0) {
        linked_ = false;
        return true;
    }
    if (errno == EEXIST) return false;
    if (errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) {
        // A file system without RENAME_NOREPLACE: link() refuses an existing name just the same.
        if (::linkat(dir_.fd(), name_.c_str(), dir_.fd(), name.c_str(), 0) == 0) {
            ::unlinkat(dir_.fd(), name_.c_str(), 0);
            linked_ = false;
            return true;
        }
        if (errno == EEXIST) return false;
    }
    const int err = errno;
    discard();
    io_failure(fmt::format("cannot rename {} to {}: {}", path(), dir_.path_of(name), std::strerror(err)));
}

// ---- name_allocator ------------------------------------------------------------------------------

std::string name_allocator::publish(temp_file& file, const std::string& wished) {
    std::string stem = wished, ext;
    if (const auto dot = wished.rfind('.'); dot != std::string::npos && dot > 0) {
        stem = wished.substr(0, dot);
        ext = wished.substr(dot);
    }
    auto& n = next_[wished];
    if (n == 0) n = 1;
    for (; n <= max_suffix; ++n) {
        std::string candidate = n == 1 ? wished : fmt::format("{}-{}{}", stem, n, ext);
        if (file.publish(candidate)) {
            ++n;
            return candidate;
        }
    }
    io_failure(fmt::format("no free file name for {} in the directory", wished));
}

int open_user_file(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
        const int fd = ::open(path.c_str(), O_WRONLY | O_NOCTTY | O_CLOEXEC);
        if (fd < 0) io_failure(fmt::format("cannot open {} for writing: {}", path, std::strerror(errno)));
        return fd;
    }
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0600);
    if (fd < 0)
        io_failure(fmt::format("cannot open {} for writing: {}", path,
                               errno == ELOOP ? "it is a symbolic link" : std::strerror(errno)));
    return fd;
}

// ---- names ---------------------------------------------------------------------------------------

std::string safe_file_name(std::string_view name) {
    if (const auto slash = name.find_last_of("/\\"); slash != std::string_view::npos) name.remove_prefix(slash + 1);
    std::string out;
    std::size_t i = 0;
    while (i < name.size()) {
        const auto c = static_cast<unsigned char>(name[i]);
        if (c < 0x80) {
            out += (c < 0x20 || c == 0x7f || std::strchr(":*?\"<>|", c) != nullptr) ? '_' : static_cast<char>(c);
            ++i;
            continue;
        }
        // One UTF-8 sequence (strict: no overlong forms, surrogates or values above U+10FFFF).
        std::size_t len = 0;
        char32_t cp = 0, min = 0;
        if (c >= 0xC2 && c <= 0xDF) len = 2, cp = c & 0x1F, min = 0x80;
        else if (c >= 0xE0 && c <= 0xEF) len = 3, cp = c & 0x0F, min = 0x800;
        else if (c >= 0xF0 && c <= 0xF4) len = 4, cp = c & 0x07, min = 0x10000;
        bool ok = len != 0 && i + len <= name.size();
        for (std::size_t k = 1; ok && k < len; ++k) {
            const auto b = static_cast<unsigned char>(name[i + k]);
            ok = (b & 0xC0) == 0x80;
            cp = (cp << 6) | (b & 0x3F);
        }
        ok = ok && cp >= min && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
        if (!ok) {
            out += '_';
            ++i;
            continue;
        }
        if (cp <= 0x9F) out += '_';  // a C1 control
        else if (!((cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200E || cp == 0x200F ||
                   cp == 0x061C || cp == 0x2028 || cp == 0x2029))
            out.append(name.substr(i, len));
        i += len;
    }
    std::size_t b = 0;
    while (b < out.size() && (out[b] == '.' || out[b] == ' ' || out[b] == '_' || out[b] == '-')) ++b;
    out.erase(0, b);
    while (!out.empty() && (out.back() == '.' || out.back() == ' ')) out.pop_back();
    constexpr std::size_t max_len = 160;
    if (out.size() > max_len) {
        std::string ext;
        if (const auto dot = out.rfind('.'); dot != std::string::npos && out.size() - dot <= 16) ext = out.substr(dot);
        std::size_t keep = max_len - ext.size();
        while (keep > 0 && (static_cast<unsigned char>(out[keep]) & 0xC0) == 0x80) --keep;  // UTF-8 boundary
        out = out.substr(0, keep) + ext;
    }
    return out;
}

}  // namespace mailwire::cli
