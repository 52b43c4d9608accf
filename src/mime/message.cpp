// The entity tree: typed header access, lazy decoding, building from parser events, mbox reading.
#include "mailwire/mime/message.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>
#include <random>

#include "detail_composite.hpp"
#include "detail_model.hpp"
#include "detail_rfc2047.hpp"
#include "detail_text.hpp"
#include "mailwire/error.hpp"
#include "mailwire/mime/charset.hpp"
#include "mailwire/mime/mbox.hpp"
#include "mailwire/mime/rfc2047.hpp"
#include "mailwire/mime/serializer.hpp"

namespace mailwire::mime {

namespace detail {

std::string random_hex(std::size_t bytes) {
    static thread_local std::mt19937_64 gen([] {
        std::random_device rd;
        std::seed_seq seq{rd(), rd(), rd(), rd(), rd(), rd(), rd(), rd()};
        return std::mt19937_64(seq);
    }());
    std::string out;
    out.reserve(bytes * 2);
    for (std::size_t i = 0; i < bytes; ++i) {
        const auto b = static_cast<unsigned>(gen() & 0xFF);
        out += hex_upper[b >> 4];
        out += hex_upper[b & 15];
    }
    return out;
}

std::string unfold(std::string_view v) {
    std::string out;
    out.reserve(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) {
        if (v[i] == '\r' && i + 1 < v.size() && v[i + 1] == '\n') continue;
        if (v[i] == '\n') continue;
        out += v[i];
    }
    return out;
}

// Message ids in a header value: "<a@b> <c@d>" → {"a@b", "c@d"}; ids without brackets are taken
// word by word.
std::vector<std::string> message_ids(std::string_view v) {
    std::vector<std::string> ids;
    std::size_t i = 0;
    while (i < v.size()) {
        if (v[i] == '(') {  // comment
            int level = 0;
            for (; i < v.size(); ++i) {
                if (v[i] == '\\') {
                    ++i;
                    continue;
                }
                if (v[i] == '(') ++level;
                if (v[i] == ')' && --level == 0) break;
            }
            ++i;
            continue;
        }
        if (v[i] == '<') {
            const std::size_t end = v.find('>', i + 1);
            const std::string_view id =
                v.substr(i + 1, end == std::string_view::npos ? std::string_view::npos : end - i - 1);
            std::string s(trim(id));
            if (!s.empty()) ids.push_back(std::move(s));
            if (end == std::string_view::npos) break;
            i = end + 1;
            continue;
        }
        if (is_blank(v[i]) || v[i] == ',') {
            ++i;
            continue;
        }
        std::size_t j = i;
        while (j < v.size() && !is_blank(v[j]) && v[j] != '<' && v[j] != ',' && v[j] != '(') ++j;
        const std::string_view word = v.substr(i, j - i);
        if (word.find('@') != std::string_view::npos) ids.emplace_back(word);
        i = j;
    }
    return ids;
}

bool is_dot_atom_text(std::string_view s) noexcept {
    if (s.empty() || s.front() == '.' || s.back() == '.') return false;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '.') {
            if (s[i + 1] == '.') return false;  // s.back() != '.', so i + 1 is in range
        } else if (!is_atext(s[i])) {
            return false;
        }
    }
    return true;
}

bool is_domain(std::string_view s) noexcept {
    if (s.size() >= 2 && s.front() == '[' && s.back() == ']') {
        // dtext = %d33-90 / %d94-126 (RFC 5322 §3.4.1), plus UTF-8 (RFC 6532).
        for (const char c : s.substr(1, s.size() - 2)) {
            const auto u = static_cast<unsigned char>(c);
            if (u < 33 || u == 127 || c == '[' || c == ']' || c == '\\') return false;
        }
        return true;
    }
    return is_dot_atom_text(s);
}

bool is_msg_id(std::string_view id) noexcept {
    if (id.size() > max_msg_id_length) return false;
    const auto at = id.rfind('@');
    if (at == std::string_view::npos) return false;
    return is_dot_atom_text(id.substr(0, at)) && is_domain(id.substr(at + 1));
}

std::string checked_msg_id(std::string_view id, std::string_view what) {
    std::string_view core = id;
    if (core.size() >= 2 && core.front() == '<' && core.back() == '>') core = core.substr(1, core.size() - 2);
    if (!is_msg_id(core))
        throw error(errc::invalid_argument, std::string(what) + ": not a message id of the form <left@right>");
    return std::string(core);
}

