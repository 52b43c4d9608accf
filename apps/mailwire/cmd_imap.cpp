// `mailwire imap …` — IMAP commands: caps (the default), list, status, fetch, search, append, move,
// delete, idle. Each opens one session (session_setup::open), does its job and logs out.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common.hpp"
#include "mailwire/imap/client.hpp"
#include "mailwire/mime/date.hpp"
#include "output.hpp"
#include "progress.hpp"
#include "report.hpp"
#include "safe_file.hpp"

namespace mailwire::cli {
namespace {

using nlohmann::json;

struct imap_state {
    connection_options o;
    // list
    std::string pattern = "*";
    bool subscribed = false, status = false, no_status = false;
    // the mailbox commands
    std::string mailbox;
    std::string uid_set, seq_set, set;  ///< fetch --uid / --seq / positional; move/delete SET
    bool seq = false;                   ///< move/delete: SET holds sequence numbers
    bool envelope = false, headers = false, body = false;
    std::string out_dir;
    std::vector<std::string> query;
    bool raw = false;
    std::vector<std::string> files, flags;
    std::string date;
    std::string destination;
    bool no_expunge = false, expunge_all = false;
    bool create = false;         ///< append/move: create the mailbox when the server answers [TRYCREATE]
    bool skip_existing = false;  ///< fetch --body -o DIR: leave out messages whose file is there
    double wait = 0;
    unsigned count = 0;
};

/// A result that is one object: pretty with --json, one line with --jsonl.
void print_json(const json& j) { print_document(j); }

/// A client that logs out when it goes out of scope, also after a refused command (the session is
/// still good then; only a protocol error closes it).
struct session {
    session_setup setup;  // owns the --log file: outlives the client
    imap::client c;
    session() = default;
    session(const session&) = delete;
    session& operator=(const session&) = delete;
    ~session() {
        if (c.is_connected()) c.disconnect();
    }
};

/// Connects, logs in (IMAP LOGIN for --auth legacy) and insists on being logged in: every command
/// but caps works on a user's mailboxes.
void open_session(imap::client& c, session_setup& setup, const connection_options& o) {
    setup.open(c, o, [&](const secret& pw) { c.login(o.user, pw); });
    if (!c.is_authenticated())
        throw usage_error("this command works on a user's mailboxes: give --user and --password-env VAR");
}

imap::sequence_set parse_set(const std::string& text, const char* what) {
    try {
        return imap::sequence_set::parse(text);
    } catch (const mailwire::error&) {
        throw usage_error(fmt::format("{} \"{}\" is not a sequence set (e.g. 4, 1:10, 3,7:9, 5:*)", what, text));
    }
}

// ---- text helpers ------------------------------------------------------------------------------

// fit() and right() (output.hpp) cut and pad by display width.

std::string iso_now() {
    using namespace std::chrono;
    const auto now = floor<milliseconds>(system_clock::now());
    const auto day = floor<days>(now);
    const year_month_day ymd{day};
    const hh_mm_ss hms{now - day};
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", static_cast<int>(ymd.year()),
                       static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()), hms.hours().count(),
                       hms.minutes().count(), hms.seconds().count(), hms.subseconds().count());
}

/// One letter per system flag, mutt style: N (not \Seen), A(nswered), F(lagged), D(eleted), T (draft),
/// * (any keyword).
std::string flag_letters(const std::vector<std::string>& flags) {
    auto has = [&](std::string_view f) {
        return std::any_of(flags.begin(), flags.end(), [&](const std::string& x) {
            return x.size() == f.size() && std::equal(x.begin(), x.end(), f.begin(), [](char a, char b) {
                       return std::tolower(static_cast<unsigned char>(a)) ==
                              std::tolower(static_cast<unsigned char>(b));
                   });
        });
    };
    std::string s;
    if (!has("\\Seen")) s += 'N';
    if (has("\\Answered")) s += 'A';
    if (has("\\Flagged")) s += 'F';
    if (has("\\Deleted")) s += 'D';
    if (has("\\Draft")) s += 'T';
    if (std::any_of(flags.begin(), flags.end(), [](const std::string& f) { return !f.starts_with('\\'); })) s += '*';
    return s;
}

std::string first_sender(const imap::envelope& e) {
    for (const auto* list : {&e.from, &e.sender})
        for (const auto& a : *list)
            for (const auto& m : a.members) return m.name.empty() ? m.address() : m.name;
    return "";
}

// ---- caps ----------------------------------------------------------------------------------------

int run_caps(const connection_options& o) {
    imap::client c;
    session_setup setup;
    setup.open(c, o, [&](const secret& pw) { c.login(o.user, pw); });
    if (o.json) {
        auto j = session_json(c);
        j["ok"] = true;
        j["authenticated"] = c.is_authenticated();
        j["user"] = o.user;
        j["authenticated_with"] = c.authenticated_with();
        if (!c.auth_fallback_from().empty()) j["auth_fallback_from"] = c.auth_fallback_from();
        j["capabilities"] = c.capabilities();
        j["auth_mechanisms"] = c.auth_mechanisms();
        print_json(j);
    } else {
        text_report r(output_width());
        session_fields(r, c);
        if (!o.user.empty()) r.field("logged in", fmt::format("{} with {}", o.user, c.authenticated_with()));
        r.field("capabilities", join(c.capabilities()));
        r.field("auth", join(c.auth_mechanisms()));
        print_out(r.str());
    }
    c.disconnect();
    return exit_ok;
}

// ---- list ----------------------------------------------------------------------------------------

/// RFC 6154 §2 special-use attributes (and \Important from RFC 8457).
bool is_special_use(std::string_view a) {
    for (const char* s :
         {"\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk", "\\Sent", "\\Trash", "\\Important"}) {
        const std::string_view sv(s);
        if (a.size() == sv.size() && std::equal(a.begin(), a.end(), sv.begin(), [](char x, char y) {
                return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
            }))
            return true;
    }
    return false;
}

