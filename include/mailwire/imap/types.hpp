// Typed IMAP data: sequence sets, FETCH items (ENVELOPE, BODYSTRUCTURE, sections), LIST/STATUS/
// ESEARCH/QUOTA/METADATA results, mailbox state, modified UTF-7 mailbox names, and the SEARCH
// query builder. The interpret_* functions turn a parsed response (parser.hpp) into these.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mailwire/export.hpp"
#include "mailwire/imap/parser.hpp"
#include "mailwire/mime/address.hpp"
#include "mailwire/mime/date.hpp"
#include "mailwire/mime/params.hpp"

namespace mailwire::imap {

// ---- sequence sets (RFC 3501 §9 sequence-set) -------------------------------------------------

/// A set of message numbers or UIDs: "1:4,7,9:*". The value 0 stands for "*".
class MAILWIRE_API sequence_set {
public:
    static constexpr std::uint32_t star = 0;
    sequence_set() = default;
    /// One number or range (lo:hi; hi = star for "lo:*").
    sequence_set(std::uint32_t one) { add(one); }  // NOLINT(google-explicit-constructor)
    sequence_set(std::uint32_t lo, std::uint32_t hi) { add(lo, hi); }
    static sequence_set all() { return {1, star}; }
    /// Parses "1:4,7,9:*"; throws parse_error on malformed input.
    static sequence_set parse(std::string_view s);
    /// Compresses a list of numbers into ranges.
    static sequence_set from(std::vector<std::uint32_t> numbers);

