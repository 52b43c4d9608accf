#include "responses.hpp"

#include <fmt/format.h>

#include "mailwire/error.hpp"

namespace mailwire::imap::detail {
namespace {

[[noreturn]] void throw_parse(errc code, std::string detail) {
    error_context c;
    c.protocol = "imap";
    c.stage = stage::parse;
    throw protocol_error(code, std::move(detail), std::move(c));
}

// The one bound for these collections: `what` names the collection in the error.
template <class V, class T>
void push_bounded(V& v, T&& item, std::size_t max_items, std::string_view what) {
    if (v.size() >= max_items)
        throw_parse(errc::limit_exceeded, fmt::format("{} exceed the limit of {} entries", what, max_items));
    v.push_back(std::forward<T>(item));
}

const node* first(const response& r) { return r.data == node::npos ? nullptr : &r.nodes[r.data]; }
const node* next(const response& r, const node* n) {
    return n == nullptr || n->next == node::npos ? nullptr : &r.nodes[n->next];
}
const node* first_child(const response& r, const node* list) {
    return list == nullptr || list->type != node::kind::list || list->first_child == node::npos
               ? nullptr
               : &r.nodes[list->first_child];
}
bool is_list(const node* n) { return n != nullptr && n->type == node::kind::list; }

std::string upper(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 32);
    return out;
}

// A number-valued atom (RFC 3501 nz-number/number64); nullopt unless all digits and in range.
template <class U>
std::optional<U> number_of(std::string_view s) {
    if (s.empty() || s.size() > 20) return std::nullopt;
    U v = 0;
    for (char c : s) {
        if (c < '0' || c > '9') return std::nullopt;
        const auto d = static_cast<U>(c - '0');
        if (v > (static_cast<U>(-1) - d) / 10) return std::nullopt;
        v = static_cast<U>(v * 10 + d);
    }
    return v;
}

std::vector<std::string_view> words(std::string_view s) {
    std::vector<std::string_view> out;
    std::size_t p = 0;
    while (p < s.size() && out.size() < 4) {  // the codes have at most three arguments
        while (p < s.size() && s[p] == ' ') ++p;
        const auto e = std::min(s.find(' ', p), s.size());
        if (e > p) out.push_back(s.substr(p, e - p));
        p = e;
    }
    return out;
}

std::optional<sequence_set> set_of(std::string_view s) {
    try {
        return sequence_set::parse(s);
    } catch (const parse_error&) {
        return std::nullopt;
    }
}

}  // namespace

namespaces interpret_namespace(const response& r, std::size_t max_items) {
    // Namespace = nil / "(" 1*Namespace_Element ")"; Namespace_Element = "(" string SP
    // (<"> QUOTED_CHAR <"> / nil) *(Namespace_Response_Extension) ")" (RFC 2342 §5).
    namespaces out;
    std::vector<namespace_entry>* lists[] = {&out.personal, &out.other_users, &out.shared};
    std::size_t total = 0;
    std::size_t k = 0;
    for (const node* n = first(r); n != nullptr && k < 3; n = next(r, n), ++k) {
        for (const node* ns = first_child(r, n); ns != nullptr; ns = next(r, ns)) {
            if (!is_list(ns)) continue;
            namespace_entry e;
            const node* prefix = first_child(r, ns);
            if (prefix != nullptr) {
                e.prefix = decode_mailbox_name(node_string(*prefix));
                if (const node* d = next(r, prefix); d != nullptr && d->type != node::kind::list) {
                    const auto delim = node_string(*d);
                    e.delimiter = delim.empty() ? '\0' : delim[0];
                }
            }
            if (total >= max_items)
                throw_parse(errc::limit_exceeded,
                            fmt::format("NAMESPACE entries exceed the limit of {} entries", max_items));
            ++total;
            lists[k]->push_back(std::move(e));
        }
    }
    return out;
}

quota interpret_quota(const response& r, std::size_t max_items) {
    // quota_response = "QUOTA" SP astring SP quota_list; quota_list = "(" [quota_resource
    // *(SP quota_resource)] ")"; quota_resource = atom SP number64 SP number64 (RFC 9208 §9).
    quota q;
    const node* root = first(r);
    if (root == nullptr) return q;
    q.root = node_string(*root);
    const node* list = next(r, root);
    if (!is_list(list)) return q;
    for (const node* name = first_child(r, list); name != nullptr;) {
        const node* usage = next(r, name);
        const node* limit = next(r, usage);
        if (limit == nullptr) throw_parse(errc::protocol_violation, "QUOTA resource without usage and limit");
        if (usage->type != node::kind::number || limit->type != node::kind::number)
            throw_parse(errc::protocol_violation,
                        fmt::format("QUOTA resource {} has a non-numeric usage or limit", name->text.substr(0, 40)));
        push_bounded(q.resources, quota_resource{upper(name->text), usage->number, limit->number}, max_items,
                     "QUOTA resources");
        name = next(r, limit);
    }
    return q;
}

