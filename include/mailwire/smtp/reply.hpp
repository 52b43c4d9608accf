// SMTP replies (RFC 5321 §4.2) and EHLO capabilities — sans-I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "mailwire/export.hpp"

namespace mailwire::smtp {

/// One complete (possibly multi-line) reply.
struct reply {
    int code = 0;                    ///< 220, 250, 354, 421, 550 …
    std::string enhanced_code;       ///< RFC 3463 "5.7.1" when the server sent one, else empty
    std::vector<std::string> lines;  ///< text of each line, after "250-"/"250 " (enhanced code kept)

    /// 2xx or 3xx: done, or go on (354 after DATA).
    [[nodiscard]] bool positive() const noexcept { return code >= 200 && code < 400; }
    /// 4xx: refused for now; trying again later may work.
    [[nodiscard]] bool transient() const noexcept { return code >= 400 && code < 500; }
    /// 5xx: refused for good.
    [[nodiscard]] bool permanent() const noexcept { return code >= 500; }
    /// Lines joined with "\n", enhanced codes stripped from each line.
    [[nodiscard]] MAILWIRE_API std::string text() const;
    /// Member-wise comparison (tests).
    bool operator==(const reply&) const = default;
};

/// Assembles replies from lines (without CRLF). Malformed lines throw protocol_error
/// (errc::protocol_violation); a reply beyond max_lines() lines or max_bytes() bytes throws
/// protocol_error(errc::limit_exceeded), so a server that never ends its continuation lines
/// cannot make the parser hold more than that.
class MAILWIRE_API reply_parser {
public:
    /// Returns true when `line` completed a reply; collect it with take().
    bool feed_line(std::string_view line);
    /// The completed reply; the parser starts afresh for the next one.
    reply take();
    /// Limit on the number of lines of one reply (default 4096).
    void set_max_lines(std::size_t n) noexcept { max_lines_ = n; }
    /// Limit on the bytes of one reply, counted as on the wire (each line with its CRLF);
    /// default 64 MiB, as limits::max_multiline_bytes.
    void set_max_bytes(std::size_t n) noexcept { max_bytes_ = n; }
    /// The current line limit.
    [[nodiscard]] std::size_t max_lines() const noexcept { return max_lines_; }
    /// The current byte limit.
    [[nodiscard]] std::size_t max_bytes() const noexcept { return max_bytes_; }
    /// Lines of the reply being assembled (or completed and not yet taken).
    [[nodiscard]] std::size_t lines() const noexcept { return current_.lines.size(); }
    /// Wire bytes of the reply being assembled, as counted against max_bytes().
    [[nodiscard]] std::size_t bytes() const noexcept { return bytes_; }

private:
    reply current_;
    bool complete_ = false;
    std::size_t bytes_ = 0;
    std::size_t max_lines_ = 4096;
    std::size_t max_bytes_ = std::size_t{64} << 20;
};

/// EHLO keywords (RFC 5321 §4.1.1.1 and the extensions mailwire uses).
struct capabilities {
    bool extended = false;                        ///< EHLO worked (false: HELO fallback)
    std::string domain;                           ///< the server's name from the first line
    bool has_size = false;                        ///< SIZE (RFC 1870) offered
    std::uint64_t size = 0;                       ///< SIZE limit; 0 with has_size = no fixed limit
    bool pipelining = false;                      ///< PIPELINING (RFC 2920)
    bool eight_bit_mime = false;                  ///< 8BITMIME (RFC 6152)
    bool binary_mime = false;                     ///< BINARYMIME (RFC 3030)
    bool chunking = false;                        ///< CHUNKING: BDAT (RFC 3030)
    bool smtputf8 = false;                        ///< SMTPUTF8 (RFC 6531)
    bool dsn = false;                             ///< DSN (RFC 3461)
    bool enhanced_status_codes = false;           ///< ENHANCEDSTATUSCODES (RFC 2034)
    bool starttls = false;                        ///< STARTTLS (RFC 3207)
    bool requiretls = false;                      ///< REQUIRETLS (RFC 8689)
    std::vector<std::string> auth;                ///< SASL mechanisms, upper case
    std::map<std::string, std::string> keywords;  ///< every keyword (upper case) → its parameters
    /// Whether the server listed `keyword` (any case).
    [[nodiscard]] bool has(std::string_view keyword) const;
};
/// Reads the keyword lines of a 250 reply to EHLO. Repeated AUTH mechanisms are listed once;
/// more than `max_mechanisms` distinct ones throw protocol_error(errc::limit_exceeded) (the
/// client passes limits().max_list_items), so the list cannot outgrow the reply.
MAILWIRE_API capabilities parse_ehlo(const reply& r,
                                     std::size_t max_mechanisms = std::numeric_limits<std::size_t>::max());

}  // namespace mailwire::smtp
