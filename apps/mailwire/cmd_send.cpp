// `mailwire send …` — SMTP submission: message files (or a directory of .eml files) streamed from
// disk, or a message composed from --subject/--body/--attach through the MIME builder; several
// messages pipelined over one connection or spread over --connections N (smtp::send_parallel),
// each reported as its turn comes, in input order; `--check` shows what the server offers.
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>

#include "common.hpp"
#include "mailwire/mime/address.hpp"
#include "mailwire/mime/builder.hpp"
#include "mailwire/mime/message.hpp"
#include "mailwire/mime/serializer.hpp"
#include "mailwire/smtp/client.hpp"
#include "mailwire/smtp/data.hpp"
#include "mailwire/smtp/parallel.hpp"
#include "output.hpp"
#include "progress.hpp"
#include "report.hpp"

namespace mailwire::cli {
namespace {

namespace fs = std::filesystem;

// A header section larger than this is not a message file we should guess an envelope from.
constexpr std::size_t max_header_bytes = 1 << 20;
// Uploads at least this large get a progress meter.
constexpr std::uint64_t progress_threshold = 1 << 20;
// --connections at most: each is a thread, a TLS session and a server process.
constexpr int max_connections = 64;

struct send_state {
    connection_options o;
    bool check = false;
    std::string from;
    std::vector<std::string> to, cc, bcc;
    std::vector<std::string> paths;
    std::string subject, body, body_file, html_file;
    std::vector<std::string> attach;
    std::string notify, ret, envid;
    bool orcpt = false;
    bool requiretls = false;
    bool no_pipelining = false, no_chunking = false;
    int connections = 1;
    CLI::Option* subject_opt = nullptr;
    CLI::Option* body_opt = nullptr;
};

std::vector<std::string> ehlo_lines(const smtp::capabilities& caps) {
    std::vector<std::string> out;
    for (const auto& [k, v] : caps.keywords) out.push_back(v.empty() ? k : k + " " + v);
    return out;
}

std::string lower(std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

bool is_ascii(std::string_view s) {
    return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

// The envelope form of a mailbox: an ASCII local part keeps the domain as an A-label (no need for
// SMTPUTF8); a UTF-8 local part keeps the domain in Unicode (SMTPUTF8 either way).
std::string envelope_address(const mime::mailbox& m) {
    if (m.domain.empty()) return m.address();
    if (is_ascii(m.local)) {
        mime::mailbox a = m;
        a.domain = m.domain_ascii();
        return a.address();
    }
    return m.address();
}

// --from/--to values: "addr@example.com" or "Name <addr@example.com>", one mailbox each (commas
// separate several in one value).
std::vector<mime::mailbox> parse_cli_mailboxes(const std::string& value, const char* option) {
    auto list = mime::parse_mailbox_list(value);
    if (list.empty() || std::any_of(list.begin(), list.end(), [](const mime::mailbox& m) { return m.domain.empty(); }))
        throw usage_error(
            fmt::format("{} `{}`: not an address (expected user@example.com or \"Name <user@example.com>\")", option,
                        value));
    return list;
}

// ---- message files --------------------------------------------------------------------------

// What a message file's header section says, read once before connecting.
struct file_plan {
    std::string path;
    std::string label;  // as the user named it (or dir/name)
    std::uint64_t file_size = 0;
    std::uint64_t header_bytes = 0;  // length of the header section in the file, blank line included
    std::string sent_header;         // the header section as sent, when it differs (Bcc removed)
    bool rewrite_header = false;
    smtp::envelope env;
    std::vector<std::string> bcc_removed;
};

// Finds the end of the header section (after the blank line, CRLF or LF) in `data`; npos if none.
std::size_t header_end(std::string_view data) {
    if (data.starts_with("\r\n")) return 2;
    if (data.starts_with("\n")) return 1;
    for (std::size_t i = data.find('\n'); i != std::string_view::npos; i = data.find('\n', i + 1)) {
        std::size_t j = i + 1;
        if (j < data.size() && data[j] == '\r') ++j;
        if (j < data.size() && data[j] == '\n') return j + 1;
    }
    return std::string_view::npos;
}

// Removes the Bcc and Resent-Bcc fields (with their continuation lines) and a leading mbox
// "From " line from a header section. Returns whether anything was removed.
bool strip_header(std::string_view in, std::string& out, std::vector<std::string>& removed_bcc) {
    out.clear();
    bool changed = false;
    bool skipping = false;
    std::size_t pos = 0;
    bool first = true;
    while (pos < in.size()) {
        auto nl = in.find('\n', pos);
        const std::size_t end = nl == std::string_view::npos ? in.size() : nl + 1;
        const auto line = in.substr(pos, end - pos);
        pos = end;
        if (first && line.starts_with("From ")) {  // mbox separator, not a header field
            first = false;
            changed = true;
            continue;
        }
        first = false;
        const bool continuation = !line.empty() && (line[0] == ' ' || line[0] == '\t');
        if (!continuation) {
            const auto colon = line.find(':');
            std::string name =
                colon == std::string_view::npos ? std::string() : lower(std::string(line.substr(0, colon)));
            while (!name.empty() && (name.back() == ' ' || name.back() == '\t')) name.pop_back();
            skipping = name == "bcc" || name == "resent-bcc";
            if (skipping) {
                changed = true;
                removed_bcc.emplace_back(line.substr(colon + 1));
            }
        }
        if (!skipping) out.append(line);
    }
    return changed;
}

file_plan plan_file(const std::string& path, const std::string& label, const std::vector<std::string>& cli_rcpts,
                    const std::string& cli_from) {
    file_plan p;
    p.path = path;
    p.label = label;
    std::ifstream in(path, std::ios::binary);
    if (!in) throw usage_error(fmt::format("{}: cannot open the file", label));
    std::error_code ec;
    p.file_size = fs::file_size(path, ec);
    // Read just the header section, in blocks, never more than max_header_bytes.
    std::string head;
    std::size_t end = std::string::npos;
    char buf[16384];
    while (head.size() < max_header_bytes) {
        in.read(buf, sizeof buf);
        const auto n = static_cast<std::size_t>(in.gcount());
        if (n == 0) break;
        head.append(buf, n);
        end = header_end(head);
        if (end != std::string::npos) break;
    }
    if (end == std::string::npos) {
        if (head.size() >= max_header_bytes)
            throw usage_error(
                fmt::format("{}: no end of the header section within the first {} bytes; is this a message?", label,
                            max_header_bytes));
        end = head.size();  // a message of headers only
    }
    head.resize(end);
    p.header_bytes = end;

    std::string stripped;
    std::vector<std::string> bcc_values;
    p.rewrite_header = strip_header(head, stripped, bcc_values);
    if (p.rewrite_header) p.sent_header = std::move(stripped);

    const auto parsed = mime::message::parse(head);
    // Reverse-path: --from, else Sender (who actually submits), else the first From mailbox.
    if (!cli_from.empty()) {
        p.env.from = cli_from;
    } else {
        auto senders = mime::parse_mailbox_list(parsed.get("Sender"));
        if (senders.empty()) senders = mime::parse_mailbox_list(parsed.get("From"));
        if (senders.empty())
            throw usage_error(
                fmt::format("{}: no From or Sender header to take the envelope sender from; give --from", label));
        p.env.from = envelope_address(senders.front());
    }
    // Recipients: --to/--cc/--bcc when given, else the message's To, Cc and Bcc.
    if (!cli_rcpts.empty()) {
        p.env.to = cli_rcpts;
    } else {
        std::set<std::string> seen;
        auto add = [&](const std::string& value) {
            for (const auto& m : mime::parse_mailbox_list(value)) {
                if (m.domain.empty()) continue;
                auto a = envelope_address(m);
                if (seen.insert(lower(a)).second) p.env.to.push_back(std::move(a));
            }
        };
        for (const char* h : {"To", "Cc", "Bcc"})
            for (const auto& v : parsed.get_all(h)) add(v);
        if (p.env.to.empty())
            throw usage_error(fmt::format("{}: no To, Cc or Bcc recipients in the message; give --to", label));
    }
    p.bcc_removed = std::move(bcc_values);
    return p;
}

// A message file as sent: the (rewritten) header section from memory, then the rest of the file
// in blocks straight from disk.
class file_message final : public smtp::message_source {
public:
    explicit file_message(file_plan p) : plan_(std::move(p)), in_(plan_.path, std::ios::binary) {
        if (!in_) throw error(errc::io_error, fmt::format("{}: cannot open the file", plan_.label));
        if (plan_.rewrite_header) in_.seekg(static_cast<std::streamoff>(plan_.header_bytes));
    }
    std::size_t read(char* buf, std::size_t n) override {
        if (plan_.rewrite_header && pos_ < plan_.sent_header.size()) {
            n = std::min(n, plan_.sent_header.size() - pos_);
            std::copy_n(plan_.sent_header.data() + pos_, n, buf);
            pos_ += n;
            return n;
        }
        in_.read(buf, static_cast<std::streamsize>(n));
        if (in_.bad()) throw error(errc::io_error, fmt::format("{}: read error", plan_.label));
        return static_cast<std::size_t>(in_.gcount());
    }
    [[nodiscard]] std::optional<std::uint64_t> size() const override {
        if (!plan_.rewrite_header) return plan_.file_size;
        return plan_.sent_header.size() + (plan_.file_size - plan_.header_bytes);
    }
    // SIZE= counts line ends as CRLF (RFC 1870): the header as sent and the rest of the file, read
    // once more in blocks (only asked for a message too large to be counted as it is read ahead).
    [[nodiscard]] std::optional<std::uint64_t> transmitted_size() const override {
        std::ifstream in(plan_.path, std::ios::binary);
        if (!in) return size();
        smtp::transmitted_size_counter count;
        if (plan_.rewrite_header) {
            count.feed(plan_.sent_header);
            in.seekg(static_cast<std::streamoff>(plan_.header_bytes));
        }
        std::string block(64 * 1024, '\0');
        while (in) {
            in.read(block.data(), static_cast<std::streamsize>(block.size()));
            count.feed(std::string_view(block.data(), static_cast<std::size_t>(in.gcount())));
        }
        return in.bad() ? size() : std::optional<std::uint64_t>(count.finish());
    }

private:
    file_plan plan_;
    std::ifstream in_;
    std::size_t pos_ = 0;
};

std::vector<std::pair<std::string, std::string>> expand_paths(const std::vector<std::string>& args) {
    std::vector<std::pair<std::string, std::string>> out;  // (path, label)
    for (const auto& a : args) {
        std::error_code ec;
        const auto st = fs::status(a, ec);
        if (ec || !fs::exists(st)) throw usage_error(fmt::format("{}: no such file or directory", a));
        if (fs::is_directory(st)) {
            std::vector<fs::path> files;
            for (const auto& e : fs::directory_iterator(a, ec)) {
                if (!e.is_regular_file()) continue;
                if (lower(e.path().extension().string()) == ".eml") files.push_back(e.path());
            }
            if (ec) throw usage_error(fmt::format("{}: cannot list the directory: {}", a, ec.message()));
            if (files.empty()) throw usage_error(fmt::format("{}: no .eml files in this directory", a));
            std::sort(files.begin(), files.end());
            for (const auto& f : files) out.emplace_back(f.string(), f.string());
        } else {
            out.emplace_back(a, a);
        }
    }
    return out;
}

// ---- composing ------------------------------------------------------------------------------

std::string read_text_file(const std::string& path, const char* option) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw usage_error(fmt::format("{} {}: cannot open the file", option, path));
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// A temporary file removed when this goes away.
class temp_file {
public:
    temp_file() {
        const char* dir = std::getenv("TMPDIR");
        std::string tmpl = std::string(dir != nullptr && *dir != '\0' ? dir : "/tmp") + "/mailwire-send-XXXXXX";
        const int fd = ::mkstemp(tmpl.data());
        if (fd < 0) throw error(errc::io_error, "cannot create a temporary file for the composed message");
        ::close(fd);
        path_ = tmpl;
    }
    ~temp_file() { ::unlink(path_.c_str()); }
    temp_file(const temp_file&) = delete;
    temp_file& operator=(const temp_file&) = delete;
    [[nodiscard]] const std::string& path() const noexcept { return path_; }

private:
    std::string path_;
};

// ---- DSN options ------------------------------------------------------------------------------

std::string parse_notify(const std::string& value) {
    if (value.empty()) return {};
    std::vector<std::string> parts;
    std::string cur;
    for (char c : value + ",") {
        if (c == ',') {
            if (!cur.empty()) parts.push_back(cur);
            cur.clear();
        } else if (c != ' ') {
            cur += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        }
    }
    std::set<std::string> seen;
    for (const auto& p : parts) {
        if (p != "SUCCESS" && p != "FAILURE" && p != "DELAY" && p != "NEVER")
            throw usage_error(fmt::format("--notify {}: use never, or any of success,failure,delay", value));
        seen.insert(p);
    }
    if (seen.count("NEVER") != 0 && seen.size() > 1)
        throw usage_error("--notify never cannot be combined with success, failure or delay (RFC 3461 §4.1)");
    std::string out;
    for (const char* k : {"SUCCESS", "FAILURE", "DELAY", "NEVER"})
        if (seen.count(k) != 0) out += (out.empty() ? "" : ",") + std::string(k);
    return out;
}

// ---- results ------------------------------------------------------------------------------------

nlohmann::json reply_json(const smtp::reply& r) {
    if (r.code == 0) return nullptr;
    return {{"code", r.code}, {"enhanced_code", r.enhanced_code}, {"text", r.text()}};
}

std::string reply_line(const smtp::reply& r) {
    auto t = r.text();
    std::replace(t.begin(), t.end(), '\n', ' ');
    return r.enhanced_code.empty() ? fmt::format("{} {}", r.code, t)
                                   : fmt::format("{} {} {}", r.code, r.enhanced_code, t);
}

struct message_report {
    std::string label;
    smtp::envelope env;
    std::optional<smtp::batch_outcome> outcome;  // nullopt: never sent
    std::string not_sent_reason;
    std::vector<std::string> bcc_removed;
};

// The error of an outcome, as JSON and as words.
struct error_facts {
    nlohmann::json json;
    std::string words;
};

error_facts describe_error(const std::exception_ptr& e) {
    error_facts f;
    try {
        std::rethrow_exception(e);
    } catch (const smtp::smtp_error& x) {
        f.words = message_without_hint(x);
        f.json = {{"code", errc_name(x.code())},
                  {"message", f.words},
                  {"stage", std::string(to_string(x.stage()))},
                  {"recipient", x.recipient()},
                  {"reply", reply_json(x.reply())},
                  {"transient", x.transient()}};
    } catch (const mailwire::error& x) {
        f.words = message_without_hint(x);
        f.json = {{"code", errc_name(x.code())}, {"message", f.words}, {"stage", std::string(to_string(x.stage()))}};
    } catch (const std::exception& x) {
        f.words = x.what();
        f.json = {{"code", "internal"}, {"message", f.words}};
    }
    return f;
}

nlohmann::json report_json(const message_report& m) {
    nlohmann::json j = {{"message", m.label}, {"from", m.env.from}};
    if (!m.outcome) {
        j["ok"] = false;
        j["sent"] = false;
        j["recipients"] = nlohmann::json::array();
        for (const auto& a : m.env.to)
            j["recipients"].push_back({{"address", a}, {"accepted", false}, {"reply", nullptr}});
        j["error"] = {{"code", "not_sent"}, {"message", m.not_sent_reason}};
        return j;
    }
    const auto& o = *m.outcome;
    j["ok"] = o.ok();
    j["sent"] = o.ok();
    j["bytes"] = o.result.bytes;
    j["chunked"] = o.result.chunked;
    auto rcpts = nlohmann::json::array();
    std::size_t accepted = 0;
    for (const auto& r : o.result.recipients) {
        rcpts.push_back({{"address", r.address}, {"accepted", r.accepted}, {"reply", reply_json(r.reply)}});
        if (r.accepted) ++accepted;
    }
    // Recipients whose RCPT never got an answer (MAIL refused) are listed as not accepted.
    for (std::size_t i = o.result.recipients.size(); i < m.env.to.size(); ++i)
        rcpts.push_back({{"address", m.env.to[i]}, {"accepted", false}, {"reply", nullptr}});
    j["recipients"] = rcpts;
    j["accepted"] = o.ok() ? accepted : 0;
    j["refused"] = m.env.to.size() - (o.ok() ? accepted : 0);
    j["reply"] = reply_json(o.result.final_reply);
    const auto qid = o.ok() ? smtp::queue_id(o.result.final_reply) : std::string();
    j["queue_id"] = qid.empty() ? nlohmann::json(nullptr) : nlohmann::json(qid);
    j["error"] = o.ok() ? nlohmann::json(nullptr) : describe_error(o.error).json;
    if (!m.bcc_removed.empty()) j["bcc_removed"] = true;
    return j;
}

void print_text(const message_report& m) {
    if (!m.outcome) {
        print_out(fmt::format("not sent  {}: {}\n", terminal_text(m.label), terminal_text(m.not_sent_reason)));
        return;
    }
    const auto& o = *m.outcome;
    const auto& rs = o.result.recipients;
    if (o.ok()) {
        const auto accepted = o.result.accepted();
        const auto qid = smtp::queue_id(o.result.final_reply);  // Postfix, Exim, Sendmail, …
        print_out(
            fmt::format("{}  {}: {} of {} recipient{} accepted, {}{}\n",
                        accepted == rs.size() ? "sent    " : "partial ", terminal_text(m.label), accepted, rs.size(),
                        rs.size() == 1 ? "" : "s", human_bytes(o.result.bytes),
                        terminal_text(qid.empty() ? ", " + reply_line(o.result.final_reply) : ", queued as " + qid)));
    } else {
        print_out(
            fmt::format("failed    {}: {}\n", terminal_text(m.label), terminal_text(describe_error(o.error).words)));
    }
    for (const auto& r : rs)
        if (!r.accepted)
            print_out(
                fmt::format("  refused   {}: {}\n", terminal_text(r.address), terminal_text(reply_line(r.reply))));
}

// ---- the command ----------------------------------------------------------------------------------

int run_check(const send_state& st) {
    const auto& o = st.o;
    smtp::client c;
    session_setup setup;
    setup.open(c, o, {});
    const auto& caps = c.capabilities();
    if (o.json) {
        auto j = session_json(c);
        j["ok"] = true;
        j["authenticated"] = c.is_authenticated();
        j["authenticated_with"] = c.authenticated_with();
        if (!c.auth_fallback_from().empty()) j["auth_fallback_from"] = c.auth_fallback_from();
        j["user"] = o.user;
        j["capabilities"] = ehlo_lines(caps);
        j["auth_mechanisms"] = caps.auth;
        j["size_limit"] = caps.has_size ? nlohmann::json(caps.size) : nlohmann::json(nullptr);
        std::cout << json_text(j) << "\n";
    } else {
        text_report r(output_width());
        session_fields(r, c);
        if (!o.user.empty()) r.field("logged in", o.user + " with " + c.authenticated_with());
        r.fields("capabilities", ehlo_lines(caps));
        r.field("auth", join(caps.auth));
        print_out(r.str());
    }
    c.disconnect();
    return exit_ok;
}

int run_send(const send_state& st) {
    const auto& o = st.o;
    if (o.auth == "legacy") throw usage_error("--auth legacy: SMTP has no login besides SASL; name a mechanism");
    const bool composing = !st.subject.empty() || (st.subject_opt != nullptr && st.subject_opt->count() > 0) ||
                           (st.body_opt != nullptr && st.body_opt->count() > 0) || !st.body_file.empty() ||
                           !st.html_file.empty() || !st.attach.empty();
    if (st.check) {
        if (composing || !st.paths.empty()) throw usage_error("--check only connects; it sends nothing");
        return run_check(st);
    }
    if (st.connections < 1 || st.connections > max_connections)
        throw usage_error(fmt::format("--connections {}: give 1 to {}", st.connections, max_connections));
    if (composing && !st.paths.empty())
        throw usage_error("give either message files or --subject/--body/--attach, not both");
    if (!composing && st.paths.empty())
        throw usage_error(
            "nothing to send: name message files (or a directory of .eml files), or compose one with "
            "--subject and --body (see `mailwire send --help`)");
    if (st.body_opt != nullptr && st.body_opt->count() > 0 && !st.body_file.empty())
        throw usage_error("--body and --body-file do not go together");

    // Envelope pieces from the command line.
    std::optional<mime::mailbox> from_box;
    std::string cli_from;
    if (!st.from.empty()) {
        auto f = parse_cli_mailboxes(st.from, "--from");
        if (f.size() != 1) throw usage_error("--from takes one address");
        from_box = f.front();
        cli_from = envelope_address(*from_box);
    }
    std::vector<mime::mailbox> to_boxes, cc_boxes, bcc_boxes;
    for (const auto& v : st.to)
        for (auto& m : parse_cli_mailboxes(v, "--to")) to_boxes.push_back(m);
    for (const auto& v : st.cc)
        for (auto& m : parse_cli_mailboxes(v, "--cc")) cc_boxes.push_back(m);
    for (const auto& v : st.bcc)
        for (auto& m : parse_cli_mailboxes(v, "--bcc")) bcc_boxes.push_back(m);
    std::vector<std::string> cli_rcpts;
    {
        std::set<std::string> seen;
        for (const auto* list : {&to_boxes, &cc_boxes, &bcc_boxes})
            for (const auto& m : *list) {
                auto a = envelope_address(m);
                if (seen.insert(lower(a)).second) cli_rcpts.push_back(std::move(a));
            }
    }

    smtp::envelope base;
    base.body = smtp::body_type::eight_bit_mime;  // sent only when the server offers 8BITMIME (RFC 6152)
    base.notify = parse_notify(st.notify);
    if (!st.ret.empty()) base.ret = lower(st.ret) == "full" ? smtp::dsn_return::full : smtp::dsn_return::headers;
    if (st.envid.size() > 100) throw usage_error("--envid: at most 100 characters (RFC 3461 §4.4)");
    base.envid = st.envid;
    base.orcpt = st.orcpt;
    base.requiretls = st.requiretls;

    // The messages: every file's header section is checked before connecting (a bad file is a
    // usage error, nothing sent), then read again when its turn comes; only the names are held.
    std::vector<std::pair<std::string, std::string>> files;  // (path, label), in input order
    std::optional<file_plan> composed_plan;
    std::unique_ptr<temp_file> composed;
    if (composing) {
        if (!from_box) throw usage_error("composing a message needs --from");
        if (cli_rcpts.empty()) throw usage_error("composing a message needs --to, --cc or --bcc");
        mime::message_builder b;
        b.from(*from_box);
        for (const auto& m : to_boxes) b.to(m);
        for (const auto& m : cc_boxes) b.cc(m);
        for (const auto& m : bcc_boxes) b.bcc(m);
        b.subject(st.subject);
        std::string text = st.body;
        if (!st.body_file.empty()) text = read_text_file(st.body_file, "--body-file");
        if (!st.html_file.empty()) b.html(read_text_file(st.html_file, "--html-file"));
        if (!text.empty() || st.html_file.empty()) b.text(std::move(text));
        for (const auto& a : st.attach) {
            std::error_code ec;
            if (!fs::is_regular_file(a, ec)) throw usage_error(fmt::format("--attach {}: no such file", a));
            b.attach_file(a);
        }
        // Written to a temporary file (attachments read as they are encoded), then streamed.
        composed = std::make_unique<temp_file>();
        mime::write_file(b.build(), composed->path());
        file_plan p;
        p.path = composed->path();
        p.label = st.subject.empty() ? "(composed message)" : "\"" + st.subject + "\"";
        p.file_size = fs::file_size(p.path);
        p.env.from = cli_from;
        p.env.to = cli_rcpts;
        files.emplace_back(p.path, p.label);
        composed_plan = std::move(p);
    } else {
        files = expand_paths(st.paths);
        for (const auto& [path, label] : files) (void)plan_file(path, label, cli_rcpts, cli_from);
    }
    auto plan_of = [&](std::size_t i) {
        file_plan p = composed_plan ? *composed_plan : plan_file(files[i].first, files[i].second, cli_rcpts, cli_from);
        auto to = std::move(p.env.to);
        auto from = std::move(p.env.from);
        p.env = base;
        p.env.to = std::move(to);
        p.env.from = std::move(from);
        return p;
    };

    // The first connection opens before anything is handed out: an unreachable server or a wrong
    // password ends the command here, with nothing reported as sent or failed.
    const auto connections = std::min<std::size_t>(static_cast<std::size_t>(st.connections), files.size());
    std::vector<session_setup> setups(connections);  // each connection's (the first keeps --log)
    auto first = std::make_unique<smtp::client>();
    setups[0].open(*first, o, {});
    const bool meter = connections == 1 && progress_enabled(o.progress);
    std::unique_ptr<progress> current;  // the upload being metered, if large (one connection only)
    std::size_t current_index = 0;
    auto prepare = [&](smtp::client& c) {
        c.use_pipelining(!st.no_pipelining);
        c.use_chunking(!st.no_chunking);
    };
    prepare(*first);
    if (meter)
        first->on_progress([&](std::uint64_t sent, std::optional<std::uint64_t>) {
            if (current) current->update(sent);
        });
    const smtp::connect_function connect = [&](std::size_t k) {
        if (k == 0 && first) return std::move(first);
        auto c = std::make_unique<smtp::client>();
        auto ko = o;
        ko.log_file.clear();  // one transcript: the first connection's
        setups[k].open(*c, ko, {});
        prepare(*c);
        return c;
    };

    // What the report of a message handed out needs, until its outcome is printed: at most
    // connections × smtp::parallel_depth entries.
    struct in_hand {
        std::string label;
        smtp::envelope env;
        std::vector<std::string> bcc_removed;
        std::string plan_error;  // the file could not be read again
    };
    std::mutex hand_mutex;
    std::map<std::size_t, in_hand> hand;
    std::size_t handed = 0;

    list_writer w(output_format_for(o.json), "messages");
    w.begin();
    std::size_t sent = 0, partial = 0, failed = 0, unsent = 0;
    auto emit = [&](const message_report& r) {
        if (!r.outcome) ++unsent;
        else if (!r.outcome->ok()) ++failed;
        else if (!r.outcome->result.all_accepted()) ++partial;
        else ++sent;
        if (w.structured()) w.item(report_json(r));
        else print_text(r);
    };

    std::optional<smtp::parallel_summary> summary;
    std::exception_ptr fatal;
    try {
        summary = smtp::send_parallel(
            connect,
            [&](smtp::outgoing& m) {
                if (handed == files.size()) return false;
                in_hand h;
                h.label = files[handed].second;
                try {
                    auto p = plan_of(handed);
                    h.env = p.env;
                    h.bcc_removed = p.bcc_removed;
                    m.env = p.env;
                    const auto size = p.file_size;
                    m.message = std::make_unique<file_message>(std::move(p));
                    if (meter && size >= progress_threshold) {
                        current = std::make_unique<progress>(true, "upload " + h.label, size);
                        current_index = handed;
                    }
                } catch (const std::exception& e) {
                    // Changed or gone since it was checked: its outcome says so, the others go on.
                    h.plan_error = e.what();
                    m.message.reset();
                }
                {
                    std::lock_guard lock(hand_mutex);
                    hand.emplace(handed, std::move(h));
                }
                ++handed;
                return true;
            },
            connections,
            [&](smtp::batch_outcome&& out) {
                if (current && current_index == out.index) {
                    if (out.ok()) current->finish();
                    current.reset();
                }
                in_hand h;
                {
                    std::lock_guard lock(hand_mutex);
                    auto it = hand.find(out.index);
                    h = std::move(it->second);
                    hand.erase(it);
                }
                if (!h.plan_error.empty()) out.error = std::make_exception_ptr(error(errc::io_error, h.plan_error));
                message_report r;
                r.label = std::move(h.label);
                r.env = std::move(h.env);
                r.bcc_removed = std::move(h.bcc_removed);
                r.outcome = std::move(out);
                emit(r);
            });
    } catch (const mailwire::error&) {
        fatal = std::current_exception();
    }
    current.reset();
    if (first) first->disconnect();  // opened, but the other connections took every message
    // Messages never handed out: the session ended before their turn.
    for (std::size_t i = handed; i < files.size(); ++i) {
        message_report r;
        r.label = files[i].second;
        r.not_sent_reason = "the session ended before its turn";
        try {
            r.env = plan_of(i).env;
        } catch (const std::exception&) {  // reported without its envelope
        }
        emit(r);
    }

    // Connections that ended in an error while others carried on.
    std::exception_ptr connection_error;
    auto connection_errors = nlohmann::json::array();
    if (summary) {
        for (std::size_t k = 0; k < summary->errors.size(); ++k) {
            if (!summary->errors[k]) continue;
            if (!connection_error) connection_error = summary->errors[k];
            const auto f = describe_error(summary->errors[k]);
            connection_errors.push_back({{"connection", k + 1}, {"error", f.json}});
            if (!w.structured())
                print_err(
                    fmt::format("note: connection {} of {} ended: {}\n", k + 1, connections, terminal_text(f.words)));
        }
    }
    const std::size_t total = files.size();
    const bool all_sent = (partial + failed + unsent) == 0;
    if (!w.structured() && total > 1) {
        std::string line = fmt::format("{} of {} messages sent to every recipient", sent, total);
        if (partial > 0) line += fmt::format(", {} to some", partial);
        if (failed > 0) line += fmt::format(", {} refused", failed);
        if (unsent > 0) line += fmt::format(", {} not sent", unsent);
        line += connections == 1 ? " (one connection)" : fmt::format(" ({} connections)", connections);
        print_out(line + "\n");
    }
    if (fatal) {
        try {
            std::rethrow_exception(fatal);
        } catch (const mailwire::error& e) {
            // Text: stderr (stdout holds the per-message results); --json: closes the document.
            return report_error(e, o.json);
        }
    }
    nlohmann::json tail = {{"sent", sent},
                           {"partial", partial},
                           {"refused", failed},
                           {"not_sent", unsent},
                           {"connections", connections}};
    if (!connection_errors.empty()) tail["connection_errors"] = connection_errors;
    w.end(tail, all_sent);
    if (all_sent) return exit_ok;
    if (connection_error) {
        try {
            std::rethrow_exception(connection_error);
        } catch (const mailwire::error& e) {
            return exit_code_for(e);
        } catch (...) {}
    }
    return exit_protocol;
}

}  // namespace

command add_send(CLI::App& app) {
    auto st = std::make_shared<send_state>();
    auto* sub = app.add_subcommand("send", "Send message files or a composed message over SMTP");
    add_connection_options(*sub, st->o);
    sub->add_flag("--check", st->check, "Connect, say EHLO, print what the server offers, and quit");
    sub->add_option("files", st->paths, "Message files or directories of .eml files");
    sub->add_option("--connections", st->connections, "Send over N connections at once, 1-64 (output stays in order)");
    sub->add_option("--from", st->from, "Envelope sender (From: when composing); default: Sender/From");
    sub->add_option("--to", st->to, "Recipient (repeatable); replaces the To/Cc/Bcc of files")->allow_extra_args(false);
    sub->add_option("--cc", st->cc, "Cc recipient (repeatable)")->allow_extra_args(false);
    sub->add_option("--bcc", st->bcc, "Blind recipient (repeatable): envelope only, never in headers")
        ->allow_extra_args(false);
    st->subject_opt = sub->add_option("--subject", st->subject, "Compose: the subject (UTF-8)");
    st->body_opt = sub->add_option("--body", st->body, "Compose: the text body");
    sub->add_option("--body-file", st->body_file, "Compose: the text body from a file (UTF-8)");
    sub->add_option("--html-file", st->html_file, "Compose: an HTML body from a file (sent as the alternative)");
    sub->add_option("--attach", st->attach, "Compose: attach a file (repeatable; type guessed from the name)")
        ->allow_extra_args(false);
    sub->add_option("--notify", st->notify, "DSN: never, or any of success,failure,delay (RFC 3461)");
    sub->add_option("--ret", st->ret, "DSN: return the full message or only its headers in a bounce")
        ->check(CLI::IsMember({"full", "hdrs", "FULL", "HDRS"}));
    sub->add_option("--envid", st->envid, "DSN: an envelope id the server quotes in its notifications");
    sub->add_flag("--orcpt", st->orcpt, "DSN: send each recipient's original address (ORCPT)");
    sub->add_flag("--requiretls", st->requiretls,
                  "REQUIRETLS (RFC 8689): the message must travel over TLS all the way");
    sub->add_flag("--no-pipelining", st->no_pipelining, "Wait for each reply (debugging)");
    sub->add_flag("--no-chunking", st->no_chunking, "Use DATA even when the server offers BDAT (debugging)");
    return {sub, [st] { return run_send(*st); }, &st->o.json};
}

}  // namespace mailwire::cli
