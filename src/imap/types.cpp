#include "mailwire/imap/types.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>

#include "mailwire/error.hpp"
#include "mailwire/mime/rfc2047.hpp"

namespace mailwire::imap {
namespace {

[[noreturn]] void fail(std::string detail) {
    error_context c;
    c.protocol = "imap";
    c.stage = stage::parse;
    throw protocol_error(errc::protocol_violation, std::move(detail), std::move(c));
}

// A collection built from one response outgrew the caller's bound (limits::max_list_items).
[[noreturn]] void too_many(std::string detail) {
    error_context c;
    c.protocol = "imap";
    c.stage = stage::parse;
    throw protocol_error(errc::limit_exceeded, std::move(detail), std::move(c));
}

std::string upper(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
    return out;
}

const node* next_of(const response& r, const node* n) {
    return (n == nullptr || n->next == node::npos) ? nullptr : &r.nodes[n->next];
}
const node* first_of(const response& r, const node& list) {
    return list.first_child == node::npos ? nullptr : &r.nodes[list.first_child];
}
std::string str(const node* n) { return n == nullptr ? std::string() : node_string(*n); }
bool is_list(const node* n) { return n != nullptr && n->type == node::kind::list; }
std::uint64_t num(const node* n) {
    if (n == nullptr || n->type != node::kind::number) fail("expected a number in an IMAP response");
    return n->number;
}
std::uint32_t num32(const node* n) {
    const auto v = num(n);
    if (v > 0xffffffffu) fail("number out of range in an IMAP response");
    return static_cast<std::uint32_t>(v);
}

// ---- storage-reusing assignment ------------------------------------------------------------
// interpret_fetch runs once per message of a large FETCH into the same fetch_data: every string
// and vector below is assigned in place, so a steady stream of similar messages allocates nothing.

// The node's text (escapes resolved; NIL and lists give "") into dst, reusing its capacity.
void assign(std::string& dst, const node* n) {
    if (n == nullptr || n->type == node::kind::nil || n->type == node::kind::list) {
        dst.clear();
        return;
    }
    if (!n->escaped) {
        dst.assign(n->text);
        return;
    }
    dst.clear();
    const std::string_view t = n->text;
    for (std::size_t i = 0; i < t.size(); ++i) {
        if (t[i] == '\\' && i + 1 < t.size()) ++i;
        dst.push_back(t[i]);
    }
}
void to_lower(std::string& s) {
    for (auto& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
}
void to_upper(std::string& s) {
    for (auto& c : s)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
}
void assign_lower(std::string& dst, const node* n) {
    assign(dst, n);
    to_lower(dst);
}

bool has_high_byte(std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}
// Length of the valid UTF-8 sequence at p (0 when invalid: overlong, surrogate, > U+10FFFF).
std::size_t utf8_len(const unsigned char* p, const unsigned char* end) noexcept {
    const unsigned char c = p[0];
    if (c < 0x80) return 1;
    auto cont = [&](std::ptrdiff_t i) { return p + i < end && (p[i] & 0xC0) == 0x80; };
    if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (!cont(1) || !cont(2) || (c == 0xE0 && p[1] < 0xA0) || (c == 0xED && p[1] > 0x9F)) return 0;
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (!cont(1) || !cont(2) || !cont(3) || (c == 0xF0 && p[1] < 0x90) || (c == 0xF4 && p[1] > 0x8F)) return 0;
        return 4;
    }
    return 0;
}

constexpr auto b64_digits = [] {
    std::array<std::int8_t, 256> t{};
    t.fill(-1);
    constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (std::size_t i = 0; i < alphabet.size(); ++i)
        t[static_cast<unsigned char>(alphabet[i])] = static_cast<std::int8_t>(i);
    return t;
}();
int b64_digit(char c) noexcept { return b64_digits[static_cast<unsigned char>(c)]; }

// The common case of an encoded display name or subject, decoded without the general RFC 2047
// machinery: the whole text is one "=?utf-8?B?…?=" word in strict base64 whose bytes are valid,
// printable UTF-8. Returns false (leaving `s` alone) for anything else; mime::decode_header_text
// then decides, so the result is the same either way (types_test checks this on many inputs).
bool decode_single_utf8_b_word(std::string& s) {
    constexpr std::string_view head = "=?utf-8?b?";
    if (s.size() < head.size() + 2 || !iequals(std::string_view(s).substr(0, head.size()), head) || !s.ends_with("?="))
        return false;
    const std::string_view text = std::string_view(s).substr(head.size(), s.size() - head.size() - 2);
    if (text.size() % 4 != 0) return false;
    // Decoded into a per-thread scratch buffer so that a failed attempt leaves `s` untouched and
    // a successful one costs no allocation once `s` has grown.
    thread_local std::string scratch;
    scratch.resize(text.size() / 4 * 3);
    char* o = scratch.data();
    for (std::size_t i = 0; i < text.size(); i += 4) {
        if (i + 4 < text.size()) {
            // Not the last group: no padding allowed, four table lookups.
            const int a = b64_digit(text[i]), b = b64_digit(text[i + 1]), c = b64_digit(text[i + 2]),
                      e = b64_digit(text[i + 3]);
            if ((a | b | c | e) < 0) return false;
            const auto v = static_cast<std::uint32_t>((a << 18) | (b << 12) | (c << 6) | e);
            *o++ = static_cast<char>(v >> 16);
            *o++ = static_cast<char>((v >> 8) & 0xff);
            *o++ = static_cast<char>(v & 0xff);
            continue;
        }
        int d[4];
        int pad = 0;
        for (int j = 0; j < 4; ++j) {
            const char c = text[i + static_cast<std::size_t>(j)];
            if (c == '=' && i + 4 == text.size() && j >= 2) {
                d[j] = 0;
                ++pad;
                continue;
            }
            if (pad > 0) return false;  // data after padding
            d[j] = b64_digit(c);
            if (d[j] < 0) return false;
        }
        const std::uint32_t v = (static_cast<std::uint32_t>(d[0]) << 18) | (static_cast<std::uint32_t>(d[1]) << 12) |
                                (static_cast<std::uint32_t>(d[2]) << 6) | static_cast<std::uint32_t>(d[3]);
        // Non-canonical padding bits: leave it to the general decoder.
        if ((pad == 1 && (v & 0xff) != 0) || (pad == 2 && (v & 0xffff) != 0)) return false;
        *o++ = static_cast<char>(v >> 16);
        if (pad < 2) *o++ = static_cast<char>((v >> 8) & 0xff);
        if (pad < 1) *o++ = static_cast<char>(v & 0xff);
    }
    const std::size_t n = static_cast<std::size_t>(o - scratch.data());
    const auto* p = reinterpret_cast<const unsigned char*>(scratch.data());
    const auto* end = p + n;
    while (p < end) {
        if (*p < 0x20 || *p == 0x7f) return false;
        const std::size_t len = utf8_len(p, end);
        if (len == 0) return false;
        p += len;
    }
    s.assign(scratch.data(), n);
    return true;
}

// The canonical RFC 5322 §3.3 date that nearly every server relays, "Thu, 01 Feb 2024 00:00:00
// +0100" (day name optional, one- or two-digit day), parsed directly; nullopt means "not this
// exact shape" and mime::parse_date (which accepts far more) is asked instead. Same results for
// the inputs accepted here (types_test cross-checks).
std::optional<mime::date_time> parse_canonical_date(std::string_view s) {
    std::size_t i = 0;
    if (s.size() >= 5 && s[3] == ',' && s[4] == ' ') {
        static constexpr std::string_view days[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
        if (std::find(std::begin(days), std::end(days), s.substr(0, 3)) == std::end(days)) return std::nullopt;
        i = 5;
    }
    auto digit = [&](std::size_t at) { return at < s.size() && s[at] >= '0' && s[at] <= '9'; };
    auto num = [&](std::size_t at, std::size_t len) {
        int v = 0;
        for (std::size_t k = 0; k < len; ++k) v = v * 10 + (s[at + k] - '0');
        return v;
    };
    std::size_t dlen = digit(i + 1) ? 2 : 1;
    if (!digit(i) || i + dlen >= s.size() || s[i + dlen] != ' ') return std::nullopt;
    const int d = num(i, dlen);
    i += dlen + 1;
    // "Feb 2024 00:00:00 +0100" is exactly 23 characters from here.
    if (s.size() != i + 23) return std::nullopt;
    static constexpr std::string_view months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    const auto* m = std::find(std::begin(months), std::end(months), s.substr(i, 3));
    if (m == std::end(months) || s[i + 3] != ' ' || s[i + 8] != ' ' || s[i + 11] != ':' || s[i + 14] != ':' ||
        s[i + 17] != ' ' || (s[i + 18] != '+' && s[i + 18] != '-'))
        return std::nullopt;
    for (std::size_t k : {4, 5, 6, 7, 9, 10, 12, 13, 15, 16, 19, 20, 21, 22})
        if (!digit(i + k)) return std::nullopt;
    const int y = num(i + 4, 4), hh = num(i + 9, 2), mm = num(i + 12, 2), ss = num(i + 15, 2);
    const int zh = num(i + 19, 2), zm = num(i + 21, 2);
    if (y < 1900 || hh > 23 || mm > 59 || ss > 59 || zh > 23 || zm > 59) return std::nullopt;
    using namespace std::chrono;
    const year_month_day ymd{year{y}, month{static_cast<unsigned>(m - std::begin(months) + 1)},
                             day{static_cast<unsigned>(d)}};
    if (!ymd.ok()) return std::nullopt;
    const int offset = (zh * 60 + zm) * (s[i + 18] == '-' ? -1 : 1);
    mime::date_time t;
    t.utc = sys_days(ymd) + hours(hh) + minutes(mm) + seconds(ss) - minutes(offset);
    t.offset_minutes = offset;
    return t;
}

// RFC 2047 decoding only when the text can need it: most names and subjects are plain ASCII.
void decode_name_in_place(std::string& s) {
    if (s.find("=?") != std::string::npos || has_high_byte(s)) {
        if (!decode_single_utf8_b_word(s)) s = mime::decode_header_text(s);
    }
}
void decode_text_in_place(std::string& s) {
    if (s.find("=?") != std::string::npos || s.find('\n') != std::string::npos || has_high_byte(s)) {
        if (!decode_single_utf8_b_word(s)) s = mime::decode_header_text(s);
    }
}

// Element `used` of v, reused when it exists; `used` is advanced. Trim with v.resize(used) after.
template <class T>
T& slot(std::vector<T>& v, std::size_t& used) {
    if (used == v.size()) v.emplace_back();
    return v[used++];
}

void params_into(const response& r, const node* n, std::vector<mime::parameter>& out) {
    std::size_t used = 0;
    bool extended = false;
    if (is_list(n)) {
        for (const node* k = first_of(r, *n); k != nullptr; k = next_of(r, k)) {
            const node* v = next_of(r, k);
            auto& p = slot(out, used);
            assign_lower(p.name, k);
            assign(p.value, v);
            if (p.value.find("=?") != std::string::npos) p.value = mime::decode_header_text(p.value);
            extended = extended || p.name.find('*') != std::string::npos;
            if (v == nullptr) break;
            k = v;
        }
    }
    out.resize(used);
    // RFC 2231 parameters (name*0*=…) are passed through by servers as sent; rebuild them with the
    // MIME parameter parser when present.
    if (extended) {
        std::string joined;
        for (const auto& p : out) {
            joined += "; " + p.name + "=\"";
            for (char c : p.value) {
                if (c == '"' || c == '\\') joined += '\\';
                joined += c;
            }
            joined += '"';
        }
        out = mime::parse_parameters(joined);
    }
}

void mailbox_into(const node* name, const node* mbox, const node* host, mime::mailbox& m) {
    assign(m.name, name);
    decode_name_in_place(m.name);
    assign(m.local, mbox);
    assign(m.domain, host);
}

void addresses_into(const response& r, const node* n, std::vector<mime::address>& out) {
    constexpr std::size_t none = ~std::size_t{0};
    std::size_t used = 0;
    std::size_t group = none;  // index of the open group in out
    std::size_t members = 0;   // members of the open group so far
    auto close_group = [&] {
        if (group != none) out[group].members.resize(members);
        group = none;
    };
    if (is_list(n)) {
        for (const node* a = first_of(r, *n); a != nullptr; a = next_of(r, a)) {
            if (!is_list(a)) continue;
            const node* name = first_of(r, *a);
            const node* route = next_of(r, name);
            const node* mbox = next_of(r, route);
            const node* host = next_of(r, mbox);
            if (host == nullptr || host->type == node::kind::nil) {
                // RFC 3501 §7.4.2: NIL host marks a group: start (mailbox = group name) or end (NIL).
                close_group();
                if (mbox != nullptr && mbox->type != node::kind::nil) {
                    auto& g = slot(out, used);
                    assign(g.group_name, mbox);
                    g.group_name = mime::decode_header_text(g.group_name);
                    group = used - 1;
                    members = 0;
                }
                continue;
            }
            if (group != none) {
                mailbox_into(name, mbox, host, slot(out[group].members, members));
            } else {
                auto& one = slot(out, used);
                one.group_name.clear();
                one.members.resize(1);
                mailbox_into(name, mbox, host, one.members[0]);
            }
        }
    }
    close_group();
    out.resize(used);
}

void envelope_into(const response& r, const node& list, envelope& e) {
    const node* k = first_of(r, list);
    assign(e.date, k);
    if (!e.date.empty()) {
        e.parsed_date = parse_canonical_date(e.date);
        if (!e.parsed_date) e.parsed_date = mime::parse_date(e.date);
    } else e.parsed_date.reset();
    k = next_of(r, k);
    assign(e.subject, k);
    decode_text_in_place(e.subject);
    std::vector<mime::address>* lists[] = {&e.from, &e.sender, &e.reply_to, &e.to, &e.cc, &e.bcc};
    for (auto* l : lists) {
        k = next_of(r, k);
        addresses_into(r, k, *l);
    }
    k = next_of(r, k);
    assign(e.in_reply_to, k);
    k = next_of(r, k);
    assign(e.message_id, k);
}

// Section of child `i` (1-based) of a part whose section is `parent`: "2" → "2.1".
void child_section(std::string& out, std::string_view parent, std::uint32_t i) {
    out.assign(parent);
    if (!out.empty()) out += '.';
    char digits[12];
    const auto res = std::to_chars(digits, digits + sizeof digits, i);
    out.append(digits, res.ptr);
}

void body_into(const response& r, const node& list, body_part& out, unsigned depth) {
    if (depth > 100) fail("BODYSTRUCTURE nested too deeply");
    // out.section is set by the caller; everything else is overwritten or cleared here.
    out.size = 0;
    out.lines = 0;
    out.message_envelope.reset();
    std::size_t nparts = 0;
    const node* first = first_of(r, list);
    if (first == nullptr) fail("empty BODYSTRUCTURE");
    const node* k = first;
    if (is_list(first)) {
        // body-type-mpart: 1*body SP media-subtype [SP body-ext-mpart]
        out.type.assign("multipart");
        std::uint32_t i = 1;
        for (; k != nullptr && is_list(k); k = next_of(r, k), ++i) {
            auto& child_part = slot(out.parts, nparts);
            child_section(child_part.section, out.section, i);
            body_into(r, *k, child_part, depth + 1);
        }
        out.parts.resize(nparts);
        assign_lower(out.subtype, k);
        k = next_of(r, k);
        if (k != nullptr) params_into(r, k, out.params), k = next_of(r, k);
        else out.params.clear();
        out.id.clear();
        out.description.clear();
        out.encoding.clear();
        out.md5.clear();
    } else {
        assign_lower(out.type, k);
        k = next_of(r, k);
        assign_lower(out.subtype, k);
        k = next_of(r, k);
        params_into(r, k, out.params);
        k = next_of(r, k);
        assign(out.id, k);
        k = next_of(r, k);
        assign(out.description, k);
        decode_text_in_place(out.description);
        k = next_of(r, k);
        assign(out.encoding, k);
        to_upper(out.encoding);
        k = next_of(r, k);
        if (k != nullptr && k->type == node::kind::number) out.size = k->number;
        k = next_of(r, k);
        if ((out.type == "message" && (out.subtype == "rfc822" || out.subtype == "global")) && is_list(k)) {
            out.message_envelope = std::make_shared<const envelope>(interpret_envelope(r, *k));
            k = next_of(r, k);
            if (is_list(k)) {
                // The encapsulated message's parts are numbered under this part (RFC 3501 §6.4.5).
                auto& inner = slot(out.parts, nparts);
                inner.section.assign(out.section.empty() ? std::string_view("1") : std::string_view(out.section));
                body_into(r, *k, inner, depth + 1);
                k = next_of(r, k);
            }
            if (k != nullptr && k->type == node::kind::number)
                out.lines = static_cast<std::uint32_t>(k->number), k = next_of(r, k);
        } else if (out.type == "text") {
            if (k != nullptr && k->type == node::kind::number)
                out.lines = static_cast<std::uint32_t>(k->number), k = next_of(r, k);
        }
        out.parts.resize(nparts);
        if (k != nullptr) assign(out.md5, k), k = next_of(r, k);
        else out.md5.clear();
    }
    // Extension data common to both: disposition, language, location.
    out.disposition.clear();
    out.disposition_params.clear();
    std::size_t nlang = 0;
    out.location.clear();
    if (k != nullptr) {
        if (is_list(k)) {
            const node* dt = first_of(r, *k);
            assign_lower(out.disposition, dt);
            params_into(r, next_of(r, dt), out.disposition_params);
        }
        k = next_of(r, k);
    }
    if (k != nullptr) {
        if (is_list(k)) {
            for (const node* l = first_of(r, *k); l != nullptr; l = next_of(r, l)) assign(slot(out.language, nlang), l);
        } else if (k->type != node::kind::nil) {
            assign(slot(out.language, nlang), k);
        }
        k = next_of(r, k);
    }
    out.language.resize(nlang);
    if (k != nullptr) assign(out.location, k);
}

int month_of(std::string_view m) {
    static constexpr const char* names[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                            "jul", "aug", "sep", "oct", "nov", "dec"};
    for (int i = 0; i < 12; ++i)
        if (iequals(m, names[i])) return i + 1;
    return 0;
}

constexpr const char* month_names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

bool needs_literal(std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](char c) {
        const auto u = static_cast<unsigned char>(c);
        return u >= 0x80 || c == '\r' || c == '\n' || c == '\0';
    });
}

}  // namespace

