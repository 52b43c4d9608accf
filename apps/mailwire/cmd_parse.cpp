// `mailwire parse FILE` — print a message's MIME structure, streaming (the file is never held whole).
#include <fmt/format.h>

#include <iostream>
#include <memory>

#include "common.hpp"
#include "report.hpp"

#if __has_include("mailwire/mime/parser.hpp")
#define MAILWIRE_CLI_HAS_MIME_PARSER 1
#include "mailwire/mime/encoding.hpp"
#include "mailwire/mime/parser.hpp"
#include "mailwire/mime/rfc2047.hpp"
#endif

namespace mailwire::cli {
namespace {

struct parse_state {
    std::string file;
    bool json = false;
};

#ifdef MAILWIRE_CLI_HAS_MIME_PARSER

struct part_node {
    std::size_t depth = 0;
    std::optional<std::size_t> parent;
    std::string mime_type, kind, encoding, charset, filename, disposition;
    std::uint64_t body_bytes = 0;
    std::size_t header_count = 0;
    std::vector<std::size_t> children;
};

std::string one_line(std::string_view v) {
    std::string out;
    for (char c : v) {
        if (c == '\r' || c == '\n') continue;
        out += c == '\t' ? ' ' : c;
    }
    return out;
}

class structure_handler : public mime::parser_handler {
public:
    std::vector<part_node> nodes;
    std::string subject, from, date, message_id;
    std::size_t messages = 0;

    void on_message_begin(std::string_view) override { ++messages; }
    void on_part_begin(const mime::part_head& head) override {
        part_node n;
        n.depth = head.depth;
        if (!stack_.empty()) n.parent = stack_.back();
        n.mime_type = head.type != nullptr ? head.type->mime_type() : "text/plain";
        n.kind = head.kind == mime::part_kind::multipart ? "multipart"
                 : head.kind == mime::part_kind::message ? "message"
                                                         : "leaf";
        n.encoding = std::string(mime::to_string(head.encoding));
        if (head.type != nullptr) {
            n.charset = head.type->param("charset");
            n.filename = head.type->param("name");
        }
        n.header_count = head.headers().size();
        if (const auto* cd = head.find("Content-Disposition")) {
            const auto d = mime::parse_content_disposition(cd->value);
            n.disposition = d.kind;
            if (!d.filename().empty()) n.filename = d.filename();
        }
        if (head.depth == 0 && messages <= 1) {
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
        if (!stack_.empty()) nodes[stack_.back()].body_bytes += raw.size();
    }
    void on_part_end() override {
        if (!stack_.empty()) stack_.pop_back();
    }

private:
    std::vector<std::size_t> stack_;
};

std::string human_size(std::uint64_t n) {
    if (n < 1024) return fmt::format("{} B", n);
    if (n < 1024 * 1024) return fmt::format("{:.1f} KiB", static_cast<double>(n) / 1024);
    return fmt::format("{:.1f} MiB", static_cast<double>(n) / (1024.0 * 1024.0));
}

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

int run_parse(const parse_state& st) {
    structure_handler h;
    mime::parse_file(st.file, h);
    if (h.nodes.empty()) throw usage_error(fmt::format("{}: no message found", st.file));
    if (st.json) {
        nlohmann::json j = {{"ok", true},
                            {"file", st.file},
                            {"subject", h.subject},
                            {"from", h.from},
                            {"date", h.date},
                            {"message_id", h.message_id},
                            {"parts", h.nodes.size()},
                            {"tree", node_json(h, 0)}};
        std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
        return exit_ok;
    }
    const auto width = output_width();
    text_report r(width, 10);
    r.heading(fmt::format("{}  ({} part{})", st.file, h.nodes.size(), h.nodes.size() == 1 ? "" : "s"));
    if (!h.subject.empty()) r.field("subject", h.subject);
    if (!h.from.empty()) r.field("from", h.from);
    if (!h.date.empty()) r.field("date", h.date);
    r.blank();
    std::cout << r.str();
    for (const auto& n : h.nodes) {
        std::string line = std::string(2 + 2 * n.depth, ' ') + n.mime_type;
        if (n.kind == "leaf") {
            line += "  " + (n.encoding.empty() ? std::string("?") : n.encoding) + "  " + human_size(n.body_bytes);
            if (!n.charset.empty()) line += "  charset=" + n.charset;
            if (!n.disposition.empty()) line += "  " + n.disposition;
            if (!n.filename.empty()) line += "  \"" + n.filename + "\"";
        }
        if (line.size() > width) line = line.substr(0, width - 3) + "...";
        std::cout << line << "\n";
    }
    return exit_ok;
}

#else

int run_parse(const parse_state& st) {
    return report_usage(fmt::format("parse is not available yet: this build has no MIME parser ({})", st.file),
                        st.json);
}

#endif

}  // namespace

command add_parse(CLI::App& app) {
    auto st = std::make_shared<parse_state>();
    auto* sub = app.add_subcommand("parse", "Print a message's MIME structure (streamed, any size)");
    sub->add_option("FILE", st->file, "The message file (RFC 5322)")->required()->check(CLI::ExistingFile);
    sub->add_flag("--json", st->json, "Print the tree as JSON: {subject, from, date, parts, tree{...}}");
    return {sub, [st] { return run_parse(*st); }, &st->json};
}

}  // namespace mailwire::cli
