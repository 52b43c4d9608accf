// Streaming MIME parser. Body bytes are never copied: the content scanner jumps between candidate
// line starts with a vector search (simd_decode.hpp), looks only at line starts, and hands out
// views of the caller's buffer. Only three small things are copied: header blocks (to report them
// whole), the line ending before a line start (it may belong to a delimiter) and a short
// incomplete line that could still turn out to be a delimiter or an mbox "From " line.
#include "mailwire/mime/parser.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>

#include "detail_text.hpp"
#include "mailwire/error.hpp"
#include "mime/simd_decode.hpp"

namespace mailwire::mime {

parser_handler::~parser_handler() = default;
void parser_handler::on_message_begin(std::string_view) {}
void parser_handler::on_part_begin(const part_head&) {}
void parser_handler::on_body(std::string_view) {}
void parser_handler::on_decoded(std::string_view) {}
void parser_handler::on_preamble(std::string_view) {}
void parser_handler::on_boundary(std::string_view, bool) {}
void parser_handler::on_epilogue(std::string_view) {}
void parser_handler::on_part_end() {}
void parser_handler::on_message_end(std::string_view) {}

const header_field* part_head::find(std::string_view name) const {
    if (fields == nullptr) return nullptr;
    for (const auto& f : *fields)
        if (detail::iequals(f.name, name)) return &f;
    return nullptr;
}

namespace {

// A delimiter line longer than this is not a delimiter (bounds what is held back).
constexpr std::size_t max_delimiter_line = 4096;

enum class state { headers, content };
enum class content_kind { body, preamble, epilogue };
enum class line_class { none, more, delimiter, from, quoted_from };

struct frame {
    std::size_t depth = 0;
    bool digest = false;         // multipart/digest: parts default to message/rfc822
    bool has_delimiter = false;  // its delimiter is on the stack (open, not yet closed)
    bool begun = false;          // on_part_begin was reported
};

struct delimiter {
    std::string text;  // "--" + boundary
    std::size_t frame = 0;
};

struct field_pos {
    std::size_t raw_begin, name_end, value_begin, raw_end;
};

bool identity_encoding(transfer_encoding e) {
    return e == transfer_encoding::seven_bit || e == transfer_encoding::eight_bit || e == transfer_encoding::binary;
}

std::size_t eol_length(std::string_view line) {
    if (!line.empty() && line.back() == '\n') return line.size() >= 2 && line[line.size() - 2] == '\r' ? 2 : 1;
    return 0;
}

[[noreturn]] void limit(const std::string& what) {
    error_context ctx;
    ctx.stage = stage::parse;
    ctx.hint = "raise the limit in mime::parser_limits if this input is trusted";
    throw parse_error(errc::limit_exceeded, what, std::move(ctx));
}

}  // namespace

struct parser::impl {
    parser_handler& h;
    parser_options opt;

    state st = state::headers;
    content_kind ck = content_kind::body;
    std::vector<frame> frames;
    std::vector<delimiter> delims;

    // Header block of the innermost frame while st == headers.
    std::string hdr;
    std::size_t line_start = 0;
    std::vector<field_pos> fieldpos;
    std::vector<header_field> fields;
    bool first_line = true;
    bool msg_begun = false;

    // Content scanning.
    char pending[2] = {0, 0};  // line ending held back: it belongs to a delimiter if one follows
    std::size_t pending_len = 0;
    bool at_line_start = true;
    std::string carry, work;

    std::unique_ptr<decoder> dec;
    std::string decoded;
    std::size_t parts = 0;
    std::size_t messages_done = 0;

    impl(parser_handler& handler, parser_options o) : h(handler), opt(o) { start_message(); }

    void start_message() {
        frames.clear();
        delims.clear();
        frames.push_back(frame{});
        st = state::headers;
        hdr.clear();
        line_start = 0;
        fieldpos.clear();
        first_line = true;
        msg_begun = false;
        pending_len = 0;
        at_line_start = true;
        dec.reset();
        parts = 0;
    }