// ---- sequence_set ------------------------------------------------------------------------

sequence_set& sequence_set::add(std::uint32_t lo, std::uint32_t hi) {
    if (lo != star && hi != star && lo > hi) std::swap(lo, hi);
    if (lo == star && hi != star) std::swap(lo, hi);
    ranges_.emplace_back(lo, hi);
    return *this;
}

bool sequence_set::contains(std::uint32_t n) const noexcept {
    for (auto [lo, hi] : ranges_) {
        if (hi == star ? n >= lo : (n >= lo && n <= hi)) return true;
        if (lo == star && hi == star && n == star) return true;
    }
    return false;
}

std::vector<std::uint32_t> sequence_set::expand(std::uint32_t star_value, std::size_t max) const {
    std::vector<std::uint32_t> out;
    for (auto [lo, hi] : ranges_) {
        const std::uint32_t l = lo == star ? star_value : lo;
        const std::uint32_t h = hi == star ? star_value : hi;
        for (std::uint64_t v = std::min(l, h); v <= std::max(l, h) && out.size() < max; ++v)
            out.push_back(static_cast<std::uint32_t>(v));
    }
    return out;
}

std::string sequence_set::to_string() const {
    std::string out;
    for (auto [lo, hi] : ranges_) {
        if (!out.empty()) out += ',';
        out += lo == star ? std::string("*") : std::to_string(lo);
        if (hi != lo) out += ':' + (hi == star ? std::string("*") : std::to_string(hi));
    }
    return out;
}