int run_list(const imap_state& st) {
    const auto& o = st.o;
    if (st.status && st.no_status) throw usage_error("--status and --no-status contradict each other");
    session sess;
    auto& c = sess.c;
    open_session(c, sess.setup, o);
    imap::list_options lo;
    lo.subscribed = st.subscribed;
    lo.return_special_use = c.has_capability("SPECIAL-USE") || c.has_capability("LIST-EXTENDED");
    const bool list_status = c.has_capability("LIST-STATUS");
    // Counts come free with LIST-STATUS (one round trip); without it only on request (one STATUS each).
    const bool counts = !st.no_status && (list_status || st.status);
    if (counts) lo.status_items = {"MESSAGES", "UNSEEN"};
    // The library collects the LIST responses (bounded by limits().max_list_items); they are written
    // one by one from there.
    const auto entries = c.list("", st.pattern, lo);
    c.disconnect();

    // Fixed widths (from the terminal, not the names): MAILBOX SPECIAL-USE [MESSAGES UNSEEN].
    const std::size_t width = output_width();
    std::vector<column> cols = {{"MAILBOX", width - (counts ? 40 : 20)}, {"SPECIAL-USE", counts ? 12u : 0u}};
    if (counts) {
        cols.push_back({"MESSAGES", 8, true});
        cols.push_back({"UNSEEN", 6, true});
    }
    list_writer w(output_format_for(o.json), "mailboxes", std::move(cols));
    w.begin({{"pattern", st.pattern}, {"counts", counts ? (list_status ? "LIST-STATUS" : "STATUS") : "none"}});
    auto num = [](const std::optional<std::uint32_t>& v) { return v ? std::to_string(*v) : std::string("-"); };
    for (const auto& e : entries) {
        const bool selectable = !e.entry.has_attribute("\\Noselect") && !e.entry.has_attribute("\\NonExistent");
        if (w.structured()) {
            json attrs = json::array(), special = json::array();
            for (const auto& a : e.entry.attributes) (is_special_use(a) ? special : attrs).push_back(a);
            json m = {{"name", e.entry.name},
                      {"raw_name", e.entry.raw_name},
                      {"delimiter", e.entry.delimiter != 0 ? std::string(1, e.entry.delimiter) : std::string()},
                      {"attributes", attrs},
                      {"special_use", special},
                      {"selectable", selectable}};
            if (e.status) {
                m["messages"] = e.status->messages ? json(*e.status->messages) : json();
                m["unseen"] = e.status->unseen ? json(*e.status->unseen) : json();
            }
            w.item(m);
            continue;
        }
        std::string special;
        for (const auto& a : e.entry.attributes)
            if (is_special_use(a)) special += (special.empty() ? "" : " ") + a;
        std::vector<std::string> cells = {e.entry.name, selectable ? special : "(no select)"};
        if (counts) {
            cells.push_back(e.status ? num(e.status->messages) : "-");
            cells.push_back(e.status ? num(e.status->unseen) : "-");
        }
        w.row(cells);
    }
    w.end();
    return exit_ok;
}

// ---- status --------------------------------------------------------------------------------------

int run_status(const imap_state& st) {
    const auto& o = st.o;
    session sess;
    auto& c = sess.c;
    open_session(c, sess.setup, o);
    std::vector<std::string> items = {"MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN"};
    if (c.has_capability("CONDSTORE")) items.emplace_back("HIGHESTMODSEQ");
    if (c.has_capability("STATUS=SIZE")) items.emplace_back("SIZE");
    const auto s = c.status(st.mailbox, items);
    c.disconnect();
    auto num = [](const auto& v) { return v ? json(*v) : json(); };
    if (o.json) {
        print_json({{"ok", true},
                    {"mailbox", st.mailbox},
                    {"messages", num(s.messages)},
                    {"recent", num(s.recent)},
                    {"unseen", num(s.unseen)},
                    {"uidnext", num(s.uidnext)},
                    {"uidvalidity", num(s.uidvalidity)},
                    {"highestmodseq", num(s.highestmodseq)},
                    {"size", num(s.size)}});
        return exit_ok;
    }
    text_report r(output_width());
    r.heading(st.mailbox);
    auto field = [&](const char* label, const auto& v) {
        if (v) r.field(label, std::to_string(*v));
    };
    field("messages", s.messages);
    field("recent", s.recent);
    field("unseen", s.unseen);
    field("uidnext", s.uidnext);
    field("uidvalidity", s.uidvalidity);
    field("highestmodseq", s.highestmodseq);
    if (s.size) r.field("size", fmt::format("{} ({} bytes)", human_bytes(*s.size), *s.size));
    print_out(r.str());
    return exit_ok;
}

// ---- fetch ---------------------------------------------------------------------------------------

struct fetch_target {
    imap::sequence_set set;
    bool uid = true;
    bool single = false;  ///< one number: exactly one message at most
};

fetch_target fetch_target_of(const imap_state& st) {
    const int given = !st.uid_set.empty() + !st.seq_set.empty() + !st.set.empty();
    if (given > 1) throw usage_error("give one of --uid SET, --seq SET or SET");
    fetch_target t;
    if (!st.uid_set.empty()) {
        t.set = parse_set(st.uid_set, "--uid");
    } else if (!st.seq_set.empty() || !st.set.empty()) {
        t.set = parse_set(st.seq_set.empty() ? st.set : st.seq_set, "SET");
        t.uid = false;
    } else {
        t.set = imap::sequence_set::all();  // UID 1:* is fine on an empty mailbox; FETCH 1:* is not
    }
    t.single = t.set.ranges().size() == 1 && t.set.ranges()[0].first == t.set.ranges()[0].second &&
               t.set.ranges()[0].first != imap::sequence_set::star;
    return t;
}

/// `"key":` then the addresses as `[{"address":…,"group":…,"name":…}]` (the members of groups
/// flattened, each with its group's name).
void append_mailboxes(std::string& out, std::string_view key, const std::vector<mime::address>& list) {
    out += key;
    out += '[';
    bool first = true;
    for (const auto& a : list)
        for (const auto& m : a.members) {
            out += first ? "{\"address\":" : ",{\"address\":";
            first = false;
            append_json_string(out, m.address());
            if (a.is_group()) {
                out += ",\"group\":";
                append_json_string(out, a.group_name);
            }
            out += ",\"name\":";
            append_json_string(out, m.name);
            out += '}';
        }
    out += ']';
}

/// One message of `fetch --envelope --json`/--jsonl, serialised straight into `out` (keys in the
/// order nlohmann::json writes them): a 200,000-message fetch builds no JSON tree per message.
void envelope_json(std::string& out, const imap::fetch_data& f) {
    const auto& e = *f.env;
    out.clear();
    append_mailboxes(out, "{\"bcc\":", e.bcc);
    append_mailboxes(out, ",\"cc\":", e.cc);
    out += ",\"date\":";
    append_json_string(out, e.date);
    out += ",\"flags\":[";
    if (f.flags)
        for (std::size_t i = 0; i < f.flags->size(); ++i) {
            if (i > 0) out += ',';
            append_json_string(out, (*f.flags)[i]);
        }
    out += ']';
    append_mailboxes(out, ",\"from\":", e.from);
    out += ",\"in_reply_to\":";
    append_json_string(out, e.in_reply_to);
    out += ",\"internaldate\":";  // ISO 8601 (servers pad and space it differently), null when unparseable
    if (f.parsed_internaldate) append_json_string(out, imap::format_iso8601(*f.parsed_internaldate));
    else out += "null";
    out += ",\"message_id\":";
    append_json_string(out, e.message_id);
    append_mailboxes(out, ",\"reply_to\":", e.reply_to);
    append_mailboxes(out, ",\"sender\":", e.sender);
    out += fmt::format(",\"seq\":{},\"size\":", f.seq);
    out += f.rfc822_size ? std::to_string(*f.rfc822_size) : std::string("null");
    out += ",\"subject\":";
    append_json_string(out, e.subject);
    append_mailboxes(out, ",\"to\":", e.to);
    out += fmt::format(",\"uid\":{}}}", *f.uid);
}

