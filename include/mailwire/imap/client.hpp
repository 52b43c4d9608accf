// mailwire::imap::client — IMAP4rev1 (RFC 3501) and the extensions people use, over the shared
// client base: a thin blocking driver around the incremental response parser (parser.hpp).
//
//   imap::client c;
//   c.connect("mail.example.com", 993, security::implicit_tls);
//   c.authenticate("alice", "secret");
//   c.select("INBOX");
//   auto ids = c.search(imap::search_query::unseen() && imap::search_query::from("bob"));
//   c.fetch(sequence_set::from(ids.ids), "UID FLAGS ENVELOPE", [](const imap::fetch_data& m) { … });
//
// Failures come in the two kinds error.hpp describes: a NO/BAD answer throws command_error and the session
// lives on; anything malformed, over a limit, or an unknown tag throws protocol_error and closes.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mailwire/client.hpp"
#include "mailwire/imap/parser.hpp"
#include "mailwire/imap/status.hpp"
#include "mailwire/imap/types.hpp"

namespace mailwire::imap {

/// A NO or BAD answer to a command (errc::command_failed), with the response code the server
/// gave: "TRYCREATE" when the target mailbox does not exist (RFC 3501 §7.1), "ALREADYEXISTS",
/// "OVERQUOTA" … (RFC 5530). The session lives on.
class MAILWIRE_API command_refused : public command_error {
public:
    /// `response_code` is the code's name, upper case; `response_code_args` what follows it.
    command_refused(std::string detail, error_context ctx, std::string response_code, std::string response_code_args)
        : command_error(errc::command_failed, std::move(detail), std::move(ctx)),
          response_code_(std::move(response_code)), response_code_args_(std::move(response_code_args)) {}
    /// The response code ("TRYCREATE"), empty when the server gave none.
    [[nodiscard]] const std::string& response_code() const noexcept { return response_code_; }
    /// What followed the code name inside the brackets, if anything.
    [[nodiscard]] const std::string& response_code_args() const noexcept { return response_code_args_; }

private:
    std::string response_code_;
    std::string response_code_args_;
};

/// Where large literals (message bodies) go instead of memory.
struct literal_sink {
    /// A literal for FETCH item `item` ("BODY[]", "BODY[2]<0>") of message `seq` starts.
    std::function<void(std::uint32_t seq, std::string_view item, std::uint64_t size)> begin;
    /// The next bytes of it.
    std::function<void(std::string_view bytes)> data;
    /// Literals of at least this many bytes are streamed; smaller ones stay in fetch_data.
    std::uint64_t threshold = 64 * 1024;
};

/// How fetch() asks and where big literals go.
struct fetch_options {
    bool uid = true;                     ///< UID FETCH (sets are UIDs) or FETCH (sequence numbers)
    std::uint64_t changed_since = 0;     ///< CONDSTORE (CHANGEDSINCE n)
    bool vanished = false;               ///< QRESYNC (VANISHED) with changed_since
    const literal_sink* sink = nullptr;  ///< streams big literals (BODY[] …); nullptr keeps them in memory
};

/// What STORE does with the flags.
enum class store_action {
    add,     ///< +FLAGS
    remove,  ///< -FLAGS
    replace  ///< FLAGS
};
/// Options of store().
struct store_options {
    bool uid = true;                               ///< UID STORE (sets are UIDs) or STORE (sequence numbers)
    bool silent = false;                           ///< .SILENT: the server sends no FETCH responses back
    std::optional<std::uint64_t> unchanged_since;  ///< CONDSTORE
};
/// What store() got back.
struct store_result {
    /// FETCH responses about the messages of the STORE's set (by UID for UID STORE, which RFC 3501
    /// §6.4.8 makes the server include); FETCH responses about other messages (another session's
    /// change) only update the mailbox state and reach the mailbox observer.
    std::vector<fetch_data> updated;
    sequence_set modified;  ///< [MODIFIED …]: not stored because of UNCHANGEDSINCE
};

/// UIDPLUS results (RFC 4315).
struct copy_result {
    std::uint32_t uidvalidity = 0;  ///< of the destination mailbox; 0 without UIDPLUS
    sequence_set source;            ///< COPYUID: the source UIDs …
    sequence_set destination;       ///< … and their new UIDs, in the same order
};
/// APPENDUID (RFC 4315) of append(); empty without UIDPLUS.
struct append_result {
    std::uint32_t uidvalidity = 0;  ///< of the mailbox appended to
    sequence_set uids;              ///< the new messages' UIDs
};
/// Produces the next bytes of a streamed literal: fills `buffer` with at most `capacity` bytes and
/// returns how many it wrote (0 only when nothing is left, which before the promised size is an error).
using literal_reader = std::function<std::size_t(char* buffer, std::size_t capacity)>;

/// One message for append().
struct append_message {
    std::string_view data;                ///< the whole RFC 5322 message, CRLF line ends
    std::vector<std::string> flags;       ///< flags as sent, e.g. `\Seen`
    std::optional<mime::date_time> date;  ///< INTERNALDATE; server time when absent
    /// Streams the message instead of `data` when set: read in 64 KiB chunks while the APPEND goes
    /// out, so a large file never sits in memory. It must deliver exactly `size` bytes; a reader
    /// that ends early or throws closes the connection (the server is mid-literal).
    literal_reader reader;
    std::uint64_t size = 0;  ///< with `reader`: the message's exact size in bytes
};
/// What expunge() removed.
struct expunge_result {
    /// EXPUNGE responses, in order. "* n EXPUNGED", which some servers send (not in any RFC),
    /// counts as EXPUNGE here and in the mailbox state.
    std::vector<std::uint32_t> sequence_numbers;
    sequence_set vanished;  ///< VANISHED responses (QRESYNC enabled)
};

/// Options of search().
struct search_options {
    bool uid = true;  ///< UID SEARCH (results are UIDs) or SEARCH (sequence numbers)
    /// ESEARCH RETURN options ("MIN", "MAX", "COUNT", "ALL"); used when the server has ESEARCH.
    std::vector<std::string> returns;
};

/// LIST options (RFC 5258 LIST-EXTENDED, RFC 6154 SPECIAL-USE, RFC 5819 LIST-STATUS).
struct list_options {
    bool subscribed = false;                ///< selection SUBSCRIBED
    bool special_use = false;               ///< selection SPECIAL-USE (only special-use mailboxes)
    bool recursive_match = false;           ///< selection RECURSIVEMATCH (with subscribed)
    bool return_special_use = false;        ///< RETURN (SPECIAL-USE): attributes like `\Sent`
    bool return_children = false;           ///< RETURN (CHILDREN): `\HasChildren` / `\HasNoChildren`
    std::vector<std::string> status_items;  ///< RETURN (STATUS (…)); falls back to STATUS per mailbox
};
/// One mailbox of list().
struct list_result {
    list_entry entry;                   ///< the LIST response
    std::optional<status_data> status;  ///< its STATUS when list_options::status_items was set
};

/// SELECT … (QRESYNC (uidvalidity modseq [known-uids])) — RFC 7162 §3.2.5.
struct qresync_params {
    std::uint32_t uidvalidity = 0;           ///< the last known UIDVALIDITY
    std::uint64_t modseq = 0;                ///< the last known HIGHESTMODSEQ
    std::optional<sequence_set> known_uids;  ///< the UIDs the caller knows (optional)
};
/// What select_qresync() learned.
struct resync_result {
    sequence_set vanished;            ///< VANISHED (EARLIER): gone since modseq
    std::vector<fetch_data> changed;  ///< flags changed since modseq
};

/// Observer of mailbox changes (unsolicited responses); `state` is already updated.
using mailbox_observer = std::function<void(const mailbox_event& event, const mailbox_state& state)>;
/// Receives each message of a fetch; the object is reused for the next message (copy what you keep).
using fetch_handler = std::function<void(const fetch_data&)>;
/// Sees every untagged response of a command (advanced use with run()).
using untagged_handler = std::function<void(const response&)>;

/// A blocking IMAP4rev1 client (see the top of this header for an example).
class MAILWIRE_API client : public client_base {
public:
    client();
    ~client() override;

