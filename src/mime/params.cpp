// Content-Type / Content-Disposition parsing and parameter serialisation.
// RFC 2045 §5.1, RFC 2183, RFC 2231 (extended values and continuations).
#include "mailwire/mime/params.hpp"

#include <algorithm>
#include <map>
#include <unordered_map>

#include "mailwire/error.hpp"
#include "mailwire/mime/charset.hpp"
#include "mailwire/mime/rfc2047.hpp"
#include "mime/detail_text.hpp"

namespace mailwire::mime {
namespace {

using detail::ascii_lower;
using detail::is_blank;
using detail::is_token_char;

struct cursor {
    std::string_view s;
    std::size_t i = 0;

    bool done() const noexcept { return i >= s.size(); }
    char peek() const noexcept { return i < s.size() ? s[i] : '\0'; }
    // Whitespace (folding included) and comments.
    void skip_cfws() {
        while (i < s.size()) {
            if (is_blank(s[i])) ++i;
            else if (s[i] == '(') i = detail::skip_comment(s, i);
            else break;
        }
    }
    void skip_blanks() {
        while (i < s.size() && is_blank(s[i])) ++i;
    }
    std::string_view token() {
        const std::size_t b = i;
        while (i < s.size() && is_token_char(s[i])) ++i;
        return s.substr(b, i - b);
    }
    // Does `name=` (a parameter start) follow at the current position?
    bool at_parameter() const {
        std::size_t j = i;
        while (j < s.size() && (is_token_char(s[j]) || s[j] == '*')) ++j;
        if (j == i) return false;
        while (j < s.size() && is_blank(s[j])) ++j;
        return j < s.size() && s[j] == '=';
    }
};

// One raw `name=value` as written, before RFC 2231 assembly.
struct raw_param {
    std::string base;       // lower-case name without the '*' decoration
    int segment = -1;       // RFC 2231 continuation number, -1 when none
    bool extended = false;  // ends in '*': charset'lang'%XX encoding
    std::string value;      // unquoted
};

std::string read_quoted(cursor& c) {
    // At '"'. A backslash escapes only '"' and '\' so unescaped Windows paths survive.
    ++c.i;
    std::string v;
    while (c.i < c.s.size()) {
        const char ch = c.s[c.i];
        if (ch == '"') {
            ++c.i;
            return v;
        }
        if (ch == '\\' && c.i + 1 < c.s.size() && (c.s[c.i + 1] == '"' || c.s[c.i + 1] == '\\')) {
            v.push_back(c.s[c.i + 1]);
            c.i += 2;
            continue;
        }
        if (ch != '\r' && ch != '\n') v.push_back(ch);  // unfold
        ++c.i;
    }
    return v;  // unterminated: the rest of the field
}

std::string read_unquoted(cursor& c) {
    std::size_t b = c.i;
    while (c.i < c.s.size() && !is_blank(c.s[c.i]) && c.s[c.i] != ';') ++c.i;
    std::size_t e = c.i;
    // Blanks follow. Done at ';', the end or a comment; a new `name=` means a missing ';';
    // anything else is an unquoted value with spaces (`name=my file.pdf`): extend to ';'.
    const std::size_t save = c.i;
    c.skip_blanks();
    if (c.done() || c.peek() == ';' || c.peek() == '(' || c.at_parameter()) {
        c.i = save;  // the caller skips blanks, comments and ';'
    } else {
        while (c.i < c.s.size() && c.s[c.i] != ';') ++c.i;
        e = c.i;
        while (e > b && is_blank(c.s[e - 1])) --e;
    }
    std::string v;
    v.reserve(e - b);
    for (std::size_t k = b; k < e; ++k)
        if (c.s[k] != '\r' && c.s[k] != '\n') v.push_back(c.s[k]);
    return v;
}

void split_name(std::string_view name, raw_param& p) {
    const std::string lower = detail::to_lower(name);
    const auto star = lower.find('*');
    if (star == std::string::npos) {
        p.base = lower;
        return;
    }
    std::string_view rest = std::string_view(lower).substr(star + 1);
    p.base = lower.substr(0, star);
    if (rest.empty()) {  // name*
        p.extended = true;
        return;
    }
    std::size_t k = 0;
    int n = 0;
    while (k < rest.size() && rest[k] >= '0' && rest[k] <= '9' && n < 100000) n = n * 10 + (rest[k++] - '0');
    if (k == 0 || (k < rest.size() && !(k + 1 == rest.size() && rest[k] == '*'))) {
        p.base = lower;  // not RFC 2231 decoration after all: keep the name as written
        return;
    }
    p.segment = n;
    p.extended = k < rest.size();
}

std::vector<raw_param> read_raw(cursor& c) {
    std::vector<raw_param> out;
    while (!c.done()) {
        c.skip_cfws();
        if (c.done()) break;
        if (c.peek() == ';') {
            ++c.i;
            continue;
        }
        const std::size_t nb = c.i;
        while (c.i < c.s.size() && (is_token_char(c.s[c.i]) || c.s[c.i] == '*')) ++c.i;
        const std::string_view name = c.s.substr(nb, c.i - nb);
        c.skip_blanks();
        if (name.empty() || c.peek() != '=') {
            // Junk: resynchronise at the next ';' outside quotes.
            if (c.i == nb) ++c.i;
            while (c.i < c.s.size() && c.s[c.i] != ';') {
                if (c.s[c.i] == '"') {
                    (void)read_quoted(c);
                    continue;
                }
                ++c.i;
            }
            continue;
        }
        ++c.i;  // '='
        c.skip_blanks();
        raw_param p;
        split_name(name, p);
        if (c.peek() == '"') {
            p.value = read_quoted(c);
            c.skip_cfws();
            if (!c.done() && c.peek() != ';' && !c.at_parameter()) {
                // `"a"b` — keep the trailing junk as part of the value, like most readers.
                std::size_t b = c.i;
                while (c.i < c.s.size() && c.s[c.i] != ';') ++c.i;
                std::string_view extra = detail::trim(c.s.substr(b, c.i - b));
                p.value.append(extra);
            }
        } else {
            p.value = read_unquoted(c);
        }
        out.push_back(std::move(p));
    }
    return out;
}

std::string percent_decode(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '%' && i + 2 < s.size()) {
            const int h = detail::hex_value(s[i + 1]), l = detail::hex_value(s[i + 2]);
            if (h >= 0 && l >= 0) {
                out.push_back(static_cast<char>(h * 16 + l));
                i += 2;
                continue;
            }
        }
        out.push_back(s[i]);
    }
    return out;
}

