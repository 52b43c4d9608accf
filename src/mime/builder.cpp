// message_builder: assembles the usual multipart structures from text, HTML and files.
#include "mailwire/mime/builder.hpp"

#include <array>
#include <cstddef>
#include <fstream>
#include <utility>

#include "detail_composite.hpp"
#include "detail_model.hpp"
#include "detail_text.hpp"
#include "mailwire/error.hpp"
#include "mailwire/mime/params.hpp"
#include "mailwire/mime/rfc2047.hpp"
#include "mailwire/mime/serializer.hpp"

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
    if (domain.empty()) domain = "localhost";
    if (!detail::is_domain(domain) || domain.size() > detail::max_msg_id_length - 33)
        throw error(errc::invalid_argument, "make_message_id: the domain is not a dot-atom or a domain literal");
    std::string id;
    id.reserve(domain.size() + 35);
    id += '<';
    id += detail::random_hex(16);
    id += '@';
    id.append(domain);
    id += '>';
    return id;
}

namespace {

// Header names the builder writes itself; header() refuses them so that a message never gets
// two From/Subject/Message-ID fields (RFC 5322 §3.6 allows one) or a second Content-Type that
// readers would let win over the structure built here.
bool builder_owned(std::string_view name) {
    static constexpr std::array<std::string_view, 10> owned{"from",       "sender",      "to",      "cc",
                                                            "bcc",        "reply-to",    "subject", "date",
                                                            "message-id", "mime-version"};
    for (const auto o : owned)
        if (detail::iequals(name, o)) return true;
    return name.size() >= 8 && detail::iequals(name.substr(0, 8), "content-");
}

const mailbox& checked(const mailbox& m) {
    if (const char* why = detail::mailbox_problem(m))
        throw error(errc::invalid_argument, std::string("message_builder: mailbox ") + why);
    return m;
}

// "type/subtype" (RFC 2045 §5.1 tokens), nothing else: parameters are the builder's business.
std::string checked_mime_type(std::string_view t) {
    const auto slash = t.find('/');
    const auto tokens = [](std::string_view x) {
        if (x.empty()) return false;
        for (const char c : x)
            if (!detail::is_token_char(c)) return false;
        return true;
    };
    if (slash == std::string_view::npos || !tokens(t.substr(0, slash)) || !tokens(t.substr(slash + 1)))
        throw error(errc::invalid_argument, "message_builder: MIME type must be \"type/subtype\" (RFC 2045 tokens)");
    if (detail::iequals(t.substr(0, slash), "multipart"))
        throw error(errc::invalid_argument,
                    "message_builder: a multipart type has parts, not data; attach it as message/rfc822 or "
                    "application/octet-stream");
    return detail::to_lower(t);
}

// The identity encoding a composite attachment's bytes fit (detail::identity_scan), the file
// read in blocks, never whole.
transfer_encoding identity_encoding_of(const std::string& path, std::string_view data) {
    detail::identity_scan scan;
    if (path.empty()) {
        scan.feed(data);
        return scan.result();
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) throw error(errc::io_error, "cannot open " + path);
    std::string block(64 * 1024, '\0');
    while (in) {
        in.read(block.data(), static_cast<std::streamsize>(block.size()));
        scan.feed(std::string_view(block.data(), static_cast<std::size_t>(in.gcount())));
    }
    if (in.bad()) throw error(errc::io_error, "read failed on " + path);
    return scan.result();
}

// Content-ID (RFC 2045 §7, RFC 2392): msg-id content "left@right", or a bare dot-atom such as
// "logo" that many mailers use; angle brackets optional.
std::string checked_content_id(std::string_view id) {
    if (id.size() >= 2 && id.front() == '<' && id.back() == '>') id = id.substr(1, id.size() - 2);
    if (id.find('@') == std::string_view::npos && detail::is_dot_atom_text(id) &&
        id.size() <= detail::max_msg_id_length)
        return std::string(id);
    return detail::checked_msg_id(id, "message_builder: Content-ID");
}

// A file name is unstructured text: made single-line like a subject (it is written as an
// RFC 2231 parameter, so any other character is safe).
std::string clean_filename(std::string_view name) { return std::string(detail::trim(detail::single_line_text(name))); }

// Mailboxes from a received message that can be written back; the others (control characters
// in the local part, a malformed domain) are dropped rather than sent on.
std::vector<mailbox> writable(std::vector<mailbox> list) {
    std::erase_if(list, [](const mailbox& m) { return detail::mailbox_problem(m) != nullptr; });
    return list;
}

// At most this many ids in a reply's References: the first (the thread root) and the most
// recent ones (RFC 5322 §3.6.4 lets a writer trim References; threading needs the ends).
constexpr std::size_t max_references = 20;

// A composed message is ASCII whenever its local parts are (so it needs no SMTPUTF8, RFC 6531
// §3.4): names are RFC 2047-encoded by format_address_list, and a UTF-8 domain after an ASCII
// local part is written as its IDNA A-label. A UTF-8 local part needs SMTPUTF8 anyway and keeps
// its domain as given (RFC 6532).
mailbox ascii_domain(mailbox m) {
    if (m.domain.empty() || m.domain.front() == '[' || detail::is_ascii_text(m.domain) ||
        !detail::is_ascii_text(m.local))
        return m;
    std::string a = m.domain_ascii();
    if (detail::is_ascii_text(a) && detail::is_domain(a)) m.domain = std::move(a);
    return m;
}

std::string address_header(const std::vector<mailbox>& list) {
    std::vector<address> a;
    a.reserve(list.size());
    for (const auto& m : list) a.push_back(address{{}, {ascii_domain(m)}});
    return format_address_list(a);
}

std::string base_name(std::string_view path) {
    const auto slash = path.find_last_of('/');
    return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

// "Content-Type: type/subtype; params" with the parameters folded.
void set_type(entity& e, std::string_view mime_type, std::vector<parameter> params) {
    const content_type ct = parse_content_type(mime_type);
    std::string t = ct.mime_type();
    t += format_parameters_folded(params, 14 + t.size());
    e.set("Content-Type", std::move(t));
}

void set_disposition(entity& e, std::string_view kind, const std::string& filename) {
    std::vector<parameter> params;
    if (!filename.empty()) params.push_back(parameter{"filename", filename});
    std::string v(kind);
    v += format_parameters_folded(params, 21 + kind.size());
    e.set("Content-Disposition", std::move(v));
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
    checked(m);
    from_ = std::move(m);
    return *this;
}
message_builder& message_builder::sender(mailbox m) {
    checked(m);
    sender_ = std::move(m);
    return *this;
}
message_builder& message_builder::to(mailbox m) {
    checked(m);
    to_.push_back(std::move(m));
    return *this;
}
message_builder& message_builder::cc(mailbox m) {
    checked(m);
    cc_.push_back(std::move(m));
    return *this;
}
message_builder& message_builder::bcc(mailbox m) {
    checked(m);
    bcc_.push_back(std::move(m));
    return *this;
}
message_builder& message_builder::reply_to(mailbox m) {
    checked(m);
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
    message_id_ = detail::checked_msg_id(id, "message_builder: Message-ID");
    return *this;
}

message_builder& message_builder::header(std::string name, std::string value) {
    detail::check_header_field(name, value);
    if (builder_owned(name))
        throw error(errc::invalid_argument, "message_builder: " + name + " is set by the builder; use its own setter");
    headers_.emplace_back(std::move(name), std::move(value));
    return *this;
}

message_builder& message_builder::attach(std::string filename, std::string data, std::string mime_type) {
    part p;
    p.filename = clean_filename(filename);
    p.mime_type = mime_type.empty() ? guess_mime_type(p.filename) : checked_mime_type(mime_type);
    p.data = std::move(data);
    attachments_.push_back(std::move(p));
    return *this;
}

message_builder& message_builder::attach_file(const std::string& path, std::string mime_type) {
    part p;
    p.filename = clean_filename(base_name(path));
    p.mime_type = mime_type.empty() ? guess_mime_type(p.filename) : checked_mime_type(mime_type);
    p.path = path;
    attachments_.push_back(std::move(p));
    return *this;
}

message_builder& message_builder::inline_image(std::string content_id, std::string filename, std::string data,
                                               std::string mime_type) {
    part p;
    p.content_id = checked_content_id(content_id);
    p.filename = clean_filename(filename);
    p.mime_type = mime_type.empty() ? guess_mime_type(p.filename) : checked_mime_type(mime_type);
    p.data = std::move(data);
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
    // Everything taken from `original` is sender-controlled: addresses that cannot be written
    // back are dropped, the subject is made single-line, and message ids are re-validated.
    message_builder b;
    auto to = writable(flatten(original.reply_to()));
    if (to.empty()) to = writable(flatten(original.from()));
    for (auto& m : to) b.to(m);
    if (reply_all) {
        auto others = writable(flatten(original.to()));
        for (auto& m : writable(flatten(original.cc()))) others.push_back(m);
        for (auto& m : others) {
            bool skip = self && same_address(m, *self);
            for (const auto& t : b.to_) skip = skip || same_address(m, t);
            for (const auto& c : b.cc_) skip = skip || same_address(m, c);
            if (!skip) b.cc(m);
        }
    }
    if (self) b.from(*self);
    const std::string subject(detail::trim(detail::single_line_text(original.subject())));
    b.subject(starts_with_prefix(subject, "re:") ? subject : "Re: " + subject);
    // RFC 5322 §3.6.4: In-Reply-To = the parent's Message-ID; References = the parent's
    // References (or, without them, its single In-Reply-To id) followed by its Message-ID.
    // Ids are taken only when they are valid msg-ids, so no received byte becomes a line break.
    const std::string id = original.message_id();
    std::vector<std::string> refs;
    for (auto& r : original.references())
        if (detail::is_msg_id(r)) refs.push_back(std::move(r));
    if (refs.empty() && detail::is_msg_id(original.in_reply_to())) refs.push_back(original.in_reply_to());
    if (detail::is_msg_id(id)) {
        refs.push_back(id);
        b.headers_.emplace_back("In-Reply-To", "<" + id + ">");
    }
    if (refs.size() > max_references)  // keep the root and the most recent
        refs.erase(refs.begin() + 1, refs.end() - static_cast<std::ptrdiff_t>(max_references - 1));
    if (!refs.empty()) {
        std::string v;
        for (const auto& r : refs) {
            if (!v.empty()) v += ' ';
            v += '<';
            v += r;
            v += '>';
        }
        b.headers_.emplace_back("References", std::move(v));
    }
    std::string attribution = "On ";
    if (auto d = original.date()) attribution += format_date(*d) + ", ";
    attribution += who(original) + " wrote:\n";
    b.text(attribution + quote_text(original_text(original)));
    return b;
}

message_builder message_builder::forward(const entity& original, bool as_attachment) {
    message_builder b;
    const std::string subject(detail::trim(detail::single_line_text(original.subject())));
    b.subject(starts_with_prefix(subject, "fwd:") ? subject : "Fwd: " + subject);
    if (as_attachment) {
        b.attach_message(original);
    } else {
        std::string t = "---------- Forwarded message ----------\n";
        t += "From: " + who(original) + "\n";
        if (auto d = original.date()) t += "Date: " + format_date(*d) + "\n";
        t += "Subject: " + subject + "\n";
        const auto to = writable(flatten(original.to()));
        if (!to.empty()) t += "To: " + address_header(to) + "\n";
        t += '\n';
        t += original_text(original);
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

    // A message (message/rfc822, attach_message or an .eml file) is never base64-encoded
    // (RFC 2046 §5.2.1): it goes as 7bit, or 8bit when it has 8-bit bytes (the SMTP client then
    // needs 8BITMIME). One with a NUL or a line over 998 octets is no RFC 5322 message and would
    // need BINARYMIME, which few servers offer: it is attached as application/octet-stream,
    // base64, under its file name, instead.
    auto leaf = [](const part& p, std::string_view disposition) {
        entity e;
        if (p.is_message) {
            e.set_embedded(p.msg);
            if (e.encoding() != transfer_encoding::binary) return e;
            part raw;
            raw.filename = "message.eml";
            raw.mime_type = "application/octet-stream";
            raw.data = to_string(p.msg);
            e = entity();
            set_type(e, raw.mime_type, {parameter{"name", raw.filename}});
            set_disposition(e, disposition, raw.filename);
            e.set_content(std::move(raw.data), transfer_encoding::base64);
            return e;
        }
        std::string type = p.mime_type;
        std::optional<transfer_encoding> enc;
        if (detail::is_composite(parse_content_type(type))) {
            enc = identity_encoding_of(p.path, p.data);
            if (*enc == transfer_encoding::binary) {
                type = "application/octet-stream";
                enc = transfer_encoding::base64;
            }
        } else if (!p.path.empty() || !parse_content_type(type).is("text")) {
            enc = transfer_encoding::base64;
        }
        std::vector<parameter> params;
        if (!p.filename.empty()) params.push_back(parameter{"name", p.filename});
        set_type(e, type, params);
        set_disposition(e, disposition, p.filename);
        if (!p.content_id.empty()) e.set("Content-ID", "<" + p.content_id + ">");
        if (!p.path.empty()) e.set_content_file(p.path, *enc);
        else e.set_content(p.data, enc);
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
    m.add("Message-ID", message_id_.empty() ? make_message_id(from_->domain_ascii()) : "<" + message_id_ + ">");
    for (const auto& [n, v] : headers_) m.add(n, v);
    m.add("MIME-Version", "1.0");
    for (const auto& h : content) m.add(h.name, h.value);
    return m;
}

}  // namespace mailwire::mime