sequence_set sequence_set::parse(std::string_view s) {
    sequence_set out;
    auto bad = [&] {
        throw parse_error(errc::parse_error, fmt::format("malformed sequence set `{}`", s.substr(0, 80)));
    };
    auto number = [&](std::string_view t) -> std::uint32_t {
        if (t == "*") return star;
        if (t.empty() || t.size() > 10) bad();
        std::uint64_t v = 0;
        for (char c : t) {
            if (c < '0' || c > '9') bad();
            v = v * 10 + static_cast<std::uint64_t>(c - '0');
        }
        if (v == 0 || v > 0xffffffffu) bad();
        return static_cast<std::uint32_t>(v);
    };
    if (s.empty()) bad();
    std::size_t pos = 0;
    while (pos <= s.size()) {
        auto comma = s.find(',', pos);
        if (comma == std::string_view::npos) comma = s.size();
        const auto item = s.substr(pos, comma - pos);
        const auto colon = item.find(':');
        if (colon == std::string_view::npos) out.add(number(item));
        else out.add(number(item.substr(0, colon)), number(item.substr(colon + 1)));
        pos = comma + 1;
        if (comma == s.size()) break;
    }
    return out;
}

sequence_set sequence_set::from(std::vector<std::uint32_t> numbers) {
    std::sort(numbers.begin(), numbers.end());
    numbers.erase(std::unique(numbers.begin(), numbers.end()), numbers.end());
    sequence_set out;
    for (std::size_t i = 0; i < numbers.size();) {
        std::size_t j = i;
        while (j + 1 < numbers.size() && numbers[j + 1] == numbers[j] + 1) ++j;
        out.add(numbers[i], numbers[j]);
        i = j + 1;
    }
    return out;
}