// Splits "charset'lang'rest"; false when the value has no such prefix.
bool split_extended(std::string_view v, std::string_view& charset, std::string_view& rest) {
    const auto q1 = v.find('\'');
    if (q1 == std::string_view::npos) return false;
    const auto q2 = v.find('\'', q1 + 1);
    if (q2 == std::string_view::npos) return false;
    charset = v.substr(0, q1);
    for (char ch : charset)
        if (!is_token_char(ch)) return false;
    rest = v.substr(q2 + 1);
    return true;
}

std::string plain_value_to_utf8(const std::string& v) {
    if (v.find("=?") != std::string::npos) return decode_header_text(v);  // RFC 2047 in a quoted value (Outlook)
    if (detail::is_ascii_text(v)) return v;
    return to_utf8(v, "").text;  // raw 8-bit: UTF-8 if valid, else windows-1252
}

std::vector<parameter> assemble(std::vector<raw_param> raws) {
    // Group by name in order of first appearance (hash map: a hostile header may carry thousands).
    std::unordered_map<std::string, std::size_t> index;
    std::vector<std::vector<const raw_param*>> groups;
    for (const auto& r : raws) {
        auto [it, fresh] = index.emplace(r.base, groups.size());
        if (fresh) groups.emplace_back();
        groups[it->second].push_back(&r);
    }
    std::vector<parameter> out;
    out.reserve(groups.size());
    for (const auto& group : groups) {
        const std::string& base = group.front()->base;
        const raw_param* plain = nullptr;
        const raw_param* ext = nullptr;
        std::map<int, const raw_param*> segments;  // sorted; first of a duplicated index wins
        for (const raw_param* r : group) {
            if (r->segment >= 0) segments.emplace(r->segment, r);
            else if (r->extended) {
                if (!ext) ext = r;
            } else if (!plain) {
                plain = r;
            }
        }
        parameter p;
        p.name = base;
        if (ext) {
            std::string_view cs, rest;
            if (split_extended(ext->value, cs, rest)) p.value = to_utf8(percent_decode(rest), cs).text;
            else p.value = to_utf8(percent_decode(ext->value), "").text;
        } else if (!segments.empty()) {
            std::string bytes;
            std::string charset;
            bool first = true;
            for (const auto& [idx, r] : segments) {
                std::string_view v = r->value;
                if (r->extended) {
                    std::string_view cs, rest;
                    if (first && split_extended(v, cs, rest)) {
                        charset.assign(cs);
                        v = rest;
                    }
                    bytes += percent_decode(v);
                } else {
                    bytes += v;
                }
                first = false;
            }
            if (charset.empty() && bytes.find("=?") != std::string::npos) p.value = decode_header_text(bytes);
            else p.value = to_utf8(bytes, charset).text;
        } else if (plain) {
            p.value = plain_value_to_utf8(plain->value);
        }
        out.push_back(std::move(p));
    }
    return out;
}