    void reset() {
        carry.clear();
        start_message();
    }

    // ---- output -------------------------------------------------------------------------------

    void emit(std::string_view s) {
        if (s.empty()) return;
        switch (ck) {
        case content_kind::body:
            h.on_body(s);
            if (opt.decode) {
                if (dec) {
                    // Decode in slices: the output buffer stays small and in cache instead
                    // of growing with the mapped window (4 MiB of base64 would make 3 MiB).
                    constexpr std::size_t slice = 64 * 1024;
                    for (std::size_t off = 0; off < s.size(); off += slice) {
                        decoded.clear();
                        dec->decode(s.substr(off, slice), decoded);
                        if (!decoded.empty()) h.on_decoded(decoded);
                    }
                } else {
                    h.on_decoded(s);
                }
            }
            break;
        case content_kind::preamble:
            h.on_preamble(s);
            break;
        case content_kind::epilogue:
            h.on_epilogue(s);
            break;
        }
    }

    void emit_pending() {
        if (pending_len) {
            emit(std::string_view(pending, pending_len));
            pending_len = 0;
        }
    }

    // ---- structure ----------------------------------------------------------------------------

    void begin_message(std::string_view from_line) {
        msg_begun = true;
        h.on_message_begin(from_line);
    }

    void push_frame(std::size_t depth) {
        if (depth > opt.limits.max_depth)
            limit("MIME nesting deeper than " + std::to_string(opt.limits.max_depth) + " levels");
        frame f;
        f.depth = depth;
        frames.push_back(f);
        st = state::headers;
        hdr.clear();
        line_start = 0;
        fieldpos.clear();
        first_line = false;
    }

    void enter_content(content_kind k) {
        st = state::content;
        ck = k;
        at_line_start = true;
        pending_len = 0;
    }

    // Reports on_part_begin for the innermost frame from the header block; returns the kind.
    part_kind begin_part(std::string_view separator, std::string& boundary_out) {
        frame& f = frames.back();
        fields.clear();
        fields.reserve(fieldpos.size());
        const std::string_view all(hdr);
        for (const auto& fp : fieldpos) {
            header_field hf;
            hf.name = all.substr(fp.raw_begin, fp.name_end - fp.raw_begin);
            hf.raw = all.substr(fp.raw_begin, fp.raw_end - fp.raw_begin);
            const std::size_t value_end = fp.raw_end - eol_length(hf.raw);
            hf.value = all.substr(fp.value_begin, value_end > fp.value_begin ? value_end - fp.value_begin : 0);
            fields.push_back(hf);
        }
        part_head head;
        head.fields = &fields;
        head.separator = separator;
        content_type ct;
        // The last Content-Type / Content-Transfer-Encoding wins, as in GMime.
        const header_field* ctf = nullptr;
        const header_field* cte = nullptr;
        for (const auto& hf : fields) {
            if (detail::iequals(hf.name, "content-type")) ctf = &hf;
            if (detail::iequals(hf.name, "content-transfer-encoding")) cte = &hf;
        }
        if (ctf != nullptr) {
            ct = parse_content_type(ctf->value);
        } else if (frames.size() >= 2 && frames[frames.size() - 2].digest) {
            ct.type = "message";
            ct.subtype = "rfc822";
        }
        if (cte != nullptr) head.encoding = parse_transfer_encoding(cte->value);
        boundary_out.clear();
        part_kind kind = part_kind::leaf;
        if (ct.is_multipart()) {
            boundary_out = ct.param("boundary");
            if (!boundary_out.empty()) kind = part_kind::multipart;
        } else if ((ct.is_message() || ct.is("message", "news")) && identity_encoding(head.encoding)) {
            kind = part_kind::message;
        }
        if (++parts > opt.limits.max_parts)
            limit("more than " + std::to_string(opt.limits.max_parts) + " MIME parts in one message");
        head.type = &ct;
        head.kind = kind;
        head.boundary = boundary_out;
        head.depth = f.depth;
        f.digest = ct.is("multipart", "digest");
        f.begun = true;
        h.on_part_begin(head);
        if (kind == part_kind::leaf && opt.decode && !identity_encoding(head.encoding) &&
            head.encoding != transfer_encoding::unknown)
            dec = make_decoder(head.encoding);
        return kind;
    }

