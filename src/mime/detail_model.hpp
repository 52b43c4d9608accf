// Internals shared by the message model, serialiser, builder and address formatter.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "mailwire/mime/address.hpp"

namespace mailwire::mime::detail {

/// `bytes` random bytes as upper-case hex (std::random_device-seeded generator).
std::string random_hex(std::size_t bytes);
/// Removes the line breaks of folding (RFC 5322 §2.2.3).
std::string unfold(std::string_view v);
/// Message ids ("<a@b> <c@d>") without angle brackets.
std::vector<std::string> message_ids(std::string_view v);

// ---- header injection guards (one rule for every header line written from API values) ----

/// Longest msg-id content accepted (without the angle brackets), so that "Name: <id>" always
/// fits a line (RFC 5322 §2.1.1 allows 998 octets; real ids are under 100).
inline constexpr std::size_t max_msg_id_length = 250;

/// Throws mailwire::error (invalid_argument) unless `name` is a field name (RFC 5322 §2.2:
/// 1..996 printable US-ASCII characters except colon).
void check_header_name(std::string_view name);
/// Throws mailwire::error (invalid_argument) unless `value` is a valid field body as written:
/// no NUL, and every line break is CRLF followed by at least one WSP and then by something other
/// than blanks (RFC 5322 §2.2.3 folding; no bare CR or LF, no empty continuation line).
void check_header_value(std::string_view name, std::string_view value);
/// check_header_name and check_header_value.
void check_header_field(std::string_view name, std::string_view value);

/// RFC 5322 §3.2.3 dot-atom-text (atext per RFC 6532, so UTF-8 is accepted).
bool is_dot_atom_text(std::string_view s) noexcept;
/// A domain as written in an address or a msg-id: dot-atom-text or a domain literal "[dtext*]"
/// (RFC 5322 §3.4.1, without folding whitespace).
bool is_domain(std::string_view s) noexcept;
/// msg-id content "id-left@id-right" without angle brackets (RFC 5322 §3.6.4, no obsolete
/// forms): dot-atom-text "@" (dot-atom-text / no-fold-literal), at most max_msg_id_length octets.
bool is_msg_id(std::string_view id) noexcept;
/// `id` with one optional pair of surrounding angle brackets removed, validated with is_msg_id;
/// throws mailwire::error (invalid_argument) naming `what` otherwise.
std::string checked_msg_id(std::string_view id, std::string_view what);

/// Why `m` cannot be written into a header (a local part with control characters, a domain that
/// is neither a dot-atom nor a domain literal), nullptr when it can. The display name is always
/// writable: it is made single-line text (detail::single_line_text) when formatted.
const char* mailbox_problem(const mailbox& m) noexcept;

}  // namespace mailwire::mime::detail