std::string find_param(const std::vector<parameter>& params, std::string_view name) {
    for (const auto& p : params)
        if (detail::iequals(p.name, name)) return p.value;
    return {};
}

// ---- serialisation -------------------------------------------------------------------------

bool is_attribute_char(unsigned char c) {
    // RFC 2231 §7: ASCII except SPACE, CTLs, "*", "'", "%" and tspecials.
    return is_token_char(static_cast<char>(c)) && c != '*' && c != '\'' && c != '%';
}

std::string quote(std::string_view v) {
    std::string q = "\"";
    for (char ch : v) {
        if (ch == '"' || ch == '\\') q.push_back('\\');
        q.push_back(ch);
    }
    q.push_back('"');
    return q;
}

bool needs_extended(std::string_view v) {
    for (unsigned char c : v)
        if (c >= 0x80 || c < 0x20 || c == 0x7F) return true;
    // Readers (this one too) decode "=?...?=" in quoted values; RFC 2231 form keeps it literal.
    return v.find("=?") != std::string_view::npos;
}

// Splits the percent-encoding of `v` into pieces of at most `max` characters, cutting only
// between whole UTF-8 characters (so even naive per-segment decoders see whole characters).
std::vector<std::string> encode_2231_pieces(std::string_view v, std::size_t max) {
    std::vector<std::string> pieces(1);
    std::size_t i = 0;
    while (i < v.size()) {
        // One character: a lead byte and its continuation bytes.
        std::size_t j = i + 1;
        while (j < v.size() && (static_cast<unsigned char>(v[j]) & 0xC0) == 0x80 && j - i < 4) ++j;
        std::string enc;
        for (std::size_t k = i; k < j; ++k) {
            const auto c = static_cast<unsigned char>(v[k]);
            if (is_attribute_char(c)) {
                enc.push_back(static_cast<char>(c));
            } else {
                enc.push_back('%');
                enc.push_back(detail::hex_upper[c >> 4]);
                enc.push_back(detail::hex_upper[c & 15]);
            }
        }
        if (!pieces.back().empty() && pieces.back().size() + enc.size() > max) pieces.emplace_back();
        pieces.back() += enc;
        i = j;
    }
    return pieces;
}

// A structured token written into a header (type, subtype, disposition kind, parameter name):
// RFC 2045 §5.1 token. Anything else ("x; boundary=y", a CR or LF) would add parameters or
// lines the caller did not ask for, so it is refused before anything is produced.
void check_token(std::string_view t, const char* what) {
    if (t.empty() || !std::all_of(t.begin(), t.end(), is_token_char))
        throw error(errc::invalid_argument, std::string(what) + " is not an RFC 2045 token");
}

// Each "name=value" unit, continuation segments as separate units.
std::vector<std::string> parameter_units(const std::vector<parameter>& params) {
    constexpr std::size_t max_unit = 72;  // so a unit plus "; " fits a 78-character line
    std::vector<std::string> units;
    for (const auto& p : params) check_token(p.name, "parameter name");
    for (const auto& p : params) {
        const std::string name = detail::to_lower(p.name);
        if (needs_extended(p.value)) {
            auto single = encode_2231_pieces(p.value, std::string::npos);
            std::string u = name + "*=utf-8''" + single.front();
            if (u.size() <= max_unit) {
                units.push_back(std::move(u));
                continue;
            }
            const std::size_t room = name.size() + 16 + 24 < max_unit ? max_unit - name.size() - 16 : 24;
            auto pieces = encode_2231_pieces(p.value, room);
            for (std::size_t k = 0; k < pieces.size(); ++k)
                units.push_back(name + "*" + std::to_string(k) + "*=" + (k == 0 ? "utf-8''" : "") + pieces[k]);
            continue;
        }
        const bool token = !p.value.empty() && std::all_of(p.value.begin(), p.value.end(), is_token_char);
        std::string u = name + "=" + (token ? p.value : quote(p.value));
        if (u.size() <= max_unit || p.value.empty()) {
            units.push_back(std::move(u));
            continue;
        }
        // Long ASCII value: quoted RFC 2231 continuations.
        const std::size_t room = name.size() + 10 + 24 < max_unit ? max_unit - name.size() - 10 : 24;
        std::size_t k = 0;
        for (std::size_t off = 0; off < p.value.size(); ++k) {
            std::size_t take = std::min(room, p.value.size() - off);
            units.push_back(name + "*" + std::to_string(k) + "=" + quote(std::string_view(p.value).substr(off, take)));
            off += take;
        }
    }
    return units;
}

}  // namespace

