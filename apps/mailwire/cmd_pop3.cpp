// `mailwire pop3 …` — POP3 commands: caps (the default), stat, list, uidl, retr, top, dele. Each
// opens one session (session_setup::open), does its job and ends it with QUIT.
//
// Message numbers are per session (RFC 1939 §5: they change when another session deletes mail),
// so every command that takes numbers also takes --uid UIDL, which is stable across sessions.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common.hpp"
#include "mailwire/pop3/client.hpp"
#include "output.hpp"
#include "progress.hpp"
#include "report.hpp"
#include "safe_file.hpp"

namespace mailwire::cli {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct pop3_state {
    connection_options o;
    std::vector<std::uint32_t> numbers;   ///< N… : message numbers of this session
    std::vector<std::string> uids;        ///< --uid UIDL (repeatable), resolved with one UIDL listing
    std::vector<std::uint32_t> top_args;  ///< top: N LINES, or LINES with --uid
    std::string output;                   ///< retr -o FILE|DIR
    bool all = false, skip_existing = false, dry_run = false;
};

/// Progress is drawn for transfers of at least this many bytes (or always with --progress always).
constexpr std::uint64_t progress_threshold = 1'000'000;

/// A result that is one object: pretty with --json, one line with --jsonl.
void print_json(const json& j) { print_document(j); }

std::string plural(std::size_t n, std::string_view word) { return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s"); }

std::string join_numbers(const std::vector<std::uint32_t>& v) {
    std::string s;
    for (const auto n : v) s += (s.empty() ? "" : ", ") + std::to_string(n);
    return s;
}

/// Connects, logs in (USER/PASS for --auth legacy) and insists on being logged in: every command
/// but caps works on a user's maildrop.
void open_session(pop3::client& c, session_setup& setup, const connection_options& o) {
    if (o.user.empty()) throw usage_error("this command works on a maildrop: give --user and --password-env VAR");
    setup.open(c, o, [&](const secret& pw) { c.login(o.user, pw); });
    if (!c.is_authenticated()) throw usage_error("this command needs a logged-in session: give --user");
}

error_context context_of(const pop3::client& c, stage s, std::string hint = {}) {
    error_context x;
    x.host = c.host();
    x.port = c.port();
    x.protocol = "pop3";
    x.stage = s;
    x.hint = std::move(hint);
    return x;
}

void check_numbers(const std::vector<std::uint32_t>& numbers) {
    for (const auto n : numbers)
        if (n == 0) throw usage_error("message numbers start at 1 (`mailwire pop3 list` shows them)");
}

/// The message numbers a command names: N… as given, then those whose UIDL is one of --uid (one
/// UIDL listing; a UIDL nobody has is a command error, exit 7). Duplicates are dropped. `uid_of`
/// receives the UIDLs that were given.
std::vector<std::uint32_t> resolve(pop3::client& c, const pop3_state& st,
                                   std::map<std::uint32_t, std::string>* uid_of = nullptr) {
    std::vector<std::uint32_t> out;
    auto add = [&](std::uint32_t n) {
        if (std::find(out.begin(), out.end(), n) == out.end()) out.push_back(n);
    };
    for (const auto n : st.numbers) add(n);
    if (st.uids.empty()) return out;
    std::map<std::string, std::uint32_t> number_of;
    for (auto& m : c.uidl()) number_of.emplace(std::move(m.uid), m.number);
    for (const auto& u : st.uids) {
        const auto it = number_of.find(u);
        if (it == number_of.end())
            throw command_error(errc::command_failed,
                                fmt::format("no message has UIDL {} (deleted, or in another maildrop)", u),
                                context_of(c, stage::command, "`mailwire pop3 uidl` lists the UIDLs"));
        add(it->second);
        if (uid_of != nullptr) (*uid_of)[it->second] = u;
    }
    return out;
}

/// A file name for a UIDL: bytes other than [A-Za-z0-9_+=@,-] and dots after the first byte are
/// written %XX, as is a leading '-', so every UIDL (RFC 1939: 1-70 bytes 0x21-0x7E) gives its own
/// name that is neither a path, nor hidden, nor "." or "..", nor taken for an option by a command
/// it is passed to, and the name can be mapped back to the UIDL.
std::string file_name_for(std::string_view uid) {
    std::string s;
    for (std::size_t i = 0; i < uid.size(); ++i) {
        const auto ch = static_cast<unsigned char>(uid[i]);
        const bool safe =
            std::isalnum(ch) != 0 || std::strchr("_+=@,", ch) != nullptr || ((ch == '.' || ch == '-') && i > 0);
        if (safe && ch != 0) s += static_cast<char>(ch);
        else s += fmt::format("%{:02X}", ch);
    }
    return s + ".eml";
}

// ---- files that appear only when complete -------------------------------------------------------

/// One message on its way to a file: written to a 0600 temporary in the target's directory
/// (safe_file) and published under the final name only when complete, never replacing a file that
/// is there, so a file with the final name is always a complete message and an unfinished one is
/// removed. A target that exists and is not a regular file (/dev/null, a FIFO, a terminal) is
/// written directly: it is opened without O_CREAT or O_TRUNC, so that path can never create or cut
/// a regular file.
class output_file {
public:
    explicit output_file(const fs::path& target) : target_(target), name_(target.filename().string()) {
        struct stat st {};
        if (::stat(target_.c_str(), &st) == 0 && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
            direct_fd_ = ::open(target_.c_str(), O_WRONLY | O_NOCTTY | O_CLOEXEC);
            if (direct_fd_ < 0)
                throw error(errc::io_error,
                            fmt::format("cannot open {} for writing: {}", target_.string(), std::strerror(errno)));
            if (::fstat(direct_fd_, &st) != 0 || S_ISREG(st.st_mode)) {  // swapped for a regular file meanwhile
                ::close(direct_fd_);
                throw error(errc::io_error, fmt::format("{} exists; not replaced", target_.string()));
            }
            return;
        }
        const auto parent = target_.parent_path();
        dir_ = std::make_unique<output_dir>(parent.empty() ? std::string(".") : parent.string(), false);
        file_ = std::make_unique<temp_file>(*dir_);
    }
    output_file(const fs::path& target, const output_dir& dir, const std::string& name)
        : target_(target), name_(name), file_(std::make_unique<temp_file>(dir)) {}
    ~output_file() {
        if (direct_fd_ >= 0) ::close(direct_fd_);
    }
    output_file(const output_file&) = delete;
    output_file& operator=(const output_file&) = delete;

    void write(std::string_view b) {
        if (file_) {
            file_->write(b);
            return;
        }
        while (!b.empty()) {
            const ssize_t n = ::write(direct_fd_, b.data(), b.size());
            if (n < 0 && errno == EINTR) continue;
            if (n < 0)
                throw error(errc::io_error,
                            fmt::format("writing {} failed: {}", target_.string(), std::strerror(errno)));
            b.remove_prefix(static_cast<std::size_t>(n));
        }
    }
    /// Publishes the file; false when a file with the target's name exists (it is left as it was
    /// and the new copy removed).
    [[nodiscard]] bool commit() {
        if (!file_) {
            const int fd = std::exchange(direct_fd_, -1);
            if (::close(fd) != 0)
                throw error(errc::io_error,
                            fmt::format("writing {} failed: {}", target_.string(), std::strerror(errno)));
            return true;
        }
        const bool done = file_->publish(name_);
        file_.reset();  // removes the temporary when it was not published
        return done;
    }
    [[nodiscard]] const fs::path& target() const noexcept { return target_; }

private:
    fs::path target_;
    std::string name_;
    std::unique_ptr<output_dir> dir_;
    std::unique_ptr<temp_file> file_;
    int direct_fd_ = -1;
};

// ---- caps ----------------------------------------------------------------------------------------

int run_caps(const connection_options& o) {
    pop3::client c;
    session_setup setup;
    setup.open(c, o, [&](const secret& pw) { c.login(o.user, pw); });
    const auto& caps = c.capabilities();
    if (o.json) {
        auto j = session_json(c);
        j["ok"] = true;
        j["authenticated"] = c.is_authenticated();
        j["user"] = o.user;
        j["authenticated_with"] = c.authenticated_with();
        if (!c.auth_fallback_from().empty()) j["auth_fallback_from"] = c.auth_fallback_from();
        j["capabilities"] = caps.lines;
        j["auth_mechanisms"] = caps.sasl;
        j["user_pass"] = caps.user;
        j["apop"] = !c.apop_timestamp().empty();
        print_json(j);
    } else {
        text_report r(output_width());
        session_fields(r, c);
        if (!o.user.empty()) r.field("logged in", fmt::format("{} with {}", o.user, c.authenticated_with()));
        r.fields("capabilities", caps.lines);
        r.field("auth", join(caps.sasl) + (caps.user ? (caps.sasl.empty() ? "USER/PASS" : "  (and USER/PASS)") : ""));
        print_out(r.str());
    }
    c.disconnect();
    return exit_ok;
}

// ---- stat, list, uidl ----------------------------------------------------------------------------

int run_stat(const pop3_state& st) {
    pop3::client c;
    session_setup setup;
    open_session(c, setup, st.o);
    const auto s = c.stat();
    c.disconnect();
    if (st.o.json) print_json({{"ok", true}, {"user", st.o.user}, {"count", s.count}, {"size", s.size}});
    else print_out(fmt::format("{}, {} ({} bytes)\n", plural(s.count, "message"), human_bytes(s.size), s.size));
    return exit_ok;
}

/// The one message list/uidl may name (N or --uid), if any.
std::optional<std::uint32_t> single_target(pop3::client& c, const pop3_state& st, const char* command) {
    if (st.numbers.size() + st.uids.size() > 1)
        throw usage_error(fmt::format("{} takes at most one message: N or --uid UIDL", command));
    const auto numbers = resolve(c, st);
    if (numbers.empty()) return std::nullopt;
    return numbers.front();
}

int run_list(const pop3_state& st) {
    check_numbers(st.numbers);
    pop3::client c;
    session_setup setup;
    open_session(c, setup, st.o);
    std::vector<pop3::message_info> messages;
    if (const auto n = single_target(c, st, "list")) messages.push_back(c.list(*n));
    else messages = c.list();
    c.disconnect();
    // The library holds the LIST reply (bounded by limits().max_list_items); written one by one.
    std::uint64_t total = 0;
    for (const auto& m : messages) total += m.size;
    list_writer w(output_format_for(st.o.json), "messages");
    w.begin({{"user", st.o.user}, {"count", messages.size()}, {"size", total}});
    for (const auto& m : messages) {
        if (w.structured()) w.item({{"number", m.number}, {"size", m.size}});
        else print_out(fmt::format("{:>6}  {:>12}  {}\n", m.number, m.size, human_bytes(m.size)));
    }
    w.end();
    if (!w.structured() && messages.size() != 1)
        print_out(fmt::format("{}, {}\n", plural(messages.size(), "message"), human_bytes(total)));
    return exit_ok;
}

int run_uidl(const pop3_state& st) {
    check_numbers(st.numbers);
    pop3::client c;
    session_setup setup;
    open_session(c, setup, st.o);
    std::vector<pop3::message_uid> messages;
    if (const auto n = single_target(c, st, "uidl")) messages.push_back(c.uidl(*n));
    else messages = c.uidl();
    c.disconnect();
    list_writer w(output_format_for(st.o.json), "messages");
    w.begin({{"user", st.o.user}, {"count", messages.size()}});
    for (const auto& m : messages) {
        if (w.structured()) w.item({{"number", m.number}, {"uid", m.uid}});
        else print_out(fmt::format("{:>6}  {}\n", m.number, terminal_text(m.uid)));
    }
    w.end();
    return exit_ok;
}

// ---- retr ----------------------------------------------------------------------------------------

/// One message written by retr, for the report.
struct written {
    std::uint32_t number = 0;
    std::string uid;
    std::uint64_t size = 0;
    std::string file;  ///< empty for stdout
};

/// A message the server refused to send (deleted meanwhile, no such message).
struct refusal {
    std::uint32_t number = 0;
    pop3::status reply;
};

/// The bulk download's handler: each message into DIR/<UIDL>.eml as it arrives, handed to
/// `on_saved` as soon as its file is published.
class dir_writer : public pop3::message_handler {
public:
    dir_writer(const output_dir& dir, const std::map<std::uint32_t, std::string>& names,
               const std::map<std::uint32_t, std::string>& uids, progress& meter,
               std::function<void(const written&)> on_saved)
        : dir_(dir), names_(names), uids_(uids), meter_(meter), on_saved_(std::move(on_saved)) {}

    void begin(std::uint32_t number, std::optional<std::uint64_t>) override {
        const auto& name = names_.at(number);
        file_ = std::make_unique<output_file>(fs::path(dir_.path_of(name)), dir_, name);
    }
    void data(std::uint32_t, std::string_view chunk) override {
        file_->write(chunk);
        meter_.add(chunk.size());
    }
    void end(std::uint32_t number, std::uint64_t bytes) override {
        // A file that appeared under the name since the check before the download is kept.
        if (file_->commit()) {
            const auto uid = uids_.find(number);
            on_saved_({number, uid != uids_.end() ? uid->second : std::string(), bytes, file_->target().string()});
        } else {
            kept.push_back(number);
        }
        file_.reset();
    }
    void refused(std::uint32_t number, const pop3::status& reply) override { refusals.push_back({number, reply}); }

    std::vector<refusal> refusals;
    std::vector<std::uint32_t> kept;  ///< downloaded, but the file existed by then: not replaced

private:
    const output_dir& dir_;
    const std::map<std::uint32_t, std::string>& names_;
    const std::map<std::uint32_t, std::string>& uids_;
    progress& meter_;
    std::function<void(const written&)> on_saved_;
    std::unique_ptr<output_file> file_;
};

bool progress_on(const connection_options& o, std::uint64_t total) {
    return progress_enabled(o.progress) && (o.progress == "always" || total >= progress_threshold);
}

/// The UIDL of each number (pipelined), or of every message; empty where the server has none.
std::map<std::uint32_t, std::string> uids_of(pop3::client& c, const std::vector<std::uint32_t>& numbers, bool all) {
    std::map<std::uint32_t, std::string> out;
    if (all) {
        for (auto& m : c.uidl()) out[m.number] = std::move(m.uid);
        return out;
    }
    const auto got = c.uidl(std::span<const std::uint32_t>(numbers));
    for (std::size_t i = 0; i < numbers.size(); ++i)
        if (got[i]) out[numbers[i]] = got[i]->uid;
    return out;
}

/// The report of retr, written as each message is saved: --json/--jsonl an object per message
/// ({number, uid, size, file}), text a line per file; then the summary (bytes, refusals, files
/// that were in the way).
class retr_report {
public:
    retr_report(const pop3_state& st, std::string dir, const std::vector<std::uint32_t>& skipped)
        : st_(st), dir_(std::move(dir)), skipped_(skipped.size()), w_(output_format_for(st.o.json), "messages") {
        json head = json::object();
        if (!dir_.empty()) head["directory"] = dir_;
        if (st.skip_existing) head["skipped"] = skipped;
        w_.begin(head);
    }

    void saved(const written& m) {
        bytes_ += m.size;
        ++count_;
        if (w_.structured()) {
            json j = {{"number", m.number}, {"uid", m.uid}, {"size", m.size}};
            if (!m.file.empty()) j["file"] = m.file;
            w_.item(j);
        } else if (!m.file.empty()) {
            print_out(fmt::format("{}  {}\n", terminal_text(m.file), human_bytes(m.size)));
        }
    }

    /// Ends the report; the exit code.
    int finish(const std::vector<refusal>& refusals = {}, const std::vector<std::uint32_t>& kept = {}) {
        const bool ok = refusals.empty() && kept.empty();
        if (w_.structured()) {
            json refused = json::array();
            for (const auto& r : refusals)
                refused.push_back(
                    {{"number", r.number}, {"response_code", r.reply.code}, {"server_text", r.reply.text}});
            json summary = {{"bytes", bytes_}, {"refused", refused}};
            if (!kept.empty()) summary["not_replaced"] = kept;
            w_.end(summary, ok);
            return ok ? exit_ok : exit_protocol;
        }
        w_.end();
        if (!dir_.empty()) {
            std::string line = fmt::format("{}, {} written to {}", plural(count_, "message"), human_bytes(bytes_),
                                           terminal_text(dir_));
            if (skipped_ > 0) line += fmt::format(" ({} already there, skipped)", skipped_);
            print_out(line + "\n");
        }
        if (ok) return exit_ok;
        if (!kept.empty())
            print_err(fmt::format("error: {} appeared in {} during the download and {} not replaced: {}\n",
                                  kept.size() == 1 ? "a file" : "files", terminal_text(dir_),
                                  kept.size() == 1 ? "was" : "were", join_numbers(kept)));
        if (!refusals.empty())
            print_err(fmt::format("error: the server refused RETR for {}:\n", plural(refusals.size(), "message")));
        for (const auto& r : refusals)
            print_err(fmt::format("  {}: -ERR {}{}\n", r.number,
                                  terminal_text(r.reply.code.empty() ? "" : "[" + r.reply.code + "] "),
                                  terminal_text(r.reply.text)));
        return exit_protocol;
    }

private:
    const pop3_state& st_;
    std::string dir_;
    std::size_t skipped_;
    list_writer w_;
    std::uint64_t bytes_ = 0;
    std::size_t count_ = 0;
};

/// One message to stdout or to FILE, streamed.
int retr_one(pop3::client& c, const pop3_state& st, std::uint32_t number, const std::string& uid_given) {
    // LIST n first: it fails with the server's words for a message that is not there, before a
    // file is created, and its size feeds the progress meter.
    const auto size = c.list(number).size;
    std::string uid = uid_given;
    const bool to_stdout = st.output.empty();
    std::unique_ptr<output_file> file;
    if (!to_stdout) file = std::make_unique<output_file>(fs::path(st.output));
    progress meter(progress_on(st.o, size), fmt::format("RETR {}", number), size);
    const auto bytes = c.retr(number, [&](std::string_view chunk) {
        if (file) file->write(chunk);
        else write_raw(chunk);  // the message as it is: no terminal_text(), which is for reports
        meter.add(chunk.size());
    });
    if (file) {
        if (!file->commit())  // it appeared during the download (checked before connecting)
            throw error(errc::io_error, fmt::format("-o {}: the file appeared during the download; not replaced "
                                                    "(the message was not saved)",
                                                    st.output));
    } else {
        flush_output();
    }
    meter.finish();
    if (uid.empty() && st.o.json && c.capabilities().uidl) uid = c.uidl(number).uid;
    c.disconnect();
    retr_report report(st, "", {});
    report.saved({number, uid, bytes, to_stdout ? "" : st.output});
    return report.finish();
}

/// Several messages (or --all) into DIR, pipelined when the server offers PIPELINING.
int retr_many(pop3::client& c, const pop3_state& st, std::vector<std::uint32_t> numbers) {
    std::map<std::uint32_t, std::uint64_t> sizes;
    if (st.all) {
        for (const auto& m : c.list()) {
            numbers.push_back(m.number);
            sizes[m.number] = m.size;
        }
    } else {
        const auto got = c.list(std::span<const std::uint32_t>(numbers));
        for (std::size_t i = 0; i < numbers.size(); ++i)
            if (got[i]) sizes[numbers[i]] = got[i]->size;
    }
    std::map<std::uint32_t, std::string> uids;
    std::map<std::uint32_t, std::string> names;
    if (!numbers.empty()) {
        try {
            uids = uids_of(c, numbers, st.all);
        } catch (const pop3::pop3_error& e) {  // no UIDL: name the files by number, and say why
            print_err("note: the server has no UIDL (" + terminal_text(e.status().text) +
                      "); files are named by message number, which changes between sessions\n");
        }
    }
    for (const auto n : numbers) {
        const auto it = uids.find(n);
        names[n] = it != uids.end() && !it->second.empty() ? file_name_for(it->second) : fmt::format("msg-{}.eml", n);
    }

    const output_dir dir(st.output);

    // An existing file is never replaced: --skip-existing leaves those messages out; without it the
    // command refuses before downloading anything, naming what is in the way.
    std::vector<std::uint32_t> fetch, skipped, in_the_way;
    std::uint64_t total = 0;
    for (const auto n : numbers) {
        if (dir.has(names[n])) {
            (st.skip_existing ? skipped : in_the_way).push_back(n);
            continue;
        }
        fetch.push_back(n);
        total += sizes.count(n) != 0 ? sizes[n] : 0;
    }
    if (!in_the_way.empty())
        throw error(errc::io_error,
                    fmt::format("{} of the files exist already in {} (first: {}); existing files are never "
                                "replaced: give --skip-existing to download only the others",
                                in_the_way.size(), dir.path(), names[in_the_way.front()]));

    progress meter(progress_on(st.o, total), fmt::format("RETR {}", plural(fetch.size(), "message")), total);
    retr_report report(st, dir.path(), skipped);
    dir_writer writer(dir, names, uids, meter, [&](const written& w) { report.saved(w); });
    c.retrieve(std::span<const std::uint32_t>(fetch), writer);
    meter.finish();
    c.disconnect();
    return report.finish(writer.refusals, writer.kept);
}

int run_retr(const pop3_state& st) {
    check_numbers(st.numbers);
    const std::size_t named = st.numbers.size() + st.uids.size();
    if (st.all && named > 0) throw usage_error("retr: give message numbers, --uid or --all, not several");
    if (!st.all && named == 0) throw usage_error("retr: which message? Give N, --uid UIDL or --all -o DIR");
    std::error_code ec;
    const bool is_dir = !st.output.empty() && (fs::is_directory(st.output, ec) || st.output.back() == '/');
    const bool many = st.all || named > 1;
    if (many && st.output.empty())
        throw usage_error("retr of several messages writes each to DIR/UIDL.eml: give -o DIR");
    if (many && !is_dir && fs::exists(st.output, ec))
        throw usage_error(fmt::format("-o {}: not a directory; several messages need -o DIR", st.output));
    if (st.o.json && st.output.empty())
        throw usage_error("retr --json needs -o FILE|DIR: the message goes to a file and the JSON reports it");
    if (st.skip_existing && !(many || is_dir)) throw usage_error("--skip-existing goes with -o DIR");
    if (!many && !is_dir && !st.output.empty()) {
        // -o FILE: an existing regular file (or a symlink to one, or a dangling one) is never replaced.
        struct stat target {};
        const bool exists = ::lstat(st.output.c_str(), &target) == 0;
        struct stat followed {};
        const bool device = ::stat(st.output.c_str(), &followed) == 0 && !S_ISREG(followed.st_mode);
        if (exists && !device)
            throw usage_error(
                fmt::format("-o {}: the file exists; it is not replaced (remove it or choose another name)",
                            st.output));
    }

    pop3::client c;
    session_setup setup;
    open_session(c, setup, st.o);
    std::map<std::uint32_t, std::string> given;
    const auto numbers = resolve(c, st, &given);
    if (many || is_dir) return retr_many(c, st, st.all ? std::vector<std::uint32_t>{} : numbers);
    return retr_one(c, st, numbers.front(), given.count(numbers.front()) != 0 ? given[numbers.front()] : "");
}

// ---- top -----------------------------------------------------------------------------------------

int run_top(pop3_state st) {
    const std::size_t want = st.uids.empty() ? 2 : 1;
    if (st.uids.size() > 1 || st.top_args.size() != want)
        throw usage_error("usage: top N LINES, or top --uid UIDL LINES");
    const std::uint32_t lines = st.top_args.back();
    if (st.uids.empty()) st.numbers = {st.top_args.front()};
    check_numbers(st.numbers);
    pop3::client c;
    session_setup setup;
    open_session(c, setup, st.o);
    const auto number = resolve(c, st).front();
    if (st.o.json) {
        const auto text = c.top(number, lines);  // header + a few lines: bounded by limits().max_multiline_bytes
        c.disconnect();
        print_json({{"ok", true}, {"number", number}, {"lines", lines}, {"bytes", text.size()}, {"text", text}});
        return exit_ok;
    }
    c.top(number, lines, [&](std::string_view chunk) { write_raw(chunk); });
    flush_output();
    c.disconnect();
    return exit_ok;
}

// ---- dele ----------------------------------------------------------------------------------------

/// DELE each message, then QUIT: the server removes them only when QUIT succeeds (RFC 1939 §6).
/// All or nothing: when one DELE is refused, RSET unmarks the others before QUIT.
int run_dele(const pop3_state& st) {
    check_numbers(st.numbers);
    if (st.numbers.empty() && st.uids.empty()) throw usage_error("dele: which messages? Give N… or --uid UIDL");
    pop3::client c;
    session_setup setup;
    open_session(c, setup, st.o);
    std::map<std::uint32_t, std::string> uids;
    const auto numbers = resolve(c, st, &uids);
    if (uids.size() < numbers.size() && c.capabilities().uidl) {  // the report names each message by UIDL too
        const auto got = c.uidl(std::span<const std::uint32_t>(numbers));
        for (std::size_t i = 0; i < numbers.size(); ++i)
            if (got[i]) uids[numbers[i]] = got[i]->uid;
    }
    if (st.dry_run) {
        // LIST n checks each exists; nothing is marked.
        for (const auto n : numbers) (void)c.list(n);
    } else {
        for (const auto n : numbers) {
            try {
                c.dele(n);
            } catch (const pop3::pop3_error&) {
                c.rset();
                c.quit();
                print_err("note: nothing was deleted: RSET unmarked the messages before QUIT\n");
                throw;
            }
        }
        c.quit();  // the deletion happens here; a failure to remove is a pop3_error (exit 7)
    }
    if (st.dry_run) c.disconnect();
    // The messages are those named on the command line: bounded by it.
    list_writer w(output_format_for(st.o.json), "messages");
    w.begin({{"dry_run", st.dry_run}, {"committed", !st.dry_run}});
    for (const auto n : numbers) {
        const auto uid = uids.find(n);
        if (w.structured()) {
            json m = {{"number", n}};
            if (uid != uids.end()) m["uid"] = uid->second;
            w.item(m);
        } else {
            print_out(fmt::format("{:>6}  {}\n", n, terminal_text(uid != uids.end() ? uid->second : std::string())));
        }
    }
    w.end();
    if (w.structured()) return exit_ok;
    if (st.dry_run)
        print_out(fmt::format("dry run: would delete {} ({}); nothing was marked\n", plural(numbers.size(), "message"),
                              join_numbers(numbers)));
    else
        print_out(fmt::format("deleted {} ({}): marked with DELE, removed by the server at QUIT\n",
                              plural(numbers.size(), "message"), join_numbers(numbers)));
    return exit_ok;
}

}  // namespace

command add_pop3(CLI::App& app) {
    auto st = std::make_shared<pop3_state>();
    auto* sub = app.add_subcommand("pop3", "POP3 client commands (default: caps)");
    add_connection_options(*sub, st->o);
    sub->footer(
        "Message numbers (N) count from 1 in each session and change when mail is deleted; --uid UIDL\n"
        "names a message stably (`mailwire pop3 uidl` lists them). docs/cli.md has the details.");

    auto* caps = sub->add_subcommand("caps", "Connect, log in if --user is given, print the CAPA list");
    caps->fallthrough();

    auto* stat = sub->add_subcommand("stat", "Number of messages and their total size (STAT)");
    stat->fallthrough();

    auto* list = sub->add_subcommand("list", "Message numbers and sizes (LIST), or of one message");
    list->fallthrough();
    list->add_option("N", st->numbers, "Message number")->expected(0, 1);
    list->add_option("--uid", st->uids, "The message with this UIDL")->allow_extra_args(false);

    auto* uidl = sub->add_subcommand("uidl", "Message numbers and unique ids (UIDL), or of one message");
    uidl->fallthrough();
    uidl->add_option("N", st->numbers, "Message number")->expected(0, 1);
    uidl->add_option("--uid", st->uids, "The message with this UIDL (shows its number)")->allow_extra_args(false);

    auto* retr = sub->add_subcommand("retr", "Download messages, streamed, to stdout, FILE or DIR/UIDL.eml");
    retr->fallthrough();
    retr->add_option("N", st->numbers, "Message number(s)");
    retr->add_option("--uid", st->uids, "The message with this UIDL (repeatable)")->allow_extra_args(false);
    retr->add_flag("--all", st->all, "Every message (needs -o DIR); pipelined when the server allows");
    retr->add_option("-o,--output", st->output,
                     "FILE for one message; DIR (existing, or ending in /) for DIR/UIDL.eml; default stdout");
    retr->add_flag("--skip-existing", st->skip_existing, "With -o DIR: skip messages whose file is already there");

    auto* top = sub->add_subcommand("top", "The header and the first LINES body lines of a message (TOP)");
    top->fallthrough();
    top->add_option("N", st->top_args, "N LINES: message number and line count (LINES alone with --uid)")
        ->expected(1, 2);
    top->add_option("--uid", st->uids, "The message with this UIDL")->allow_extra_args(false);

    auto* dele = sub->add_subcommand("dele", "Delete messages: DELE each, then QUIT (which commits)");
    dele->fallthrough();
    dele->add_option("N", st->numbers, "Message number(s)");
    dele->add_option("--uid", st->uids, "The message with this UIDL (repeatable)")->allow_extra_args(false);
    dele->add_flag("--dry-run", st->dry_run, "Check that the messages exist and show them; mark nothing");

    sub->require_subcommand(0, 1);
    return {sub,
            [st, stat, list, uidl, retr, top, dele]() -> int {
                if (stat->parsed()) return run_stat(*st);
                if (list->parsed()) return run_list(*st);
                if (uidl->parsed()) return run_uidl(*st);
                if (retr->parsed()) return run_retr(*st);
                if (top->parsed()) return run_top(*st);
                if (dele->parsed()) return run_dele(*st);
                return run_caps(st->o);
            },
            &st->o.json};
}

}  // namespace mailwire::cli
