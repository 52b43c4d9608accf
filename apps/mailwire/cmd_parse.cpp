// `mailwire parse` — a message's MIME structure, attachment extraction, and mbox statistics.
// Everything streams through mime::parse_file (regular files are mapped a window at a time), so
// no mode ever holds a whole message or mailbox in memory.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <set>

#include "common.hpp"
#include "mailwire/mime/date.hpp"
#include "mailwire/mime/encoding.hpp"
#include "mailwire/mime/parser.hpp"
#include "mailwire/mime/rfc2047.hpp"
#include "output.hpp"
#include "report.hpp"
#include "safe_file.hpp"

namespace mailwire::cli {
namespace {

struct parse_state {
    std::string file;
    std::string mbox;
    std::string extract_dir;
    bool stats = false;
    bool list = false;  ///< --list: a row or object per message of the mbox
    bool json = false;
};

std::string one_line(std::string_view v) {
    std::string out;
    for (char c : v) {
        if (c == '\r' || c == '\n') continue;
        out += c == '\t' ? ' ' : c;
    }
    return out;
}

std::string human_size(std::uint64_t n) {
    if (n < 1024) return fmt::format("{} B", n);
    if (n < 1024 * 1024) return fmt::format("{:.1f} KiB", static_cast<double>(n) / 1024);
    return fmt::format("{:.1f} MiB", static_cast<double>(n) / (1024.0 * 1024.0));
}

[[noreturn]] void file_failure(const std::string& what) {
    error_context ctx;
    ctx.stage = stage::parse;
    throw mailwire::error(errc::io_error, what, std::move(ctx));
}

/// Disposition and file name of a part: Content-Disposition's filename, else Content-Type's
/// name (RFC 2231 is decoded by the parameter parser; RFC 2047 words, which are not allowed in
/// parameters but common, are decoded here).
struct part_naming {
    std::string disposition, filename;
};

part_naming naming_of(const mime::part_head& head) {
    part_naming n;
    if (head.type != nullptr) n.filename = head.type->param("name");
    if (const auto* cd = head.find("Content-Disposition")) {
        const auto d = mime::parse_content_disposition(cd->value);
        n.disposition = d.kind;
        if (!d.filename().empty()) n.filename = d.filename();
    }
    if (n.filename.find("=?") != std::string::npos) n.filename = mime::decode_header_text(n.filename);
    return n;
}

// ---- tree ------------------------------------------------------------------------------------

struct part_node {
    std::size_t depth = 0;
    std::optional<std::size_t> parent;
    std::string mime_type, kind, encoding, charset, filename, disposition;
    std::uint64_t body_bytes = 0;
    std::size_t header_count = 0;
    std::vector<std::size_t> children;
};

class structure_handler : public mime::parser_handler {
public:
    std::vector<part_node> nodes;
    std::string subject, from, date, message_id;
    std::size_t messages = 0;