// ---- small helpers -----------------------------------------------------------------------

std::string body_part::param(std::string_view name) const {
    for (const auto& p : params)
        if (iequals(p.name, name)) return p.value;
    return {};
}

bool operator==(const body_part& a, const body_part& b) {
    const bool env_eq =
        (a.message_envelope == nullptr && b.message_envelope == nullptr) ||
        (a.message_envelope != nullptr && b.message_envelope != nullptr && *a.message_envelope == *b.message_envelope);
    return env_eq && a.type == b.type && a.subtype == b.subtype && a.params == b.params && a.id == b.id &&
           a.description == b.description && a.encoding == b.encoding && a.size == b.size && a.lines == b.lines &&
           a.md5 == b.md5 && a.disposition == b.disposition && a.disposition_params == b.disposition_params &&
           a.language == b.language && a.location == b.location && a.parts == b.parts && a.section == b.section;
}

// A THREAD chain of n messages is an n-deep tree (RFC 5256 §4: each member is the parent of the
// next), so none of these recurse on depth: a hostile 1 MB reply would overflow the stack.
thread_node::thread_node(const thread_node& other) : id(other.id) {
    std::vector<std::pair<const thread_node*, thread_node*>> pairs{{&other, this}};
    while (!pairs.empty()) {
        const auto [src, dst] = pairs.back();
        pairs.pop_back();
        // Sized once and never touched again, so the pointers pushed below stay valid.
        dst->children.resize(src->children.size());
        for (std::size_t i = 0; i < src->children.size(); ++i) {
            dst->children[i].id = src->children[i].id;
            if (!src->children[i].children.empty()) pairs.emplace_back(&src->children[i], &dst->children[i]);
        }
    }
}

thread_node& thread_node::operator=(const thread_node& other) {
    if (this != &other) *this = thread_node(other);  // the move destroys the old subtree iteratively
    return *this;
}

thread_node::~thread_node() {
    if (children.empty()) return;
    // Detach every descendant into a flat list before it is destroyed, so each destructor that
    // runs sees an empty `children` and returns at once.
    std::vector<thread_node> pending = std::move(children);
    while (!pending.empty()) {
        thread_node last = std::move(pending.back());
        pending.pop_back();
        for (auto& c : last.children)
            if (!c.children.empty()) pending.push_back(std::move(c));
    }
}

bool operator==(const thread_node& a, const thread_node& b) {
    std::vector<std::pair<const thread_node*, const thread_node*>> pairs{{&a, &b}};
    while (!pairs.empty()) {
        const auto [x, y] = pairs.back();
        pairs.pop_back();
        if (x->id != y->id || x->children.size() != y->children.size()) return false;
        for (std::size_t i = 0; i < x->children.size(); ++i) pairs.emplace_back(&x->children[i], &y->children[i]);
    }
    return true;
}

const body_section* fetch_data::find(std::string_view section) const {
    for (const auto& s : sections)
        if (iequals(s.section, section)) return &s;
    return nullptr;
}

bool list_entry::has_attribute(std::string_view a) const {
    return std::any_of(attributes.begin(), attributes.end(), [&](const std::string& x) { return iequals(x, a); });
}

std::vector<const node*> children(const response& r, const node& list) {
    std::vector<const node*> out;
    out.reserve(list.count);
    for (const node* k = first_of(r, list); k != nullptr; k = next_of(r, k)) out.push_back(k);
    return out;
}

std::vector<std::string> interpret_flags(const response& r, const node& list) {
    std::vector<std::string> out;
    out.reserve(list.count);
    for (const node* k = first_of(r, list); k != nullptr; k = next_of(r, k)) out.emplace_back(k->text);
    return out;
}

