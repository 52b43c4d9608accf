// Sans-I/O interpretation of the IMAP responses the client used to decode inline: NAMESPACE
// (RFC 2342), QUOTA/QUOTAROOT (RFC 9208), METADATA (RFC 5464), ID (RFC 2971), the UIDPLUS codes
// COPYUID/APPENDUID (RFC 4315 §3) and VANISHED (RFC 7162 §3.2.10), MODIFIED (RFC 7162 §3.1.3).
//
// Each function takes a parsed response (or the text of a response code) and returns a typed
// value: no client, no socket, so each is unit-tested and fuzzed (fuzz/fuzz_imap_responses.cpp).
// Collections are bounded by an explicit `max_items` (the client passes limits().max_list_items):
// more entries than that is a protocol_error (errc::limit_exceeded). Malformed input the client
// must not trust is a protocol_error (errc::protocol_violation); harmless oddities are skipped.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mailwire/export.hpp"
#include "mailwire/imap/client.hpp"
#include "mailwire/imap/parser.hpp"
#include "mailwire/imap/types.hpp"

namespace mailwire::imap::detail {

/// "* NAMESPACE (("" "/")) NIL (("#shared/" "/"))" → the three lists; prefixes decoded from modified
/// UTF-7. More than `max_items` entries in all is limit_exceeded.
MAILWIRE_API namespaces interpret_namespace(const response& r, std::size_t max_items);

/// "* QUOTA root (STORAGE 10 512 MESSAGE 1 1000)" → the root and its resources (names upper case).
/// A resource whose usage or limit is not a number is a protocol_violation.
MAILWIRE_API quota interpret_quota(const response& r, std::size_t max_items);

/// "* QUOTAROOT mailbox root1 root2" → the roots (the mailbox name is skipped).
MAILWIRE_API std::vector<std::string> interpret_quotaroot(const response& r, std::size_t max_items);

/// "* METADATA mailbox (entry value entry NIL …)" → entry/value pairs in order; NIL → nullopt.
MAILWIRE_API std::vector<std::pair<std::string, std::optional<std::string>>> interpret_metadata(const response& r,
                                                                                                std::size_t max_items);

/// "* ID ("name" "Dovecot" …)" → field/value pairs in order (NIL values → ""); "* ID NIL" → none.
MAILWIRE_API std::vector<std::pair<std::string, std::string>> interpret_id(const response& r, std::size_t max_items);

/// The arguments of a [COPYUID uidvalidity source-set dest-set] code; nullopt when malformed.
MAILWIRE_API std::optional<copy_result> parse_copyuid(std::string_view code_args);

/// The arguments of an [APPENDUID uidvalidity uid-set] code; nullopt when malformed.
MAILWIRE_API std::optional<append_result> parse_appenduid(std::string_view code_args);

/// The arguments of a [MODIFIED set] code (RFC 7162 §3.1.3); an empty set when malformed.
MAILWIRE_API sequence_set parse_modified(std::string_view code_args);

/// A VANISHED response (RFC 7162 §3.2.10).
struct vanished_data {
    bool earlier = false;  ///< VANISHED (EARLIER): the answer to a QRESYNC/CHANGEDSINCE request
    sequence_set uids;     ///< the UIDs that are gone
};
/// "* VANISHED [(EARLIER)] uid-set"; nullopt when the set is missing, protocol_violation when it is
/// malformed.
MAILWIRE_API std::optional<vanished_data> interpret_vanished(const response& r);

}  // namespace mailwire::imap::detail
