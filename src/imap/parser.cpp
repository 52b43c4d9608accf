#include "mailwire/imap/parser.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "mailwire/error.hpp"

namespace mailwire::imap {
namespace {

char lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

[[noreturn]] void fail(errc code, std::string detail) {
    error_context c;
    c.protocol = "imap";
    c.stage = stage::parse;
    throw protocol_error(code, std::move(detail), std::move(c));
}

bool is_tag_char(char c) {
    // RFC 3501 §9: tag = 1*<any ASTRING-CHAR except "+">
    const auto u = static_cast<unsigned char>(c);
    return u > 0x20 && u < 0x7f && c != '(' && c != ')' && c != '{' && c != '%' && c != '*' && c != '"' && c != '\\' &&
           c != '+';
}

status status_of(std::string_view w) {
    if (iequals(w, "OK")) return status::ok;
    if (iequals(w, "NO")) return status::no;
    if (iequals(w, "BAD")) return status::bad;
    if (iequals(w, "PREAUTH")) return status::preauth;
    if (iequals(w, "BYE")) return status::bye;
    return status::none;
}

// Character classes for the tokenizer's inner loops: one table lookup per byte instead of a
// chain of comparisons.
enum : std::uint8_t { stops_quoted = 1, stops_atom = 2 };
constexpr auto char_classes = [] {
    std::array<std::uint8_t, 256> t{};
    for (unsigned char c : {'"', '\\', '\n'}) t[c] |= stops_quoted;
    for (unsigned char c : {' ', '(', ')', '\r', '\n', '[', ']'}) t[c] |= stops_atom;
    return t;
}();
bool is_class(char c, std::uint8_t cls) noexcept { return (char_classes[static_cast<unsigned char>(c)] & cls) != 0; }

bool all_digits(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Tokenises values from `s[pos..end)` into out.nodes; returns the index of the first top-level node.
class tokenizer {
public:
    tokenizer(std::string_view s, std::size_t base, response& out, const parser_limits& lim,
              const std::vector<std::size_t>& streamed)
        : s_(s), base_(base), out_(out), lim_(lim), streamed_(streamed) {}

    std::uint32_t values(std::size_t pos, std::size_t end, bool in_code) {
        first_ = node::npos;
        stack_.clear();
        last_top_ = node::npos;
        std::size_t p = pos;
        while (p < end) {
            const char c = s_[p];
            if (c == ' ' || c == '\r' || c == '\n' || c == '\t') {
                ++p;
                continue;
            }
            if (c == '(') {
                if (stack_.size() >= lim_.max_depth)
                    fail(errc::limit_exceeded, fmt::format("IMAP lists nested deeper than {}", lim_.max_depth));
                add(node::kind::list, {});
                stack_.push_back({count_ - 1, node::npos});
                ++p;
                continue;
            }
            if (c == ')') {
                if (stack_.empty()) fail(errc::protocol_violation, "unbalanced ')' in an IMAP response");
                stack_.pop_back();
                ++p;
                continue;
            }
            if (c == '"') {
                p = quoted(p, end);
                continue;
            }
            if (c == '{' || (c == '~' && p + 1 < end && s_[p + 1] == '{')) {
                p = literal(p, end);
                continue;
            }
            p = atom(p, end, in_code);
        }
        if (!stack_.empty()) fail(errc::protocol_violation, "unterminated '(' list in an IMAP response");
        return first_;
    }

private:
    struct level {
        std::uint32_t list;
        std::uint32_t last;
    };

    // Appends a node built in place (no copy of a stack temporary: its narrow field writes
    // followed by a wide copy stall store forwarding) and links it into the current list.
    [[gnu::always_inline]] node& add(node::kind type, std::string_view text, std::uint64_t number = 0) {
        // count_ mirrors out_.nodes.size() (which costs a division by sizeof(node) per call).
        const auto idx = count_;
        if (idx >= lim_.max_tokens) too_many_tokens();
        node& n = out_.nodes.emplace_back();
        ++count_;
        n.type = type;
        n.text = text;
        n.number = number;
        if (stack_.empty()) {
            if (last_top_ == node::npos) first_ = idx;
            else out_.nodes[last_top_].next = idx;
            last_top_ = idx;
        } else {
            auto& lv = stack_.back();
            auto& parent = out_.nodes[lv.list];
            if (lv.last == node::npos) parent.first_child = idx;
            else out_.nodes[lv.last].next = idx;
            ++parent.count;
            lv.last = idx;
        }
        return n;
    }

    [[noreturn]] [[gnu::noinline]] void too_many_tokens() const {
        fail(errc::limit_exceeded, fmt::format("an IMAP response has more than {} tokens", lim_.max_tokens));
    }

    std::size_t quoted(std::size_t p, std::size_t end) {
        bool escaped = false;
        std::size_t q = p + 1;
        for (;;) {
            while (q < end && !is_class(s_[q], stops_quoted)) ++q;
            if (q >= end) fail(errc::protocol_violation, "unterminated quoted string in an IMAP response");
            const char c = s_[q];
            if (c == '\\') {
                escaped = true;
                q += 2;
                continue;
            }
            if (c == '"') break;
            if (c == '\n') fail(errc::protocol_violation, "line break inside a quoted string");
            ++q;
        }
        add(node::kind::string, s_.substr(p + 1, q - p - 1)).escaped = escaped;
        return q + 1;
    }

    std::size_t literal(std::size_t p, std::size_t end) {
        const std::size_t open = s_[p] == '~' ? p + 1 : p;
        std::size_t q = open + 1;
        std::uint64_t size = 0;
        std::size_t digits = 0;
        while (q < end && s_[q] >= '0' && s_[q] <= '9') {
            if (++digits > 19) fail(errc::limit_exceeded, "an IMAP literal size is too large");
            size = size * 10 + static_cast<std::uint64_t>(s_[q] - '0');
            ++q;
        }
        if (q < end && (s_[q] == '+' || s_[q] == '-')) ++q;
        if (digits == 0 || q >= end || s_[q] != '}')
            fail(errc::protocol_violation, "malformed IMAP literal announcement");
        ++q;
        if (q < end && s_[q] == '\r') ++q;
        if (q >= end || s_[q] != '\n') {
            // Only legal at the end of a line; at the very end of a response (no CRLF kept) there is
            // nothing after it, which cannot be since framing requires the literal bytes.
            fail(errc::protocol_violation, "an IMAP literal announcement must end its line");
        }
        ++q;
        if (size > lim_.max_literal_size)
            fail(errc::limit_exceeded, fmt::format("an IMAP literal of {} bytes exceeds the limit", size));
        if (std::find(streamed_.begin(), streamed_.end(), base_ + open) != streamed_.end()) {
            add(node::kind::literal, {}, size).streamed = true;
        } else {
            if (end - q < size) fail(errc::protocol_violation, "an IMAP literal is shorter than announced");
            add(node::kind::literal, s_.substr(q, static_cast<std::size_t>(size)), size);
            q += static_cast<std::size_t>(size);
        }
        return q;
    }

    std::size_t atom(std::size_t p, std::size_t end, bool in_code) {
        std::size_t q = p;
        while (q < end) {
            while (q < end && !is_class(s_[q], stops_atom)) ++q;
            if (q >= end) break;
            const char c = s_[q];
            if (c == ' ' || c == '(' || c == ')' || c == '\r' || c == '\n') break;
            if (in_code && c == ']') break;
            if (c == '[') {
                // BODY[HEADER.FIELDS (A B)]<0>: a section may hold spaces and parentheses.
                int depth = 0;
                while (q < end) {
                    if (s_[q] == '[') ++depth;
                    if (s_[q] == ']' && --depth == 0) break;
                    if (s_[q] == '\n') break;
                    ++q;
                }
                if (q >= end || s_[q] != ']') fail(errc::protocol_violation, "unterminated '[' in an IMAP response");
            }
            ++q;
        }
        if (q == p) {
            // A lone ']' in a code or similar stray byte: keep it as an atom so progress is made.
            q = p + 1;
        }
        const std::string_view text = s_.substr(p, q - p);
        if (text.size() == 3 && (text[0] | 0x20) == 'n' && (text[1] | 0x20) == 'i' && (text[2] | 0x20) == 'l') {
            add(node::kind::nil, text);
        } else if (text.size() <= 19 && all_digits(text)) {
            std::uint64_t v = 0;
            for (char c : text) v = v * 10 + static_cast<std::uint64_t>(c - '0');
            add(node::kind::number, text, v);
        } else {
            add(node::kind::atom, text);
        }
        return q;
    }

    std::string_view s_;
    std::size_t base_;
    response& out_;
    const parser_limits& lim_;
    const std::vector<std::size_t>& streamed_;
    std::vector<level> stack_;
    std::uint32_t first_ = node::npos;
    std::uint32_t last_top_ = node::npos;
    std::uint32_t count_ = static_cast<std::uint32_t>(out_.nodes.size());
};

}  // namespace

bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (a[i] != b[i] && lower(a[i]) != lower(b[i])) return false;
    return true;
}

bool response::is(std::string_view n) const noexcept { return iequals(name, n); }
bool response::code_is(std::string_view c) const noexcept { return iequals(code, c); }

response_line response::to_line() const {
    response_line l;
    l.type = type;
    l.tag = std::string(tag);
    l.status = status;
    for (char c : code) l.code += static_cast<char>((c >= 'a' && c <= 'z') ? c - 32 : c);
    l.code_args = std::string(code_text);
    l.text = std::string(text);  // data responses: everything after "* ", as the line parser gave it
    return l;
}

std::string node_string(const node& n) {
    if (n.type == node::kind::nil) return {};
    if (!n.escaped) return std::string(n.text);
    std::string out;
    out.reserve(n.text.size());
    for (std::size_t i = 0; i < n.text.size(); ++i) {
        if (n.text[i] == '\\' && i + 1 < n.text.size()) ++i;
        out += n.text[i];
    }
    return out;
}

void parse_response(std::string_view framed, response& out, const parser_limits& lim,
                    const std::vector<std::size_t>& streamed) {
    out.type = response_line::kind::untagged;
    out.tag = {};
    out.status = status::none;
    out.code = {};
    out.code_text = {};
    out.code_args = node::npos;
    out.text = {};
    out.has_number = false;
    out.number = 0;
    out.name = {};
    out.data = node::npos;
    out.nodes.clear();

    std::size_t end = framed.size();
    if (end > 0 && framed[end - 1] == '\n') --end;
    if (end > 0 && framed[end - 1] == '\r') --end;
    const std::string_view s = framed.substr(0, end);
    tokenizer tok(framed, 0, out, lim, streamed);

    if (s.starts_with('+')) {
        out.type = response_line::kind::continuation;
        std::size_t p = 1;
        if (p < s.size() && s[p] == ' ') ++p;
        out.text = s.substr(p);
        return;
    }
    std::size_t p = 0;
    if (s.starts_with("* ")) {
        p = 2;
    } else {
        const auto sp = s.find(' ');
        const auto tag = s.substr(0, sp);
        if (tag.empty() || sp == std::string_view::npos || !std::all_of(tag.begin(), tag.end(), is_tag_char))
            fail(errc::protocol_violation, fmt::format("malformed IMAP response `{}`", s.substr(0, 80)));
        out.type = response_line::kind::tagged;
        out.tag = tag;
        p = sp + 1;
    }
    auto word_end = [&](std::size_t from) {
        std::size_t q = from;
        while (q < end && s[q] != ' ' && s[q] != '\r' && s[q] != '\n' && s[q] != '(' && s[q] != '[') ++q;
        return q;
    };
    std::size_t we = word_end(p);
    std::string_view word = s.substr(p, we - p);
    if (out.type == response_line::kind::untagged && all_digits(word)) {
        if (word.size() > 10) fail(errc::protocol_violation, "message number out of range");
        std::uint64_t v = 0;
        for (char c : word) v = v * 10 + static_cast<std::uint64_t>(c - '0');
        if (v > 0xffffffffu) fail(errc::protocol_violation, "message number out of range");
        out.has_number = true;
        out.number = static_cast<std::uint32_t>(v);
        p = we;
        if (p < end && s[p] == ' ') ++p;
        we = word_end(p);
        word = s.substr(p, we - p);
        if (word.empty()) fail(errc::protocol_violation, fmt::format("malformed IMAP response `{}`", s.substr(0, 80)));
    }
    out.status = out.has_number ? status::none : status_of(word);
    if (out.type == response_line::kind::tagged &&
        (out.status == status::none || out.status == status::preauth || out.status == status::bye))
        fail(errc::protocol_violation, fmt::format("tagged IMAP response without OK/NO/BAD: `{}`", s.substr(0, 80)));
    if (out.status == status::none) {
        out.name = word;
        std::size_t q = we;
        if (q < end && s[q] == ' ') ++q;
        // The old line parser's text: everything after "* " (data responses).
        out.text = s.substr(2);
        out.data = tok.values(q, end, false);
        return;
    }
    std::size_t q = we;
    if (q < end && s[q] == ' ') ++q;
    if (q < end && s[q] == '[') {
        // resp-text-code (RFC 3501 §7.1): the first ']' outside a quoted string closes it.
        std::size_t c = q + 1;
        bool in_quote = false;
        for (; c < end; ++c) {
            if (in_quote && s[c] == '\\') {
                ++c;
                continue;
            }
            if (s[c] == '"') in_quote = !in_quote;
            if (!in_quote && s[c] == ']') break;
        }
        if (c >= end)
            fail(errc::protocol_violation, fmt::format("unterminated response code in `{}`", s.substr(0, 80)));
        const auto inner = s.substr(q + 1, c - q - 1);
        const auto csp = inner.find(' ');
        out.code = inner.substr(0, csp);
        if (csp != std::string_view::npos) {
            out.code_text = inner.substr(csp + 1);
            try {
                out.code_args = tok.values(q + 1 + csp + 1, c, true);
            } catch (const protocol_error&) {
                out.code_args = node::npos;  // unknown code with free text: keep code_text only
            }
        }
        q = c + 1;
        if (q < end && s[q] == ' ') ++q;
    }
    out.text = s.substr(std::min(q, end));
}

void response_parser::reset() {
    scan_ = line_start_ = kept_ = 0;
    split_ = in_literal_ = false;
    literal_left_ = 0;
    side_.clear();
    streamed_.clear();
}

response_parser::event response_parser::finish(std::string_view framed, std::size_t consumed) {
    parse_response(framed, resp_, lim_, streamed_);
    scan_ = line_start_ = kept_ = 0;
    split_ = false;
    event e;
    e.type = event::kind::response;
    e.consumed = consumed;
    return e;
}

response_parser::event response_parser::next(std::string_view buf) {
    event e;
    if (in_literal_) {
        if (buf.empty()) return e;
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(literal_left_, buf.size()));
        literal_left_ -= n;
        if (literal_left_ == 0) in_literal_ = false;
        e.type = event::kind::literal_data;
        e.consumed = n;
        e.data = buf.substr(0, n);
        return e;
    }
    if (!split_ && scan_ == 0 && line_start_ == 0 && !side_.empty()) {
        // The previous response had streamed literals; its text is no longer needed.
        side_.clear();
        streamed_.clear();
    }
    for (;;) {
        if (scan_ > buf.size()) return e;  // waiting for the rest of an inline literal
        const void* nl = std::memchr(buf.data() + scan_, '\n', buf.size() - scan_);
        if (nl == nullptr) {
            if (buf.size() - line_start_ > lim_.max_line_length)
                fail(errc::limit_exceeded,
                     fmt::format("an IMAP response line exceeded {} bytes", lim_.max_line_length));
            scan_ = buf.size();
            return e;
        }
        const auto eol = static_cast<std::size_t>(static_cast<const char*>(nl) - buf.data());
        if (eol - line_start_ > lim_.max_line_length)
            fail(errc::limit_exceeded, fmt::format("an IMAP response line exceeded {} bytes", lim_.max_line_length));
        std::string_view line = buf.substr(line_start_, eol - line_start_);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        const long long lit = trailing_literal(line);
        const std::size_t kept_before = (split_ ? side_.size() : 0);
        if (lit < 0) {
            const std::size_t endpos = eol + 1;
            if (kept_before + endpos > lim_.max_response_bytes)
                fail(errc::limit_exceeded, fmt::format("an IMAP response exceeded {} bytes", lim_.max_response_bytes));
            if (split_) {
                side_.append(buf.substr(0, endpos));
                return finish(side_, endpos);
            }
            return finish(buf.substr(0, endpos), endpos);
        }
        const auto size = static_cast<std::uint64_t>(lit);
        if (size > lim_.max_literal_size)
            fail(errc::limit_exceeded,
                 fmt::format("an IMAP literal of {} bytes exceeds the limit of {}", size, lim_.max_literal_size));
        if (size >= lim_.stream_threshold) {
            const std::size_t endpos = eol + 1;
            if (kept_before + endpos > lim_.max_response_bytes)
                fail(errc::limit_exceeded, fmt::format("an IMAP response exceeded {} bytes", lim_.max_response_bytes));
            const std::size_t base = side_.size();
            side_.append(buf.substr(0, endpos));
            const std::size_t open = side_.rfind('{');
            streamed_.push_back(open);
            split_ = true;
            literal_left_ = size;
            in_literal_ = size > 0;
            scan_ = line_start_ = 0;
            e.type = event::kind::literal_begin;
            e.consumed = endpos;
            e.literal_size = size;
            // Which message and item: "* 12 FETCH (UID 7 BODY[1.2]<0> {n}".
            const std::string_view all(side_);
            std::size_t i = 0;
            if (all.starts_with("* ")) {
                i = 2;
                std::uint64_t v = 0;
                std::size_t d = 0;
                while (i < all.size() && all[i] >= '0' && all[i] <= '9' && d < 10) v = v * 10 + (all[i++] - '0'), ++d;
                if (d > 0 && v <= 0xffffffffu) e.literal_seq = static_cast<std::uint32_t>(v);
            }
            std::size_t stop = open;
            if (stop > base && all[stop - 1] == '~') --stop;
            while (stop > base && all[stop - 1] == ' ') --stop;
            std::size_t start = stop;
            if (start > 0 && all[start - 1] == '>')
                while (start > 0 && all[start - 1] != '<') --start, (void)0;
            if (start > 0 && all[start - 1] == '<') --start;
            if (start > 0 && all[start - 1] == ']') {
                int depth = 0;
                while (start > 0) {
                    const char c = all[start - 1];
                    if (c == ']') ++depth;
                    if (c == '[' && --depth == 0) {
                        --start;
                        break;
                    }
                    --start;
                }
            }
            while (start > 0 && all[start - 1] != ' ' && all[start - 1] != '(' && all[start - 1] != '\n') --start;
            e.literal_item = all.substr(start, stop - start);
            return e;
        }
        const std::size_t after = eol + 1 + static_cast<std::size_t>(size);
        if (kept_before + after > lim_.max_response_bytes)
            fail(errc::limit_exceeded, fmt::format("an IMAP response exceeded {} bytes", lim_.max_response_bytes));
        line_start_ = scan_ = after;
        if (after > buf.size()) return e;
    }
}

}  // namespace mailwire::imap
