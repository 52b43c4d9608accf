/// \file
/// A password, token or other credential held in memory that is wiped before it is released.
///
/// Freed memory is not cleared: a password copied into an ordinary std::string, a send buffer
/// or a base64 encoding stays readable in the heap until something overwrites it, and ends up in
/// core dumps and swap. mailwire::secret owns its bytes in a buffer it overwrites with
/// OPENSSL_cleanse (which the optimizer cannot remove) whenever those bytes are about to be
/// released: on destruction, on reassignment, when it grows, on clear() and when moved from.
///
///     mailwire::sasl::credentials c;
///     c.user = "alice";
///     c.password = std::getenv("MAIL_PASSWORD");   // or a std::string, a string_view, a literal
///     client.authenticate(c);
///
/// The library keeps credentials in this type from the caller to the wire: the SASL mechanisms'
/// messages, their base64 form, and each command line that carries one (AUTH, IMAP LOGIN, POP3
/// PASS/APOP) are secrets or wiped before their memory is freed.
///
/// A secret is deliberately hard to leak by accident: it does not convert to std::string, has no
/// operator<< and no fmt formatter. Read it with view() where the bytes are really needed.
#pragma once

#include <concepts>
#include <cstddef>
#include <string>
#include <string_view>

#include "mailwire/export.hpp"

namespace mailwire {

/// Bytes (usually UTF-8 text) that are overwritten before their memory is released.
///
/// Copyable (each copy owns and wipes its own buffer) and cheaply movable (the buffer moves; the
/// source is left empty). Construction from a std::string rvalue also wipes the string's buffer,
/// so `c.password = read_password();` leaves no stray copy behind.
class MAILWIRE_API secret {
public:
    /// An empty secret; allocates nothing.
    secret() noexcept = default;
    /// A copy of `s`.
    secret(std::string_view s);  // NOLINT(google-explicit-constructor): `c.password = sv;`
    /// A copy of the NUL-terminated `s`; nullptr gives an empty secret (as std::getenv may return).
    secret(const char* s);  // NOLINT(google-explicit-constructor): `c.password = "x";`
    /// A copy of `s`; the caller's string stays the caller's to wipe (see detail::wipe).
    secret(const std::string& s);  // NOLINT(google-explicit-constructor): `c.password = str;`
    /// Takes the bytes of `s`, then overwrites and empties `s` (its whole capacity).
    secret(std::string&& s);  // NOLINT(google-explicit-constructor): `c.password = f();`
    /// A copy of `other` in a buffer of its own.
    secret(const secret& other);
    /// Takes `other`'s buffer; `other` is left empty.
    secret(secret&& other) noexcept;
    /// Wipes the current bytes, then copies `other`'s.
    secret& operator=(const secret& other);
    /// Wipes and frees the current buffer, then takes `other`'s; `other` is left empty.
    secret& operator=(secret&& other) noexcept;
    /// Wipes the bytes and frees the buffer.
    ~secret();

    /// Replaces the contents with a copy of `s` (the old bytes are wiped first).
    secret& assign(std::string_view s);
    /// Appends `s`. When the buffer must grow, the old one is wiped before it is freed.
    secret& append(std::string_view s);
    /// Appends the bytes of another secret. (A template only so that strings and literals, which
    /// also convert to secret, pick the string_view overload without ambiguity.)
    template <class S>
    requires std::same_as<S, secret> secret& append(const S& s) { return append(s.view()); }
    /// Appends one byte.
    secret& push_back(char c) { return append(std::string_view(&c, 1)); }
    /// Makes room for `n` bytes in total, so that the appends that follow do not reallocate.
    void reserve(std::size_t n);
    /// Wipes the bytes and makes the secret empty; the buffer is kept for reuse.
    void clear() noexcept;

    /// The bytes. Valid until the secret is changed or destroyed; do not copy them into an
    /// ordinary string that outlives the operation.
    [[nodiscard]] std::string_view view() const noexcept { return {data_, size_}; }
    /// The first byte; the bytes are followed by a NUL, so this is also a C string when the
    /// secret holds none. Never nullptr.
    [[nodiscard]] const char* data() const noexcept { return data_ != nullptr ? data_ : ""; }
    /// Number of bytes.
    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    /// True when the secret holds no bytes.
    [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
    /// Bytes the buffer holds without reallocating.
    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }

    /// Equal bytes. When the sizes match, the comparison takes the same time wherever the first
    /// difference is (CRYPTO_memcmp), so it does not reveal a matching prefix; the size itself is
    /// not hidden.
    friend MAILWIRE_API bool operator==(const secret& a, const secret& b) noexcept;

private:
    void grow(std::size_t n);  // reallocates to hold at least n bytes, wiping the old buffer
    void release() noexcept;   // wipes and frees the buffer

    char* data_ = nullptr;      // capacity_ + 1 bytes (a NUL after the contents), or nullptr
    std::size_t size_ = 0;      // bytes in use
    std::size_t capacity_ = 0;  // bytes available, excluding the NUL
};

namespace detail {

/// Overwrites `n` bytes at `p` with OPENSSL_cleanse (never optimized away); nothing for n == 0.
MAILWIRE_API void wipe(void* p, std::size_t n) noexcept;
/// Overwrites the whole buffer of `s` (its capacity, not just its size), then empties it; the
/// buffer itself is kept. For transient std::string buffers that carried a secret and cannot be
/// a mailwire::secret (e.g. a command line assembled by a std::string-based builder).
MAILWIRE_API void wipe(std::string& s) noexcept;

/// Calls detail::wipe(s) when it goes out of scope, on every path (a throwing write included).
class wipe_on_exit {
public:
    /// Will wipe `s`, which must outlive this object.
    explicit wipe_on_exit(std::string& s) noexcept : s_(s) {}
    wipe_on_exit(const wipe_on_exit&) = delete;
    wipe_on_exit& operator=(const wipe_on_exit&) = delete;
    /// Wipes the string.
    ~wipe_on_exit() { wipe(s_); }

private:
    std::string& s_;
};

}  // namespace detail
}  // namespace mailwire