    void on_message_begin(std::string_view) override { ++messages; }
    void on_part_begin(const mime::part_head& head) override {
        if (messages > 1) return;  // a single-message file: anything after a second "From " is ignored
        part_node n;
        n.depth = head.depth;
        if (!stack_.empty()) n.parent = stack_.back();
        n.mime_type = head.type != nullptr ? head.type->mime_type() : "text/plain";
        n.kind = head.kind == mime::part_kind::multipart ? "multipart"
                 : head.kind == mime::part_kind::message ? "message"
                                                         : "leaf";
        n.encoding = std::string(mime::to_string(head.encoding));
        if (head.type != nullptr) n.charset = head.type->param("charset");
        auto naming = naming_of(head);
        n.disposition = std::move(naming.disposition);
        n.filename = one_line(naming.filename);
        n.header_count = head.headers().size();
        if (head.depth == 0) {
            auto text = [&](const char* name) {
                const auto* f = head.find(name);
                return f != nullptr ? one_line(mime::decode_header_text(f->value)) : std::string();
            };
            subject = text("Subject");
            from = text("From");
            date = text("Date");
            message_id = text("Message-ID");
        }
        const std::size_t index = nodes.size();
        if (n.parent) nodes[*n.parent].children.push_back(index);
        nodes.push_back(std::move(n));
        stack_.push_back(index);
    }
    void on_body(std::string_view raw) override {
        if (!stack_.empty() && messages <= 1) nodes[stack_.back()].body_bytes += raw.size();
    }
    void on_part_end() override {
        if (!stack_.empty() && messages <= 1) stack_.pop_back();
    }

private:
    std::vector<std::size_t> stack_;
};

nlohmann::json node_json(const structure_handler& h, std::size_t i) {
    const auto& n = h.nodes[i];
    nlohmann::json j = {{"content_type", n.mime_type}, {"kind", n.kind},           {"encoding", n.encoding},
                        {"charset", n.charset},        {"filename", n.filename},   {"disposition", n.disposition},
                        {"body_bytes", n.body_bytes},  {"headers", n.header_count}};
    nlohmann::json parts = nlohmann::json::array();
    for (auto c : n.children) parts.push_back(node_json(h, c));
    j["parts"] = parts;
    return j;
}

// ---- extraction ------------------------------------------------------------------------------

std::string default_extension(std::string_view mime_type) {
    if (mime_type == "text/plain") return ".txt";
    if (mime_type == "text/html") return ".html";
    if (mime_type == "message/rfc822" || mime_type == "message/global") return ".eml";
    if (mime_type == "application/pdf") return ".pdf";
    if (mime_type == "image/png") return ".png";
    if (mime_type == "image/jpeg") return ".jpg";
    if (mime_type == "image/gif") return ".gif";
    return ".bin";
}

struct extracted_file {
    std::string path, name, original_name, content_type;
    std::size_t message = 0, part = 0;
    std::uint64_t bytes = 0;
};

/// Writes each attachment or named leaf part, decoded, into `dir` through safe_file: each part goes
/// to a 0600 temporary and is published under its safe name, or the next free "name-N.ext", with a
/// rename that never replaces; an existing file or symlink is never overwritten or followed. Each
/// file goes to `on_file` when it is published (nothing is collected: an mbox may hold millions).
class extract_handler : public mime::parser_handler {
public:
    extract_handler(const std::string& dir, std::function<void(const extracted_file&)> on_file)
        : dir_(dir), on_file_(std::move(on_file)) {}

    std::size_t count = 0;