    // ---- session -------------------------------------------------------------------------
    /// Current capabilities, upper case (re-read after STARTTLS and after login).
    [[nodiscard]] const std::vector<std::string>& capabilities() const noexcept { return caps_; }
    /// Whether `cap` ("IDLE", "AUTH=PLAIN") is among capabilities() (case-insensitive).
    [[nodiscard]] bool has_capability(std::string_view cap) const;
    /// SASL mechanisms from the AUTH= capabilities.
    [[nodiscard]] std::vector<std::string> auth_mechanisms() const override;
    /// True when the server greeted with PREAUTH (already authenticated).
    [[nodiscard]] bool preauthenticated() const noexcept { return preauth_; }
    /// Parser limits: literal size, nesting depth, tokens, response size (also capped by
    /// limits().max_multiline_bytes); the line length comes from limits().max_line_length.
    imap::parser_limits& response_limits() noexcept { return plimits_; }

    /// CAPABILITY again.
    const std::vector<std::string>& capability();
    /// Throws command_error(errc::command_failed) naming `capability` and `what` needs it when the
    /// server does not offer it ("CONDSTORE" is also satisfied by QRESYNC). Every command and
    /// option that depends on an extension passes through here before anything is sent.
    void require(std::string_view capability, std::string_view what) const;
    /// LOGIN (RFC 3501 §6.2.3) explicitly; authenticate() prefers SASL and uses LOGIN only when no
    /// mechanism fits. Refused over plaintext unless allow_plaintext_auth.
    /// Throws auth_error with the server's text and response code on NO.
    void login(const std::string& user, const secret& password);
    /// NOOP; also collects unsolicited responses.
    void noop();
    /// Runs `command` (without tag) and returns the tagged completion; NO/BAD throw command_error.
    /// `on_untagged` sees each untagged response (views valid during the call).
    response_line run(std::string_view command, stage s = stage::command, const untagged_handler& on_untagged = {});
    /// ID (RFC 2971): sends our fields, returns the server's.
    std::map<std::string, std::string> id(const std::map<std::string, std::string>& fields = {});
    /// ENABLE (RFC 5161); returns what the server enabled. "QRESYNC" implies CONDSTORE.
    std::vector<std::string> enable(const std::vector<std::string>& extensions);
    /// Whether ENABLE turned `extension` on in this session.
    [[nodiscard]] bool is_enabled(std::string_view extension) const;
    /// COMPRESS DEFLATE (RFC 4978); throws command_error when not offered or refused.
    void compress();
    /// NAMESPACE (RFC 2342).
    [[nodiscard]] imap::namespaces namespaces();