bool is_composite(const content_type& ct) noexcept {
    if (ct.is("multipart")) return true;
    return ct.is("message") && !ct.subtype.starts_with("global");  // RFC 6532 §3.5 allows encoding those
}

bool is_identity(transfer_encoding e) noexcept {
    return e == transfer_encoding::seven_bit || e == transfer_encoding::eight_bit || e == transfer_encoding::binary;
}

void check_composite_encoding(const content_type& ct, transfer_encoding e) {
    if (is_composite(ct) && !is_identity(e))
        throw error(errc::invalid_argument,
                    "Content-Transfer-Encoding " +
                        std::string(e == transfer_encoding::unknown ? "(unknown)" : to_string(e)) +
                        " is not allowed for " + ct.mime_type() +
                        ": a multipart or message body is 7bit, 8bit or binary (RFC 2045 §6.4, RFC 2046 §5.2.1)");
}

void identity_scan::feed(std::string_view bytes) noexcept {
    for (const char c : bytes) {
        const auto u = static_cast<unsigned char>(c);
        if (c == '\r' || c == '\n') {
            line_ = 0;
            continue;
        }
        if (++line_ > 998 || u == 0) binary_ = true;
        if (u >= 0x80) eight_ = true;
    }
}

transfer_encoding identity_scan::result() const noexcept {
    if (binary_) return transfer_encoding::binary;
    return eight_ ? transfer_encoding::eight_bit : transfer_encoding::seven_bit;
}

}  // namespace detail

namespace {
// A header change that would give a composite entity an encoded body is refused before
// anything changes: `name`/`value` is the field about to be set (set) or appended (add, which
// then counts, as the last one does).
void check_encoding_change(const entity& e, std::string_view name, std::string_view value) {
    const bool is_type = detail::iequals(name, "content-type");
    const bool is_cte = detail::iequals(name, "content-transfer-encoding");
    if (!is_type && !is_cte) return;
    detail::check_composite_encoding(is_type ? parse_content_type(value) : e.content_type(),
                                     is_cte ? parse_transfer_encoding(value) : e.encoding());
}
}  // namespace

std::string header::unfolded() const { return detail::unfold(value); }

entity::entity() = default;
entity::~entity() = default;
entity::entity(entity&&) noexcept = default;
entity& entity::operator=(entity&&) noexcept = default;

entity::entity(const entity& o)
    : headers_(o.headers_), separator_(o.separator_), kind_(o.kind_), parsed_(o.parsed_),
      digest_child_(o.digest_child_), body_(o.body_), has_content_(o.has_content_), content_(o.content_),
      content_file_(o.content_file_), preamble_(o.preamble_), epilogue_(o.epilogue_), parts_(o.parts_),
      delimiters_(o.delimiters_), close_(o.close_), parts_added_(o.parts_added_),
      embedded_(o.embedded_ ? std::make_unique<entity>(*o.embedded_) : nullptr) {}

entity& entity::operator=(const entity& o) {
    if (this != &o) {
        entity copy(o);
        *this = std::move(copy);
    }
    return *this;
}

const header* entity::find(std::string_view name) const {
    for (const auto& h : headers_)
        if (detail::iequals(h.name, name)) return &h;
    return nullptr;
}

std::string entity::get(std::string_view name) const {
    const header* h = find(name);
    return h != nullptr ? std::string(detail::trim(h->unfolded())) : std::string();
}

std::vector<std::string> entity::get_all(std::string_view name) const {
    std::vector<std::string> out;
    for (const auto& h : headers_)
        if (detail::iequals(h.name, name)) out.emplace_back(detail::trim(h.unfolded()));
    return out;
}

void entity::set(std::string_view name, std::string value) {
    detail::check_header_field(name, value);  // before anything changes
    check_encoding_change(*this, name, value);
    bool done = false;
    for (auto it = headers_.begin(); it != headers_.end();) {
        if (!detail::iequals(it->name, name)) {
            ++it;
            continue;
        }
        if (done) {
            it = headers_.erase(it);
            continue;
        }
        it->name = std::string(name);
        it->value = std::move(value);
        it->raw.clear();
        done = true;
        ++it;
    }
    if (!done) add(std::string(name), std::move(value));
}

