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
    static constexpr std::uint32_t star = 0;  ///< "*": the highest number in use
    sequence_set() = default;
    /// One number or range (lo:hi; hi = star for "lo:*").
    sequence_set(std::uint32_t one) { add(one); }  // NOLINT(google-explicit-constructor)
    /// The range lo:hi (hi = star for "lo:*").
    sequence_set(std::uint32_t lo, std::uint32_t hi) { add(lo, hi); }
    /// "1:*": every message.
    static sequence_set all() { return {1, star}; }
    /// Parses "1:4,7,9:*"; throws parse_error on malformed input.
    static sequence_set parse(std::string_view s);
    /// Compresses a list of numbers into ranges.
    static sequence_set from(std::vector<std::uint32_t> numbers);

    /// Adds one number.
    sequence_set& add(std::uint32_t one) { return add(one, one); }
    /// Adds the range lo:hi (hi = star for "lo:*").
    sequence_set& add(std::uint32_t lo, std::uint32_t hi);
    /// Whether nothing was added.
    [[nodiscard]] bool empty() const noexcept { return ranges_.empty(); }
    /// Whether `n` is in the set (a range to star contains everything from its start).
    [[nodiscard]] bool contains(std::uint32_t n) const noexcept;
    /// Every number (ranges ending at * stop at `star_value`); at most `max` numbers.
    [[nodiscard]] std::vector<std::uint32_t> expand(std::uint32_t star_value = 0xffffffffu,
                                                    std::size_t max = 10'000'000) const;
    /// The set as IMAP writes it: "1:4,7,9:*".
    [[nodiscard]] std::string to_string() const;
    /// The ranges as added (lo, hi); a single number has lo == hi.
    [[nodiscard]] const std::vector<std::pair<std::uint32_t, std::uint32_t>>& ranges() const noexcept {
        return ranges_;
    }
    /// Same ranges in the same order.
    friend bool operator==(const sequence_set&, const sequence_set&) = default;

private:
    std::vector<std::pair<std::uint32_t, std::uint32_t>> ranges_;
};

// ---- FETCH items ------------------------------------------------------------------------------

/// ENVELOPE (RFC 3501 §7.4.2), decoded: RFC 2047 words in subject and names turned into UTF-8;
/// address groups rebuilt from the NIL-host markers.
struct envelope {
    std::string date;                            ///< Date header as sent
    std::optional<mime::date_time> parsed_date;  ///< `date` parsed; nullopt when unparseable or absent
    std::string subject;                         ///< decoded
    std::vector<mime::address> from;             ///< From
    std::vector<mime::address> sender;           ///< Sender (servers repeat From when absent)
    std::vector<mime::address> reply_to;         ///< Reply-To (servers repeat From when absent)
    std::vector<mime::address> to;               ///< To
    std::vector<mime::address> cc;               ///< Cc
    std::vector<mime::address> bcc;              ///< Bcc
    std::string in_reply_to;                     ///< In-Reply-To as sent
    std::string message_id;                      ///< Message-ID as sent, with the angle brackets
    /// Member-wise equality.
    friend bool operator==(const envelope&, const envelope&) = default;
};