    // ---- mailboxes -----------------------------------------------------------------------
    /// LIST reference pattern; names are UTF-8 both ways (modified UTF-7 on the wire unless
    /// UTF8=ACCEPT is enabled).
    std::vector<list_result> list(std::string_view reference = "", std::string_view pattern = "*",
                                  const list_options& options = {});
    /// LSUB: subscribed mailboxes (prefer list() with list_options::subscribed).
    std::vector<list_entry> lsub(std::string_view reference = "", std::string_view pattern = "*");
    /// STATUS; default items MESSAGES UIDNEXT UIDVALIDITY UNSEEN (+HIGHESTMODSEQ with CONDSTORE).
    status_data status(std::string_view mailbox, std::vector<std::string> items = {});
    /// CREATE; `special_use` (`\Sent`) adds USE (…) (RFC 6154 CREATE-SPECIAL-USE).
    void create(std::string_view mailbox, std::string_view special_use = {});
    /// DELETE.
    void delete_mailbox(std::string_view mailbox);
    /// RENAME.
    void rename(std::string_view from, std::string_view to);
    /// SUBSCRIBE.
    void subscribe(std::string_view mailbox);
    /// UNSUBSCRIBE.
    void unsubscribe(std::string_view mailbox);

    /// SELECT; `condstore` adds (CONDSTORE). Returns the new mailbox state.
    const mailbox_state& select(std::string_view mailbox, bool condstore = false);
    /// EXAMINE: like select(), read-only.
    const mailbox_state& examine(std::string_view mailbox, bool condstore = false);
    /// SELECT with QRESYNC (enables QRESYNC first when needed): what changed since `p.modseq`.
    resync_result select_qresync(std::string_view mailbox, const qresync_params& p, bool read_only = false);
    /// The selected mailbox as the client knows it (updated by every response).
    [[nodiscard]] const mailbox_state& mailbox() const noexcept { return state_; }
    /// Called for every change of the selected mailbox (EXISTS, EXPUNGE, VANISHED, FETCH, FLAGS …).
    void on_mailbox_event(mailbox_observer observer) { observer_ = std::move(observer); }
    /// CHECK.
    void check();
    /// CLOSE: expunges `\Deleted` messages silently and deselects.
    void close_mailbox();
    /// UNSELECT (RFC 3691): deselects without expunging; falls back to EXAMINE of a non-existent
    /// mailbox when not offered.
    void unselect();

