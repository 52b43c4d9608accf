// The messages Dovecot stored for a user of the test harness, read from its maildir (new/ and
// cur/). Tests find their own messages by a marker in the header section; mailboxes are shared with
// tests running in parallel, so nothing here counts a whole mailbox.
#pragma once

#include <chrono>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <thread>

namespace mailwire::test {

/// Calls `visit(head, rest)` for each message stored in the maildir `root`, with its first
/// `head_bytes` bytes in `head` and `rest` positioned after them; `visit` returns true to stop.
/// Returns whether a visit stopped it.
inline bool visit_maildir(const std::filesystem::path& root, std::size_t head_bytes,
                          const std::function<bool(std::string& head, std::istream& rest)>& visit) {
    for (const char* sub : {"new", "cur"}) {
        std::error_code ec;
        for (const auto& e : std::filesystem::directory_iterator(root / sub, ec)) {
            std::ifstream in(e.path(), std::ios::binary);
            std::string head(head_bytes, '\0');
            in.read(head.data(), static_cast<std::streamsize>(head.size()));
            head.resize(static_cast<std::size_t>(in.gcount()));
            if (visit(head, in)) return true;
        }
    }
    return false;
}

/// Waits until a message holding `marker` in its first 64 KiB is stored in `root`; returns its
/// bytes ("" when `limit` passes first).
inline std::string wait_in_maildir(const std::filesystem::path& root, const std::string& marker,
                                   std::chrono::seconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    std::string found;
    while (std::chrono::steady_clock::now() < deadline) {
        // The marker is a header: look at the first 64 KiB, read the rest only on a match.
        const bool stored = visit_maildir(root, 64 << 10, [&](std::string& head, std::istream& rest) {
            if (head.find(marker) == std::string::npos) return false;
            head.append(std::istreambuf_iterator<char>(rest), std::istreambuf_iterator<char>());
            found = std::move(head);
            return true;
        });
        if (stored) return found;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return {};
}

}  // namespace mailwire::test