std::optional<mime::date_time> parse_internaldate(std::string_view s) {
    // date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    int d = 0, y = 0, hh = 0, mm = 0, ss = 0, zone = 0;
    char mon[4] = {};
    char sign = '+';
    std::size_t i = 0;
    auto digits = [&](int& v, std::size_t n) {
        v = 0;
        std::size_t k = 0;
        while (k < n && i < s.size() && s[i] >= '0' && s[i] <= '9') v = v * 10 + (s[i++] - '0'), ++k;
        return k > 0;
    };
    if (!digits(d, 2) || i >= s.size() || s[i++] != '-') return std::nullopt;
    if (i + 3 > s.size()) return std::nullopt;
    std::memcpy(mon, s.data() + i, 3);
    i += 3;
    const int m = month_of(std::string_view(mon, 3));
    if (m == 0 || i >= s.size() || s[i++] != '-') return std::nullopt;
    if (!digits(y, 4) || i >= s.size() || s[i++] != ' ') return std::nullopt;
    if (!digits(hh, 2) || i >= s.size() || s[i++] != ':') return std::nullopt;
    if (!digits(mm, 2) || i >= s.size() || s[i++] != ':') return std::nullopt;
    if (!digits(ss, 2) || i >= s.size() || s[i++] != ' ') return std::nullopt;
    if (i >= s.size() || (s[i] != '+' && s[i] != '-')) return std::nullopt;
    sign = s[i++];
    if (!digits(zone, 4)) return std::nullopt;
    if (d < 1 || d > 31 || hh > 23 || mm > 59 || ss > 60) return std::nullopt;
    const int offset = (zone / 100 * 60 + zone % 100) * (sign == '-' ? -1 : 1);
    using namespace std::chrono;
    const year_month_day ymd{year{y}, month{static_cast<unsigned>(m)}, day{static_cast<unsigned>(d)}};
    if (!ymd.ok()) return std::nullopt;
    mime::date_time t;
    t.utc = sys_days(ymd) + hours(hh) + minutes(mm) + seconds(ss) - minutes(offset);
    t.offset_minutes = offset;
    return t;
}

namespace {
// `t` as its own offset's wall-clock date and time, for the two formats below.
struct local_parts {
    std::chrono::year_month_day ymd;
    std::chrono::hh_mm_ss<std::chrono::seconds> hms;
    char sign;
    int offset_hours, offset_minutes;
};
local_parts local_time(const mime::date_time& t) {
    using namespace std::chrono;
    const auto local = t.utc + minutes(t.offset_minutes);
    const auto days = floor<std::chrono::days>(local);
    const int off = t.offset_minutes < 0 ? -t.offset_minutes : t.offset_minutes;
    return {year_month_day{days}, hh_mm_ss{local - days}, t.offset_minutes < 0 ? '-' : '+', off / 60, off % 60};
}
}  // namespace

std::string format_internaldate(const mime::date_time& t) {
    const auto p = local_time(t);
    return fmt::format("{:02}-{}-{:04} {:02}:{:02}:{:02} {}{:02}{:02}", static_cast<unsigned>(p.ymd.day()),
                       month_names[static_cast<unsigned>(p.ymd.month()) - 1], static_cast<int>(p.ymd.year()),
                       p.hms.hours().count(), p.hms.minutes().count(), p.hms.seconds().count(), p.sign, p.offset_hours,
                       p.offset_minutes);
}

std::string format_iso8601(const mime::date_time& t) {
    const auto p = local_time(t);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{}{:02}:{:02}", static_cast<int>(p.ymd.year()),
                       static_cast<unsigned>(p.ymd.month()), static_cast<unsigned>(p.ymd.day()), p.hms.hours().count(),
                       p.hms.minutes().count(), p.hms.seconds().count(), p.sign, p.offset_hours, p.offset_minutes);
}

std::vector<std::uint32_t> outside_of(const sequence_set& requested, const std::vector<std::uint32_t>& answer) {
    std::vector<std::uint32_t> out;
    for (const auto n : answer)
        if (!requested.contains(n)) out.push_back(n);
    return out;
}

std::string format_search_date(const date& d) {
    if (d.month < 1 || d.month > 12 || d.day < 1 || d.day > 31)
        throw error(errc::invalid_argument, "invalid date for an IMAP search");
    return fmt::format("{}-{}-{}", d.day, month_names[d.month - 1], d.year);
}

// ---- FETCH -------------------------------------------------------------------------------

envelope interpret_envelope(const response& r, const node& list) {
    envelope e;
    envelope_into(r, list, e);
    return e;
}

body_part interpret_body(const response& r, const node& list) {
    body_part b;
    body_into(r, list, b, 0);
    return b;
}

fetch_data interpret_fetch(const response& r) {
    fetch_data f;
    interpret_fetch(r, f);
    return f;
}

void interpret_fetch(const response& r, fetch_data& f) {
    // Reset what is cheap to reset; flags, envelope and body keep their storage and are dropped
    // at the end when this response did not carry them.
    f.seq = r.number;
    f.uid.reset();
    f.internaldate.clear();
    f.parsed_internaldate.reset();
    f.rfc822_size.reset();
    f.sections.clear();
    f.modseq.reset();
    f.emailid.clear();
    f.threadid.clear();
    bool got_flags = false, got_env = false, got_body = false;
    if (r.data == node::npos || !is_list(&r.nodes[r.data])) fail("FETCH without a parenthesised item list");
    const node& items = r.nodes[r.data];
    for (const node* k = first_of(r, items); k != nullptr; k = next_of(r, k)) {
        const node* v = next_of(r, k);
        if (v == nullptr) fail(fmt::format("FETCH item {} without a value", k->text.substr(0, 40)));
        const std::string_view name = k->text;
        if (iequals(name, "UID")) {
            f.uid = num32(v);
        } else if (iequals(name, "FLAGS")) {
            if (!is_list(v)) fail("FETCH FLAGS is not a list");
            if (!f.flags) f.flags.emplace();
            std::size_t used = 0;
            for (const node* x = first_of(r, *v); x != nullptr; x = next_of(r, x)) slot(*f.flags, used).assign(x->text);
            f.flags->resize(used);
            got_flags = true;
        } else if (iequals(name, "INTERNALDATE")) {
            f.internaldate = str(v);
            f.parsed_internaldate = parse_internaldate(f.internaldate);
        } else if (iequals(name, "RFC822.SIZE")) {
            f.rfc822_size = num(v);
        } else if (iequals(name, "ENVELOPE")) {
            if (!is_list(v)) fail("FETCH ENVELOPE is not a list");
            if (!f.env) f.env.emplace();
            envelope_into(r, *v, *f.env);
            got_env = true;
        } else if (iequals(name, "BODYSTRUCTURE") || iequals(name, "BODY")) {
            if (!is_list(v)) fail("FETCH BODYSTRUCTURE is not a list");
            if (!f.body) f.body.emplace();
            f.body->section.clear();
            body_into(r, *v, *f.body, 0);
            got_body = true;
        } else if (iequals(name, "MODSEQ")) {
            if (!is_list(v) || v->count < 1) fail("FETCH MODSEQ is not a list");
            f.modseq = num(first_of(r, *v));
        } else if (iequals(name, "EMAILID") || iequals(name, "THREADID")) {
            std::string id = is_list(v) ? str(first_of(r, *v)) : str(v);
            (iequals(name, "EMAILID") ? f.emailid : f.threadid) = std::move(id);
        } else if (name.size() > 4 && (iequals(name.substr(0, 5), "BODY[") || iequals(name.substr(0, 6), "BINARY") ||
                                       iequals(name.substr(0, 6), "RFC822"))) {
            body_section s;
            std::string_view n = name;
            if (n.ends_with('>')) {
                const auto lt = n.rfind('<');
                if (lt != std::string_view::npos) {
                    std::uint64_t o = 0;
                    for (char c : n.substr(lt + 1, n.size() - lt - 2))
                        if (c >= '0' && c <= '9') o = o * 10 + static_cast<std::uint64_t>(c - '0');
                    s.origin = o;
                    n = n.substr(0, lt);
                }
            }
            s.name = upper(n);
            const auto lb = n.find('[');
            if (lb != std::string_view::npos && n.ends_with(']'))
                s.section = upper(n.substr(lb + 1, n.size() - lb - 2));
            else if (iequals(n, "RFC822")) s.section = "";
            else if (iequals(n, "RFC822.HEADER")) s.section = "HEADER";
            else if (iequals(n, "RFC822.TEXT")) s.section = "TEXT";
            if (v->type == node::kind::nil) {
                s.nil = true;
            } else if (v->type == node::kind::literal || v->type == node::kind::string) {
                s.streamed = v->streamed;
                if (v->type == node::kind::literal) {
                    s.size = v->number;
                    s.data.assign(v->text);
                } else {
                    s.data = node_string(*v);
                    s.size = s.data.size();
                }
            } else if (v->type == node::kind::number &&
                       iequals(n.substr(0, std::min<std::size_t>(n.size(), 11)), "BINARY.SIZE")) {
                s.size = v->number;
            } else {
                s.data = std::string(v->text);
                s.size = s.data.size();
            }
            f.sections.push_back(std::move(s));
        }
        // Unknown items are skipped (X-GM-*, PREVIEW …).
        k = v;
    }
    if (!got_flags) f.flags.reset();
    if (!got_env) f.env.reset();
    if (!got_body) f.body.reset();
}