    // ---- messages ------------------------------------------------------------------------
    /// FETCH/UID FETCH `items` ("UID FLAGS ENVELOPE BODY.PEEK[]" or "FAST"/"ALL"/"FULL"); each
    /// message goes to `on_message` as it is parsed. fetch_data owns its data, but one object is
    /// reused for every message (its storage is recycled): copy what must outlive the callback.
    /// Only messages of `set` reach `on_message` (by UID for UID FETCH, by sequence number for
    /// FETCH; "lo:*" holds lo and up): a FETCH response about another message (another session's
    /// flag change, or the highest message RFC 3501 lets a server answer for a "lo:*" above it)
    /// updates the mailbox state and goes to the mailbox observer only. Items that need an
    /// extension (MODSEQ, BINARY[…], EMAILID/THREADID) are refused when it is not offered.
    void fetch(const sequence_set& set, std::string_view items, const fetch_handler& on_message,
               const fetch_options& options = {});
    /// The same, collecting every message.
    std::vector<fetch_data> fetch(const sequence_set& set, std::string_view items, const fetch_options& options = {});
    /// Streams BODY.PEEK[section] of one message (by UID) into `out` callbacks; returns the size.
    std::uint64_t fetch_body(std::uint32_t uid, const std::function<void(std::string_view)>& out,
                             std::string_view section = "");
    /// The same into a file (created/truncated).
    std::uint64_t fetch_body_to_file(std::uint32_t uid, const std::string& path, std::string_view section = "");

    /// STORE / UID STORE of `flags` (+FLAGS, -FLAGS or FLAGS; UNCHANGEDSINCE with CONDSTORE).
    store_result store(const sequence_set& set, store_action action, const std::vector<std::string>& flags,
                       const store_options& options = {});
    /// COPY / UID COPY; COPYUID when the server has UIDPLUS. A UID COPY whose COPYUID names a
    /// source UID outside `set` throws protocol_error (the session closes).
    copy_result copy(const sequence_set& set, std::string_view destination, bool uid = true);
    /// MOVE (RFC 6851), or COPY + STORE `\Deleted` + (UID) EXPUNGE when MOVE is not offered (without
    /// UIDPLUS that EXPUNGE also removes other messages already marked `\Deleted`). A COPYUID
    /// naming a source UID outside `set` throws protocol_error; in the fallback nothing is
    /// flagged or expunged then.
    copy_result move(const sequence_set& set, std::string_view destination, bool uid = true);
    /// EXPUNGE: removes every message marked `\Deleted`.
    expunge_result expunge();
    /// UID EXPUNGE (UIDPLUS, required): only these messages.
    expunge_result expunge(const sequence_set& uids);
    /// APPEND one message (LITERAL+ / LITERAL- when offered, else a synchronising literal).
    append_result append(std::string_view mailbox, const append_message& message);
    /// Several messages: one MULTIAPPEND command when offered (RFC 3502), else one APPEND each.
    append_result append(std::string_view mailbox, const std::vector<append_message>& messages);

