// POP3 status lines (RFC 1939), response codes (RFC 2449/3206) and CAPA — sans-I/O.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mailwire/export.hpp"

namespace mailwire::pop3 {

/// A POP3 status line: "+OK text" or "-ERR [CODE] text".
struct status {
    bool ok = false;   ///< true for +OK, false for -ERR
    std::string code;  ///< extended response code without brackets: "IN-USE", "SYS/TEMP", "AUTH"
    std::string text;  ///< the rest of the line
    /// Field-wise comparison.
    bool operator==(const status&) const = default;
};
/// Parses "+OK …" / "-ERR [CODE] …". Anything else throws protocol_error.
MAILWIRE_API status parse_status(std::string_view line);

/// The APOP timestamp "<…@…>" of a greeting (RFC 1939 §7), or empty.
MAILWIRE_API std::string apop_timestamp(std::string_view greeting);

/// A line of a multi-line response: nullopt for the terminating ".", else the line unstuffed.
MAILWIRE_API std::optional<std::string_view> unstuff_line(std::string_view line) noexcept;

/// STAT (RFC 1939 §5): number of messages and their total size in octets.
struct mailbox_stat {
    std::uint32_t count = 0;  ///< messages not marked deleted
    std::uint64_t size = 0;   ///< their total size in octets
    /// Field-wise comparison.
    bool operator==(const mailbox_stat&) const = default;
};
/// One LIST line: message number and size in octets.
struct message_info {
    std::uint32_t number = 0;  ///< message number in this session (from 1; changes between sessions)
    std::uint64_t size = 0;    ///< size in octets as the server counts it (CRLF line ends)
    /// Field-wise comparison.
    bool operator==(const message_info&) const = default;
};
/// One UIDL line: message number and its unique id (RFC 1939 §7: 1-70 characters 0x21-0x7E).
struct message_uid {
    std::uint32_t number = 0;  ///< message number in this session
    std::string uid;           ///< the unique id, stable across sessions
    /// Field-wise comparison.
    bool operator==(const message_uid&) const = default;
};
/// The text of a STAT "+OK nn mm" reply; throws protocol_error when it is not "nn mm".
MAILWIRE_API mailbox_stat parse_stat(std::string_view text);
/// "nn mm [anything]" — a LIST line or the text of "+OK" to "LIST n"; throws protocol_error.
MAILWIRE_API message_info parse_list_line(std::string_view line);
/// "nn uid" — a UIDL line or the text of "+OK" to "UIDL n"; throws protocol_error.
MAILWIRE_API message_uid parse_uidl_line(std::string_view line);
/// The size a server announces in its RETR reply ("+OK 1234 octets"), if the text starts with one.
MAILWIRE_API std::optional<std::uint64_t> announced_octets(std::string_view text) noexcept;

/// An extended response code (RFC 2449 §8, RFC 3206, RFC 6856) made comparable.
enum class response_code {
    none,         ///< no code
    in_use,       ///< [IN-USE]: the maildrop is locked by another session
    login_delay,  ///< [LOGIN-DELAY]: logged in too recently
    auth,         ///< [AUTH]: the credentials are wrong (RFC 3206)
    sys_temp,     ///< [SYS/TEMP]: a temporary system problem; retry later
    sys_perm,     ///< [SYS/PERM]: a permanent system problem
    utf8,         ///< [UTF8]: the mailbox needs UTF-8 mode (RFC 6856)
    other,        ///< any other code
};
/// Classifies a code as carried in status::code ("SYS/TEMP", "IN-USE" …); sub-levels of a known code
/// ("SYS/TEMP/DISK") count as the known code.
MAILWIRE_API response_code classify_response_code(std::string_view code) noexcept;

/// What a CAPA response (RFC 2449 §5) announced; all false/empty when the server has no CAPA.
struct capabilities {
    bool top = false;                        ///< TOP
    bool uidl = false;                       ///< UIDL
    bool user = false;                       ///< USER/PASS login is allowed
    bool resp_codes = false;                 ///< RESP-CODES: -ERR replies may carry [CODE]
    bool auth_resp_code = false;             ///< AUTH-RESP-CODE: login failures carry [AUTH] / [SYS/…] (RFC 3206)
    bool pipelining = false;                 ///< PIPELINING: commands may be sent without waiting for replies
    bool stls = false;                       ///< STLS (RFC 2595)
    bool utf8 = false;                       ///< UTF8 (RFC 6856)
    std::vector<std::string> sasl;           ///< SASL mechanisms, upper case
    std::optional<std::string> expire;       ///< EXPIRE argument ("NEVER", days …)
    std::optional<std::string> login_delay;  ///< LOGIN-DELAY argument (seconds)
    std::string implementation;              ///< IMPLEMENTATION argument (server software), empty if none
    std::vector<std::string> lines;          ///< every capability line as sent
    /// True when the first word of a capability line is `keyword` (case-insensitive), e.g. "X-FOO".
    [[nodiscard]] MAILWIRE_API bool has(std::string_view keyword) const;
};
/// Parses the lines of a CAPA response (between "+OK" and ".", already unstuffed). More than
/// `max_mechanisms` SASL mechanisms throw protocol_error(errc::limit_exceeded) (the client passes
/// limits().max_list_items), so one long SASL line cannot turn into an unbounded list.
MAILWIRE_API capabilities parse_capa(const std::vector<std::string>& lines,
                                     std::size_t max_mechanisms = std::numeric_limits<std::size_t>::max());

}  // namespace mailwire::pop3
