// Addresses: RFC 5322 §3.4 mailboxes and groups, with the obsolete forms of §4.4 and the usual
// breakage (missing angle brackets, unquoted dots and commas in names, comments as names,
// route addresses, encoded words in quoted names) and RFC 6532 UTF-8.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "mailwire/export.hpp"

namespace mailwire::mime {

/// One mailbox: "Name <local@domain>".
struct MAILWIRE_API mailbox {
    std::string name;    ///< display name, decoded (RFC 2047) to UTF-8, single-line; "" when none
    std::string local;   ///< local part, unquoted (quoted-pairs resolved), ASCII or UTF-8
    std::string domain;  ///< domain as written (ASCII, UTF-8 or a [literal]); "" when missing

    /// local\@domain, the local part re-quoted when it is not a dot-atom; just local without domain.
    [[nodiscard]] std::string address() const;
    /// Domain as an IDNA A-label ("xn--bcher-kva.example"), lower-case; as written when
    /// IDNA conversion fails (or for a domain literal).
    [[nodiscard]] std::string domain_ascii() const;
    /// Domain with A-labels turned into Unicode (U-labels); as written when conversion fails.
    [[nodiscard]] std::string domain_unicode() const;

    /// Field-by-field equality.
    friend bool operator==(const mailbox&, const mailbox&) = default;
};

/// A mailbox or a group of mailboxes ("Team: a@x, b@y;").
struct MAILWIRE_API address {
    std::string group_name;        ///< non-empty for a group (decoded like a display name)
    std::vector<mailbox> members;  ///< one entry for a plain mailbox; zero or more for a group

    /// True for a group (it has a group name).
    [[nodiscard]] bool is_group() const noexcept { return !group_name.empty(); }

    /// Field-by-field equality.
    friend bool operator==(const address&, const address&) = default;
};

/// Parses an address-list header value (From, To, Cc, Reply-To, ...). Display names are decoded
/// and made single-line (line breaks to spaces, control characters other than tab removed).
/// Lenient and never throws:
/// whatever cannot be understood is skipped; an empty or hopeless value gives an empty list.
/// Handles groups (empty ones too), route addresses `<@a,@b:x@y>`, quoted local parts, comments
/// (a comment serves as the name of a bare address: `x@y (Name)`), addresses without angle brackets
/// after a name (`Name x@y`), unquoted dots in names (`John Q. Public <x@y>`), and an unquoted comma
/// in a name (`Doe, John <x@y>` is one mailbox named "Doe, John").
MAILWIRE_API std::vector<address> parse_address_list(std::string_view header_value);

/// As parse_address_list with groups flattened into their members.
MAILWIRE_API std::vector<mailbox> parse_mailbox_list(std::string_view header_value);

/// "Name <local@domain>" with the name quoted or RFC 2047-encoded as needed; just the address
/// when there is no name. No folding. The name is unstructured text: line breaks (with their
/// blanks) become one space and other control characters (tab excepted) are removed, so it
/// stays on one line even once decoded. Throws mailwire::error (invalid_argument) when the local
/// part contains a control character or the domain is neither a dot-atom nor a domain literal
/// (RFC 5322 §3.4.1): such an address cannot be written without breaking the header.
MAILWIRE_API std::string format_mailbox(const mailbox& m);

/// Addresses separated by ", "; groups as "Name: a, b;". No folding. Names and mailboxes as
/// for format_mailbox (same exception).
MAILWIRE_API std::string format_address_list(const std::vector<address>& list);

}  // namespace mailwire::mime
