// The read-ahead that send() and send_many() share: a message up to inline_limit is read whole
// before its MAIL FROM (what it holds decides the parameters, and it can ride with the commands),
// and a larger one is sent as the bytes already read followed by the rest of its source.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>

#include "mailwire/smtp/client.hpp"

namespace mailwire::smtp::detail {

/// A message up to this many bytes is read before anything of it is sent.
inline constexpr std::uint64_t inline_limit = 256 * 1024;

/// Reads `src` to its end if it holds at most `limit` bytes; false (with the `limit` + 1 bytes
/// read in `raw`) when more follows.
inline bool read_ahead(message_source& src, std::uint64_t limit, std::string& raw) {
    raw.resize(static_cast<std::size_t>(limit) + 1);
    std::size_t got = 0;
    while (got < raw.size()) {
        const auto n = src.read(raw.data() + got, raw.size() - got);
        if (n == 0) break;
        got += n;
    }
    raw.resize(got);
    return got <= limit;
}

/// The bytes read ahead, then the rest of the source; its size is what the caller says (the
/// source's own figure, or nothing when that figure proved wrong).
class prefixed_source final : public message_source {
public:
    prefixed_source(std::string prefix, message_source& rest, std::optional<std::uint64_t> size)
        : prefix_(std::move(prefix)), rest_(rest), size_(size) {}
    std::size_t read(char* buf, std::size_t n) override {
        if (pos_ < prefix_.size()) {
            n = std::min(n, prefix_.size() - pos_);
            std::copy_n(prefix_.data() + pos_, n, buf);
            pos_ += n;
            return n;
        }
        return rest_.read(buf, n);
    }
    [[nodiscard]] std::optional<std::uint64_t> size() const override { return size_; }

private:
    std::string prefix_;
    std::size_t pos_ = 0;
    message_source& rest_;
    std::optional<std::uint64_t> size_;
};

}  // namespace mailwire::smtp::detail