    // Headers complete (separator may be ""): report and move to the part's content.
    void end_headers(std::string_view separator) {
        std::string boundary;
        const part_kind kind = begin_part(separator, boundary);
        hdr.clear();
        line_start = 0;
        fieldpos.clear();
        switch (kind) {
        case part_kind::multipart:
            delims.push_back(delimiter{"--" + boundary, frames.size() - 1});
            frames.back().has_delimiter = true;
            enter_content(content_kind::preamble);
            break;
        case part_kind::message:
            push_frame(frames.back().depth + 1);
            break;
        case part_kind::leaf:
            enter_content(content_kind::body);
            break;
        }
    }

    void end_frame() {
        if (!frames.back().begun && hdr.empty() && fieldpos.empty() && frames.size() > 1 &&
            frames[frames.size() - 2].has_delimiter) {
            // A delimiter with nothing after it (end of input, or an outer delimiter): no part,
            // as in GMime. Its bytes were reported through on_boundary.
            frames.pop_back();
            return;
        }
        if (!frames.back().begun) {
            std::string boundary;
            begin_part({}, boundary);
        }
        if (dec) {
            decoded.clear();
            dec->finish(decoded);
            if (!decoded.empty()) h.on_decoded(decoded);
            dec.reset();
        }
        if (frames.back().has_delimiter) delims.pop_back();
        frames.pop_back();
        h.on_part_end();
    }

    void end_message(std::string_view trailer) {
        if (!msg_begun) begin_message({});
        while (!frames.empty()) end_frame();
        h.on_message_end(trailer);
        ++messages_done;
        start_message();
    }

    void handle_delimiter(std::size_t index, bool close, std::string_view raw) {
        const std::size_t owner = delims[index].frame;
        while (frames.size() > owner + 1) end_frame();
        h.on_boundary(raw, close);
        if (close) {
            delims.pop_back();
            frames.back().has_delimiter = false;
            enter_content(content_kind::epilogue);
        } else {
            push_frame(frames.back().depth + 1);
        }
    }

    // `text` is a line without its line ending. A delimiter is "--" boundary followed only by
    // blanks; "--" boundary "--" and blanks closes. Innermost first, close before open (GMime's
    // order), which tells an inner boundary that is a prefix of an outer one apart.
    bool match_delimiter(std::string_view text, std::size_t& index, bool& close) const {
        auto blanks = [](std::string_view s) {
            for (char c : s)
                if (c != ' ' && c != '\t' && c != '\r') return false;
            return true;
        };
        for (std::size_t i = delims.size(); i-- > 0;) {
            const std::string& d = delims[i].text;
            if (text.size() < d.size() || text.compare(0, d.size(), d) != 0) continue;
            const std::string_view rest = text.substr(d.size());
            if (rest.size() >= 2 && rest[0] == '-' && rest[1] == '-' && blanks(rest.substr(2))) {
                index = i;
                close = true;
                return true;
            }
            if (blanks(rest)) {
                index = i;
                close = false;
                return true;
            }
        }
        return false;
    }

    // ---- headers ------------------------------------------------------------------------------