/// One node of BODYSTRUCTURE (RFC 3501 §7.4.2), with the extension data when sent.
struct body_part {
    std::string type;                                  ///< lower case: "text", "multipart"
    std::string subtype;                               ///< lower case: "plain", "mixed"
    std::vector<mime::parameter> params;               ///< body-fld-param (multipart: its extension params)
    std::string id;                                    ///< Content-ID (single parts)
    std::string description;                           ///< Content-Description, decoded (single parts)
    std::string encoding;                              ///< Content-Transfer-Encoding, upper case (single parts)
    std::uint64_t size = 0;                            ///< octets (single parts)
    std::uint32_t lines = 0;                           ///< text/* and message/rfc822
    std::string md5;                                   ///< Content-MD5 when sent
    std::string disposition;                           ///< lower case, "" when NIL
    std::vector<mime::parameter> disposition_params;   ///< parameters of the disposition ("filename")
    std::vector<std::string> language;                 ///< Content-Language tags
    std::string location;                              ///< Content-Location
    std::shared_ptr<const envelope> message_envelope;  ///< message/rfc822: the encapsulated envelope
    std::vector<body_part> parts;                      ///< multipart children; message/rfc822: the encapsulated body
    std::string section;  ///< part specifier for BODY[section]: "1", "2.1"; "" for the root
    /// Whether this is a multipart node (its children are in `parts`).
    [[nodiscard]] bool is_multipart() const noexcept { return type == "multipart"; }
    /// The value of parameter `name` (case-insensitive), "" when absent.
    [[nodiscard]] std::string param(std::string_view name) const;
    /// Deep equality (the encapsulated envelope by value).
    friend bool operator==(const body_part&, const body_part&);
};

/// `BODY[section]<origin>`, `BINARY[…]` and `RFC822*` data.
struct body_section {
    std::string name;                     ///< item as sent without the origin: "BODY[]", "BODY[HEADER]", "RFC822.TEXT"
    std::string section;                  ///< what is inside the brackets: "", "HEADER", "1.2.MIME"
    std::optional<std::uint64_t> origin;  ///< `<origin>` of a partial fetch
    std::string data;                     ///< the bytes (empty when streamed to a sink or NIL)
    bool streamed = false;                ///< the bytes went to a literal_sink
    bool nil = false;                     ///< the server sent NIL
    std::uint64_t size = 0;               ///< byte count (also for streamed data)
    /// Member-wise equality.
    friend bool operator==(const body_section&, const body_section&) = default;
};

/// One FETCH response, typed. Items the response did not carry are empty / nullopt.
struct fetch_data {
    std::uint32_t seq = 0;                               ///< message sequence number
    std::optional<std::uint32_t> uid;                    ///< UID
    std::optional<std::vector<std::string>> flags;       ///< FLAGS as sent
    std::string internaldate;                            ///< as sent: "17-Jul-1996 02:44:25 -0700"
    std::optional<mime::date_time> parsed_internaldate;  ///< INTERNALDATE parsed
    std::optional<std::uint64_t> rfc822_size;            ///< RFC822.SIZE
    std::optional<envelope> env;                         ///< ENVELOPE
    std::optional<body_part> body;                       ///< BODYSTRUCTURE (or BODY without section)
    std::vector<body_section> sections;                  ///< BODY[…], BINARY[…], RFC822* items in order
    std::optional<std::uint64_t> modseq;                 ///< MODSEQ (CONDSTORE)
    std::string emailid;                                 ///< EMAILID (RFC 8474) when present
    std::string threadid;                                ///< THREADID (RFC 8474) when present
    /// Member-wise equality.
    friend bool operator==(const fetch_data&, const fetch_data&) = default;
    /// Data of BODY[`section`] (first match), or nullptr.
    [[nodiscard]] const body_section* find(std::string_view section) const;
};

// ---- other responses ----------------------------------------------------------------------

/// One LIST / LSUB response.
struct list_entry {
    std::string name;                     ///< UTF-8 (modified UTF-7 decoded unless UTF8=ACCEPT is on)
    std::string raw_name;                 ///< as sent
    char delimiter = 0;                   ///< 0 for NIL
    std::vector<std::string> attributes;  ///< "\HasNoChildren", "\Sent" … as sent
    std::optional<std::string> old_name;  ///< LIST-EXTENDED OLDNAME
    /// Whether attribute `a` ("\\Noselect") is present (case-insensitive).
    [[nodiscard]] bool has_attribute(std::string_view a) const;
    /// Member-wise equality.
    friend bool operator==(const list_entry&, const list_entry&) = default;
};