// ---- content_type / content_disposition ------------------------------------------------------

std::string content_type::param(std::string_view name) const { return find_param(params, name); }

bool content_type::has_param(std::string_view name) const {
    return std::any_of(params.begin(), params.end(), [&](const parameter& p) { return detail::iequals(p.name, name); });
}

bool content_type::is(std::string_view t, std::string_view s) const {
    return detail::iequals(type, t) && (s.empty() || detail::iequals(subtype, s));
}

bool content_type::is_message() const { return type == "message" && (subtype == "rfc822" || subtype == "global"); }

std::string content_type::mime_type() const { return type + "/" + subtype; }

void content_type::set_param(std::string_view name, std::string value) {
    const std::string n = detail::to_lower(name);
    for (auto& p : params)
        if (p.name == n) {
            p.value = std::move(value);
            return;
        }
    params.push_back({n, std::move(value)});
}

std::string content_disposition::param(std::string_view name) const { return find_param(params, name); }
std::string content_disposition::filename() const { return find_param(params, "filename"); }

std::vector<parameter> parse_parameters(std::string_view list) {
    cursor c{list};
    return assemble(read_raw(c));
}

content_type parse_content_type(std::string_view value) {
    content_type ct;
    cursor c{value};
    c.skip_cfws();
    const std::size_t start = c.i;
    if (c.at_parameter()) {  // no type at all, parameters only
        ct.params = assemble(read_raw(c));
        return ct;
    }
    std::string type = detail::to_lower(c.token());
    c.skip_cfws();
    std::string subtype;
    if (c.peek() == '/') {
        ++c.i;
        c.skip_cfws();
        subtype = detail::to_lower(c.token());
        c.skip_cfws();
    }
    if (!type.empty() && subtype.empty()) {
        // RFC 2045 §5.2: invalid means text/plain, but a bare major type is usually recoverable.
        if (type == "multipart") subtype = "mixed";
        else if (type == "application") subtype = "octet-stream";
        else if (type == "text") subtype = "plain";
    }
    if (!type.empty() && !subtype.empty()) {
        ct.type = std::move(type);
        ct.subtype = std::move(subtype);
    } else if (c.i == start) {
        ++c.i;  // junk first character; the parameter reader resynchronises at ';'
    }
    ct.params = assemble(read_raw(c));
    return ct;
}

content_disposition parse_content_disposition(std::string_view value) {
    content_disposition cd;
    cursor c{value};
    c.skip_cfws();
    if (!c.at_parameter()) {
        cd.kind = detail::to_lower(c.token());
        c.skip_cfws();
    }
    cd.params = assemble(read_raw(c));
    return cd;
}

std::string format_parameters(const std::vector<parameter>& params) {
    std::string out;
    for (const auto& u : parameter_units(params)) {
        out += "; ";
        out += u;
    }
    return out;
}

std::string format_parameters_folded(const std::vector<parameter>& params, std::size_t first_line_used) {
    std::string out;
    std::size_t line = first_line_used;
    for (const auto& u : parameter_units(params)) {
        out.push_back(';');
        ++line;
        if (line + 1 + u.size() > 76) {
            out += "\r\n ";
            line = 1;
        } else {
            out.push_back(' ');
            ++line;
        }
        out += u;
        line += u.size();
    }
    return out;
}

std::string format_content_type(const content_type& ct) {
    check_token(ct.type, "Content-Type type");
    check_token(ct.subtype, "Content-Type subtype");
    std::string out = ct.mime_type();
    out += format_parameters(ct.params);
    return out;
}

std::string format_content_disposition(const content_disposition& cd) {
    if (!cd.kind.empty()) check_token(cd.kind, "Content-Disposition kind");
    std::string out = cd.kind;
    out += format_parameters(cd.params);
    return out;
}

}  // namespace mailwire::mime
