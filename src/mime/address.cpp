// RFC 5322 §3.4 address lists, read leniently (§4.4 obsolete syntax and common breakage).
#include "mailwire/mime/address.hpp"

#include <idn2.h>

#include <cstdlib>
#include <optional>

#include "mailwire/error.hpp"
#include "mailwire/mime/rfc2047.hpp"
#include "mime/detail_model.hpp"
#include "mime/detail_rfc2047.hpp"
#include "mime/detail_text.hpp"

namespace mailwire::mime {
namespace {

enum class kind { atom, quoted, comment, literal, special };

struct token {
    kind k;
    std::string text;  // atom text, unescaped quoted/comment content, [literal], or the special char
    bool ws_before = false;
    bool is(char c) const { return k == kind::special && text.size() == 1 && text[0] == c; }
};

bool is_special(char c) {
    switch (c) {
    case '(':
    case ')':
    case '<':
    case '>':
    case '[':
    case ']':
    case ':':
    case ';':
    case '@':
    case ',':
    case '.':
    case '"':
        return true;
    default:
        return false;
    }
}

// Reads a delimited run with quoted-pairs; s[i] is the opening delimiter. Unterminated → to the end.
std::string read_delimited(std::string_view s, std::size_t& i, char close) {
    std::string v;
    ++i;
    while (i < s.size()) {
        const char c = s[i];
        if (c == close) {
            ++i;
            return v;
        }
        if (c == '\\' && i + 1 < s.size()) {
            if (s[i + 1] != '\r' && s[i + 1] != '\n') v.push_back(s[i + 1]);  // no line breaks in a value
            i += 2;
            continue;
        }
        if (c != '\r' && c != '\n') v.push_back(c);
        ++i;
    }
    return v;
}

std::vector<token> tokenize(std::string_view s) {
    std::vector<token> out;
    bool ws = false;
    std::size_t i = 0;
    while (i < s.size()) {
        const char c = s[i];
        if (detail::is_blank(c)) {
            ws = true;
            ++i;
            continue;
        }
        token t{kind::atom, {}, ws};
        ws = false;
        if (c == '"') {
            t.k = kind::quoted;
            t.text = read_delimited(s, i, '"');
        } else if (c == '(') {
            const std::size_t e = detail::skip_comment(s, i);
            t.k = kind::comment;
            // Content without the outer parentheses, quoted-pairs resolved.
            std::string_view inner = s.substr(i + 1, e - i - 1);
            if (!inner.empty() && inner.back() == ')') inner.remove_suffix(1);
            for (std::size_t k = 0; k < inner.size(); ++k) {
                if (inner[k] == '\\' && k + 1 < inner.size()) ++k;
                if (inner[k] != '\r' && inner[k] != '\n') t.text.push_back(inner[k]);
            }
            i = e;
            ws = true;  // a comment separates like whitespace
        } else if (c == '[') {
            t.k = kind::literal;
            // Kept as "[" + content + "]" with quoted-pairs resolved and stray brackets and
            // backslashes dropped, so that it always reads back the same (also when unterminated).
            const std::string content = read_delimited(s, i, ']');
            t.text.reserve(content.size() + 2);
            t.text.push_back('[');
            for (char ch : content)
                if (ch != '[' && ch != ']' && ch != '\\') t.text.push_back(ch);
            t.text.push_back(']');
        } else if (is_special(c) || c == ')') {
            t.k = kind::special;
            t.text.assign(1, c);
            ++i;
        } else {
            const std::size_t b = i;
            while (i < s.size() && !detail::is_blank(s[i]) && !is_special(s[i]) && s[i] != ')') ++i;
            t.text.assign(s.substr(b, i - b));
        }
        out.push_back(std::move(t));
    }
    return out;
}

using range = std::pair<std::size_t, std::size_t>;  // [first, last) token indexes

// A display name from tokens: words joined as written (a space where there was whitespace),
// quoted strings unquoted, comments dropped, then RFC 2047 decoded (encoded words inside quotes
// too: Outlook writes them so).
std::string phrase(const std::vector<token>& t, range r) {
    std::string raw;
    for (std::size_t i = r.first; i < r.second; ++i) {
        if (t[i].k == kind::comment) continue;
        if (t[i].ws_before && !raw.empty()) raw.push_back(' ');
        raw += t[i].text;
    }
    // Encoded words can carry CR, LF and other controls: a decoded name is made single-line
    // text, the same rule format_mailbox applies, so a name never reads back as more than one line.
    const std::string name = detail::single_line_text(decode_header_text(raw));
    return std::string(detail::trim(name));
}

std::string first_comment(const std::vector<token>& t, range r) {
    for (std::size_t i = r.first; i < r.second; ++i)
        if (t[i].k == kind::comment) {
            std::string n(detail::trim(detail::single_line_text(decode_header_text(t[i].text))));
            if (!n.empty()) return n;
        }
    return {};
}

bool is_local_token(const token& x) { return x.k == kind::atom || x.k == kind::quoted || x.is('.'); }
bool is_domain_token(const token& x) { return x.k == kind::atom || x.k == kind::literal || x.is('.'); }

// local@domain inside angle brackets (or a whole bare piece): everything is part of the address.
void addr_spec(const std::vector<token>& t, range r, mailbox& m) {
    std::size_t at = r.second;
    for (std::size_t i = r.first; i < r.second; ++i)
        if (t[i].is('@')) {
            at = i;
            break;
        }
    for (std::size_t i = r.first; i < at; ++i)
        if (is_local_token(t[i])) m.local += t[i].text;
    for (std::size_t i = at + 1; i < r.second; ++i) {
        if (is_domain_token(t[i])) m.domain += t[i].text;
        else if (t[i].is('@')) m.domain.clear();  // "a@b@c": the last domain wins
    }
}

struct piece {
    address a;
    bool bare_words = false;  // no '@', no '<': "Doe" of "Doe, John <x@y>"
    bool angle = false;
    std::string bare_text;
};

// One mailbox from tokens [b, e).
piece mailbox_piece(const std::vector<token>& t, range r) {
    piece p;
    mailbox m;
    std::size_t lt = r.second;
    for (std::size_t i = r.first; i < r.second; ++i)
        if (t[i].is('<')) {
            lt = i;
            break;
        }
    if (lt < r.second) {
        p.angle = true;
        std::size_t gt = lt + 1;
        while (gt < r.second && !t[gt].is('>')) ++gt;
        std::size_t b = lt + 1;
        // Obsolete route: <@a,@b:x@y> — drop everything up to the ':'.
        if (b < gt && t[b].is('@')) {
            for (std::size_t k = b; k < gt; ++k)
                if (t[k].is(':')) {
                    b = k + 1;
                    break;
                }
        }
        addr_spec(t, {b, gt}, m);
        m.name = phrase(t, {r.first, lt});
        if (m.name.empty()) m.name = first_comment(t, {gt, r.second});
        if (m.name.empty()) m.name = first_comment(t, {r.first, lt});
        p.a.members.push_back(std::move(m));
        return p;
    }
    std::size_t at = r.second;
    for (std::size_t i = r.first; i < r.second; ++i)
        if (t[i].is('@')) {
            at = i;
            break;
        }
    if (at == r.second) {
        // No address at all: a bare word list ("undisclosed-recipients", "Doe").
        p.bare_words = true;
        p.bare_text = phrase(t, r);
        std::string local;
        for (std::size_t i = r.first; i < r.second; ++i)
            if (is_local_token(t[i])) local += t[i].text;
        if (!local.empty()) {
            m.local = std::move(local);
            p.a.members.push_back(std::move(m));
        }
        return p;
    }
    // local@domain possibly after a name without angle brackets: the local part is the run of
    // atoms, quoted strings and dots written together right before '@'.
    std::size_t ls = at;
    while (ls > r.first && is_local_token(t[ls - 1]) && (ls == at || !t[ls].ws_before || t[ls].is('.'))) --ls;
    std::size_t de = at + 1;
    while (de < r.second && is_domain_token(t[de]) &&
           (de == at + 1 || !t[de].ws_before || t[de].is('.') || t[de - 1].is('.')))
        ++de;
    for (std::size_t i = ls; i < at; ++i) m.local += t[i].text;
    for (std::size_t i = at + 1; i < de; ++i) m.domain += t[i].text;
    m.name = phrase(t, {r.first, ls});
    if (m.name.empty()) m.name = first_comment(t, {de, r.second});
    if (m.name.empty()) m.name = first_comment(t, r);
    p.a.members.push_back(std::move(m));
    return p;
}

// End of the mailbox starting at i: the next ',' (or ';' / ':' that would start a group) outside <>.
std::size_t mailbox_end(const std::vector<token>& t, std::size_t i, bool in_group) {
    bool angle = false;
    for (; i < t.size(); ++i) {
        if (t[i].is('<')) angle = true;
        else if (t[i].is('>')) angle = false;
        else if (!angle && (t[i].is(',') || t[i].is(';'))) return i;
        else if (!angle && in_group && t[i].is(':')) return i;
    }
    return t.size();
}

bool empty_mailbox(const mailbox& m) { return m.local.empty() && m.domain.empty() && m.name.empty(); }

std::vector<piece> parse_pieces(std::string_view value) {
    const auto t = tokenize(value);
    std::vector<piece> out;
    std::size_t i = 0;
    while (i < t.size()) {
        if (t[i].is(',') || t[i].is(';') || t[i].k == kind::comment) {
            ++i;
            continue;
        }
        // A group if ':' comes before any '<', '@' or ','.
        std::size_t j = i;
        while (j < t.size() && !t[j].is(':') && !t[j].is('<') && !t[j].is('@') && !t[j].is(',') && !t[j].is(';')) ++j;
        if (j < t.size() && t[j].is(':')) {
            piece g;
            g.a.group_name = phrase(t, {i, j});
            if (g.a.group_name.empty()) g.a.group_name = "group";  // "": keep it a group all the same
            i = j + 1;
            while (i < t.size()) {
                if (t[i].is(';')) {
                    ++i;
                    break;
                }
                if (t[i].is(',') || t[i].is(':')) {
                    ++i;
                    continue;
                }
                const std::size_t e = mailbox_end(t, i, true);
                piece m = mailbox_piece(t, {i, e});
                for (auto& mb : m.a.members)
                    if (!empty_mailbox(mb)) g.a.members.push_back(std::move(mb));
                i = e;
            }
            out.push_back(std::move(g));
            continue;
        }
        const std::size_t e = mailbox_end(t, i, false);
        piece p = mailbox_piece(t, {i, e});
        i = e;
        if (p.a.members.empty() || empty_mailbox(p.a.members.front())) continue;
        out.push_back(std::move(p));
    }
    // "Doe, John <x@y>": a bare word list before a named angle address is part of its name.
    std::vector<piece> merged;
    for (std::size_t k = 0; k < out.size(); ++k) {
        if (out[k].bare_words && k + 1 < out.size() && out[k + 1].angle && !out[k + 1].a.members.empty() &&
            !out[k + 1].a.members.front().name.empty() && !out[k].bare_text.empty()) {
            auto& n = out[k + 1].a.members.front().name;
            n = out[k].bare_text + ", " + n;
            continue;
        }
        merged.push_back(std::move(out[k]));
    }
    return merged;
}

std::string quote(std::string_view s) {
    std::string q = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') q.push_back('\\');
        q.push_back(c);
    }
    q.push_back('"');
    return q;
}

std::string format_phrase(std::string_view raw_name) {
    // A display or group name is unstructured text: line breaks unfolded, controls dropped, so
    // nothing in it can end the header line, even once a reader decodes the encoded words.
    const std::string single = detail::single_line_text(raw_name);
    const std::string_view name = detail::trim(single);
    // Non-ASCII, controls, or a literal "=?" (which readers would decode) need encoded words.
    bool ctl = false;
    for (unsigned char c : name) ctl = ctl || c < 0x20 || c == 0x7F;
    if (ctl || !detail::is_ascii_text(name) || name.find("=?") != std::string_view::npos)
        return detail::encode_words(name, true, false, 0);
    // ASCII: atoms separated by single spaces stay as they are; anything else is quoted.
    bool plain = !name.empty() && name.front() != ' ' && name.back() != ' ';
    for (std::size_t i = 0; plain && i < name.size(); ++i) {
        if (name[i] == ' ') {
            plain = name[i + 1] != ' ';
        } else {
            plain = detail::is_atext(name[i]);
        }
    }
    return plain ? std::string(name) : quote(name);
}

}  // namespace