/// A STATUS response; items the server did not report are nullopt.
struct status_data {
    std::string mailbox;                         ///< UTF-8 name
    std::optional<std::uint32_t> messages;       ///< MESSAGES
    std::optional<std::uint32_t> recent;         ///< RECENT
    std::optional<std::uint32_t> uidnext;        ///< UIDNEXT
    std::optional<std::uint32_t> uidvalidity;    ///< UIDVALIDITY
    std::optional<std::uint32_t> unseen;         ///< UNSEEN
    std::optional<std::uint64_t> highestmodseq;  ///< HIGHESTMODSEQ (CONDSTORE)
    std::optional<std::uint64_t> size;           ///< SIZE (RFC 8438), octets
    /// Member-wise equality.
    friend bool operator==(const status_data&, const status_data&) = default;
};

/// SEARCH/ESEARCH results (RFC 4731) and SORT results.
struct search_result {
    std::vector<std::uint32_t> ids;       ///< SEARCH, or ESEARCH ALL expanded (left empty when ALL holds
                                          ///< more than 4 Mi numbers or limits::max_list_items: use `all`)
    std::optional<std::uint32_t> min;     ///< ESEARCH MIN
    std::optional<std::uint32_t> max;     ///< ESEARCH MAX
    std::optional<std::uint32_t> count;   ///< ESEARCH COUNT
    std::optional<sequence_set> all;      ///< ESEARCH ALL as sent
    std::optional<std::uint64_t> modseq;  ///< highest MODSEQ of the matches (CONDSTORE)
    bool uid = false;                     ///< the numbers are UIDs
    /// Member-wise equality.
    friend bool operator==(const search_result&, const search_result&) = default;
};

/// THREAD result: a forest; a node with id 0 is a placeholder parent.
///
/// A THREAD chain "(1 2 3 … n)" is an n-deep tree, and n is the server's choice: copying,
/// comparing and destroying a node therefore walk the tree with an explicit stack, never by
/// recursion, so any depth the node budget (limits::max_list_items) allows is safe. Code that walks
/// a thread tree itself should do the same.
struct MAILWIRE_API thread_node {
    std::uint32_t id = 0;               ///< message number or UID; 0 for a placeholder
    std::vector<thread_node> children;  ///< replies

    /// A placeholder (id 0) without children.
    thread_node() = default;
    /// A node for message `message_id` without children.
    explicit thread_node(std::uint32_t message_id) : id(message_id) {}
    /// Deep copy, iterative.
    thread_node(const thread_node& other);
    /// Takes `other`'s subtree (constant time).
    thread_node(thread_node&& other) noexcept = default;
    /// Deep copy, iterative; the old subtree is destroyed iteratively.
    thread_node& operator=(const thread_node& other);
    /// Takes `other`'s subtree; the old subtree is destroyed iteratively.
    thread_node& operator=(thread_node&& other) noexcept = default;
    /// Destroys the subtree iteratively.
    ~thread_node();
    /// Deep equality, iterative.
    friend MAILWIRE_API bool operator==(const thread_node&, const thread_node&);
};

/// One namespace of a NAMESPACE response (RFC 2342).
struct namespace_entry {
    std::string prefix;  ///< "" or "INBOX." …
    char delimiter = 0;  ///< hierarchy delimiter; 0 for NIL
    /// Member-wise equality.
    friend bool operator==(const namespace_entry&, const namespace_entry&) = default;
};
/// The NAMESPACE response: three lists, each possibly empty.
struct namespaces {
    std::vector<namespace_entry> personal;     ///< the user's own mailboxes
    std::vector<namespace_entry> other_users;  ///< other users' mailboxes
    std::vector<namespace_entry> shared;       ///< shared mailboxes
};

/// One resource of a quota root (RFC 9208).
struct quota_resource {
    std::string name;         ///< "STORAGE" (KiB), "MESSAGE"
    std::uint64_t usage = 0;  ///< current usage
    std::uint64_t limit = 0;  ///< the limit
    /// Member-wise equality.
    friend bool operator==(const quota_resource&, const quota_resource&) = default;
};
/// A QUOTA response.
struct quota {
    std::string root;                       ///< quota root name
    std::vector<quota_resource> resources;  ///< its resources
};

