// SMTP replies (RFC 5321 §4.2) and EHLO capabilities — sans-I/O.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "mailwire/export.hpp"

namespace mailwire::smtp {

/// One complete (possibly multi-line) reply.
struct reply {
    int code = 0;               ///< 220, 250, 354, 421, 550 …
    std::string enhanced_code;  ///< RFC 3463 "5.7.1" when the server sent one, else empty
    std::vector<std::string> lines;  ///< text of each line, after "250-"/"250 " (enhanced code kept)

    [[nodiscard]] bool positive() const noexcept { return code >= 200 && code < 400; }
    [[nodiscard]] bool transient() const noexcept { return code >= 400 && code < 500; }
    [[nodiscard]] bool permanent() const noexcept { return code >= 500; }
    /// Lines joined with "\n", enhanced codes stripped from each line.
    [[nodiscard]] MAILWIRE_API std::string text() const;
    bool operator==(const reply&) const = default;
};

/// Assembles replies from lines (without CRLF). Malformed lines throw protocol_error.
class MAILWIRE_API reply_parser {
public:
    /// Returns true when `line` completed a reply; collect it with take().
    bool feed_line(std::string_view line);
    reply take();
    /// Limit on the number of lines of one reply.
    void set_max_lines(std::size_t n) noexcept { max_lines_ = n; }

private:
    reply current_;
    bool complete_ = false;
    std::size_t max_lines_ = 4096;
};

/// EHLO keywords (RFC 5321 §4.1.1.1 and the extensions mailwire uses).
struct capabilities {
    bool extended = false;  ///< EHLO worked (false: HELO fallback)
    std::string domain;     ///< the server's name from the first line
    bool has_size = false;
    std::uint64_t size = 0;  ///< SIZE limit; 0 with has_size = no fixed limit
    bool pipelining = false, eight_bit_mime = false, binary_mime = false, chunking = false, smtputf8 = false,
         dsn = false, enhanced_status_codes = false, starttls = false, requiretls = false;
    std::vector<std::string> auth;               ///< SASL mechanisms, upper case
    std::map<std::string, std::string> keywords;  ///< every keyword (upper case) → its parameters
    [[nodiscard]] bool has(std::string_view keyword) const;
};
MAILWIRE_API capabilities parse_ehlo(const reply& r);

}  // namespace mailwire::smtp