    sequence_set& add(std::uint32_t one) { return add(one, one); }
    sequence_set& add(std::uint32_t lo, std::uint32_t hi);
    [[nodiscard]] bool empty() const noexcept { return ranges_.empty(); }
    [[nodiscard]] bool contains(std::uint32_t n) const noexcept;
    /// Every number (ranges ending at * stop at `star_value`); at most `max` numbers.
    [[nodiscard]] std::vector<std::uint32_t> expand(std::uint32_t star_value = 0xffffffffu,
                                                    std::size_t max = 10'000'000) const;
    [[nodiscard]] std::string to_string() const;
    [[nodiscard]] const std::vector<std::pair<std::uint32_t, std::uint32_t>>& ranges() const noexcept {
        return ranges_;
    }
    friend bool operator==(const sequence_set&, const sequence_set&) = default;

private:
    std::vector<std::pair<std::uint32_t, std::uint32_t>> ranges_;
};

// ---- FETCH items ------------------------------------------------------------------------------

/// ENVELOPE (RFC 3501 §7.4.2), decoded: RFC 2047 words in subject and names turned into UTF-8;
/// address groups rebuilt from the NIL-host markers.
struct envelope {
    std::string date;  ///< as sent
    std::optional<mime::date_time> parsed_date;
    std::string subject;  ///< decoded
    std::vector<mime::address> from, sender, reply_to, to, cc, bcc;
    std::string in_reply_to, message_id;
    friend bool operator==(const envelope&, const envelope&) = default;
};

/// One node of BODYSTRUCTURE (RFC 3501 §7.4.2), with the extension data when sent.
struct body_part {
    std::string type, subtype;              ///< lower case: "text"/"plain", "multipart"/"mixed"
    std::vector<mime::parameter> params;    ///< body-fld-param (multipart: its extension params)
    std::string id, description, encoding;  ///< single parts
    std::uint64_t size = 0;                 ///< octets (single parts)
    std::uint32_t lines = 0;                ///< text/* and message/rfc822
    std::string md5;
    std::string disposition;                ///< lower case, "" when NIL
    std::vector<mime::parameter> disposition_params;
    std::vector<std::string> language;
    std::string location;
    std::shared_ptr<const envelope> message_envelope;  ///< message/rfc822: the encapsulated envelope
    std::vector<body_part> parts;  ///< multipart children; message/rfc822: the encapsulated body
    std::string section;           ///< part specifier for BODY[section]: "1", "2.1"; "" for the root
    [[nodiscard]] bool is_multipart() const noexcept { return type == "multipart"; }
    [[nodiscard]] std::string param(std::string_view name) const;
    friend bool operator==(const body_part&, const body_part&);
};

/// BODY[section]<origin> / BINARY[...] / RFC822* data.
struct body_section {
    std::string name;  ///< item as sent without the origin: "BODY[]", "BODY[HEADER]", "RFC822.TEXT"
    std::string section;  ///< what is inside the brackets: "", "HEADER", "1.2.MIME"
    std::optional<std::uint64_t> origin;  ///< <origin> of a partial fetch
    std::string data;      ///< the bytes (empty when streamed to a sink or NIL)
    bool streamed = false;
    bool nil = false;
    std::uint64_t size = 0;  ///< byte count (also for streamed data)
    friend bool operator==(const body_section&, const body_section&) = default;
};

/// One FETCH response, typed.
struct fetch_data {
    std::uint32_t seq = 0;
    std::optional<std::uint32_t> uid;
    std::optional<std::vector<std::string>> flags;
    std::string internaldate;  ///< as sent: "17-Jul-1996 02:44:25 -0700"
    std::optional<mime::date_time> parsed_internaldate;
    std::optional<std::uint64_t> rfc822_size;
    std::optional<envelope> env;
    std::optional<body_part> body;  ///< BODYSTRUCTURE (or BODY without section)
    std::vector<body_section> sections;
    std::optional<std::uint64_t> modseq;
    std::string emailid, threadid;  ///< RFC 8474 when present
    friend bool operator==(const fetch_data&, const fetch_data&) = default;
    /// Data of BODY[`section`] (first match), or nullptr.
    [[nodiscard]] const body_section* find(std::string_view section) const;
};

// ---- other responses ----------------------------------------------------------------------

struct list_entry {
    std::string name;      ///< UTF-8 (modified UTF-7 decoded unless UTF8=ACCEPT is on)
    std::string raw_name;  ///< as sent
    char delimiter = 0;    ///< 0 for NIL
    std::vector<std::string> attributes;  ///< "\HasNoChildren", "\Sent" … as sent
    std::optional<std::string> old_name;  ///< LIST-EXTENDED OLDNAME
    [[nodiscard]] bool has_attribute(std::string_view a) const;
    friend bool operator==(const list_entry&, const list_entry&) = default;
};

struct status_data {
    std::string mailbox;
    std::optional<std::uint32_t> messages, recent, uidnext, uidvalidity, unseen;
    std::optional<std::uint64_t> highestmodseq, size;
    friend bool operator==(const status_data&, const status_data&) = default;
};

/// SEARCH/ESEARCH results (RFC 4731) and SORT results.
struct search_result {
    std::vector<std::uint32_t> ids;  ///< SEARCH, or ESEARCH ALL expanded (left empty when ALL holds
                                     ///< more than 4 Mi numbers: use `all`)
    std::optional<std::uint32_t> min, max, count;
    std::optional<sequence_set> all;  ///< ESEARCH ALL as sent
    std::optional<std::uint64_t> modseq;
    bool uid = false;
    friend bool operator==(const search_result&, const search_result&) = default;
};

/// THREAD result: a forest; a node with id 0 is a placeholder parent.
struct thread_node {
    std::uint32_t id = 0;
    std::vector<thread_node> children;
    friend bool operator==(const thread_node&, const thread_node&);
};

struct namespace_entry {
    std::string prefix;
    char delimiter = 0;
    friend bool operator==(const namespace_entry&, const namespace_entry&) = default;
};
struct namespaces {
    std::vector<namespace_entry> personal, other_users, shared;
};

struct quota_resource {
    std::string name;  ///< "STORAGE" (KiB), "MESSAGE"
    std::uint64_t usage = 0, limit = 0;
    friend bool operator==(const quota_resource&, const quota_resource&) = default;
};
struct quota {
    std::string root;
    std::vector<quota_resource> resources;
};

/// Mailbox state kept by the client, updated from every response.
struct mailbox_state {
    std::string name;
    bool selected = false;
    bool read_only = false;
    std::uint32_t exists = 0, recent = 0;
    std::uint32_t uidvalidity = 0, uidnext = 0, first_unseen = 0;
    std::vector<std::string> flags, permanent_flags;
    std::uint64_t highestmodseq = 0;
    bool nomodseq = false;
};

/// Something the server told us about the selected mailbox.
struct mailbox_event {
    enum class kind { exists, recent, expunge, vanished, fetch, flags, uidvalidity, uidnext, highestmodseq, alert, bye };
    kind type = kind::exists;
    std::uint32_t number = 0;       ///< exists/recent count, expunged sequence number, uid values
    std::uint64_t modseq = 0;
    sequence_set uids;              ///< vanished
    bool earlier = false;           ///< VANISHED (EARLIER)
    const fetch_data* fetch = nullptr;  ///< fetch: valid during the callback
    std::string text;               ///< alert/bye text
};

// ---- interpretation of parsed responses ---------------------------------------------------

/// "* n FETCH (…)" → fetch_data. Throws protocol_error on malformed items.
MAILWIRE_API fetch_data interpret_fetch(const response& r);
/// Same into an existing object (reuses its storage).
MAILWIRE_API void interpret_fetch(const response& r, fetch_data& out);
MAILWIRE_API envelope interpret_envelope(const response& r, const node& list);
MAILWIRE_API body_part interpret_body(const response& r, const node& list);
/// "* LIST (\attrs) "/" name" (also LSUB); `utf8` when UTF8=ACCEPT is enabled (no UTF-7 decoding).
MAILWIRE_API list_entry interpret_list(const response& r, bool utf8 = false);
MAILWIRE_API status_data interpret_status(const response& r, bool utf8 = false);
/// "* SEARCH 1 2 [(MODSEQ n)]", "* ESEARCH (TAG "x") UID MIN 1 …", "* SORT …".
MAILWIRE_API search_result interpret_search(const response& r);
MAILWIRE_API std::vector<thread_node> interpret_thread(const response& r);
/// Flag list node → flags as sent.
MAILWIRE_API std::vector<std::string> interpret_flags(const response& r, const node& list);
/// The nodes of a list as a vector of pointers (helper for callers that walk responses).
MAILWIRE_API std::vector<const node*> children(const response& r, const node& list);
/// INTERNALDATE "17-Jul-1996 02:44:25 -0700".
MAILWIRE_API std::optional<mime::date_time> parse_internaldate(std::string_view s);

// ---- mailbox names ------------------------------------------------------------------------

/// Modified UTF-7 (RFC 3501 §5.1.3) → UTF-8. Invalid input is returned unchanged.
MAILWIRE_API std::string decode_mailbox_name(std::string_view utf7);
/// UTF-8 → modified UTF-7.
MAILWIRE_API std::string encode_mailbox_name(std::string_view utf8);

// ---- command arguments ----------------------------------------------------------------------

/// Calendar date for SEARCH (SINCE 1-Feb-1994).
struct date {
    int year = 1970;
    unsigned month = 1, day = 1;
};
MAILWIRE_API std::string format_search_date(const date& d);
/// "17-Jul-1996 02:44:25 +0000" for APPEND.
MAILWIRE_API std::string format_internaldate(const mime::date_time& t);

/// A typed SEARCH query (RFC 3501 §6.4.4). Combine with && (AND, the default) , || (OR) and !.
///   auto q = search_query::unseen() && search_query::from("alice") && !search_query::deleted();
class MAILWIRE_API search_query {
public:
    search_query() = default;
    static search_query all();
    static search_query answered();
    static search_query deleted();
    static search_query draft();
    static search_query flagged();
    static search_query seen();
    static search_query recent();
    static search_query unanswered();
    static search_query undeleted();
    static search_query undraft();
    static search_query unflagged();
    static search_query unseen();
    static search_query keyword(std::string_view flag);
    static search_query unkeyword(std::string_view flag);
    static search_query from(std::string_view s);
    static search_query to(std::string_view s);
    static search_query cc(std::string_view s);
    static search_query bcc(std::string_view s);
    static search_query subject(std::string_view s);
    static search_query body(std::string_view s);
    static search_query text(std::string_view s);
    static search_query header(std::string_view name, std::string_view value);
    static search_query before(const date& d);
    static search_query on(const date& d);
    static search_query since(const date& d);
    static search_query sent_before(const date& d);
    static search_query sent_on(const date& d);
    static search_query sent_since(const date& d);
    static search_query larger(std::uint64_t n);
    static search_query smaller(std::uint64_t n);
    static search_query uid(const sequence_set& s);
    static search_query sequence(const sequence_set& s);
    static search_query modseq(std::uint64_t n);  ///< CONDSTORE
    static search_query older(std::uint32_t seconds);  ///< WITHIN
    static search_query younger(std::uint32_t seconds);
    /// Raw criteria text, for what the builder lacks.
    static search_query raw(std::string criteria);

    friend MAILWIRE_API search_query operator&&(search_query a, search_query b);
    friend MAILWIRE_API search_query operator||(search_query a, search_query b);
    friend MAILWIRE_API search_query operator!(search_query a);

    /// The criteria; strings with non-ASCII go as literals (see literals()).
    [[nodiscard]] const std::string& text() const noexcept { return text_; }
    /// Whether a string needs CHARSET UTF-8.
    [[nodiscard]] bool needs_utf8() const noexcept { return utf8_; }
    /// Segments: even indexes are command text, odd ones literal bytes.
    [[nodiscard]] const std::vector<std::string>& parts() const noexcept { return parts_; }

private:
    static search_query key(std::string k);
    static search_query key_string(std::string_view k, std::string_view s);
    void append(const search_query& o);
    std::string text_;
    std::vector<std::string> parts_;  // text, literal, text, literal, …, text
    bool utf8_ = false;
    bool empty_ = true;
};

}  // namespace mailwire::imap