    /// SEARCH / UID SEARCH (ESEARCH when options.returns is set and offered). The query's
    /// search_query::required_capabilities() are checked first; a match outside the query's
    /// search_query::bounds() (a server reading `UID SEARCH UID 5` as sequence number 5) throws
    /// protocol_error naming the server's answer, and the session closes.
    search_result search(const search_query& query, const search_options& options = {});
    /// The UIDs of the messages of `set` that exist, ascending: UIDs (`uid`) with UID SEARCH UID,
    /// sequence numbers with FETCH (UID). Every number the server answers is checked against `set`
    /// before the caller acts on it: one outside throws protocol_error naming the server's answer
    /// (the session closes), so a server that mistakes UIDs for sequence numbers cannot steer a
    /// move or delete onto other messages. A "*" in `set` stands for the highest message.
    std::vector<std::uint32_t> uids_in(const sequence_set& set, bool uid = true);
    /// SORT (RFC 5256): criteria like "REVERSE DATE" or "SUBJECT".
    std::vector<std::uint32_t> sort(std::string_view criteria, const search_query& query, bool uid = true);
    /// THREAD (RFC 5256): algorithm "REFERENCES" or "ORDEREDSUBJECT".
    std::vector<thread_node> thread(std::string_view algorithm, const search_query& query, bool uid = true);

    // ---- IDLE (RFC 2177) -----------------------------------------------------------------
    /// Idles until stop_idle() (from any thread), `on_event` returns false, or `max` passes;
    /// `on_event` sees EXISTS/EXPUNGE/FETCH/VANISHED… as they arrive.
    void idle(const std::function<bool(const mailbox_event&)>& on_event,
              std::chrono::milliseconds max = std::chrono::minutes(29));
    /// Ends a running idle(); safe to call from another thread (takes effect within ~50 ms).
    void stop_idle() noexcept { idle_stop_.store(true); }

    // ---- QUOTA (RFC 9208) and METADATA (RFC 5464) -------------------------------------------
    /// GETQUOTAROOT: the roots of `mailbox` and their quotas.
    std::vector<quota> quota_root(std::string_view mailbox);
    /// GETQUOTA.
    quota get_quota(std::string_view root);
    /// SETQUOTA: resource name and limit pairs ("STORAGE", KiB).
    void set_quota(std::string_view root, const std::vector<std::pair<std::string, std::uint64_t>>& limits);
    /// GETMETADATA for entries ("/private/comment"); mailbox "" is the server.
    std::map<std::string, std::optional<std::string>> get_metadata(std::string_view mailbox,
                                                                   const std::vector<std::string>& entries);
    /// SETMETADATA; nullopt removes an entry.
    void set_metadata(std::string_view mailbox, const std::map<std::string, std::optional<std::string>>& entries);