    void on_message_begin(std::string_view) override {
        ++message_;
        part_ = 0;
    }
    void on_part_begin(const mime::part_head& head) override {
        const std::size_t index = part_++;
        if (head.kind != mime::part_kind::leaf) return;
        const auto naming = naming_of(head);
        if (naming.filename.empty() && naming.disposition != "attachment") return;
        const std::string type = head.type != nullptr ? head.type->mime_type() : "text/plain";
        wished_ = safe_file_name(naming.filename);
        if (wished_.empty()) wished_ = fmt::format("part-{}-{}{}", message_, index, default_extension(type));
        current_ = std::make_unique<temp_file>(dir_);
        file_ = extracted_file{};
        file_.original_name = naming.filename;
        file_.content_type = type;
        file_.message = message_;
        file_.part = index;
    }
    void on_decoded(std::string_view data) override {
        if (!current_) return;
        file_.bytes += data.size();
        current_->write(data);
    }
    void on_part_end() override {
        if (!current_) return;
        auto file = std::move(current_);
        file_.name = names_.publish(*file, wished_);
        file_.path = dir_.path_of(file_.name);
        ++count;
        on_file_(file_);
    }

private:
    output_dir dir_;
    std::function<void(const extracted_file&)> on_file_;
    extracted_file file_;  // the part being written
    std::size_t message_ = 0, part_ = 0;
    std::string wished_;
    std::unique_ptr<temp_file> current_;  // removed by its destructor if the parse fails mid-part
    name_allocator names_;
};

// ---- statistics ------------------------------------------------------------------------------

/// Counts what the parser reports; decoded bytes go nowhere else (the benchmark's sink).
class stats_handler : public mime::parser_handler {
public:
    std::uint64_t messages = 0, parts = 0, leaves = 0, body_bytes = 0, decoded_bytes = 0;
    void on_message_begin(std::string_view) override { ++messages; }
    void on_part_begin(const mime::part_head& head) override {
        ++parts;
        if (head.kind == mime::part_kind::leaf) ++leaves;
    }
    void on_body(std::string_view raw) override { body_bytes += raw.size(); }
    void on_decoded(std::string_view data) override { decoded_bytes += data.size(); }
};

/// Forwards every event to two handlers (extraction alongside the tree or the statistics).
class tee_handler : public mime::parser_handler {
public:
    tee_handler(mime::parser_handler& a, mime::parser_handler& b) : a_(a), b_(b) {}
    void on_message_begin(std::string_view s) override {
        a_.on_message_begin(s);
        b_.on_message_begin(s);
    }
    void on_part_begin(const mime::part_head& h) override {
        a_.on_part_begin(h);
        b_.on_part_begin(h);
    }
    void on_body(std::string_view s) override {
        a_.on_body(s);
        b_.on_body(s);
    }
    void on_decoded(std::string_view s) override {
        a_.on_decoded(s);
        b_.on_decoded(s);
    }
    void on_preamble(std::string_view s) override {
        a_.on_preamble(s);
        b_.on_preamble(s);
    }
    void on_boundary(std::string_view s, bool c) override {
        a_.on_boundary(s, c);
        b_.on_boundary(s, c);
    }
    void on_epilogue(std::string_view s) override {
        a_.on_epilogue(s);
        b_.on_epilogue(s);
    }
    void on_part_end() override {
        a_.on_part_end();
        b_.on_part_end();
    }
    void on_message_end(std::string_view s) override {
        a_.on_message_end(s);
        b_.on_message_end(s);
    }

private:
    mime::parser_handler& a_;
    mime::parser_handler& b_;
};

double cpu_seconds() {
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/// Peak resident memory of this process in KiB: VmHWM from /proc/self/status, else ru_maxrss.
/// ru_maxrss alone misleads: Linux carries the pre-exec high-water mark over execve, so a child
/// forked from a big process (a test holding its fixture, python) would report the parent's size.
std::uint64_t peak_rss_kib() {
    if (std::FILE* f = std::fopen("/proc/self/status", "re")) {
        char line[256];
        unsigned long long kib = 0;
        bool found = false;
        while (std::fgets(line, sizeof line, f) != nullptr)
            if (std::sscanf(line, "VmHWM: %llu kB", &kib) == 1) {
                found = true;
                break;
            }
        std::fclose(f);
        if (found) return kib;
    }
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    return static_cast<std::uint64_t>(ru.ru_maxrss);  // Linux: KiB
}

std::uint64_t file_size(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) file_failure(fmt::format("cannot open {}: {}", path, std::strerror(errno)));
    return static_cast<std::uint64_t>(st.st_size);
}

nlohmann::json extracted_json(const extracted_file& f) {
    return {{"path", f.path},
            {"name", f.name},
            {"original_name", f.original_name},
            {"content_type", f.content_type},
            {"message", f.message},
            {"part", f.part},
            {"bytes", f.bytes}};
}

/// Extraction reported as it happens: --json/--jsonl an object per file in "extracted", text a
/// line per file under a heading.
class extraction_report {
public:
    explicit extraction_report(list_writer& w, std::string dir) : w_(w), dir_(std::move(dir)) {}
    void file(const extracted_file& f) {
        if (w_.structured()) {
            w_.item(extracted_json(f));
            return;
        }
        if (!heading_) print_out(fmt::format("extracting to {}\n", terminal_text(dir_)));
        heading_ = true;
        std::string line =
            fmt::format("  {}  {}  {}", terminal_text(f.name), human_size(f.bytes), terminal_text(f.content_type));
        if (!f.original_name.empty() && f.original_name != f.name)
            line += fmt::format("  (named \"{}\")", terminal_text(f.original_name));
        print_out(line + "\n");
    }
    /// The text summary line.
    void done(std::size_t count) const {
        if (!w_.structured())
            print_out(fmt::format("extracted {} file{} to {}\n", count, count == 1 ? "" : "s", terminal_text(dir_)));
    }

private:
    list_writer& w_;
    std::string dir_;
    bool heading_ = false;
};

void prepare_dir(const std::string& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (!std::filesystem::is_directory(dir))
        throw usage_error(fmt::format("--extract {}: not a directory{}", dir, ec ? " (" + ec.message() + ")" : ""));
}

int run_stats(const parse_state& st) {
    const std::string& path = st.mbox.empty() ? st.file : st.mbox;
    mime::parser_options opt;
    opt.format = st.mbox.empty() ? mime::input_format::message : mime::input_format::mbox;
    opt.decode = true;
    const auto input = file_size(path);
    stats_handler s;
    list_writer w(output_format_for(st.json), "extracted");
    extraction_report report(w, st.extract_dir);
    std::unique_ptr<extract_handler> ex;
    if (!st.extract_dir.empty()) {
        prepare_dir(st.extract_dir);
        ex = std::make_unique<extract_handler>(st.extract_dir, [&](const extracted_file& f) { report.file(f); });
        w.begin({{"file", path}, {"format", st.mbox.empty() ? "message" : "mbox"}});
    }
    const double cpu0 = cpu_seconds();
    const auto t0 = std::chrono::steady_clock::now();
    if (ex) {
        tee_handler tee(s, *ex);
        mime::parse_file(path, tee, opt);
    } else {
        mime::parse_file(path, s, opt);
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double cpu = cpu_seconds() - cpu0;
    const double mbps = seconds > 0 ? static_cast<double>(input) / seconds / 1e6 : 0.0;
    const auto rss = peak_rss_kib();
    if (w.structured()) {
        nlohmann::json j = {{"input_bytes", input},   {"messages", s.messages},     {"parts", s.parts},
                            {"leaf_parts", s.leaves}, {"body_bytes", s.body_bytes}, {"decoded_bytes", s.decoded_bytes},
                            {"seconds", seconds},     {"cpu_seconds", cpu},         {"mb_per_s", mbps},
                            {"peak_rss_kib", rss}};
        if (ex) {
            w.end(j);
        } else {
            j["ok"] = true;
            j["file"] = path;
            j["format"] = st.mbox.empty() ? "message" : "mbox";
            print_document(j);
        }
        return exit_ok;
    }
    text_report r(output_width(), 12);
    r.heading(path);
    r.field("messages", std::to_string(s.messages));
    r.field("parts", fmt::format("{} ({} leaves)", s.parts, s.leaves));
    r.field("input", fmt::format("{} bytes ({:.1f} MB)", input, static_cast<double>(input) / 1e6));
    r.field("body", fmt::format("{} bytes encoded", s.body_bytes));
    r.field("decoded", fmt::format("{} bytes", s.decoded_bytes));
    r.field("elapsed", fmt::format("{:.3f} s (CPU {:.3f} s)", seconds, cpu));
    r.field("throughput", fmt::format("{:.1f} MB/s", mbps));
    r.field("peak memory", fmt::format("{:.1f} MiB (VmHWM)", static_cast<double>(rss) / 1024.0));
    print_out(r.str());
    if (ex) report.done(ex->count);
    return exit_ok;
}

int run_tree(const parse_state& st) {
    structure_handler h;
    list_writer w(output_format_for(st.json), "extracted");
    extraction_report report(w, st.extract_dir);
    std::unique_ptr<extract_handler> ex;
    mime::parser_options opt;
    if (!st.extract_dir.empty()) {
        prepare_dir(st.extract_dir);
        ex = std::make_unique<extract_handler>(st.extract_dir, [&](const extracted_file& f) { report.file(f); });
        opt.decode = true;
        w.begin({{"file", st.file}});
    }
    if (ex) {
        tee_handler tee(h, *ex);
        mime::parse_file(st.file, tee, opt);
    } else {
        mime::parse_file(st.file, h, opt);
    }
    if (h.nodes.empty()) throw usage_error(fmt::format("{}: no message found", st.file));
    if (w.structured()) {
        // One message: its tree is bounded by the parser's depth and part limits.
        nlohmann::json j = {{"subject", h.subject},       {"from", h.from},          {"date", h.date},
                            {"message_id", h.message_id}, {"parts", h.nodes.size()}, {"tree", node_json(h, 0)}};
        if (ex) {
            w.end(j);
        } else {
            j["ok"] = true;
            j["file"] = st.file;
            print_document(j);
        }
        return exit_ok;
    }
    const auto width = output_width();
    text_report r(width, 10);
    r.heading(fmt::format("{}  ({} part{})", st.file, h.nodes.size(), h.nodes.size() == 1 ? "" : "s"));
    if (!h.subject.empty()) r.field("subject", h.subject);
    if (!h.from.empty()) r.field("from", h.from);
    if (!h.date.empty()) r.field("date", h.date);
    r.blank();
    print_out(r.str());
    for (const auto& n : h.nodes) {
        std::string line = std::string(2 + 2 * n.depth, ' ') + n.mime_type;
        if (n.kind == "leaf") {
            line += "  " + (n.encoding.empty() ? std::string("?") : n.encoding) + "  " + human_size(n.body_bytes);
            if (!n.charset.empty()) line += "  charset=" + n.charset;
            if (!n.disposition.empty()) line += "  " + n.disposition;
            if (!n.filename.empty()) line += "  \"" + n.filename + "\"";
        }
        print_out(fit(line, width, false) + "\n");
    }
    if (ex) report.done(ex->count);
    return exit_ok;
}

// ---- mbox listing ----------------------------------------------------------------------------

/// One summary per message of an mbox, handed on when the message ends: nothing is kept.
class summary_handler : public mime::parser_handler {
public:
    struct summary {
        std::size_t index = 0;
        std::string subject, from, date, message_id;
        std::optional<mime::date_time> parsed_date;
        std::size_t parts = 0, attachments = 0;
        std::uint64_t body_bytes = 0;
    };
    explicit summary_handler(std::function<void(const summary&)> on_message) : on_message_(std::move(on_message)) {}

    void on_message_begin(std::string_view) override {
        m_ = summary{};
        m_.index = ++count_;
    }
    void on_part_begin(const mime::part_head& head) override {
        ++m_.parts;
        if (head.kind == mime::part_kind::leaf) {
            const auto n = naming_of(head);
            if (!n.filename.empty() || n.disposition == "attachment") ++m_.attachments;
        }
        if (head.depth != 0) return;
        auto text = [&](const char* name) {
            const auto* f = head.find(name);
            return f != nullptr ? one_line(mime::decode_header_text(f->value)) : std::string();
        };
        m_.subject = text("Subject");
        m_.from = text("From");
        m_.date = text("Date");
        m_.message_id = text("Message-ID");
        if (const auto* f = head.find("Date")) m_.parsed_date = mime::parse_date(f->value);
    }
    void on_body(std::string_view raw) override { m_.body_bytes += raw.size(); }
    void on_message_end(std::string_view) override { on_message_(m_); }
    [[nodiscard]] std::size_t count() const noexcept { return count_; }

private:
    std::function<void(const summary&)> on_message_;
    summary m_;
    std::size_t count_ = 0;
};

/// --list: a row (text) or an object (--json/--jsonl) per message, written as the parser
/// reaches its end.
int run_list(const parse_state& st) {
    const std::string& path = st.mbox.empty() ? st.file : st.mbox;
    mime::parser_options opt;
    opt.format = st.mbox.empty() ? mime::input_format::message : mime::input_format::mbox;
    const std::size_t rest = output_width() > 48 ? output_width() - 48 : 0;
    const std::size_t from_w = std::max<std::size_t>(10, rest * 2 / 5);
    list_writer w(output_format_for(st.json), "messages",
                  {{"N", 6, true}, {"DATE", 16}, {"FROM", from_w}, {"PARTS", 5, true}, {"SIZE", 9, true}, {"SUBJECT"}});
    w.begin({{"file", path}, {"format", st.mbox.empty() ? "message" : "mbox"}});
    summary_handler h([&](const summary_handler::summary& m) {
        if (w.structured()) {
            w.item({{"index", m.index},
                    {"subject", m.subject},
                    {"from", m.from},
                    {"date", m.date},
                    {"message_id", m.message_id},
                    {"parts", m.parts},
                    {"attachments", m.attachments},
                    {"body_bytes", m.body_bytes}});
            return;
        }
        w.row({std::to_string(m.index), m.parsed_date ? short_date(*m.parsed_date) : m.date, m.from,
               std::to_string(m.parts), human_size(m.body_bytes), m.subject});
    });
    mime::parse_file(path, h, opt);
    w.end({{"count", h.count()}});
    return exit_ok;
}

int run_parse(const parse_state& st) {
    if (st.file.empty() == st.mbox.empty()) throw usage_error("give either FILE or --mbox FILE");
    if (st.list && (st.stats || !st.extract_dir.empty()))
        throw usage_error("--list goes without --stats and --extract");
    if (st.list) return run_list(st);
    // An mbox is reported as statistics (its trees would be unreadable); --stats is implied.
    if (st.stats || !st.mbox.empty()) return run_stats(st);
    return run_tree(st);
}

}  // namespace

command add_parse(CLI::App& app) {
    auto st = std::make_shared<parse_state>();
    auto* sub = app.add_subcommand("parse", "MIME tree of a message, attachment extraction, mbox statistics");
    sub->add_option("FILE", st->file, "The message file (RFC 5322)")->check(CLI::ExistingFile);
    sub->add_option("--mbox", st->mbox, "Parse every message of this mbox (implies --stats)")->check(CLI::ExistingFile);
    sub->add_flag("--stats", st->stats, "Decode every part; print counts, bytes, time, MB/s, peak memory");
    sub->add_option("--extract", st->extract_dir, "Save attachments and named parts, decoded, into DIR (safe names)");
    sub->add_flag("--list", st->list, "A line per message (subject, from, date, parts, size), as it is parsed");
    sub->add_flag("--json", st->json, "Print the tree or the statistics (and extracted[]) as JSON");
    sub->add_flag_callback(
        "--jsonl",
        [st] {
            st->json = true;  // errors are structured too
            select_json_lines();
        },
        "JSON Lines: an object per file or message, then a summary line");
    sub->footer(
        "\nExamples:\n"
        "  mailwire parse message.eml\n"
        "  mailwire parse message.eml --extract ./attachments --json\n"
        "  mailwire parse --mbox INBOX.mbox --stats\n"
        "  mailwire parse --mbox INBOX.mbox --list --jsonl");
    return {sub, [st] { return run_parse(*st); }, &st->json};
}

}  // namespace mailwire::cli