void entity::add(std::string name, std::string value) {
    detail::check_header_field(name, value);
    check_encoding_change(*this, name, value);
    headers_.push_back(header{std::move(name), std::move(value), {}});
}

std::size_t entity::remove(std::string_view name) {
    const auto before = headers_.size();
    std::erase_if(headers_, [&](const header& h) { return detail::iequals(h.name, name); });
    return before - headers_.size();
}

namespace {
// The last field named `name`: the parser lets the last Content-Type/-Transfer-Encoding count.
const header* find_last(const std::vector<header>& hs, std::string_view name) {
    const header* found = nullptr;
    for (const auto& h : hs)
        if (detail::iequals(h.name, name)) found = &h;
    return found;
}
}  // namespace

mime::content_type entity::content_type() const {
    const header* h = find_last(headers_, "content-type");
    if (h != nullptr) return parse_content_type(h->value);
    mime::content_type ct;
    if (digest_child_) {
        ct.type = "message";
        ct.subtype = "rfc822";
    }
    return ct;
}

content_disposition entity::disposition() const {
    const header* h = find("content-disposition");
    return h != nullptr ? parse_content_disposition(h->value) : content_disposition{};
}

transfer_encoding entity::encoding() const {
    const header* h = find_last(headers_, "content-transfer-encoding");
    return h != nullptr ? parse_transfer_encoding(h->value) : transfer_encoding::seven_bit;
}

std::string entity::subject() const {
    const header* h = find("subject");
    return h != nullptr ? decode_header_text(h->value) : std::string();
}

std::vector<address> entity::from() const { return parse_address_list(get("from")); }
std::vector<address> entity::to() const { return parse_address_list(get("to")); }
std::vector<address> entity::cc() const { return parse_address_list(get("cc")); }
std::vector<address> entity::reply_to() const { return parse_address_list(get("reply-to")); }

std::optional<date_time> entity::date() const {
    const header* h = find("date");
    if (h == nullptr) return std::nullopt;
    return parse_date(h->unfolded());
}

std::string entity::message_id() const {
    auto ids = detail::message_ids(get("message-id"));
    return ids.empty() ? std::string() : ids.front();
}

std::string entity::in_reply_to() const {
    auto ids = detail::message_ids(get("in-reply-to"));
    return ids.empty() ? std::string() : ids.front();
}

std::vector<std::string> entity::references() const { return detail::message_ids(get("references")); }

std::string entity::content_id() const {
    auto ids = detail::message_ids(get("content-id"));
    if (!ids.empty()) return ids.front();
    return std::string(detail::trim(get("content-id")));
}

std::string entity::filename() const {
    std::string name = disposition().filename();
    if (name.empty()) name = content_type().param("name");
    return name;
}

void entity::make_multipart(std::string_view subtype) {
    mime::content_type ct;
    ct.type = "multipart";
    ct.subtype = detail::to_lower(subtype);
    ct.set_param("boundary", "=_mw_" + detail::random_hex(12));
    remove("Content-Transfer-Encoding");  // first: a multipart is never encoded (RFC 2046 §5.1)
    set("Content-Type", format_content_type(ct));
    kind_ = part_kind::multipart;
    body_.clear();
    has_content_ = false;
    content_.clear();
    content_file_.clear();
    embedded_.reset();
}

entity& entity::add_part(entity part) {
    if (kind_ != part_kind::multipart)
        throw error(errc::invalid_argument, "add_part on an entity that is not a multipart");
    parts_.push_back(std::move(part));
    delimiters_.emplace_back();
    parts_added_ = true;
    return parts_.back();
}

void entity::set_embedded(entity msg) {
    // RFC 2046 §5.2.1: 7bit, 8bit or binary only, declared from what the message holds (it is
    // written once, into a scanner, not into memory).
    class scan_output final : public output {
    public:
        void write(std::string_view b) override { scan.feed(b); }
        detail::identity_scan scan;
    } scan;
    serialize(msg, scan);
    remove("Content-Transfer-Encoding");
    set("Content-Type", "message/rfc822");
    if (const auto enc = scan.scan.result(); enc != transfer_encoding::seven_bit)
        set("Content-Transfer-Encoding", std::string(to_string(enc)));
    kind_ = part_kind::message;
    body_.clear();
    has_content_ = false;
    parts_.clear();
    delimiters_.clear();
    embedded_ = std::make_unique<entity>(std::move(msg));
}