/// The summaries, a row or an object per message as its FETCH response arrives.
void fetch_envelopes(imap::client& c, const imap_state& st, const fetch_target& t) {
    imap::fetch_options fo;
    fo.uid = t.uid;
    const std::size_t width = output_width();
    // UID(7) DATE(16) FROM SIZE(8) FLAGS(5) SUBJECT, two spaces apart; FROM and SUBJECT share the rest.
    const std::size_t rest = width > 44 ? width - 44 : 0;
    const std::size_t from_w = std::max<std::size_t>(10, rest * 2 / 5);
    list_writer w(output_format_for(st.o.json), "messages",
                  {{"UID", 7, true}, {"DATE", 16}, {"FROM", from_w}, {"SIZE", 8, true}, {"FLAGS", 5}, {"SUBJECT"}});
    w.begin({{"mailbox", st.mailbox}});
    std::string item;  // one message's JSON, its capacity reused
    c.fetch(
        t.set, "UID FLAGS RFC822.SIZE INTERNALDATE ENVELOPE",
        [&](const imap::fetch_data& f) {
            if (!f.env || !f.uid) return;  // an unsolicited FETCH (flags changed elsewhere)
            if (w.structured()) {
                envelope_json(item, f);
                w.item_serialised(item);
                return;
            }
            const auto& e = *f.env;
            const auto& when = e.parsed_date ? e.parsed_date : f.parsed_internaldate;
            w.row({std::to_string(*f.uid), when ? short_date(*when) : "", first_sender(e),
                   f.rfc822_size ? human_bytes(*f.rfc822_size) : "",
                   f.flags ? flag_letters(*f.flags) : std::string("N"), e.subject});
        },
        fo);
    w.end();
}