// ---- LIST / STATUS / SEARCH / THREAD -------------------------------------------------------

list_entry interpret_list(const response& r, bool utf8) {
    list_entry e;
    const node* a = r.data == node::npos ? nullptr : &r.nodes[r.data];
    if (!is_list(a)) fail("LIST without attributes");
    e.attributes = interpret_flags(r, *a);
    const node* d = next_of(r, a);
    if (d == nullptr) fail("LIST without a delimiter");
    const std::string delim = str(d);
    e.delimiter = delim.empty() ? '\0' : delim[0];
    const node* n = next_of(r, d);
    if (n == nullptr) fail("LIST without a mailbox name");
    e.raw_name = str(n);
    e.name = utf8 ? e.raw_name : decode_mailbox_name(e.raw_name);
    // LIST-EXTENDED: mbox-list-extended = "(" tag SP value … ")"
    const node* ext = next_of(r, n);
    if (is_list(ext)) {
        for (const node* t = first_of(r, *ext); t != nullptr; t = next_of(r, t)) {
            const node* v = next_of(r, t);
            if (iequals(t->text, "OLDNAME") && is_list(v) && v->count > 0) {
                const std::string old = str(first_of(r, *v));
                e.old_name = utf8 ? old : decode_mailbox_name(old);
            }
            if (v == nullptr) break;
            t = v;
        }
    }
    return e;
}

status_data interpret_status(const response& r, bool utf8) {
    status_data s;
    const node* n = r.data == node::npos ? nullptr : &r.nodes[r.data];
    if (n == nullptr) fail("STATUS without a mailbox");
    s.mailbox = utf8 ? str(n) : decode_mailbox_name(str(n));
    const node* items = next_of(r, n);
    if (!is_list(items)) fail("STATUS without an item list");
    for (const node* k = first_of(r, *items); k != nullptr; k = next_of(r, k)) {
        const node* v = next_of(r, k);
        if (v == nullptr) break;
        const auto name = k->text;
        if (iequals(name, "MESSAGES")) s.messages = num32(v);
        else if (iequals(name, "RECENT")) s.recent = num32(v);
        else if (iequals(name, "UIDNEXT")) s.uidnext = num32(v);
        else if (iequals(name, "UIDVALIDITY")) s.uidvalidity = num32(v);
        else if (iequals(name, "UNSEEN")) s.unseen = num32(v);
        else if (iequals(name, "HIGHESTMODSEQ")) s.highestmodseq = num(v);
        else if (iequals(name, "SIZE")) s.size = num(v);
        k = v;
    }
    return s;
}

search_result interpret_search(const response& r, std::size_t max_ids) {
    search_result s;
    const node* k = r.data == node::npos ? nullptr : &r.nodes[r.data];
    if (r.is("ESEARCH")) {
        if (is_list(k)) k = next_of(r, k);  // (TAG "A1")
        for (; k != nullptr; k = next_of(r, k)) {
            if (iequals(k->text, "UID")) {
                s.uid = true;
                continue;
            }
            const node* v = next_of(r, k);
            if (v == nullptr) break;
            if (iequals(k->text, "MIN")) s.min = num32(v);
            else if (iequals(k->text, "MAX")) s.max = num32(v);
            else if (iequals(k->text, "COUNT")) s.count = num32(v);
            else if (iequals(k->text, "MODSEQ")) s.modseq = num(v);
            else if (iequals(k->text, "ALL")) {
                try {
                    s.all = sequence_set::parse(v->text);
                } catch (const parse_error& e) {
                    fail(e.detail());
                }
                std::uint64_t n = 0;
                for (auto [lo, hi] : s.all->ranges())
                    n += (lo == sequence_set::star || hi == sequence_set::star) ? (1ull << 32) : hi - lo + 1ull;
                if (n <= std::min<std::uint64_t>(max_ids, 4u << 20)) s.ids = s.all->expand();
            }
            k = v;
        }
        return s;
    }
    for (; k != nullptr; k = next_of(r, k)) {
        if (is_list(k)) {
            // (MODSEQ n), RFC 7162 §3.1.5
            const node* m = first_of(r, *k);
            if (m != nullptr && iequals(m->text, "MODSEQ")) s.modseq = num(next_of(r, m));
            continue;
        }
        if (s.ids.size() >= max_ids)
            too_many(fmt::format("{} results exceed the limit of {} entries", upper(r.name), max_ids));
        s.ids.push_back(num32(k));
    }
    return s;
}