    const char* scan_headers(const char* p, const char* e, bool final) {
        while (p < e) {
            const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(e - p)));
            const char* end = nl != nullptr ? nl + 1 : e;
            hdr.append(p, static_cast<std::size_t>(end - p));
            p = end;
            if (hdr.size() - line_start > opt.limits.max_line_length)
                limit("header line longer than " + std::to_string(opt.limits.max_line_length) + " bytes");
            if (hdr.size() > opt.limits.max_header_bytes)
                limit("header block larger than " + std::to_string(opt.limits.max_header_bytes) + " bytes");
            if (nl == nullptr) return p;
            if (header_line(final)) return p;
        }
        return p;
    }

    // The line hdr[line_start..] is complete. Returns true when the state changed.
    bool header_line(bool final) {
        const std::string_view line = std::string_view(hdr).substr(line_start);
        const std::string_view text = line.substr(0, line.size() - eol_length(line));
        const bool is_from = text.size() >= 5 && text.compare(0, 5, "From ") == 0;
        if (first_line) {
            first_line = false;
            if (is_from && frames.size() == 1) {
                begin_message(line);
                hdr.clear();
                line_start = 0;
                return false;
            }
            begin_message({});
        }
        if (text.empty()) {  // blank line: end of the header block
            end_headers(line);
            return true;
        }
        if (detail::is_wsp(text[0]) && !fieldpos.empty()) {  // folded continuation (RFC 5322 §2.2.3)
            fieldpos.back().raw_end = hdr.size();
            line_start = hdr.size();
            return false;
        }
        if (is_from && opt.format == input_format::mbox) {
            std::string l(line);
            hdr.resize(line_start);
            end_headers({});
            end_message({});
            hdr = std::move(l);
            line_start = 0;
            header_line(final);
            return true;
        }
        if (text.size() >= 2 && text[0] == '-' && text[1] == '-' && !delims.empty() &&
            text.size() < max_delimiter_line) {
            std::size_t index = 0;
            bool close = false;
            if (match_delimiter(text, index, close)) {
                std::string l(line);
                if (line_start == 0 && frames.size() > 1 && !frames.back().begun) {
                    // A delimiter right after a delimiter: the doubled line is one delimiter, no
                    // empty part in between (GMime does the same).
                    frames.pop_back();
                    hdr.clear();
                    handle_delimiter(index, close, l);
                    return true;
                }
                hdr.resize(line_start);
                end_headers({});
                handle_delimiter(index, close, l);
                return true;
            }
        }
        std::size_t i = 0;
        while (i < text.size() && static_cast<unsigned char>(text[i]) > 32 &&
               static_cast<unsigned char>(text[i]) < 127 && text[i] != ':')
            ++i;
        const std::size_t name_end = i;
        while (i < text.size() && detail::is_wsp(text[i])) ++i;
        if (name_end > 0 && i < text.size() && text[i] == ':') {
            ++i;
            while (i < text.size() && detail::is_wsp(text[i])) ++i;
            fieldpos.push_back(field_pos{line_start, line_start + name_end, line_start + i, hdr.size()});
            line_start = hdr.size();
            return false;
        }
        // Not a field (no colon, 8-bit or empty name, a continuation with nothing to continue):
        // kept raw as a nameless field and skipped, as GMime does. The header block goes on.
        fieldpos.push_back(field_pos{line_start, line_start, line_start, hdr.size()});
        line_start = hdr.size();
        return false;
    }

    // ---- content ------------------------------------------------------------------------------

    line_class classify(const char* q, const char* e, bool final, const char*& line_end, std::size_t& index,
                        bool& close) const {
        const char c = *q;
        if (c == '-') {
            if (delims.empty()) return line_class::none;
            if (q + 1 < e && q[1] != '-') return line_class::none;
            const char* nl = static_cast<const char*>(std::memchr(q, '\n', static_cast<std::size_t>(e - q)));
            if (nl == nullptr && !final)
                return static_cast<std::size_t>(e - q) < max_delimiter_line ? line_class::more : line_class::none;
            const char* text_end = nl != nullptr ? nl : e;
            line_end = nl != nullptr ? nl + 1 : e;
            if (static_cast<std::size_t>(text_end - q) >= max_delimiter_line) return line_class::none;
            return match_delimiter(std::string_view(q, static_cast<std::size_t>(text_end - q)), index, close)
                       ? line_class::delimiter
                       : line_class::none;
        }
        if (opt.format != input_format::mbox) return line_class::none;
        const char* r = q;
        line_class hit = line_class::from;
        if (c == '>') {
            if (!opt.unquote_from) return line_class::none;
            while (r < e && *r == '>') ++r;
            hit = line_class::quoted_from;
        } else if (c != 'F') {
            return line_class::none;
        }
        static constexpr std::string_view from = "From ";
        for (std::size_t i = 0; i < from.size(); ++i, ++r) {
            if (r == e) return final ? line_class::none : line_class::more;
            if (*r != from[i]) return line_class::none;
        }
        return hit;
    }

    // Emits content before the line ending that precedes line start `q`; returns that line ending.
    std::string eol_before(const char* run, const char* q) {
        std::string eol;
        if (q == run) {
            eol.assign(pending, pending_len);
            pending_len = 0;
            return eol;
        }
        std::size_t n = 0;
        if (q[-1] == '\n') n = (q - 2 >= run && q[-2] == '\r') ? 2 : 1;
        emit_pending();
        emit(std::string_view(run, static_cast<std::size_t>(q - n - run)));
        eol.assign(q - n, n);
        return eol;
    }

    // The first line start after a '\n' in [p, e) that begins with "--" (dash) or "From " (mbox),
    // nullptr when none lies wholly inside. One pass for both (two memmem calls were half of the
    // parse time): the vector kernel finds '\n' followed by '-' or 'F', then the candidate is
    // checked here.
    static const char* scan_line_starts(const char* p, const char* e, bool dash, bool mbox) {
        const detail::simd_kernels& k = detail::active_kernels();
        const char c1 = dash ? '-' : 'F';
        const char c2 = mbox ? 'F' : '-';
        for (;;) {
            const char* nl = k.find_nl_then(p, e, c1, c2);
            if (nl == e) return nullptr;
            const char* s = nl + 1;
            const auto left = static_cast<std::size_t>(e - s);
            if (dash && left >= 2 && s[0] == '-' && s[1] == '-') return s;
            if (mbox && left >= 5 && std::memcmp(s, "From ", 5) == 0) return s;
            p = s;
        }
    }

    // The start of the next line after `from` that begins with "--" (when a multipart is open),
    // "From " or ">" (mbox); nullptr when none starts in [from, e).
    const char* next_candidate(const char* from, const char* e) const {
        const char* best = nullptr;
        const bool dash = !delims.empty();
        const bool mbox = opt.format == input_format::mbox;
        if (dash || mbox) best = scan_line_starts(from, e, dash, mbox);
        if (mbox) {
            if (opt.unquote_from) {
                const char* limit = best != nullptr ? best : e;
                const void* h = std::memchr(from, '>', static_cast<std::size_t>(limit - from));
                while (h != nullptr) {
                    const char* g = static_cast<const char*>(h);
                    if (g > from && g[-1] == '\n') {
                        best = g;
                        break;
                    }
                    h = std::memchr(g + 1, '>', static_cast<std::size_t>(limit - g - 1));
                }
            }
        }
        return best;
    }

    struct content_result {
        const char* p;
        bool carry;
    };

    content_result scan_content(const char* b, const char* e, bool final) {
        const char* p = b;
        if (pending_len == 1 && pending[0] == '\r') {
            if (*p == '\n') {
                pending[1] = '\n';
                pending_len = 2;
                ++p;
                at_line_start = true;
            } else {
                emit_pending();
            }
        }
        const char* run = p;
        const char* q = p;
        bool ls = at_line_start;
        for (;;) {
            if (ls) {
                if (q == e) break;
                const char* line_end = nullptr;
                std::size_t index = 0;
                bool close = false;
                switch (classify(q, e, final, line_end, index, close)) {
                case line_class::none:
                    break;
                case line_class::more: {
                    const std::string eol = eol_before(run, q);
                    std::memcpy(pending, eol.data(), eol.size());
                    pending_len = eol.size();
                    at_line_start = true;
                    return {q, true};
                }
                case line_class::delimiter: {
                    std::string raw = eol_before(run, q);
                    raw.append(q, static_cast<std::size_t>(line_end - q));
                    handle_delimiter(index, close, raw);
                    return {line_end, false};
                }
                case line_class::from: {
                    const std::string trailer = eol_before(run, q);
                    end_message(trailer);
                    return {q, false};
                }
                case line_class::quoted_from: {
                    emit_pending();
                    emit(std::string_view(run, static_cast<std::size_t>(q - run)));
                    run = q + 1;  // drop one '>' (mboxrd)
                    break;
                }
                }
            }
            // Jump to the next line start that could matter; ordinary lines are never visited.
            const char* next = next_candidate(q, e);
            if (next != nullptr) {
                q = next;
                ls = true;
                continue;
            }
            // No candidate left: the last (incomplete) line may still become one.
            const void* last = memrchr(q, '\n', static_cast<std::size_t>(e - q));
            if (last == nullptr) {
                ls = ls && q == e;
                break;
            }
            q = static_cast<const char*>(last) + 1;
            ls = true;
            if (q == e) break;
            const char* line_end = nullptr;
            std::size_t index = 0;
            bool close = false;
            if (classify(q, e, final, line_end, index, close) == line_class::more) {
                const std::string eol = eol_before(run, q);
                std::memcpy(pending, eol.data(), eol.size());
                pending_len = eol.size();
                at_line_start = true;
                return {q, true};
            }
            ls = false;
            break;
        }
        at_line_start = ls;
        if (e > run) {
            std::size_t hold = 0;
            if (e[-1] == '\n') hold = (e - 2 >= run && e[-2] == '\r') ? 2 : 1;
            else if (e[-1] == '\r') hold = 1;
            emit_pending();
            emit(std::string_view(run, static_cast<std::size_t>(e - hold - run)));
            std::memcpy(pending, e - hold, hold);
            pending_len = hold;
        }
        return {e, false};
    }

    // Returns how much of [b, e) was consumed; the rest must be carried to the next call.
    std::size_t scan(const char* b, const char* e, bool final) {
        const char* p = b;
        while (p < e) {
            if (st == state::headers) {
                p = scan_headers(p, e, final);
            } else {
                const content_result r = scan_content(p, e, final);
                if (r.carry) return static_cast<std::size_t>(r.p - b);
                p = r.p;
            }
        }
        return static_cast<std::size_t>(e - b);
    }

    // Input is scanned in slices: the content scan runs ahead to the next candidate line start,
    // and over a whole mapped window (4 MiB) of base64 that pushed the bytes out of the cache
    // before the decoder read them, so every byte came from memory twice. A slice is scanned and
    // decoded while it is still in the cache; the split is the kind feed() takes anywhere.
    void feed(std::string_view d) {
        constexpr std::size_t slice = 64 * 1024;
        while (d.size() > slice) {
            feed_slice(d.substr(0, slice));
            d.remove_prefix(slice);
        }
        feed_slice(d);
    }

    void feed_slice(std::string_view d) {
        while (!d.empty()) {
            if (!carry.empty()) {
                // Complete the held-back line (it is short: at most one delimiter line).
                const void* nl = std::memchr(d.data(), '\n', d.size());
                std::size_t n =
                    nl != nullptr ? static_cast<std::size_t>(static_cast<const char*>(nl) - d.data()) + 1 : d.size();
                n = std::min(n, max_delimiter_line);
                carry.append(d.data(), n);
                d.remove_prefix(n);
                work.swap(carry);
                carry.clear();
                const std::size_t used = scan(work.data(), work.data() + work.size(), false);
                carry.insert(0, work, used, std::string::npos);
            } else {
                const std::size_t used = scan(d.data(), d.data() + d.size(), false);
                carry.insert(0, d.data() + used, d.size() - used);
                break;
            }
        }
    }

    void finish() {
        if (!carry.empty()) {
            work.swap(carry);
            carry.clear();
            scan(work.data(), work.data() + work.size(), true);
        }
        if (st == state::headers && line_start < hdr.size()) header_line(true);
        if (opt.format == input_format::mbox && !msg_begun && hdr.empty() && frames.size() == 1 && !frames[0].begun) {
            start_message();
            return;
        }
        if (st == state::content) emit_pending();
        end_message({});
    }
};