/// Mailbox state kept by the client, updated from every response.
struct mailbox_state {
    std::string name;                          ///< the selected mailbox (UTF-8)
    bool selected = false;                     ///< a mailbox is selected
    bool read_only = false;                    ///< EXAMINE or [READ-ONLY]
    std::uint32_t exists = 0;                  ///< EXISTS: messages in the mailbox
    std::uint32_t recent = 0;                  ///< RECENT
    std::uint32_t uidvalidity = 0;             ///< UIDVALIDITY
    std::uint32_t uidnext = 0;                 ///< UIDNEXT: the UID the next message will get
    std::uint32_t first_unseen = 0;            ///< [UNSEEN n]: first unseen sequence number
    std::vector<std::string> flags;            ///< FLAGS: the flags defined in the mailbox
    std::vector<std::string> permanent_flags;  ///< PERMANENTFLAGS: those that can be stored
    std::uint64_t highestmodseq = 0;           ///< HIGHESTMODSEQ (CONDSTORE)
    bool nomodseq = false;                     ///< [NOMODSEQ]: no mod-sequences here
};

/// Something the server told us about the selected mailbox.
struct mailbox_event {
    /// What happened.
    enum class kind {
        exists,         ///< EXISTS: `number` is the new message count
        recent,         ///< RECENT: `number` is the count
        expunge,        ///< EXPUNGE: `number` is the removed sequence number
        vanished,       ///< VANISHED (QRESYNC): `uids` are gone
        fetch,          ///< an unsolicited FETCH (flag change): see `fetch`
        flags,          ///< FLAGS of the mailbox changed
        uidvalidity,    ///< UIDVALIDITY: `number`
        uidnext,        ///< UIDNEXT: `number`
        highestmodseq,  ///< HIGHESTMODSEQ: `modseq`
        alert,          ///< [ALERT]: `text` must be shown to the user
        bye             ///< BYE: the server is closing; `text`
    };
    kind type = kind::exists;           ///< what happened
    std::uint32_t number = 0;           ///< exists/recent count, expunged sequence number, uid values
    std::uint64_t modseq = 0;           ///< highestmodseq, and fetch with MODSEQ
    sequence_set uids;                  ///< vanished
    bool earlier = false;               ///< VANISHED (EARLIER)
    const fetch_data* fetch = nullptr;  ///< fetch: valid during the callback
    std::string text;                   ///< alert/bye text
};

// ---- interpretation of parsed responses ---------------------------------------------------