std::vector<thread_node> interpret_thread(const response& r, std::size_t max_nodes, std::size_t* nodes) {
    // thread-list = "(" (thread-members / thread-nested) ")" (RFC 5256 §4); members are a chain:
    // each is the parent of what follows; nested lists are siblings under the last member. Walked
    // with an explicit stack: the parser bounds list nesting, but the chain's depth is unbounded.
    struct frame {
        const node* next;                 // the next element of this list, nullptr at its end
        std::vector<thread_node>* level;  // where this list's next member goes
    };
    std::vector<thread_node> out;
    std::size_t count = 0;
    auto add = [&](std::vector<thread_node>& level, std::uint32_t id) -> thread_node& {
        if (count >= max_nodes) too_many(fmt::format("THREAD results exceed the limit of {} entries", max_nodes));
        ++count;
        return level.emplace_back(id);
    };
    std::vector<frame> stack;
    std::vector<thread_node> one;
    for (std::uint32_t i = r.data; i != node::npos; i = r.nodes[i].next) {
        if (!is_list(&r.nodes[i])) continue;
        one.clear();
        stack.push_back({first_of(r, r.nodes[i]), &one});
        while (!stack.empty()) {
            frame& f = stack.back();
            const node* k = f.next;
            if (k == nullptr) {
                stack.pop_back();
                continue;
            }
            f.next = next_of(r, k);
            if (is_list(k)) {
                // Frames above this one only append to vectors this frame's level owns, and are
                // popped before this frame appends again, so `level` pointers stay valid.
                auto* level = f.level;
                stack.push_back({first_of(r, *k), level});
            } else {
                f.level = &add(*f.level, num32(k)).children;
            }
        }
        if (one.size() == 1) {
            out.push_back(std::move(one[0]));
        } else {
            auto& placeholder = add(out, 0);  // "((1)(2))": siblings without a common message
            placeholder.children = std::move(one);
            one = {};
        }
    }
    if (nodes != nullptr) *nodes = count;
    return out;
}

// ---- modified UTF-7 ------------------------------------------------------------------------

namespace {
constexpr char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";
int b64_value(char c) {
    const char* p = std::strchr(b64, c);
    return (p == nullptr || c == '\0') ? -1 : static_cast<int>(p - b64);
}
void put_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xc0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xe0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    } else {
        out += static_cast<char>(0xf0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
        out += static_cast<char>(0x80 | (cp & 0x3f));
    }
}
}  // namespace

std::string decode_mailbox_name(std::string_view in) {
    std::string out;
    for (std::size_t i = 0; i < in.size(); ++i) {
        const char c = in[i];
        if (static_cast<unsigned char>(c) >= 0x80) return std::string(in);  // not UTF-7 (UTF8=ACCEPT?)
        if (c != '&') {
            out += c;
            continue;
        }
        const auto end = in.find('-', i + 1);
        if (end == std::string_view::npos) return std::string(in);
        if (end == i + 1) {
            out += '&';
            i = end;
            continue;
        }
        std::uint32_t bits = 0;
        int nbits = 0;
        std::vector<std::uint16_t> units;
        for (std::size_t k = i + 1; k < end; ++k) {
            const int v = b64_value(in[k]);
            if (v < 0) return std::string(in);
            bits = (bits << 6) | static_cast<std::uint32_t>(v);
            nbits += 6;
            if (nbits >= 16) {
                nbits -= 16;
                units.push_back(static_cast<std::uint16_t>((bits >> nbits) & 0xffff));
            }
        }
        if (nbits >= 6 || (bits & ((1u << nbits) - 1)) != 0) return std::string(in);
        for (std::size_t u = 0; u < units.size(); ++u) {
            std::uint32_t cp = units[u];
            if (cp >= 0xd800 && cp < 0xdc00) {
                if (u + 1 >= units.size() || units[u + 1] < 0xdc00 || units[u + 1] > 0xdfff) return std::string(in);
                cp = 0x10000 + ((cp - 0xd800) << 10) + (units[++u] - 0xdc00);
            } else if (cp >= 0xdc00 && cp < 0xe000) {
                return std::string(in);
            }
            put_utf8(out, cp);
        }
        i = end;
    }
    return out;
}

std::string encode_mailbox_name(std::string_view in) {
    std::string out;
    std::vector<std::uint16_t> units;
    auto flush = [&] {
        if (units.empty()) return;
        out += '&';
        std::uint32_t bits = 0;
        int nbits = 0;
        for (auto u : units) {
            bits = (bits << 16) | u;
            nbits += 16;
            while (nbits >= 6) {
                nbits -= 6;
                out += b64[(bits >> nbits) & 0x3f];
            }
        }
        if (nbits > 0) out += b64[(bits << (6 - nbits)) & 0x3f];
        out += '-';
        units.clear();
    };
    for (std::size_t i = 0; i < in.size();) {
        const auto c = static_cast<unsigned char>(in[i]);
        if (c >= 0x20 && c < 0x7f) {
            flush();
            if (c == '&') out += "&-";
            else out += static_cast<char>(c);
            ++i;
            continue;
        }
        // Decode one UTF-8 sequence (invalid bytes become U+FFFD).
        std::uint32_t cp = 0xfffd;
        std::size_t len = 1;
        if (c >= 0xc2 && c < 0xe0 && i + 1 < in.size()) cp = ((c & 0x1fu) << 6) | (in[i + 1] & 0x3f), len = 2;
        else if (c >= 0xe0 && c < 0xf0 && i + 2 < in.size())
            cp = ((c & 0x0fu) << 12) | ((in[i + 1] & 0x3fu) << 6) | (in[i + 2] & 0x3f), len = 3;
        else if (c >= 0xf0 && c < 0xf5 && i + 3 < in.size())
            cp = ((c & 0x07u) << 18) | ((in[i + 1] & 0x3fu) << 12) | ((in[i + 2] & 0x3fu) << 6) | (in[i + 3] & 0x3f),
            len = 4;
        else if (c < 0x80) cp = c;
        i += len;
        if (cp >= 0x10000) {
            cp -= 0x10000;
            units.push_back(static_cast<std::uint16_t>(0xd800 + (cp >> 10)));
            units.push_back(static_cast<std::uint16_t>(0xdc00 + (cp & 0x3ff)));
        } else {
            units.push_back(static_cast<std::uint16_t>(cp));
        }
    }
    flush();
    return out;
}