std::string mailbox::address() const {
    std::string a = detail::is_dot_atom_text(local) ? local : quote(local);
    if (!domain.empty()) {
        a.push_back('@');
        a += domain;
    }
    return a;
}

std::string mailbox::domain_ascii() const {
    if (domain.empty() || domain.front() == '[') return domain;
    if (detail::is_ascii_text(domain)) return detail::to_lower(domain);
    char* out = nullptr;
    int rc = idn2_to_ascii_8z(domain.c_str(), &out, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
    if (rc != IDN2_OK) {
        if (out) idn2_free(out);
        out = nullptr;
        rc = idn2_to_ascii_8z(domain.c_str(), &out, IDN2_NFC_INPUT | IDN2_TRANSITIONAL);
    }
    if (rc != IDN2_OK || !out) {
        if (out) idn2_free(out);
        return domain;
    }
    std::string r(out);
    idn2_free(out);
    return r;
}

std::string mailbox::domain_unicode() const {
    if (domain.empty() || domain.front() == '[') return domain;
    const std::string lower = detail::to_lower(domain);
    if (lower.find("xn--") == std::string::npos) return domain;
    char* out = nullptr;
    const int rc = idn2_to_unicode_8z8z(lower.c_str(), &out, 0);
    if (rc != IDN2_OK || !out) {
        if (out) idn2_free(out);
        return domain;
    }
    std::string r(out);
    idn2_free(out);
    return r;
}

std::vector<address> parse_address_list(std::string_view header_value) {
    std::vector<address> out;
    for (auto& p : parse_pieces(header_value)) out.push_back(std::move(p.a));
    return out;
}

std::vector<mailbox> parse_mailbox_list(std::string_view header_value) {
    std::vector<mailbox> out;
    for (auto& a : parse_address_list(header_value))
        for (auto& m : a.members) out.push_back(std::move(m));
    return out;
}

const char* detail::mailbox_problem(const mailbox& m) noexcept {
    // The local part is written as a dot-atom or a quoted string; a quoted string may hold any
    // printable character but no control (qtext, RFC 5322 §3.2.4): CR or LF there would end the
    // header line.
    for (const char c : m.local) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7F) return "the local part contains a control character";
    }
    if (!m.domain.empty() && !is_domain(m.domain))
        return "the domain is neither a dot-atom nor a domain literal (RFC 5322 §3.4.1)";
    return nullptr;
}