/// "Name: value" pairs of a header block, continuation lines unfolded (values not decoded).
json header_fields(std::string_view block) {
    json out = json::array();
    std::string name, value;
    auto flush = [&] {
        if (!name.empty()) out.push_back({{"name", name}, {"value", value}});
        name.clear();
        value.clear();
    };
    while (!block.empty()) {
        auto eol = block.find('\n');
        std::string_view line = block.substr(0, eol);
        block.remove_prefix(eol == std::string_view::npos ? block.size() : eol + 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        if (line.empty()) break;
        if ((line[0] == ' ' || line[0] == '\t') && !name.empty()) {
            value += std::string(line);
            continue;
        }
        flush();
        const auto colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        name = std::string(line.substr(0, colon));
        auto v = line.substr(colon + 1);
        while (!v.empty() && (v[0] == ' ' || v[0] == '\t')) v.remove_prefix(1);
        value = std::string(v);
    }
    flush();
    return out;
}

void fetch_headers(imap::client& c, const imap_state& st, const fetch_target& t) {
    imap::fetch_options fo;
    fo.uid = t.uid;
    list_writer w(output_format_for(st.o.json), "messages");
    w.begin({{"mailbox", st.mailbox}});
    c.fetch(
        t.set, "UID BODY.PEEK[HEADER]",
        [&](const imap::fetch_data& f) {
            const auto* h = f.find("HEADER");
            if (h == nullptr || !f.uid) return;
            if (w.structured()) {
                w.item({{"seq", f.seq}, {"uid", *f.uid}, {"headers", h->data}, {"fields", header_fields(h->data)}});
                return;
            }
            // Human output, not a copy of the message (that is --body): the raw header block keeps
            // its line ends and folding TABs, but a raw ESC or C1 in it is shown escaped.
            if (!t.single) print_out(fmt::format("==> UID {} <==\n", *f.uid));
            print_out(h->data);
        },
        fo);
    w.end();
}

/// BODY.PEEK[] of each message, streamed as it arrives (literal_sink) into DIR/<UID>.eml, or to
/// stdout for a single message. Never holds a message in memory. Files go through safe_file: a
/// 0600 temporary, published with a rename that never replaces, removed on any error.
int fetch_bodies(imap::client& c, const imap_state& st, const fetch_target& t) {
    // First the sizes (for the progress meter and to know how many messages the set matches).
    imap::fetch_options fo;
    fo.uid = t.uid;
    std::vector<std::pair<std::uint32_t, std::uint64_t>> found;  // UID, size
    c.fetch(
        t.set, "UID RFC822.SIZE",
        [&](const imap::fetch_data& f) {
            if (!f.uid || !f.rfc822_size) return;
            found.emplace_back(*f.uid, *f.rfc822_size);
        },
        fo);
    const bool to_stdout = st.out_dir.empty();
    if (to_stdout && found.size() != 1) {
        if (found.empty())
            throw command_error(errc::command_failed,
                                fmt::format("no message matches {} {} in {}", t.uid ? "UID" : "sequence number",
                                            t.set.to_string(), st.mailbox));
        throw usage_error(
            fmt::format("--body without -o DIR writes one message to stdout, but {} match; give -o DIR", found.size()));
    }

    // An existing DIR/UID.eml is never replaced: --skip-existing leaves those messages out, and
    // without it the command refuses before downloading anything.
    std::unique_ptr<output_dir> dir;
    std::vector<std::uint32_t> uids, skipped, in_the_way;
    std::uint64_t total = 0;
    if (!to_stdout) dir = std::make_unique<output_dir>(st.out_dir);
    for (const auto& [uid, size] : found) {
        if (dir && dir->has(fmt::format("{}.eml", uid))) {
            (st.skip_existing ? skipped : in_the_way).push_back(uid);
            continue;
        }
        uids.push_back(uid);
        total += size;
    }
    if (!in_the_way.empty())
        throw error(errc::io_error, fmt::format("{} of the files exist already in {} (first: {}.eml); existing files "
                                                "are never replaced: give --skip-existing to fetch only the others",
                                                in_the_way.size(), st.out_dir, in_the_way.front()));

    progress meter(progress_enabled(st.o.progress) && (st.o.progress == "always" || total >= 1'000'000),
                   fmt::format("fetch {}", st.mailbox), total);
    std::unique_ptr<temp_file> file;  // the body arriving now; its destructor removes it on any error
    std::vector<std::uint32_t> not_replaced;
    std::uint64_t bytes = 0;
    std::size_t saved = 0;
    // Each saved file is reported as it is published (--json/--jsonl: an object; text: a line).
    list_writer w(output_format_for(st.o.json), "messages");
    json head = {{"mailbox", st.mailbox}};
    if (st.skip_existing) head["skipped"] = skipped;
    w.begin(head);

    // Each body goes to a temporary while it arrives (the literal announces only the sequence
    // number) and is published as UID.eml when its FETCH response is complete.
    imap::literal_sink sink;
    sink.threshold = 1;
    sink.begin = [&](std::uint32_t, std::string_view, std::uint64_t) {
        if (!to_stdout) file = std::make_unique<temp_file>(*dir);
    };
    sink.data = [&](std::string_view b) {
        if (to_stdout) {
            write_raw(b);  // the message as it is: no terminal_text(), which is for reports
        } else {
            if (!file) throw error(errc::io_error, "body data outside a literal");
            file->write(b);
        }
        bytes += b.size();
        meter.add(b.size());
    };
    fo.sink = &sink;
    const bool pending = !uids.empty() || to_stdout;
    if (!to_stdout) fo.uid = true;
    const auto body_set = to_stdout ? t.set : imap::sequence_set::from(uids);
    if (pending)
        c.fetch(
            body_set, "UID BODY.PEEK[]",
            [&](const imap::fetch_data& f) {
                const auto* s = f.find("");
                if (s == nullptr || !f.uid) return;
                if (to_stdout) {
                    flush_output();
                    return;
                }
                const auto name = fmt::format("{}.eml", *f.uid);
                if (!file) file = std::make_unique<temp_file>(*dir);  // NIL or an empty literal: an empty file
                const auto published = file->publish(name);
                file.reset();  // removes the temporary when it was not published
                if (!published) {
                    // Appeared since the check above (another process): kept as it is.
                    print_err(fmt::format("note: {} appeared during the download; not replaced\n",
                                          terminal_text(dir->path_of(name))));
                    not_replaced.push_back(*f.uid);
                    return;
                }
                ++saved;
                if (w.structured())
                    w.item({{"uid", *f.uid}, {"seq", f.seq}, {"size", s->size}, {"file", dir->path_of(name)}});
                else print_out(fmt::format("{}  {}\n", terminal_text(dir->path_of(name)), human_bytes(s->size)));
            },
            fo);
    meter.finish();
    file.reset();  // a body without its FETCH completing: should not happen; do not leave it behind
    json summary = {{"bytes", bytes}};
    if (!not_replaced.empty()) summary["not_replaced"] = not_replaced;
    w.end(summary, not_replaced.empty());
    if (!w.structured() && !to_stdout) {
        std::string line = fmt::format("{} message{}, {} written to {}", saved, saved == 1 ? "" : "s",
                                       human_bytes(bytes), terminal_text(st.out_dir));
        if (!skipped.empty()) line += fmt::format(" ({} already there, skipped)", skipped.size());
        print_out(line + "\n");
    }
    return not_replaced.empty() ? exit_ok : exit_protocol;
}

int run_fetch(const imap_state& st) {
    const auto& o = st.o;
    if (st.envelope + st.headers + st.body > 1) throw usage_error("give one of --envelope, --headers, --body");
    if (!st.out_dir.empty() && !st.body) throw usage_error("-o DIR goes with --body");
    if (st.skip_existing && st.out_dir.empty()) throw usage_error("--skip-existing goes with --body -o DIR");
    if (st.body && o.json && st.out_dir.empty())
        throw usage_error("--body --json needs -o DIR: the bodies go to files and the JSON lists them");
    const auto t = fetch_target_of(st);
    session sess;
    auto& c = sess.c;
    open_session(c, sess.setup, o);
    c.examine(st.mailbox);  // read-only: fetching never changes a flag
    int rc = exit_ok;
    if (st.headers) fetch_headers(c, st, t);
    else if (st.body) rc = fetch_bodies(c, st, t);
    else fetch_envelopes(c, st, t);
    c.disconnect();
    return rc;
}

// ---- search --------------------------------------------------------------------------------------
//
// The query language (docs/cli.md): terms joined by spaces mean AND; `or` between two terms means
// OR and binds tighter than AND; `not` negates the next term; parentheses group. A term is a flag
// word (seen, unseen, flagged, …), key:value (from:, to:, cc:, bcc:, subject:, body:, text:,
// header:NAME:VALUE, since:/before:/on: YYYY-MM-DD, sent-since:/sent-before:/sent-on:, larger:/smaller:
// N[k|M], uid:SET, seq:SET, keyword:/unkeyword:FLAG, older:/younger:SECONDS, modseq:N), or a bare
// word (searched in the whole message, like text:). "Double quotes" keep spaces in a value.

struct query_token {
    std::string text;
    bool quoted = false;  ///< the token held quotes: never a keyword or parenthesis
};

std::vector<query_token> tokenize(const std::string& s) {
    std::vector<query_token> out;
    std::size_t i = 0;
    while (i < s.size()) {
        const char ch = s[i];
        if (ch == ' ' || ch == '\t' || ch == '\n') {
            ++i;
            continue;
        }
        if (ch == '(' || ch == ')') {
            out.push_back({std::string(1, ch), false});
            ++i;
            continue;
        }
        query_token t;
        while (i < s.size() && s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '(' && s[i] != ')') {
            if (s[i] == '"') {
                t.quoted = true;
                ++i;
                while (i < s.size() && s[i] != '"') {
                    if (s[i] == '\\' && i + 1 < s.size()) ++i;
                    t.text += s[i++];
                }
                if (i >= s.size()) throw usage_error("unterminated \" in the search query");
                ++i;
                continue;
            }
            t.text += s[i++];
        }
        out.push_back(std::move(t));
    }
    return out;
}

std::string lower(std::string s) {
    for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    return s;
}

imap::date parse_day(const std::string& key, const std::string& v) {
    unsigned y = 0, m = 0, d = 0;
    char tail = 0;
    if (std::sscanf(v.c_str(), "%4u-%2u-%2u%c", &y, &m, &d, &tail) != 3 || m < 1 || m > 12 || d < 1 || d > 31)
        throw usage_error(fmt::format("{}:{} is not a date; write YYYY-MM-DD", key, v));
    return {static_cast<int>(y), m, d};
}

std::uint64_t parse_number(const std::string& key, const std::string& v, bool units) {
    std::size_t used = 0;
    unsigned long long n = 0;
    try {
        n = std::stoull(v, &used);
    } catch (const std::exception&) {
        used = 0;
    }
    std::uint64_t mult = 1;
    const std::string rest = lower(v.substr(used == 0 ? v.size() : used));
    if (units && (rest == "k" || rest == "kb")) mult = 1000;
    else if (units && (rest == "m" || rest == "mb")) mult = 1000 * 1000;
    else if (!rest.empty()) used = 0;
    if (used == 0 || v.empty() || v[0] == '-')
        throw usage_error(fmt::format("{}:{} is not a number{}", key, v, units ? " (N, Nk or NM)" : ""));
    return n * mult;
}

class query_parser {
public:
    explicit query_parser(std::vector<query_token> tokens) : t_(std::move(tokens)) {}

    imap::search_query parse() {
        if (t_.empty()) throw usage_error("the search query is empty (use `all` for every message)");
        auto q = conjunction();
        if (pos_ < t_.size()) throw usage_error(fmt::format("unexpected \"{}\" in the search query", t_[pos_].text));
        return q;
    }

private:
    [[nodiscard]] bool at(std::string_view word) const {
        return pos_ < t_.size() && !t_[pos_].quoted && lower(t_[pos_].text) == word;
    }

    imap::search_query conjunction() {
        auto q = disjunction();
        while (pos_ < t_.size() && !at(")")) q = std::move(q) && disjunction();
        return q;
    }

    imap::search_query disjunction() {
        auto q = unary();
        while (at("or")) {
            ++pos_;
            q = std::move(q) || unary();
        }
        return q;
    }

    imap::search_query unary() {
        if (pos_ >= t_.size()) throw usage_error("the search query ends where a term should follow");
        if (at("not")) {
            ++pos_;
            return !unary();
        }
        if (at("(")) {
            ++pos_;
            auto q = conjunction();
            if (!at(")")) throw usage_error("missing ) in the search query");
            ++pos_;
            return q;
        }
        if (at(")") || at("or")) throw usage_error(fmt::format("unexpected \"{}\" in the search query", t_[pos_].text));
        return term(t_[pos_++]);
    }

    static imap::search_query term(const query_token& tok) {
        using Q = imap::search_query;
        const auto colon = tok.text.find(':');
        if (colon == std::string::npos || colon == 0) {
            const auto w = lower(tok.text);
            if (!tok.quoted) {
                if (w == "all") return Q::all();
                if (w == "seen" || w == "read") return Q::seen();
                if (w == "unseen" || w == "unread") return Q::unseen();
                if (w == "answered") return Q::answered();
                if (w == "unanswered") return Q::unanswered();
                if (w == "flagged") return Q::flagged();
                if (w == "unflagged") return Q::unflagged();
                if (w == "deleted") return Q::deleted();
                if (w == "undeleted") return Q::undeleted();
                if (w == "draft") return Q::draft();
                if (w == "undraft") return Q::undraft();
                if (w == "recent") return Q::recent();
            }
            return Q::text(tok.text);
        }
        const auto key = lower(tok.text.substr(0, colon));
        const auto v = tok.text.substr(colon + 1);
        if (v.empty()) throw usage_error(fmt::format("{}: needs a value", key));
        if (key == "from") return Q::from(v);
        if (key == "to") return Q::to(v);
        if (key == "cc") return Q::cc(v);
        if (key == "bcc") return Q::bcc(v);
        if (key == "subject") return Q::subject(v);
        if (key == "body") return Q::body(v);
        if (key == "text") return Q::text(v);
        if (key == "header") {
            const auto c2 = v.find(':');
            if (c2 == 0) throw usage_error("header: needs NAME:VALUE, e.g. header:List-Id:dev");
            // header:NAME alone matches every message that has the field (RFC 3501: empty string).
            return c2 == std::string::npos ? Q::header(v, "") : Q::header(v.substr(0, c2), v.substr(c2 + 1));
        }
        if (key == "since") return Q::since(parse_day(key, v));
        if (key == "before") return Q::before(parse_day(key, v));
        if (key == "on") return Q::on(parse_day(key, v));
        if (key == "sent-since" || key == "sentsince") return Q::sent_since(parse_day(key, v));
        if (key == "sent-before" || key == "sentbefore") return Q::sent_before(parse_day(key, v));
        if (key == "sent-on" || key == "senton") return Q::sent_on(parse_day(key, v));
        if (key == "larger") return Q::larger(parse_number(key, v, true));
        if (key == "smaller") return Q::smaller(parse_number(key, v, true));
        if (key == "uid") return Q::uid(parse_set(v, "uid:"));
        if (key == "seq") return Q::sequence(parse_set(v, "seq:"));
        if (key == "keyword") return Q::keyword(v);
        if (key == "unkeyword") return Q::unkeyword(v);
        if (key == "older") return Q::older(static_cast<std::uint32_t>(parse_number(key, v, false)));
        if (key == "younger") return Q::younger(static_cast<std::uint32_t>(parse_number(key, v, false)));
        if (key == "modseq") return Q::modseq(parse_number(key, v, false));
        throw usage_error(fmt::format("unknown search key \"{}:\" (see `mailwire imap search --help`)", key));
    }

    std::vector<query_token> t_;
    std::size_t pos_ = 0;
};

int run_search(const imap_state& st) {
    const auto& o = st.o;
    const std::string text = join(st.query, " ");
    if (st.raw && text.find_first_not_of(' ') == std::string::npos) throw usage_error("--raw needs IMAP search keys");
    const auto query = st.raw ? imap::search_query::raw(text) : query_parser(tokenize(text)).parse();
    session sess;
    auto& c = sess.c;
    open_session(c, sess.setup, o);
    c.examine(st.mailbox);
    const auto r = c.search(query);
    c.disconnect();
    std::vector<std::uint32_t> uids = r.ids;
    std::sort(uids.begin(), uids.end());
    // The SEARCH response is one line the library holds whole (bounded by its limits); the UIDs
    // are written one by one from there: --json a number each, --jsonl {"uid": N} each.
    list_writer w(output_format_for(o.json), "uids");
    w.begin({{"mailbox", st.mailbox}, {"criteria", query.text()}, {"count", uids.size()}});
    for (auto u : uids) {
        if (w.format() == output_format::jsonl) w.item({{"uid", u}});
        else if (w.structured()) w.item(u);
        else print_out(std::to_string(u) + "\n");
    }
    w.end();
    return exit_ok;
}

// ---- append --------------------------------------------------------------------------------------

/// A message file streamed to APPEND in chunks (memory stays flat whatever its size). IMAP wants
/// CRLF line ends: bare LFs are sent as CRLF, so the exact size is counted in a first pass.
class message_file {
public:
    explicit message_file(const std::string& path) : path_(path) {
        fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd_ < 0) throw usage_error(fmt::format("cannot open {}", path));
        struct stat sb {};
        if (::fstat(fd_, &sb) != 0 || !S_ISREG(sb.st_mode)) {
            ::close(fd_);
            throw usage_error(fmt::format("{} is not a file", path));
        }
        file_size_ = static_cast<std::uint64_t>(sb.st_size);
        ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
        bool after_cr = false;
        while (const auto n = read_some(buf_.data(), buf_.size())) {
            for (std::size_t i = 0; i < n; ++i) {
                if (buf_[i] == '\n' && !after_cr) ++bare_lf_;
                after_cr = buf_[i] == '\r';
            }
        }
        rewind();
    }
    ~message_file() { ::close(fd_); }
    message_file(const message_file&) = delete;
    message_file& operator=(const message_file&) = delete;

    [[nodiscard]] std::uint64_t size() const noexcept { return file_size_ + bare_lf_; }
    [[nodiscard]] bool converted() const noexcept { return bare_lf_ > 0; }
    void rewind() {
        if (::lseek(fd_, 0, SEEK_SET) != 0) throw usage_error(fmt::format("cannot read {}", path_));
        pos_ = len_ = 0;
        after_cr_ = pending_lf_ = false;
    }
    /// The literal_reader: the next bytes, bare LF turned into CRLF.
    std::size_t read(char* out, std::size_t capacity) {
        std::size_t n = 0;
        while (n < capacity) {
            if (pending_lf_) {
                out[n++] = '\n';
                pending_lf_ = after_cr_ = false;
                continue;
            }
            if (pos_ == len_) {
                len_ = read_some(buf_.data(), buf_.size());
                pos_ = 0;
                if (len_ == 0) break;
            }
            const char ch = buf_[pos_++];
            if (ch == '\n' && !after_cr_) {
                out[n++] = '\r';
                pending_lf_ = true;
                continue;
            }
            out[n++] = ch;
            after_cr_ = ch == '\r';
        }
        return n;
    }

private:
    std::size_t read_some(char* p, std::size_t n) {
        for (;;) {
            const auto r = ::read(fd_, p, n);
            if (r >= 0) return static_cast<std::size_t>(r);
            if (errno != EINTR) throw usage_error(fmt::format("cannot read {}", path_));
        }
    }

    std::string path_;
    int fd_ = -1;
    std::uint64_t file_size_ = 0, bare_lf_ = 0;
    std::array<char, 64 * 1024> buf_{};
    std::size_t pos_ = 0, len_ = 0;
    bool after_cr_ = false, pending_lf_ = false;
};