parser::parser(parser_handler& handler, parser_options options) : impl_(std::make_unique<impl>(handler, options)) {}
parser::~parser() = default;
void parser::feed(std::string_view data) { impl_->feed(data); }
void parser::finish() { impl_->finish(); }
void parser::reset() { impl_->reset(); }
std::size_t parser::messages() const noexcept { return impl_->messages_done; }

namespace {
constexpr std::size_t block_size = 256 * 1024;

[[noreturn]] void io_failure(const std::string& what) {
    error_context ctx;
    ctx.stage = stage::parse;
    throw error(errc::io_error, what, std::move(ctx));
}
}  // namespace

void parse_fd(int fd, parser_handler& handler, parser_options options) {
    parser p(handler, options);
    struct stat st {};
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
        // A regular file is mapped window by window: no copy out of the page cache (read()
        // copying was most of the parse time), and memory stays bounded by the window size.
        constexpr std::size_t window = 4u << 20;
        const off_t start = ::lseek(fd, 0, SEEK_CUR);
        const auto size = static_cast<std::size_t>(st.st_size);
        std::size_t pos = start > 0 ? static_cast<std::size_t>(start) : 0;
        const auto page = static_cast<std::size_t>(::sysconf(_SC_PAGESIZE));
        bool mapped = true;
        while (pos < size) {
            const std::size_t base = pos - pos % page;
            const std::size_t len = std::min(window, size - base);
            void* m = ::mmap(nullptr, len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, static_cast<off_t>(base));
            if (m == MAP_FAILED) {
                mapped = false;
                break;
            }
            ::madvise(m, len, MADV_SEQUENTIAL);
            struct unmap {
                void* m;
                std::size_t len;
                ~unmap() { ::munmap(m, len); }
            } guard{m, len};
            p.feed(std::string_view(static_cast<const char*>(m) + (pos - base), len - (pos - base)));
            pos = base + len;
        }
        if (mapped) {
            p.finish();
            return;
        }
        if (::lseek(fd, static_cast<off_t>(pos), SEEK_SET) < 0) io_failure("cannot seek");
    }