std::string format_mailbox(const mailbox& m) {
    if (const char* why = detail::mailbox_problem(m))
        throw error(errc::invalid_argument, std::string("mailbox: ") + why);
    std::string out;
    // A name that is nothing but blanks and controls is no name.
    const std::string clean = detail::single_line_text(m.name);
    const std::string name = detail::trim(clean).empty() ? std::string() : format_phrase(clean);
    // Without a domain (or a local part) the angle brackets keep a bare word from reading as
    // the first half of an unquoted "Doe, John <x@y>" name.
    const bool angle = !name.empty() || m.local.empty() || m.domain.empty();
    out.reserve(name.size() + m.local.size() + m.domain.size() + 8);
    out.append(name);
    if (!name.empty()) out.push_back(' ');
    if (angle) out.push_back('<');
    out.append(m.address());
    if (angle) out.push_back('>');
    return out;
}

std::string format_address_list(const std::vector<address>& list) {
    std::string out;
    for (const auto& a : list) {
        if (!a.is_group() && a.members.empty()) continue;
        if (!out.empty()) out += ", ";
        if (a.is_group()) {
            out += format_phrase(a.group_name);
            out += ":";
            for (std::size_t i = 0; i < a.members.size(); ++i) {
                out += i ? ", " : " ";
                out += format_mailbox(a.members[i]);
            }
            out += ";";
        } else {
            for (std::size_t i = 0; i < a.members.size(); ++i) {
                if (i) out += ", ";
                out += format_mailbox(a.members[i]);
            }
        }
    }
    return out;
}

}  // namespace mailwire::mime