namespace {
std::string read_whole_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw error(errc::io_error, "cannot open " + path);
    std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return s;
}
}  // namespace

std::string entity::decoded_body() const {
    if (has_content_) return content_file_.empty() ? content_ : read_whole_file(content_file_);
    auto dec = make_decoder(encoding());
    std::string out;
    out.reserve(body_.size());
    dec->decode(body_, out);
    dec->finish(out);
    return out;
}

std::string entity::text() const { return to_utf8(decoded_body(), content_type().param("charset")).text; }

void entity::set_content(std::string data, std::optional<transfer_encoding> enc) {
    const mime::content_type ct = content_type();
    transfer_encoding e = transfer_encoding::seven_bit;
    if (enc) {
        e = *enc;
    } else if (detail::is_composite(ct)) {  // never base64 or quoted-printable: scan it all
        detail::identity_scan scan;
        scan.feed(data);
        e = scan.result();
    } else {
        e = choose_encoding(std::string_view(data).substr(0, 256 * 1024), ct.is("text"));
    }
    detail::check_composite_encoding(ct, e);  // an explicit base64 for message/rfc822 is refused
    set("Content-Transfer-Encoding", std::string(to_string(e)));
    kind_ = part_kind::leaf;
    body_.clear();
    parts_.clear();
    delimiters_.clear();
    embedded_.reset();
    has_content_ = true;
    content_ = std::move(data);
    content_file_.clear();
}

void entity::set_content_file(std::string path, transfer_encoding e) {
    set_content({}, e);
    content_file_ = std::move(path);
}

void entity::set_text(std::string_view utf8, std::string_view subtype) {
    std::string crlf;
    crlf.reserve(utf8.size() + utf8.size() / 32);
    for (std::size_t i = 0; i < utf8.size(); ++i) {
        if (utf8[i] == '\n' && (i == 0 || utf8[i - 1] != '\r')) crlf += '\r';
        crlf += utf8[i];
    }
    mime::content_type ct;
    ct.type = "text";
    ct.subtype = detail::to_lower(subtype);
    ct.set_param("charset", "utf-8");
    set("Content-Type", format_content_type(ct));
    set_content(std::move(crlf));
}

void entity::walk(const std::function<void(const entity&, std::size_t)>& f, std::size_t depth) const {
    f(*this, depth);
    for (const auto& p : parts_) p.walk(f, depth + 1);
    if (embedded_) embedded_->walk(f, depth + 1);
}

std::vector<const entity*> entity::attachments() const {
    std::vector<const entity*> out;
    walk([&](const entity& e, std::size_t) {
        if (!e.is_leaf()) return;
        const auto d = e.disposition();
        if (d.is_attachment() || (!e.filename().empty() && !(d.is_inline() && e.content_type().is("text"))))
            out.push_back(&e);
    });
    return out;
}

const entity* entity::find_text(std::string_view subtype) const {
    const entity* found = nullptr;
    walk([&](const entity& e, std::size_t) {
        if (found != nullptr || !e.is_leaf()) return;
        if (e.content_type().is("text", subtype) && !e.disposition().is_attachment()) found = &e;
    });
    return found;
}

// ---- building from events ----------------------------------------------------------------------

tree_builder::tree_builder(std::function<void(message&&)> on_message) : on_message_(std::move(on_message)) {}

void tree_builder::on_message_begin(std::string_view from_line) {
    current_ = message();
    current_.envelope_ = std::string(from_line);
    stack_.clear();
    delimiter_.clear();
}

void tree_builder::on_part_begin(const part_head& head) {
    entity* e = nullptr;
    if (stack_.empty()) {
        e = &current_;
    } else {
        entity* parent = stack_.back();
        if (parent->kind_ == part_kind::multipart) {
            parent->parts_.emplace_back();
            parent->delimiters_.push_back(std::move(delimiter_));
            delimiter_.clear();
            e = &parent->parts_.back();
        } else {
            parent->embedded_ = std::make_unique<entity>();
            e = parent->embedded_.get();
        }
    }
    e->headers_.reserve(head.headers().size());
    for (const auto& f : head.headers())
        e->headers_.push_back(header{std::string(f.name), std::string(f.value), std::string(f.raw)});
    e->separator_ = std::string(head.separator);
    e->kind_ = head.kind;
    e->parsed_ = true;
    e->digest_child_ = head.find("content-type") == nullptr && head.type->is_message();
    stack_.push_back(e);
}

