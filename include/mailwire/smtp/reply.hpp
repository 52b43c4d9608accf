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

/// The queue id in a reply to the end of DATA or to the last BDAT, as the common MTAs word it;
/// "" when none is recognised (never a guess: a reply in an unknown wording gives "").
///
/// Recognised (the id is what the MTA's own logs print):
///  - Postfix and services built on it: `2.0.0 Ok: queued as 4Qx8Zt1xyz` → "4Qx8Zt1xyz";
///  - Exim: `OK id=1rXabc-0001Ab-Cd` → "1rXabc-0001Ab-Cd";
///  - Sendmail and OpenSMTPD: `2.0.0 4B6HxYzA012345 Message accepted for delivery` (OpenSMTPD
///    may write `2.0.0:`) → the word before "Message accepted for delivery";
///  - Microsoft Exchange and Office 365: `2.6.0 <msgid> [InternalId=123, Hostname=…] Queued mail
///    for delivery` → the InternalId ("123");
///  - Gmail: `2.0.0 OK  1700000000 x1-2002…wmf.22 - gsmtp` → the word before "- gsmtp";
///  - qmail: `ok 1700000000 qp 12345` → "12345" (the qmail-queue process its log names);
///  - Courier: `Ok. 0000000A1B2C.5F3E4D2C.00001234` → the dotted hexadecimal id;
///  - Haraka: `Message Queued (4F2D…-1.1)` → the word in parentheses;
///  - Stalwart: `2.0.0 Message queued with id 18c9e4a2b1c.` → "18c9e4a2b1c";
///  - Amazon SES: `Ok 0100018b1c2d3e4f-…-000000` → the id after "Ok".
/// Only the first 1024 bytes of each line are looked at, and an id is 1 to 128 characters of
/// letters, digits and `-._` (Courier, Gmail) — anything else gives "".
[[nodiscard]] MAILWIRE_API std::string queue_id(const reply& r);

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