std::vector<std::string> split_flags(const std::vector<std::string>& given) {
    std::vector<std::string> out;
    for (const auto& g : given) {
        std::size_t i = 0;
        while (i < g.size()) {
            const auto end = g.find_first_of(" ,", i);
            const auto f = g.substr(i, end == std::string::npos ? std::string::npos : end - i);
            if (!f.empty()) out.push_back(f);
            if (end == std::string::npos) break;
            i = end + 1;
        }
    }
    for (const auto& f : out)
        if (f.find_first_of("(){%*\"\\]", f.starts_with('\\') ? 1 : 0) != std::string::npos)
            throw usage_error(fmt::format("\"{}\" is not a flag (\\Seen, \\Flagged, $Label …)", f));
    return out;
}

/// Rethrows a [TRYCREATE] refusal with the CLI's way out: --create (`arg` names the mailbox argument).
[[noreturn]] void throw_trycreate(const imap::command_refused& e, std::string_view arg) {
    auto ctx = e.context();
    ctx.hint = fmt::format("the mailbox {} does not exist: add --create to create it, or create it first", arg);
    throw imap::command_refused(e.detail(), std::move(ctx), e.response_code(), e.response_code_args());
}

int run_append(const imap_state& st) {
    const auto& o = st.o;
    imap::append_message m;
    m.flags = split_flags(st.flags);
    if (!st.date.empty()) {
        m.date = mime::parse_date(st.date);
        if (!m.date) throw usage_error(fmt::format("--date \"{}\" is not a date", st.date));
    }
    for (const auto& f : st.files) {  // unusable files fail before we connect (without reading them twice)
        std::error_code ec;
        if (!std::filesystem::is_regular_file(f, ec)) throw usage_error(fmt::format("{} is not a file", f));
        if (::access(f.c_str(), R_OK) != 0) throw usage_error(fmt::format("cannot open {}", f));
        if (std::filesystem::file_size(f, ec) == 0) throw usage_error(fmt::format("{} is empty", f));
    }
    session sess;
    auto& c = sess.c;
    open_session(c, sess.setup, o);
    json list = json::array();
    bool created = false;
    for (const auto& path : st.files) {
        message_file file(path);
        const auto size = file.size();
        const bool lf = file.converted();
        progress meter(progress_enabled(o.progress) && (o.progress == "always" || size >= 1'000'000), "APPEND " + path,
                       size);
        m.size = size;
        m.reader = [&](char* buffer, std::size_t capacity) {
            const auto n = file.read(buffer, capacity);
            meter.add(n);
            return n;
        };
        imap::append_result r;
        try {
            r = c.append(st.mailbox, m);
        } catch (const imap::command_refused& e) {
            // [TRYCREATE]: the APPEND was refused as a whole; create the mailbox and retry once.
            if (e.response_code() != "TRYCREATE" || created) throw;
            if (!st.create) throw_trycreate(e, "MBOX");
            c.create(st.mailbox);
            created = true;
            if (!o.json) print_out(fmt::format("created {}\n", terminal_text(st.mailbox)));
            file.rewind();
            r = c.append(st.mailbox, m);
        }
        meter.finish();
        const auto uids = r.uids.empty() ? std::vector<std::uint32_t>{} : r.uids.expand(0, 16);
        if (o.json) {
            list.push_back({{"file", path},
                            {"bytes", size},
                            {"converted_to_crlf", lf},
                            {"uid", uids.empty() ? json() : json(uids.front())},
                            {"uidvalidity", r.uidvalidity != 0 ? json(r.uidvalidity) : json()}});
        } else {
            std::string line = fmt::format("appended {} ({}{}) to {}", terminal_text(path), human_bytes(size),
                                           lf ? ", LF line ends sent as CRLF" : "", terminal_text(st.mailbox));
            if (!uids.empty()) line += fmt::format(" as UID {} (UIDVALIDITY {})", uids.front(), r.uidvalidity);
            print_out(line + "\n");
        }
    }
    c.disconnect();
    if (o.json)
        print_json(
            {{"ok", true}, {"mailbox", st.mailbox}, {"created", created}, {"flags", m.flags}, {"appended", list}});
    return exit_ok;
}