// ---- search_query ------------------------------------------------------------------------

search_query search_query::key(std::string k) {
    search_query q;
    q.text_ = k;
    q.parts_ = {std::move(k)};
    q.empty_ = false;
    return q;
}

search_query search_query::key_string(std::string_view k, std::string_view s) {
    search_query q;
    q.empty_ = false;
    // RFC 3501 §4.3: a literal carries CHAR8 (%x01-ff); NUL fits no IMAP string.
    if (s.find('\0') != std::string_view::npos)
        throw error(errc::invalid_argument,
                    fmt::format("the SEARCH {} string contains NUL, which IMAP cannot carry", k));
    q.text_ = fmt::format("{} \"{}\"", k, s);
    if (std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; })) q.utf8_ = true;
    if (needs_literal(s)) {
        // RFC 3501 §4.3: 8-bit text travels as a literal (a quoted string must be 7-bit).
        q.parts_ = {fmt::format("{} ", k), std::string(s), ""};
    } else {
        std::string quoted = "\"";
        for (char c : s) {
            if (c == '"' || c == '\\') quoted += '\\';
            quoted += c;
        }
        quoted += '"';
        q.parts_ = {fmt::format("{} {}", k, quoted)};
    }
    return q;
}

void search_query::append(const search_query& o) {
    if (o.empty_) return;
    if (empty_) {
        *this = o;
        return;
    }
    text_ += " " + o.text_;
    parts_.back() += " " + o.parts_.front();
    parts_.insert(parts_.end(), o.parts_.begin() + 1, o.parts_.end());
    utf8_ = utf8_ || o.utf8_;
    for (const auto& n : o.needs_)
        if (std::find(needs_.begin(), needs_.end(), n) == needs_.end()) needs_.push_back(n);
    bounds_.insert(bounds_.end(), o.bounds_.begin(), o.bounds_.end());  // AND: every bound holds
}

search_query operator&&(search_query a, search_query b) {
    a.append(b);
    return a;
}

search_query operator||(search_query a, search_query b) {
    search_query q;
    q.empty_ = false;
    q.utf8_ = a.utf8_ || b.utf8_;
    q.text_ = "OR (" + a.text_ + ") (" + b.text_ + ")";
    q.parts_ = a.parts_;
    q.parts_.front() = "OR (" + q.parts_.front();
    q.parts_.back() += ") (" + b.parts_.front();
    q.parts_.insert(q.parts_.end(), b.parts_.begin() + 1, b.parts_.end());
    q.parts_.back() += ")";
    q.needs_ = a.needs_;
    for (const auto& n : b.needs_)
        if (std::find(q.needs_.begin(), q.needs_.end(), n) == q.needs_.end()) q.needs_.push_back(n);
    // OR: a match lies in either side's bounds, not in both: q keeps none.
    return q;
}

search_query operator!(search_query a) {
    a.text_ = "NOT (" + a.text_ + ")";
    a.parts_.front() = "NOT (" + a.parts_.front();
    a.parts_.back() += ")";
    a.bounds_.clear();  // NOT (UID 5) matches everything else
    return a;
}

search_query search_query::all() { return key("ALL"); }
search_query search_query::answered() { return key("ANSWERED"); }
search_query search_query::deleted() { return key("DELETED"); }
search_query search_query::draft() { return key("DRAFT"); }
search_query search_query::flagged() { return key("FLAGGED"); }
search_query search_query::seen() { return key("SEEN"); }
search_query search_query::recent() { return key("RECENT"); }
search_query search_query::unanswered() { return key("UNANSWERED"); }
search_query search_query::undeleted() { return key("UNDELETED"); }
search_query search_query::undraft() { return key("UNDRAFT"); }
search_query search_query::unflagged() { return key("UNFLAGGED"); }
search_query search_query::unseen() { return key("UNSEEN"); }
search_query search_query::keyword(std::string_view f) { return key("KEYWORD " + std::string(f)); }
search_query search_query::unkeyword(std::string_view f) { return key("UNKEYWORD " + std::string(f)); }
search_query search_query::from(std::string_view s) { return key_string("FROM", s); }
search_query search_query::to(std::string_view s) { return key_string("TO", s); }
search_query search_query::cc(std::string_view s) { return key_string("CC", s); }
search_query search_query::bcc(std::string_view s) { return key_string("BCC", s); }
search_query search_query::subject(std::string_view s) { return key_string("SUBJECT", s); }
search_query search_query::body(std::string_view s) { return key_string("BODY", s); }
search_query search_query::text(std::string_view s) { return key_string("TEXT", s); }
search_query search_query::header(std::string_view name, std::string_view value) {
    std::string quoted_name = "\"";
    for (char c : name)
        if (c != '"' && c != '\\' && c != '\r' && c != '\n') quoted_name += c;
    quoted_name += '"';
    return key_string("HEADER " + quoted_name, value);
}
search_query search_query::before(const date& d) { return key("BEFORE " + format_search_date(d)); }
search_query search_query::on(const date& d) { return key("ON " + format_search_date(d)); }
search_query search_query::since(const date& d) { return key("SINCE " + format_search_date(d)); }
search_query search_query::sent_before(const date& d) { return key("SENTBEFORE " + format_search_date(d)); }
search_query search_query::sent_on(const date& d) { return key("SENTON " + format_search_date(d)); }
search_query search_query::sent_since(const date& d) { return key("SENTSINCE " + format_search_date(d)); }
search_query search_query::larger(std::uint64_t n) { return key("LARGER " + std::to_string(n)); }
search_query search_query::smaller(std::uint64_t n) { return key("SMALLER " + std::to_string(n)); }
search_query search_query::uid(const sequence_set& s) {
    auto q = key("UID " + s.to_string());
    q.bounds_.emplace_back(true, s);
    return q;
}
search_query search_query::sequence(const sequence_set& s) {
    auto q = key(s.to_string());
    q.bounds_.emplace_back(false, s);
    return q;
}
search_query search_query::modseq(std::uint64_t n) {
    auto q = key("MODSEQ " + std::to_string(n));
    q.needs_.emplace_back("CONDSTORE");
    return q;
}
search_query search_query::older(std::uint32_t s) {
    auto q = key("OLDER " + std::to_string(s));
    q.needs_.emplace_back("WITHIN");
    return q;
}
search_query search_query::younger(std::uint32_t s) {
    auto q = key("YOUNGER " + std::to_string(s));
    q.needs_.emplace_back("WITHIN");
    return q;
}
search_query search_query::raw(std::string criteria) { return key(std::move(criteria)); }

}  // namespace mailwire::imap