/// "* n FETCH (…)" → fetch_data. Throws protocol_error on malformed items.
MAILWIRE_API fetch_data interpret_fetch(const response& r);
/// Same into an existing object, reusing its storage (strings, vectors, the envelope and body
/// tree): the client decodes every message of a big FETCH into one object this way. The result
/// equals interpret_fetch(r).
MAILWIRE_API void interpret_fetch(const response& r, fetch_data& out);
/// An ENVELOPE list → envelope.
MAILWIRE_API envelope interpret_envelope(const response& r, const node& list);
/// A BODYSTRUCTURE (or BODY) list → the part tree with section numbers.
MAILWIRE_API body_part interpret_body(const response& r, const node& list);
/// "* LIST (\attrs) "/" name" (also LSUB); `utf8` when UTF8=ACCEPT is enabled (no UTF-7 decoding).
MAILWIRE_API list_entry interpret_list(const response& r, bool utf8 = false);
/// "* STATUS name (MESSAGES 3 …)"; `utf8` as for interpret_list.
MAILWIRE_API status_data interpret_status(const response& r, bool utf8 = false);
/// "* SEARCH 1 2 [(MODSEQ n)]", "* ESEARCH (TAG "x") UID MIN 1 …", "* SORT …". A SEARCH or SORT
/// response with more than `max_ids` numbers is a protocol_error (errc::limit_exceeded); an ESEARCH
/// ALL set is expanded into `ids` only when it holds at most min(`max_ids`, 4 Mi) numbers
/// (otherwise use `all`).
MAILWIRE_API search_result interpret_search(const response& r, std::size_t max_ids = std::size_t{4} << 20);
/// "* THREAD (1 2)(3 (4)(5))" → a forest. Built iteratively (no recursion on the tree's depth); more
/// than `max_nodes` nodes (placeholders included) is a protocol_error (errc::limit_exceeded).
/// `nodes`, when given, receives the number of nodes built.
MAILWIRE_API std::vector<thread_node> interpret_thread(const response& r, std::size_t max_nodes = std::size_t{4} << 20,
                                                       std::size_t* nodes = nullptr);
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
    int year = 1970;     ///< four digits
    unsigned month = 1;  ///< 1–12
    unsigned day = 1;    ///< 1–31
};
/// "1-Feb-1994"; throws error (invalid_argument) for an impossible month or day.
MAILWIRE_API std::string format_search_date(const date& d);
/// "17-Jul-1996 02:44:25 +0000" for APPEND.
MAILWIRE_API std::string format_internaldate(const mime::date_time& t);
/// ISO 8601 in the writer's zone, e.g. "2026-12-06T01:13:52+00:00" (for a parsed INTERNALDATE).
MAILWIRE_API std::string format_iso8601(const mime::date_time& t);

/// The numbers of `answer` that `requested` does not hold, in the order given (see
/// sequence_set::contains(): "lo:*" holds lo and up, so the highest message that RFC 3501 lets a
/// server answer for a "lo:*" above it is outside). Empty when every number was asked for.
MAILWIRE_API std::vector<std::uint32_t> outside_of(const sequence_set& requested,
                                                   const std::vector<std::uint32_t>& answer);

/// A typed SEARCH query (RFC 3501 §6.4.4). Combine with && (AND, the default), || (OR) and !:
/// @code
/// auto q = search_query::unseen() && search_query::from("alice") && !search_query::deleted();
/// @endcode
/// Strings holding 8-bit text, CR or LF go as literals; a string holding NUL throws
/// error(errc::invalid_argument), as no IMAP string can carry it. Keywords and raw() criteria are
/// sent as given: client::search() refuses them with CR, LF or NUL before anything is sent.
class MAILWIRE_API search_query {
public:
    search_query() = default;
    /// ALL: every message.
    static search_query all();
    /// ANSWERED: `\Answered` set.
    static search_query answered();
    /// DELETED: `\Deleted` set.
    static search_query deleted();
    /// DRAFT: `\Draft` set.
    static search_query draft();
    /// FLAGGED: `\Flagged` set.
    static search_query flagged();
    /// SEEN: `\Seen` set.
    static search_query seen();
    /// RECENT: `\Recent` set.
    static search_query recent();
    /// UNANSWERED: `\Answered` not set.
    static search_query unanswered();
    /// UNDELETED: `\Deleted` not set.
    static search_query undeleted();
    /// UNDRAFT: `\Draft` not set.
    static search_query undraft();
    /// UNFLAGGED: `\Flagged` not set.
    static search_query unflagged();
    /// UNSEEN: `\Seen` not set.
    static search_query unseen();
    /// KEYWORD: the keyword `flag` ("$Label1") set.
    static search_query keyword(std::string_view flag);
    /// UNKEYWORD: the keyword `flag` not set.
    static search_query unkeyword(std::string_view flag);
    /// FROM: the From header contains `s`.
    static search_query from(std::string_view s);
    /// TO: the To header contains `s`.
    static search_query to(std::string_view s);
    /// CC: the Cc header contains `s`.
    static search_query cc(std::string_view s);
    /// BCC: the Bcc header contains `s`.
    static search_query bcc(std::string_view s);
    /// SUBJECT: the Subject contains `s`.
    static search_query subject(std::string_view s);
    /// BODY: the body contains `s`.
    static search_query body(std::string_view s);
    /// TEXT: header or body contains `s`.
    static search_query text(std::string_view s);
    /// HEADER: header `name` contains `value` ("" matches any message having it).
    static search_query header(std::string_view name, std::string_view value);
    /// BEFORE: internal date earlier than `d`.
    static search_query before(const date& d);
    /// ON: internal date on `d`.
    static search_query on(const date& d);
    /// SINCE: internal date on or after `d`.
    static search_query since(const date& d);
    /// SENTBEFORE: Date header earlier than `d`.
    static search_query sent_before(const date& d);
    /// SENTON: Date header on `d`.
    static search_query sent_on(const date& d);
    /// SENTSINCE: Date header on or after `d`.
    static search_query sent_since(const date& d);
    /// LARGER: more than `n` octets.
    static search_query larger(std::uint64_t n);
    /// SMALLER: fewer than `n` octets.
    static search_query smaller(std::uint64_t n);
    /// UID: messages with these UIDs.
    static search_query uid(const sequence_set& s);
    /// Messages with these sequence numbers.
    static search_query sequence(const sequence_set& s);
    /// MODSEQ (CONDSTORE, RFC 7162): changed at mod-sequence `n` or later.
    static search_query modseq(std::uint64_t n);
    /// OLDER (WITHIN, RFC 5032): arrived more than `seconds` ago.
    static search_query older(std::uint32_t seconds);
    /// YOUNGER (WITHIN, RFC 5032): arrived at most `seconds` ago.
    static search_query younger(std::uint32_t seconds);
    /// Raw criteria text, for what the builder lacks.
    static search_query raw(std::string criteria);