// ---- move / delete -------------------------------------------------------------------------------

/// The UIDs of SET that exist in the selected mailbox (SET holds UIDs, or sequence numbers with --seq).
/// client::uids_in() checks every number the server answers against SET: a server that reads UIDs
/// as sequence numbers stops the command here, before anything is moved or flagged.
std::vector<std::uint32_t> existing_uids(imap::client& c, const imap_state& st) {
    return c.uids_in(parse_set(st.set, "SET"), !st.seq);
}

std::string plural(std::size_t n, const char* what) { return fmt::format("{} {}{}", n, what, n == 1 ? "" : "s"); }

int run_move(const imap_state& st) {
    const auto& o = st.o;
    (void)parse_set(st.set, "SET");
    session sess;
    auto& c = sess.c;
    open_session(c, sess.setup, o);
    c.select(st.mailbox);
    const auto uids = existing_uids(c, st);
    const bool has_move = c.has_capability("MOVE");
    const bool uidplus = c.has_capability("UIDPLUS");
    const std::string method = has_move ? "MOVE" : uidplus ? "COPY+STORE+UID EXPUNGE" : "COPY+STORE+EXPUNGE";
    imap::copy_result r;
    bool created = false;
    if (!uids.empty()) {
        try {
            r = c.move(imap::sequence_set::from(uids), st.destination, true);
        } catch (const imap::command_refused& e) {
            // [TRYCREATE]: the COPY or MOVE was refused as a whole, nothing moved; create, retry once.
            if (e.response_code() != "TRYCREATE") throw;
            if (!st.create) throw_trycreate(e, "DEST");
            c.create(st.destination);
            created = true;
            r = c.move(imap::sequence_set::from(uids), st.destination, true);
        }
    }
    c.disconnect();
    const auto source = imap::sequence_set::from(uids).to_string();
    if (o.json) {
        print_json({{"ok", true},
                    {"mailbox", st.mailbox},
                    {"destination", st.destination},
                    {"requested", st.set},
                    {"moved", uids.size()},
                    {"uids", uids},
                    {"method", uids.empty() ? "none" : method},
                    {"created", created},
                    {"uidvalidity", r.uidvalidity != 0 ? json(r.uidvalidity) : json()},
                    {"destination_uids", r.destination.empty() ? json() : json(r.destination.to_string())}});
        return exit_ok;
    }
    if (uids.empty()) {
        print_out(fmt::format("nothing moved: no message in {} matches {} {}\n", terminal_text(st.mailbox),
                              st.seq ? "sequence numbers" : "UIDs", terminal_text(st.set)));
        return exit_ok;
    }
    std::string line =
        fmt::format("moved {} (UIDs {}) from {} to {}{} with {}", plural(uids.size(), "message"), source,
                    terminal_text(st.mailbox), terminal_text(st.destination), created ? " (created)" : "", method);
    if (!r.destination.empty())
        line += fmt::format("; new UIDs {} (UIDVALIDITY {})", r.destination.to_string(), r.uidvalidity);
    print_out(line + "\n");
    if (!has_move && !uidplus)
        print_err(
            "note: the server has neither MOVE nor UIDPLUS: the EXPUNGE also removed any other message "
            "already marked \\Deleted\n");
    return exit_ok;
}