#ifdef POSIX_FADV_SEQUENTIAL
    (void)::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
    std::unique_ptr<char[]> buf(new char[block_size]);
    for (;;) {
        const ssize_t n = ::read(fd, buf.get(), block_size);
        if (n < 0) {
            if (errno == EINTR) continue;
            io_failure(std::string("read failed: ") + std::strerror(errno));
        }
        if (n == 0) break;
        p.feed(std::string_view(buf.get(), static_cast<std::size_t>(n)));
    }
    p.finish();
}

void parse_file(const std::string& path, parser_handler& handler, parser_options options) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) io_failure("cannot open " + path + ": " + std::strerror(errno));
    struct closer {
        int fd;
        ~closer() { ::close(fd); }
    } c{fd};
    parse_fd(fd, handler, options);
}

void parse_stream(std::istream& in, parser_handler& handler, parser_options options) {
    parser p(handler, options);
    std::unique_ptr<char[]> buf(new char[block_size]);
    while (in) {
        in.read(buf.get(), static_cast<std::streamsize>(block_size));
        const auto n = in.gcount();
        if (n > 0) p.feed(std::string_view(buf.get(), static_cast<std::size_t>(n)));
    }
    if (in.bad()) io_failure("stream read failed");
    p.finish();
}

}  // namespace mailwire::mime