    /// Both criteria (IMAP's implicit AND).
    friend MAILWIRE_API search_query operator&&(search_query a, search_query b);
    /// Either criterion: OR (a) (b).
    friend MAILWIRE_API search_query operator||(search_query a, search_query b);
    /// The opposite: NOT (a).
    friend MAILWIRE_API search_query operator!(search_query a);

    /// The criteria; strings with non-ASCII go as literals (see literals()).
    [[nodiscard]] const std::string& text() const noexcept { return text_; }
    /// Whether a string needs CHARSET UTF-8.
    [[nodiscard]] bool needs_utf8() const noexcept { return utf8_; }
    /// Segments: even indexes are command text, odd ones literal bytes.
    [[nodiscard]] const std::vector<std::string>& parts() const noexcept { return parts_; }
    /// The capabilities the keys need ("WITHIN" for older()/younger(), "CONDSTORE" for modseq()),
    /// each once: client::search(), sort() and thread() refuse the query before sending it when
    /// the server lacks one. raw() criteria are the caller's to check.
    [[nodiscard]] const std::vector<std::string>& required_capabilities() const noexcept { return needs_; }
    /// The sets every match must lie in: a uid() key joined by AND (not under OR or NOT) limits
    /// the UIDs a UID SEARCH may answer, a sequence() key the sequence numbers a SEARCH may answer.
    /// client::search() checks the server's answer against them (see sequence_set::contains()).
    [[nodiscard]] const std::vector<std::pair<bool, sequence_set>>& bounds() const noexcept { return bounds_; }

private:
    static search_query key(std::string k);
    static search_query key_string(std::string_view k, std::string_view s);
    void append(const search_query& o);
    std::string text_;
    std::vector<std::string> parts_;  // text, literal, text, literal, …, text
    bool utf8_ = false;
    bool empty_ = true;
    std::vector<std::string> needs_;                     // capabilities the keys need
    std::vector<std::pair<bool, sequence_set>> bounds_;  // (is UID, set) the matches lie in
};

}  // namespace mailwire::imap
