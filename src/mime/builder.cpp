// message_builder: assembles the usual multipart structures from text, HTML and files.
#include "mailwire/mime/builder.hpp"

#include <array>
#include <utility>

#include "detail_model.hpp"
#include "detail_text.hpp"
#include "mailwire/error.hpp"
#include "mailwire/mime/params.hpp"
#include "mailwire/mime/rfc2047.hpp"

namespace mailwire::mime {

std::string guess_mime_type(std::string_view filename) {
    static constexpr std::array<std::pair<std::string_view, std::string_view>, 40> table{{
        {"txt", "text/plain"},
        {"text", "text/plain"},
        {"log", "text/plain"},
        {"html", "text/html"},
        {"htm", "text/html"},
        {"css", "text/css"},
        {"csv", "text/csv"},
        {"md", "text/markdown"},
        {"ics", "text/calendar"},
        {"vcf", "text/vcard"},
        {"js", "text/javascript"},
        {"xml", "application/xml"},
        {"json", "application/json"},
        {"pdf", "application/pdf"},
        {"zip", "application/zip"},
        {"gz", "application/gzip"},
        {"tgz", "application/gzip"},
        {"tar", "application/x-tar"},
        {"7z", "application/x-7z-compressed"},
        {"png", "image/png"},
        {"jpg", "image/jpeg"},
        {"jpeg", "image/jpeg"},
        {"gif", "image/gif"},
        {"webp", "image/webp"},
        {"svg", "image/svg+xml"},
        {"bmp", "image/bmp"},
        {"tif", "image/tiff"},
        {"tiff", "image/tiff"},
        {"mp3", "audio/mpeg"},
        {"wav", "audio/wav"},
        {"ogg", "audio/ogg"},
        {"mp4", "video/mp4"},
        {"eml", "message/rfc822"},
        {"doc", "application/msword"},
        {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
        {"xls", "application/vnd.ms-excel"},
        {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
        {"ppt", "application/vnd.ms-powerpoint"},
        {"pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
        {"odt", "application/vnd.oasis.opendocument.text"},
    }};
    const auto dot = filename.rfind('.');
    if (dot == std::string_view::npos) return "application/octet-stream";
    const std::string ext = detail::to_lower(filename.substr(dot + 1));
    for (const auto& [e, t] : table)
        if (e == ext) return std::string(t);
    return "application/octet-stream";
}

std::string make_message_id(std::string_view domain) {
    return "<" + detail::random_hex(16) + "@" + std::string(domain.empty() ? "localhost" : domain) + ">";
}

namespace {

std::string address_header(const std::vector<mailbox>& list) {
    std::vector<address> a;
    a.reserve(list.size());
    for (const auto& m : list) a.push_back(address{{}, {m}});
    return format_address_list(a);
}

std::string base_name(std::string_view path) {
    const auto slash = path.find_last_of('/');
    return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

// "Content-Type: type/subtype; params" with the parameters folded.
void set_type(entity& e, std::string_view mime_type, std::vector<parameter> params) {
    const content_type ct = parse_content_type(mime_type);
    const std::string t = ct.mime_type();
    e.set("Content-Type", t + format_parameters_folded(params, 14 + t.size()));
}

void set_disposition(entity& e, std::string_view kind, const std::string& filename) {
    std::vector<parameter> params;
    if (!filename.empty()) params.push_back(parameter{"filename", filename});
    e.set("Content-Disposition", std::string(kind) + format_parameters_folded(params, 21 + kind.size()));
}

bool starts_with_prefix(std::string_view subject, std::string_view prefix) {
    return subject.size() >= prefix.size() && detail::iequals(subject.substr(0, prefix.size()), prefix);
}

std::vector<mailbox> flatten(const std::vector<address>& list) {
    std::vector<mailbox> out;
    for (const auto& a : list)
        for (const auto& m : a.members) out.push_back(m);
    return out;
}

bool same_address(const mailbox& a, const mailbox& b) {
    return detail::iequals(a.local, b.local) && detail::iequals(a.domain_ascii(), b.domain_ascii());
}

std::string quote_text(std::string_view text) {
    std::string out;
    std::size_t i = 0;
    while (i < text.size()) {
        std::size_t nl = text.find('\n', i);
        if (nl == std::string_view::npos) nl = text.size();
        std::string_view line = text.substr(i, nl - i);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        out += line.empty() || line.front() == '>' ? ">" : "> ";
        out.append(line);
        out += '\n';
        i = nl + 1;
    }
    return out;
}

std::string original_text(const entity& original) {
    if (const entity* t = original.find_text("plain")) return t->text();
    return {};
}

std::string who(const entity& original) {
    const auto from = flatten(original.from());
    if (from.empty()) return "someone";
    return from.front().name.empty() ? from.front().address() : from.front().name + " <" + from.front().address() + ">";
}

}  // namespace

message_builder& message_builder::from(mailbox m) {
    from_ = std::move(m);
    return *this;
}
message_builder& message_builder::sender(mailbox m) {
    sender_ = std::move(m);
    return *this;
}
message_builder& message_builder::to(mailbox m) {
    to_.push_back(std::move(m));
    return *this;
}
message_builder& message_builder::cc(mailbox m) {
    cc_.push_back(std::move(m));
    return *this;
}
message_builder& message_builder::bcc(mailbox m) {
    bcc_.push_back(std::move(m));
    return *this;
}
message_builder& message_builder::reply_to(mailbox m) {
    reply_to_.push_back(std::move(m));
    return *this;
}
message_builder& message_builder::subject(std::string utf8) {
    subject_ = std::move(utf8);
    return *this;
}
message_builder& message_builder::text(std::string utf8) {
    text_ = std::move(utf8);
    return *this;
}
message_builder& message_builder::html(std::string utf8) {
    html_ = std::move(utf8);
    return *this;
}
message_builder& message_builder::date(date_time d) {
    date_ = d;
    return *this;
}
message_builder& message_builder::message_id(std::string id) {
    message_id_ = std::move(id);
    return *this;
}

message_builder& message_builder::header(std::string name, std::string value) {
    headers_.emplace_back(std::move(name), std::move(value));
    return *this;
}

message_builder& message_builder::attach(std::string filename, std::string data, std::string mime_type) {
    part p;
    p.mime_type = mime_type.empty() ? guess_mime_type(filename) : std::move(mime_type);
    p.filename = std::move(filename);
    p.data = std::move(data);
    attachments_.push_back(std::move(p));
    return *this;
}

message_builder& message_builder::attach_file(const std::string& path, std::string mime_type) {
    part p;
    p.filename = base_name(path);
    p.mime_type = mime_type.empty() ? guess_mime_type(p.filename) : std::move(mime_type);
    p.path = path;
    attachments_.push_back(std::move(p));
    return *this;
}

message_builder& message_builder::inline_image(std::string content_id, std::string filename, std::string data,
                                               std::string mime_type) {
    part p;
    p.mime_type = mime_type.empty() ? guess_mime_type(filename) : std::move(mime_type);
    p.filename = std::move(filename);
    p.data = std::move(data);
    p.content_id = std::move(content_id);
    inline_.push_back(std::move(p));
    return *this;
}

message_builder& message_builder::attach_message(const entity& msg) {
    part p;
    p.is_message = true;
    p.msg = msg;
    attachments_.push_back(std::move(p));
    return *this;
}

message_builder message_builder::reply(const entity& original, bool reply_all, std::optional<mailbox> self) {
    message_builder b;
    auto to = flatten(original.reply_to());
    if (to.empty()) to = flatten(original.from());
    for (auto& m : to) b.to(m);
    if (reply_all) {
        auto others = flatten(original.to());
        for (auto& m : flatten(original.cc())) others.push_back(m);
        for (auto& m : others) {
            bool skip = self && same_address(m, *self);
            for (const auto& t : b.to_) skip = skip || same_address(m, t);
            for (const auto& c : b.cc_) skip = skip || same_address(m, c);
            if (!skip) b.cc(m);
        }
    }
    if (self) b.from(*self);
    const std::string subject = original.subject();
    b.subject(starts_with_prefix(subject, "re:") ? subject : "Re: " + subject);
    const std::string id = original.message_id();
    if (!id.empty()) {
        b.header("In-Reply-To", "<" + id + ">");
        std::string refs;
        for (const auto& r : original.references()) refs += "<" + r + "> ";
        b.header("References", refs + "<" + id + ">");
    }
    std::string attribution = "On ";
    if (auto d = original.date()) attribution += format_date(*d) + ", ";
    attribution += who(original) + " wrote:\n";
    b.text(attribution + quote_text(original_text(original)));
    return b;
}

message_builder message_builder::forward(const entity& original, bool as_attachment) {
    message_builder b;
    const std::string subject = original.subject();
    b.subject(starts_with_prefix(subject, "fwd:") ? subject : "Fwd: " + subject);
    if (as_attachment) {
        b.attach_message(original);
    } else {
        std::string t = "---------- Forwarded message ----------\n";
        t += "From: " + who(original) + "\n";
        if (auto d = original.date()) t += "Date: " + format_date(*d) + "\n";
        t += "Subject: " + subject + "\n";
        const auto to = flatten(original.to());
        if (!to.empty()) t += "To: " + address_header(to) + "\n";
        t += "\n" + original_text(original);
        b.text(std::move(t));
    }
    return b;
}

std::vector<mailbox> message_builder::recipients() const {
    std::vector<mailbox> all = to_;
    all.insert(all.end(), cc_.begin(), cc_.end());
    all.insert(all.end(), bcc_.begin(), bcc_.end());
    return all;
}

message message_builder::build() const {
    if (!from_) throw error(errc::invalid_argument, "message_builder: no From address");
    if (to_.empty() && cc_.empty() && bcc_.empty())
        throw error(errc::invalid_argument, "message_builder: no recipients");

    auto leaf = [](const part& p, std::string_view disposition) {
        entity e;
        if (p.is_message) {
            e.set_embedded(p.msg);
            return e;
        }
        std::vector<parameter> params;
        if (!p.filename.empty()) params.push_back(parameter{"name", p.filename});
        set_type(e, p.mime_type, params);
        set_disposition(e, disposition, p.filename);
        if (!p.content_id.empty()) e.set("Content-ID", "<" + p.content_id + ">");
        if (!p.path.empty()) e.set_content_file(p.path, transfer_encoding::base64);
        else
            e.set_content(p.data, parse_content_type(p.mime_type).is("text")
                                      ? std::nullopt
                                      : std::optional(transfer_encoding::base64));
        return e;
    };

    std::optional<entity> html_block;
    if (html_) {
        entity h;
        h.set_text(*html_, "html");
        if (inline_.empty()) {
            html_block = std::move(h);
        } else {
            entity related;
            related.make_multipart("related");
            related.add_part(std::move(h));
            for (const auto& p : inline_) related.add_part(leaf(p, "inline"));
            html_block = std::move(related);
        }
    }
    entity body;
    if (text_ && html_block) {
        body.make_multipart("alternative");
        entity t;
        t.set_text(*text_);
        body.add_part(std::move(t));
        body.add_part(std::move(*html_block));
    } else if (html_block) {
        body = std::move(*html_block);
    } else {
        body.set_text(text_ ? *text_ : std::string());
    }
    entity root;
    if (attachments_.empty()) {
        root = std::move(body);
    } else {
        root.make_multipart("mixed");
        root.add_part(std::move(body));
        for (const auto& p : attachments_) root.add_part(leaf(p, "attachment"));
    }

    message m(std::move(root));
    const std::vector<mime::header> content = m.headers();
    for (const auto& h : content) m.remove(h.name);
    m.add("From", address_header({*from_}));
    if (sender_) m.add("Sender", address_header({*sender_}));
    if (!to_.empty()) m.add("To", address_header(to_));
    if (!cc_.empty()) m.add("Cc", address_header(cc_));
    if (!reply_to_.empty()) m.add("Reply-To", address_header(reply_to_));
    m.add("Subject", encode_header_text(subject_, 9));
    m.add("Date", format_date(date_ ? *date_ : now_utc()));
    m.add("Message-ID", message_id_.empty() ? make_message_id(from_->domain_ascii()) : message_id_);
    for (const auto& [n, v] : headers_) m.add(n, v);
    m.add("MIME-Version", "1.0");
    for (const auto& h : content) m.add(h.name, h.value);
    return m;
}

}  // namespace mailwire::mime
