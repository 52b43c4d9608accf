// POP3 status lines (RFC 1939), response codes (RFC 2449/3206) and CAPA — sans-I/O.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mailwire/export.hpp"

namespace mailwire::pop3 {

struct status {
    bool ok = false;
    std::string code;  ///< extended response code without brackets: "IN-USE", "SYS/TEMP", "AUTH"
    std::string text;  ///< the rest of the line
    bool operator==(const status&) const = default;
};
/// Parses "+OK …" / "-ERR [CODE] …". Anything else throws protocol_error.
MAILWIRE_API status parse_status(std::string_view line);

/// The APOP timestamp "<…@…>" of a greeting (RFC 1939 §7), or empty.
MAILWIRE_API std::string apop_timestamp(std::string_view greeting);

/// A line of a multi-line response: nullopt for the terminating ".", else the line unstuffed.
MAILWIRE_API std::optional<std::string_view> unstuff_line(std::string_view line) noexcept;

struct capabilities {
    bool top = false, uidl = false, user = false, resp_codes = false, auth_resp_code = false, pipelining = false,
         stls = false, utf8 = false;
    std::vector<std::string> sasl;     ///< SASL mechanisms, upper case
    std::optional<std::string> expire;       ///< EXPIRE argument ("NEVER", days …)
    std::optional<std::string> login_delay;  ///< LOGIN-DELAY argument (seconds)
    std::string implementation;
    std::vector<std::string> lines;    ///< every capability line as sent
    [[nodiscard]] MAILWIRE_API bool has(std::string_view keyword) const;
};
/// Parses the lines of a CAPA response (between "+OK" and ".", already unstuffed).
MAILWIRE_API capabilities parse_capa(const std::vector<std::string>& lines);

}  // namespace mailwire::pop3