int run_delete(const imap_state& st) {
    const auto& o = st.o;
    (void)parse_set(st.set, "SET");
    if (st.no_expunge && st.expunge_all) throw usage_error("--no-expunge and --expunge-all contradict each other");
    session sess;
    auto& c = sess.c;
    open_session(c, sess.setup, o);
    c.select(st.mailbox);
    const auto uids = existing_uids(c, st);
    const auto set = imap::sequence_set::from(uids);
    std::string method = "none", why;
    std::size_t expunged = 0;  // what the server reported removed (EXPUNGE/VANISHED responses)
    std::size_t expected = 0;  // what it should have removed

    if (!uids.empty()) {
        imap::store_options so;
        so.silent = true;
        c.store(set, imap::store_action::add, {"\\Deleted"}, so);
        if (st.no_expunge) {
            why = "--no-expunge";
        } else if (c.has_capability("UIDPLUS")) {
            const auto r = c.expunge(set);  // UID EXPUNGE: only these, whatever else is marked
            expunged = r.sequence_numbers.size() + r.vanished.expand(0, 10'000'000).size();
            expected = uids.size();
            method = "UID EXPUNGE";
        } else {
            // Plain EXPUNGE removes every \Deleted message: only when ours are the only ones.
            auto others = c.search(imap::search_query::deleted()).ids;
            std::erase_if(others, [&](std::uint32_t u) { return set.contains(u); });
            if (others.empty() || st.expunge_all) {
                const auto r = c.expunge();
                expunged = r.sequence_numbers.size() + r.vanished.expand(0, 10'000'000).size();
                expected = uids.size() + others.size();
                method = "EXPUNGE";
            } else {
                why = fmt::format(
                    "the server lacks UIDPLUS and EXPUNGE would also remove {} already marked "
                    "\\Deleted (use --expunge-all to remove them too)",
                    plural(others.size(), "other message"));
            }
        }
    }
    c.disconnect();
    // The count printed is what the server reported removed; when that differs from what the
    // command should have removed, the answers do not add up and the user hears so.
    std::string mismatch;
    if (method != "none" && expunged != expected)
        mismatch = fmt::format("the server reported {} removed where {} should have been", plural(expunged, "message"),
                               expected);
    if (o.json) {
        print_json({{"ok", true},
                    {"mailbox", st.mailbox},
                    {"requested", st.set},
                    {"uids", uids},
                    {"flagged_deleted", uids.size()},
                    {"expunged", expunged},
                    {"method", method},
                    {"not_expunged_because", why},
                    {"warning", mismatch.empty() ? json() : json(mismatch)}});
        return exit_ok;
    }
    if (!mismatch.empty()) print_err("warning: " + terminal_text(mismatch) + "\n");
    if (uids.empty()) {
        print_out(fmt::format("nothing deleted: no message in {} matches {} {}\n", terminal_text(st.mailbox),
                              st.seq ? "sequence numbers" : "UIDs", terminal_text(st.set)));
    } else if (method != "none") {
        print_out(fmt::format("deleted {} (UIDs {}) from {}: flagged \\Deleted, then {} removed {}\n",
                              plural(uids.size(), "message"), set.to_string(), terminal_text(st.mailbox), method,
                              plural(expunged, "message")));
    } else {
        print_out(fmt::format("flagged {} (UIDs {}) in {} \\Deleted; not expunged: {}\n",
                              plural(uids.size(), "message"), set.to_string(), terminal_text(st.mailbox),
                              terminal_text(why)));
    }
    return exit_ok;
}

// ---- idle ----------------------------------------------------------------------------------------

std::atomic<imap::client*> idle_client{nullptr};
std::atomic<bool> idle_interrupted{false};

extern "C" void idle_on_signal(int) {
    idle_interrupted.store(true);
    if (auto* c = idle_client.load()) c->stop_idle();  // an atomic store: async-signal-safe
}

int run_idle(const imap_state& st) {
    const auto& o = st.o;
    if (st.wait < 0) throw usage_error("--wait must not be negative");
    session sess;
    auto& c = sess.c;
    open_session(c, sess.setup, o);
    const auto& state = c.examine(st.mailbox);
    if (!c.has_capability("IDLE"))
        throw command_error(errc::command_failed, "the server does not offer IDLE (RFC 2177)");
    const auto start = std::chrono::steady_clock::now();
    const auto deadline = start + std::chrono::milliseconds(static_cast<long long>(st.wait * 1000));
    if (!o.json)
        print_err(fmt::format("idling in {} ({}); {}\n", terminal_text(st.mailbox), plural(state.exists, "message"),
                              st.wait > 0    ? fmt::format("stops after {} s{}", st.wait,
                                                        st.count > 0 ? fmt::format(" or {} events", st.count) : "")
                              : st.count > 0 ? fmt::format("stops after {} events", st.count)
                                             : std::string("Ctrl-C stops")));

    // An endless watch has no end to wait for: --json is JSON Lines here too, an object per event
    // and the summary line ({"event": "end", …, "ok": true}) last.
    list_writer w(o.json ? output_format::jsonl : output_format::text, "events");
    w.begin({{"mailbox", st.mailbox}});
    unsigned events = 0;
    auto on_event = [&](const imap::mailbox_event& e) {
        using kind = imap::mailbox_event::kind;
        json j = {{"time", iso_now()}};
        std::string line;
        switch (e.type) {
        case kind::exists:
            j["event"] = "exists";
            j["messages"] = e.number;
            line = fmt::format("EXISTS {}", e.number);
            break;
        case kind::expunge:
            j["event"] = "expunge";
            j["seq"] = e.number;
            line = fmt::format("EXPUNGE {}", e.number);
            break;
        case kind::vanished:
            j["event"] = "vanished";
            j["uids"] = e.uids.to_string();
            j["earlier"] = e.earlier;
            line = fmt::format("VANISHED {}", e.uids.to_string());
            break;
        case kind::fetch: {
            j["event"] = "fetch";
            j["seq"] = e.number;
            line = fmt::format("FETCH {}", e.number);
            if (e.fetch != nullptr && e.fetch->uid) {
                j["uid"] = *e.fetch->uid;
                line += fmt::format(" UID {}", *e.fetch->uid);
            }
            if (e.fetch != nullptr && e.fetch->flags) {
                j["flags"] = *e.fetch->flags;
                line += fmt::format(" FLAGS ({})", terminal_text(join(*e.fetch->flags)));
            }
            if (e.modseq != 0) j["modseq"] = e.modseq;
            break;
        }
        case kind::alert:
            print_err("server alert: " + terminal_text(e.text) + "\n");
            return true;
        default:
            return true;  // RECENT, FLAGS, UIDNEXT …: state, not news
        }
        if (w.structured()) w.item(j);
        else print_out(j["time"].get<std::string>() + "  " + line + "\n");
        flush_output();
        ++events;
        return st.count == 0 || events < st.count;
    };

    idle_client.store(&c);
    struct sigaction sa {
    }, old_int{}, old_term{};
    sa.sa_handler = idle_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    struct restore {
        struct sigaction i, t;
        ~restore() {
            idle_client.store(nullptr);
            sigaction(SIGINT, &i, nullptr);
            sigaction(SIGTERM, &t, nullptr);
        }
    } restore_signals{old_int, old_term};

    std::string reason;
    for (;;) {
        if (idle_interrupted.load()) {
            reason = "interrupted";
            break;
        }
        if (st.count > 0 && events >= st.count) {
            reason = "count";
            break;
        }
        auto slice = std::chrono::milliseconds(std::chrono::minutes(29));  // RFC 2177: re-issue before 30 min
        if (st.wait > 0) {
            const auto left =
                std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
            if (left.count() <= 0) {
                reason = "time";
                break;
            }
            slice = std::min(slice, left);
        }
        c.idle(on_event, slice);
    }
    c.disconnect();
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    w.end({{"event", "end"}, {"events", events}, {"reason", reason}, {"seconds", secs}});
    if (!w.structured())
        print_err(fmt::format("{} in {:.1f} s ({})\n", plural(events, "event"), secs,
                              reason == "count"  ? "--count reached"
                              : reason == "time" ? "--wait passed"
                                                 : "interrupted"));
    return exit_ok;
}

}  // namespace

