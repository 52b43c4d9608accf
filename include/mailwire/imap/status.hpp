// IMAP status responses (RFC 3501 §7.1) and capability lists — sans-I/O, line level.
// The full incremental response parser (literals, FETCH items) builds on these.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "mailwire/export.hpp"

namespace mailwire::imap {

/// The status word of a response (RFC 3501 §7.1).
enum class status {
    ok,       ///< OK: success (tagged) or information (untagged)
    no,       ///< NO: the command failed
    bad,      ///< BAD: the command was not understood
    preauth,  ///< PREAUTH greeting: already authenticated
    bye,      ///< BYE: the server is closing the connection
    none      ///< not a status response (data such as "* 3 EXISTS")
};

/// One response line classified: "* OK [CODE args] text", "A1 NO text", "+ text", "* 3 EXISTS".
struct response_line {
    /// Which of the three response forms.
    enum class kind {
        untagged,                              ///< "* …"
        tagged,                                ///< "A1 OK …", the completion of a command
        continuation                           ///< "+ …", the server waits for more of the command
    } type = kind::untagged;                   ///< the form of this line
    std::string tag;                           ///< tagged only
    imap::status status = imap::status::none;  ///< none for data responses such as "* CAPABILITY …"
    std::string code;                          ///< response code name, upper case: "CAPABILITY", "ALERT" …
    std::string code_args;                     ///< what follows the code name inside the brackets
    std::string text;                          ///< human-readable text (status responses), or the data after "* "
    bool operator==(const response_line&) const = default;  ///< member-wise equality
};
/// Throws protocol_error when the line is neither tagged, untagged nor a continuation.
MAILWIRE_API response_line parse_response_line(std::string_view line);

/// Splits a capability list ("IMAP4rev1 STARTTLS AUTH=PLAIN") into upper-case atoms.
MAILWIRE_API std::vector<std::string> parse_capabilities(std::string_view atoms);

/// If `line` ends with a literal announcement "{n}" or "{n+}", its size; else -1.
MAILWIRE_API long long trailing_literal(std::string_view line) noexcept;

}  // namespace mailwire::imap