    /// Quotes a string for a command: `"` and `\` escaped (RFC 3501 §4.3). Throws
    /// error(errc::invalid_argument) when `s` holds CR, LF or NUL, which a quoted string cannot
    /// carry: send such a string with command::string(), which makes it a literal. 8-bit text is
    /// quoted as is (valid only once UTF8=ACCEPT is enabled; command::string() uses a literal).
    [[nodiscard]] static std::string quote(std::string_view s);
    /// A mailbox name as it goes on the wire (modified UTF-7 unless UTF8=ACCEPT is enabled).
    [[nodiscard]] std::string wire_mailbox(std::string_view utf8_name) const;

protected:
    void read_greeting() override;
    void query_capabilities() override;
    [[nodiscard]] bool offers_starttls() const override;
    void request_starttls() override;
    void forget_session_state() override;
    void send_logout() override;
    [[nodiscard]] bool greeting_preauthenticated() const override { return preauth_; }
    void sasl_start(std::string_view mechanism, const secret* initial, std::string_view logged) override;
    sasl_reply sasl_read() override;
    [[nodiscard]] bool sasl_initial_response_allowed() const override { return has_capability("SASL-IR"); }
    std::string legacy_login(const sasl::credentials& credentials) override;
    void on_authenticated() override;

public:
    /// A command with literals: parts alternate text, literal, text, … (for advanced callers).
    struct command {
        std::vector<std::string> parts{std::string()};  ///< text, literal, text, …, text
        std::string logged;                             ///< log this instead (credentials); empty: log the parts
        /// Appends command text.
        command& text(std::string_view t) {
            parts.back() += t;
            return *this;
        }
        /// Per literal, in order: its size and reader when streamed, or {0, nullptr} when its bytes
        /// are in `parts`.
        std::vector<std::pair<std::uint64_t, const literal_reader*>> streamed;
        /// Appends a literal carrying `bytes`.
        command& literal(std::string_view bytes) {
            parts.emplace_back(bytes);
            parts.emplace_back();
            streamed.emplace_back(0, nullptr);
            return *this;
        }
        /// Appends a literal of `size` bytes that `reader` produces while the command is sent; the
        /// reader must outlive the command.
        command& literal(std::uint64_t size, const literal_reader& reader) {
            parts.emplace_back();
            parts.emplace_back();
            streamed.emplace_back(size, &reader);
            return *this;
        }
        /// An astring: quoted string, or a literal for 8-bit text, CR or LF. Throws
        /// error(errc::invalid_argument) for NUL, which no IMAP string can carry.
        command& string(std::string_view s);
    };
    /// Sends `c` with a fresh tag and reads to its completion; untagged responses go to the state
    /// tracker, then `on_untagged`. Returns the completion even for NO/BAD.
    response_line execute(const command& c, stage s = stage::command, const untagged_handler& on_untagged = {},
                          const literal_sink* sink = nullptr);

private:
    std::string next_tag();
    /// Reads one response (streaming literals to `sink`); returns a parsed response in parser_.
    const response& read_response(stage s, const literal_sink* sink);
    void absorb(const response& r);
    void emit(const mailbox_event& e);
    response_line check(response_line r, std::string_view what, stage s = stage::command);
    const mailbox_state& open_mailbox(std::string_view verb, std::string_view mailbox, std::string_view extra,
                                      bool read_only, resync_result* resync);
    void send_parts(const std::string& tag, const command& c, stage s, std::optional<response_line>& early);
    /// Sends a streamed literal's `size` bytes from `reader` (closes the connection if it falls short).
    void send_streamed(const literal_reader& reader, std::uint64_t size, stage s);
    [[noreturn]] void parse_failure(const protocol_error& e, stage s);
    /// Runs a sans-I/O interpretation `f` of a response; its protocol_error (malformed input, a
    /// collection over its bound) closes the session like any other protocol failure.
    template <class F>
    auto interpreted(F&& f) -> decltype(f()) {
        try {
            return f();
        } catch (const protocol_error& e) {
            parse_failure(e, stage::command);
        }
    }
    /// Adds the UID ranges of a VANISHED response to `ranges`, bounded by limits().max_list_items.
    void collect_vanished(const response& r, std::vector<std::pair<std::uint32_t, std::uint32_t>>& ranges);
    /// EXPUNGE or UID EXPUNGE (`cmd`), collecting what the server removed.
    expunge_result expunge_with(std::string_view cmd);
    /// Refuses a search query whose text holds CR, LF or NUL (from search_query::raw or a keyword),
    /// or that needs a capability the server lacks (search_query::required_capabilities()).
    void check_query(const search_query& q, std::string_view what) const;
    /// The one gate for numbers a server answers about a request: throws protocol_error (closing
    /// the session) naming them when any of `answer` lies outside `requested`. `what` names the
    /// answer ("UID SEARCH UID 5", "COPYUID").
    void confine(const sequence_set& requested, const sequence_set& answer, std::string_view what, bool uid);
    /// require() for a STATUS item beyond RFC 3501's (HIGHESTMODSEQ, SIZE, APPENDLIMIT …).
    void require_status_item(std::string_view item) const;
    /// Drops the bytes of the response last returned by read_response.
    void done() noexcept;

    unsigned tag_counter_ = 0;
    std::vector<std::string> caps_;
    std::vector<std::string> enabled_;
    bool preauth_ = false;
    std::string auth_tag_;
    bool caps_from_auth_ = false;
    imap::parser_limits plimits_;
    response_parser parser_;
    mailbox_state state_;
    mailbox_observer observer_;
    std::function<bool(const mailbox_event&)> idle_handler_;
    bool idle_continue_ = true;
    std::atomic<bool> idle_stop_{false};
    const literal_sink* active_sink_ = nullptr;
    fetch_data scratch_;
    std::size_t pending_consume_ = 0;
};

}  // namespace mailwire::imap