std::vector<std::string> interpret_quotaroot(const response& r, std::size_t max_items) {
    // quotaroot_response = "QUOTAROOT" SP mailbox *(SP astring) (RFC 9208 §9).
    std::vector<std::string> roots;
    const node* mailbox = first(r);
    for (const node* n = next(r, mailbox); n != nullptr; n = next(r, n)) {
        if (is_list(n)) throw_parse(errc::protocol_violation, "QUOTAROOT with a list where a root name belongs");
        push_bounded(roots, node_string(*n), max_items, "QUOTAROOT roots");
    }
    return roots;
}

std::vector<std::pair<std::string, std::optional<std::string>>> interpret_metadata(const response& r,
                                                                                   std::size_t max_items) {
    // metadata-resp = "METADATA" SP mailbox SP (entry-values / entry-list); entry-values =
    // "(" entry-value *(SP entry-value) ")"; entry-value = entry SP value; value = nstring /
    // literal8 (RFC 5464 §5). The unsolicited entry-list form (names only) carries no values.
    std::vector<std::pair<std::string, std::optional<std::string>>> out;
    const node* mailbox = first(r);
    const node* list = next(r, mailbox);
    if (!is_list(list)) return out;
    for (const node* entry = first_child(r, list); entry != nullptr;) {
        const node* value = next(r, entry);
        if (value == nullptr) break;
        if (is_list(entry) || is_list(value))
            throw_parse(errc::protocol_violation, "METADATA with a list where an entry or value belongs");
        push_bounded(out,
                     std::pair<std::string, std::optional<std::string>>(node_string(*entry),
                                                                        value->type == node::kind::nil
                                                                            ? std::nullopt
                                                                            : std::optional(node_string(*value))),
                     max_items, "METADATA entries");
        entry = next(r, value);
    }
    return out;
}

std::vector<std::pair<std::string, std::string>> interpret_id(const response& r, std::size_t max_items) {
    // id_response = "ID" SP id_params_list; id_params_list = "(" #(string SP nstring) ")" / nil
    // (RFC 2971 §4).
    std::vector<std::pair<std::string, std::string>> out;
    const node* list = first(r);
    if (!is_list(list)) return out;
    for (const node* field = first_child(r, list); field != nullptr;) {
        const node* value = next(r, field);
        if (value == nullptr) break;
        if (is_list(field) || is_list(value))
            throw_parse(errc::protocol_violation, "ID with a list where a field or value belongs");
        push_bounded(out, std::pair(node_string(*field), node_string(*value)), max_items, "ID fields");
        field = next(r, value);
    }
    return out;
}

std::optional<copy_result> parse_copyuid(std::string_view code_args) {
    // resp-code-copy = "COPYUID" SP nz-number SP uid-set SP uid-set (RFC 4315 §4).
    const auto w = words(code_args);
    if (w.size() != 3) return std::nullopt;
    const auto v = number_of<std::uint32_t>(w[0]);
    auto src = set_of(w[1]);
    auto dst = set_of(w[2]);
    if (!v || *v == 0 || !src || !dst) return std::nullopt;
    return copy_result{*v, std::move(*src), std::move(*dst)};
}

std::optional<append_result> parse_appenduid(std::string_view code_args) {
    // resp-code-apnd = "APPENDUID" SP nz-number SP append-uid (RFC 4315 §4; MULTIAPPEND: a uid-set).
    const auto w = words(code_args);
    if (w.size() != 2) return std::nullopt;
    const auto v = number_of<std::uint32_t>(w[0]);
    auto uids = set_of(w[1]);
    if (!v || *v == 0 || !uids) return std::nullopt;
    return append_result{*v, std::move(*uids)};
}

sequence_set parse_modified(std::string_view code_args) {
    const auto w = words(code_args);
    if (w.size() != 1) return {};
    auto s = set_of(w[0]);
    return s ? std::move(*s) : sequence_set{};
}

std::optional<vanished_data> interpret_vanished(const response& r) {
    // expunged-resp = "VANISHED" [SP "(EARLIER)"] SP known-uids (RFC 7162 §7).
    vanished_data v;
    const node* n = first(r);
    if (is_list(n)) {  // "(EARLIER)", the only modifier defined
        v.earlier = true;
        n = next(r, n);
    }
    if (n == nullptr) return std::nullopt;
    if (is_list(n)) throw_parse(errc::protocol_violation, "malformed VANISHED: a list instead of a UID set");
    try {
        v.uids = sequence_set::parse(n->text);
    } catch (const parse_error& e) {
        throw_parse(errc::protocol_violation, "malformed VANISHED: " + e.detail());
    }
    return v;
}

}  // namespace mailwire::imap::detail
