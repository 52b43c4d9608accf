// mailwire::secret: the one owner of credential bytes in memory. Every path that releases or
// abandons bytes (destruction, reassignment, growth, clear, move-from) goes through release() or
// clear(), which overwrite them with OPENSSL_cleanse first: a plain memset before free() may be
// removed by the optimizer as a dead store.
#include "mailwire/secret.hpp"

#include <openssl/crypto.h>

#include <cstring>
#include <utility>

namespace mailwire {

namespace detail {

void wipe(void* p, std::size_t n) noexcept {
    if (p != nullptr && n != 0) OPENSSL_cleanse(p, n);
}

void wipe(std::string& s) noexcept {
    // Bytes between size() and capacity() may still hold an earlier, longer value. resize() up to
    // the capacity never reallocates and makes the whole buffer addressable through data().
    s.resize(s.capacity());
    wipe(s.data(), s.size());
    s.clear();
}

}  // namespace detail

secret::secret(std::string_view s) { assign(s); }

secret::secret(const char* s) {
    if (s != nullptr) assign(std::string_view(s));
}

secret::secret(const std::string& s) { assign(s); }

secret::secret(std::string&& s) {
    assign(s);
    detail::wipe(s);
}

secret::secret(const secret& other) { assign(other.view()); }

secret::secret(secret&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)),
      capacity_(std::exchange(other.capacity_, 0)) {}

secret& secret::operator=(const secret& other) {
    if (this != &other) assign(other.view());
    return *this;
}

secret& secret::operator=(secret&& other) noexcept {
    if (this != &other) {
        release();
        data_ = std::exchange(other.data_, nullptr);
        size_ = std::exchange(other.size_, 0);
        capacity_ = std::exchange(other.capacity_, 0);
    }
    return *this;
}

secret::~secret() { release(); }

secret& secret::assign(std::string_view s) {
    // `s` may point into this secret's own buffer (a.assign(a.view().substr(1))): move it into
    // place before wiping what is left behind.
    if (s.size() > capacity_) {
        secret fresh;
        fresh.grow(s.size());
        std::memcpy(fresh.data_, s.data(), s.size());
        fresh.size_ = s.size();
        *this = std::move(fresh);  // releases (wipes) the old buffer
        return *this;
    }
    if (!s.empty()) std::memmove(data_, s.data(), s.size());
    if (size_ > s.size()) detail::wipe(data_ + s.size(), size_ - s.size());
    size_ = s.size();
    if (data_ != nullptr) data_[size_] = '\0';
    return *this;
}

secret& secret::append(std::string_view s) {
    if (s.empty()) return *this;
    if (size_ + s.size() > capacity_) {
        // Geometric growth keeps repeated appends linear; the abandoned buffer is wiped. `s` may
        // point into the old buffer, so copy it before that buffer is released.
        std::size_t want = capacity_ * 2;
        if (want < size_ + s.size()) want = size_ + s.size();
        secret fresh;
        fresh.grow(want);
        if (size_ != 0) std::memcpy(fresh.data_, data_, size_);  // data_ may be null (empty)
        std::memcpy(fresh.data_ + size_, s.data(), s.size());
        fresh.size_ = size_ + s.size();
        fresh.data_[fresh.size_] = '\0';
        *this = std::move(fresh);
        return *this;
    }
    std::memmove(data_ + size_, s.data(), s.size());
    size_ += s.size();
    data_[size_] = '\0';
    return *this;
}

void secret::reserve(std::size_t n) {
    if (n <= capacity_) return;
    secret fresh;
    fresh.grow(n);
    if (size_ != 0) std::memcpy(fresh.data_, data_, size_);
    fresh.size_ = size_;
    fresh.data_[size_] = '\0';
    *this = std::move(fresh);
}

void secret::clear() noexcept {
    detail::wipe(data_, size_);
    size_ = 0;
}

void secret::grow(std::size_t n) {
    // Only called on an empty, unallocated secret (see the callers): nothing to wipe here.
    data_ = new char[n + 1]();  // zero-filled: the tail past size_ never holds stale bytes
    capacity_ = n;
}

void secret::release() noexcept {
    if (data_ == nullptr) return;
    detail::wipe(data_, size_);
    delete[] data_;
    data_ = nullptr;
    size_ = 0;
    capacity_ = 0;
}

bool operator==(const secret& a, const secret& b) noexcept {
    return a.size() == b.size() && (a.empty() || CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0);
}

}  // namespace mailwire