void tree_builder::on_body(std::string_view raw) { stack_.back()->body_.append(raw); }
void tree_builder::on_preamble(std::string_view raw) { stack_.back()->preamble_.append(raw); }
void tree_builder::on_epilogue(std::string_view raw) { stack_.back()->epilogue_.append(raw); }

void tree_builder::on_boundary(std::string_view raw, bool close) {
    // Doubled delimiter lines (no part between them) stay with the next delimiter.
    delimiter_.append(raw);
    if (close) {
        stack_.back()->close_ = std::move(delimiter_);
        delimiter_.clear();
    }
}

void tree_builder::on_part_end() {
    entity* e = stack_.back();
    if (!delimiter_.empty() && e->kind_ == part_kind::multipart) {  // a delimiter no part followed
        e->close_.insert(0, delimiter_);
        delimiter_.clear();
    }
    stack_.pop_back();
}

void tree_builder::on_message_end(std::string_view trailer) {
    current_.trailer_ = std::string(trailer);
    on_message_(std::move(current_));
    current_ = message();
}

message message::parse(std::string_view bytes, const parser_options& options) {
    message result;
    tree_builder b([&](message&& m) { result = std::move(m); });
    parser_options opt = options;
    opt.format = input_format::message;
    opt.decode = false;
    parser p(b, opt);
    p.feed(bytes);
    p.finish();
    return result;
}

message message::load(const std::string& path, const parser_options& options) {
    message result;
    tree_builder b([&](message&& m) { result = std::move(m); });
    parser_options opt = options;
    opt.format = input_format::message;
    opt.decode = false;
    parse_file(path, b, opt);
    return result;
}

void message::set_envelope(std::string line) {
    if (!line.empty()) {
        std::string_view body(line);
        if (body.back() == '\n') body.remove_suffix(1);
        if (!body.empty() && body.back() == '\r') body.remove_suffix(1);
        const bool one_line = body.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
        if (line.back() != '\n' || !one_line || body.substr(0, 5) != "From ")
            throw error(errc::invalid_argument,
                        "mbox envelope must be a single \"From \" line ending in LF or CRLF, without NUL");
    }
    envelope_ = std::move(line);
}

// ---- mbox ----------------------------------------------------------------------------------------

struct mbox_reader::impl {
    int fd = -1;
    bool eof = false;
    std::deque<message> ready;
    tree_builder builder;
    parser p;
    std::unique_ptr<char[]> buf;

    impl(const std::string& path, parser_options opt)
        : builder([this](message&& m) { ready.push_back(std::move(m)); }), p(builder, with_mbox(opt)),
          buf(new char[256 * 1024]) {
        fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) throw error(errc::io_error, "cannot open " + path + ": " + std::strerror(errno));
    }
    ~impl() {
        if (fd >= 0) ::close(fd);
    }
    static parser_options with_mbox(parser_options o) {
        o.format = input_format::mbox;
        o.decode = false;
        return o;
    }
};

mbox_reader::mbox_reader(const std::string& path, parser_options options)
    : impl_(std::make_unique<impl>(path, options)) {}
mbox_reader::~mbox_reader() = default;

std::optional<message> mbox_reader::next() {
    while (impl_->ready.empty() && !impl_->eof) {
        const ssize_t n = ::read(impl_->fd, impl_->buf.get(), 256 * 1024);
        if (n < 0) {
            if (errno == EINTR) continue;
            throw error(errc::io_error, std::string("read failed: ") + std::strerror(errno));
        }
        if (n == 0) {
            impl_->eof = true;
            impl_->p.finish();
        } else {
            impl_->p.feed(std::string_view(impl_->buf.get(), static_cast<std::size_t>(n)));
        }
    }
    if (impl_->ready.empty()) return std::nullopt;
    message m = std::move(impl_->ready.front());
    impl_->ready.pop_front();
    return m;
}

}  // namespace mailwire::mime