command add_imap(CLI::App& app) {
    auto st = std::make_shared<imap_state>();
    auto* sub = app.add_subcommand("imap", "IMAP client commands (default: caps)");
    add_connection_options(*sub, st->o);
    sub->footer(
        "Commands work on --user's mailboxes (names in UTF-8). UIDs are what every command prints and "
        "takes;\nSET is a sequence set: 4, 1:10, 3,7:9, 5:*. docs/cli.md has the details.");

    auto* caps = sub->add_subcommand("caps", "Connect, log in if --user is given, print the capabilities");
    caps->fallthrough();

    auto* list = sub->add_subcommand("list", "List mailboxes with special-use flags (and counts with LIST-STATUS)");
    list->fallthrough();
    list->add_option("PATTERN", st->pattern, "LIST pattern: * (default) for all, % for one level, Work/*");
    list->add_flag("--subscribed", st->subscribed, "Only subscribed mailboxes");
    list->add_flag("--status", st->status, "Message counts even without LIST-STATUS (one STATUS per mailbox)");
    list->add_flag("--no-status", st->no_status, "No message counts");

    auto* status = sub->add_subcommand("status", "Message counts, UIDNEXT, UIDVALIDITY of a mailbox");
    status->fallthrough();
    status->add_option("MBOX", st->mailbox, "Mailbox")->required();

    auto* fetch = sub->add_subcommand("fetch", "Summaries (default), headers or whole messages");
    fetch->fallthrough();
    fetch->add_option("MBOX", st->mailbox, "Mailbox")->required();
    fetch->add_option("SET", st->set, "Sequence numbers (same as --seq); default: every message");
    fetch->add_option("--uid", st->uid_set, "UIDs to fetch");
    fetch->add_option("--seq", st->seq_set, "Sequence numbers to fetch");
    fetch->add_flag("--envelope", st->envelope, "Table of UID, date, from, size, flags, subject (default)");
    fetch->add_flag("--headers", st->headers, "The header block of each message");
    fetch->add_flag("--body", st->body, "Whole messages, streamed to stdout (one message) or DIR/UID.eml (-o)");
    fetch->add_option("-o,--output-dir", st->out_dir, "With --body: write each message to DIR/UID.eml");
    fetch->add_flag("--skip-existing", st->skip_existing,
                    "With -o DIR: leave out messages already saved (files are never replaced)");

    auto* search = sub->add_subcommand("search", "Find messages; prints UIDs");
    search->fallthrough();
    search->add_option("MBOX", st->mailbox, "Mailbox")->required();
    search->add_option("QUERY", st->query, "Terms, e.g. 'from:alice subject:\"x y\" since:2024-01-01 unseen'")
        ->required();
    search->footer(
        "QUERY: terms separated by spaces must all match; `a or b` (binds tighter), `not a`, ( ).\n"
        "  key:value   from to cc bcc subject body text header:NAME:VALUE uid:SET seq:SET\n"
        "              since before on sent-since sent-before sent-on (YYYY-MM-DD, INTERNALDATE / Date:)\n"
        "              larger smaller (N, Nk, NM bytes) keyword unkeyword older younger (seconds) modseq\n"
        "  words       all seen unseen answered unanswered flagged unflagged deleted undeleted draft\n"
        "              undraft recent; any other word is searched in the whole message (text:)\n"
        "Quote the query for the shell: mailwire imap search INBOX 'from:alice subject:\"x y\"' ...");
    search->add_flag("--raw", st->raw, "QUERY is IMAP search keys, sent as they are (e.g. 'OR FROM a FROM b')");

    auto* append = sub->add_subcommand("append", "Upload message files (RFC 5322) into a mailbox");
    append->fallthrough();
    append->add_option("MBOX", st->mailbox, "Mailbox")->required();
    append->add_option("FILE", st->files, "Message file(s); LF line ends are sent as CRLF")->required();
    append->add_option("--flags", st->flags, "Flags to set, e.g. '\\Seen' or '\\Seen \\Flagged' (repeatable)");
    append->add_option("--date", st->date, "INTERNALDATE, e.g. '2024-01-31 10:00:00 +0100' (default: now)");
    append->add_flag("--create", st->create, "Create MBOX when the server says it does not exist ([TRYCREATE])");

    auto* move = sub->add_subcommand("move", "Move messages to another mailbox (MOVE, else COPY+EXPUNGE)");
    move->fallthrough();
    move->add_option("MBOX", st->mailbox, "Source mailbox")->required();
    move->add_option("SET", st->set, "UIDs (sequence numbers with --seq)")->required();
    move->add_option("DEST", st->destination, "Destination mailbox")->required();
    move->add_flag("--seq", st->seq, "SET holds sequence numbers");
    move->add_flag("--create", st->create, "Create DEST when the server says it does not exist ([TRYCREATE])");

    auto* del = sub->add_subcommand("delete", "Delete messages: flag \\Deleted, then UID EXPUNGE");
    del->fallthrough();
    del->add_option("MBOX", st->mailbox, "Mailbox")->required();
    del->add_option("SET", st->set, "UIDs (sequence numbers with --seq)")->required();
    del->add_flag("--seq", st->seq, "SET holds sequence numbers");
    del->add_flag("--no-expunge", st->no_expunge, "Only flag them \\Deleted");
    del->add_flag("--expunge-all", st->expunge_all,
                  "No UIDPLUS: EXPUNGE even if other messages are \\Deleted (they go too)");

    auto* idle = sub->add_subcommand("idle", "Watch a mailbox (IDLE): print EXISTS/EXPUNGE/FETCH as they arrive");
    idle->fallthrough();
    idle->add_option("MBOX", st->mailbox, "Mailbox")->required();
    idle->add_option("--wait", st->wait, "Stop after S seconds (default: never; --timeout is for the network)");
    idle->add_option("--count", st->count, "Stop after N events");

    sub->require_subcommand(0, 1);
    return {sub,
            [st, list, status, fetch, search, append, move, del, idle]() -> int {
                if (list->parsed()) return run_list(*st);
                if (status->parsed()) return run_status(*st);
                if (fetch->parsed()) return run_fetch(*st);
                if (search->parsed()) return run_search(*st);
                if (append->parsed()) return run_append(*st);
                if (move->parsed()) return run_move(*st);
                if (del->parsed()) return run_delete(*st);
                if (idle->parsed()) return run_idle(*st);
                return run_caps(st->o);
            },
            &st->o.json};
}

}  // namespace mailwire::cli
