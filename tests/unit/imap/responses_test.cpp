// The sans-I/O interpretation of NAMESPACE, QUOTA/QUOTAROOT, METADATA, ID, COPYUID/APPENDUID,
// MODIFIED and VANISHED (src/imap/responses.hpp), the bounds every server-fed collection carries,
// the iterative THREAD tree, and the quoting rules that keep CR/LF/NUL out of command lines.
#include "imap/responses.hpp"

#include <gtest/gtest.h>

#include <string>

#include "mailwire/error.hpp"
#include "mailwire/imap/client.hpp"

namespace mailwire::imap {
namespace {

// A parsed response that owns the bytes its views point into.
struct parsed {
    std::string bytes;
    response r;
    explicit parsed(std::string s) : bytes(std::move(s)) { parse_response(bytes, r); }
};

errc code_of(const error& e) { return static_cast<errc>(e.code().value()); }

template <class F>
errc protocol_code(F&& f) {
    try {
        f();
    } catch (const protocol_error& e) {
        return code_of(e);
    }
    return errc{};
}

TEST(imap_responses, namespace_three_lists_and_utf7) {
    parsed p(R"(* NAMESPACE (("" "/")("Priv&AOQ-/" "/")) NIL (("#shared/" "/" "X-PARAM" ("a"))("#pub" NIL)))");
    const auto ns = detail::interpret_namespace(p.r, 100);
    ASSERT_EQ(ns.personal.size(), 2u);
    EXPECT_EQ(ns.personal[0], (namespace_entry{"", '/'}));
    EXPECT_EQ(ns.personal[1].prefix, "Priv\xc3\xa4/");
    EXPECT_TRUE(ns.other_users.empty());
    ASSERT_EQ(ns.shared.size(), 2u);
    EXPECT_EQ(ns.shared[0], (namespace_entry{"#shared/", '/'}));
    EXPECT_EQ(ns.shared[1], (namespace_entry{"#pub", '\0'}));
    EXPECT_EQ(protocol_code([&] { (void)detail::interpret_namespace(p.r, 3); }), errc::limit_exceeded);
}

TEST(imap_responses, quota_and_quotaroot) {
    parsed q("* QUOTA \"User quota\" (STORAGE 10 512 message 1 1000)");
    const auto got = detail::interpret_quota(q.r, 100);
    EXPECT_EQ(got.root, "User quota");
    ASSERT_EQ(got.resources.size(), 2u);
    EXPECT_EQ(got.resources[0], (quota_resource{"STORAGE", 10, 512}));
    EXPECT_EQ(got.resources[1], (quota_resource{"MESSAGE", 1, 1000}));
    EXPECT_EQ(protocol_code([&] { (void)detail::interpret_quota(q.r, 1); }), errc::limit_exceeded);

    parsed bad("* QUOTA root (STORAGE ten 512)");
    EXPECT_EQ(protocol_code([&] { (void)detail::interpret_quota(bad.r, 100); }), errc::protocol_violation);
    parsed short_res("* QUOTA root (STORAGE 10)");
    EXPECT_EQ(protocol_code([&] { (void)detail::interpret_quota(short_res.r, 100); }), errc::protocol_violation);

    parsed roots("* QUOTAROOT INBOX \"User quota\" Shared");
    EXPECT_EQ(detail::interpret_quotaroot(roots.r, 100), (std::vector<std::string>{"User quota", "Shared"}));
    EXPECT_EQ(protocol_code([&] { (void)detail::interpret_quotaroot(roots.r, 1); }), errc::limit_exceeded);
    parsed none("* QUOTAROOT INBOX");
    EXPECT_TRUE(detail::interpret_quotaroot(none.r, 100).empty());
}

TEST(imap_responses, metadata_values_nil_and_literals) {
    parsed p("* METADATA \"INBOX\" (/private/comment {5}\r\nhello /shared/x NIL)");
    const auto md = detail::interpret_metadata(p.r, 100);
    ASSERT_EQ(md.size(), 2u);
    EXPECT_EQ(md[0].first, "/private/comment");
    EXPECT_EQ(md[0].second, std::optional<std::string>("hello"));
    EXPECT_EQ(md[1].first, "/shared/x");
    EXPECT_EQ(md[1].second, std::nullopt);
    EXPECT_EQ(protocol_code([&] { (void)detail::interpret_metadata(p.r, 1); }), errc::limit_exceeded);
    parsed names_only("* METADATA INBOX /shared/comment");
    EXPECT_TRUE(detail::interpret_metadata(names_only.r, 100).empty());
    parsed nested("* METADATA INBOX (/a (b))");
    EXPECT_EQ(protocol_code([&] { (void)detail::interpret_metadata(nested.r, 100); }), errc::protocol_violation);
}

TEST(imap_responses, id_fields) {
    parsed p(R"(* ID ("name" "Dovecot" "version" NIL "odd"))");
    const auto id = detail::interpret_id(p.r, 100);
    ASSERT_EQ(id.size(), 2u);
    EXPECT_EQ(id[0], (std::pair<std::string, std::string>{"name", "Dovecot"}));
    EXPECT_EQ(id[1], (std::pair<std::string, std::string>{"version", ""}));
    EXPECT_EQ(protocol_code([&] { (void)detail::interpret_id(p.r, 1); }), errc::limit_exceeded);
    parsed nil("* ID NIL");
    EXPECT_TRUE(detail::interpret_id(nil.r, 100).empty());
}

TEST(imap_responses, uidplus_codes) {
    const auto c = detail::parse_copyuid("38505 304,319:320 3956:3958");
    ASSERT_TRUE(c);
    EXPECT_EQ(c->uidvalidity, 38505u);
    EXPECT_EQ(c->source.to_string(), "304,319:320");
    EXPECT_EQ(c->destination.to_string(), "3956:3958");
    EXPECT_FALSE(detail::parse_copyuid("38505 304"));
    EXPECT_FALSE(detail::parse_copyuid("x 1 2"));
    EXPECT_FALSE(detail::parse_copyuid("0 1 2"));
    EXPECT_FALSE(detail::parse_copyuid("99999999999 1 2"));
    EXPECT_FALSE(detail::parse_copyuid("1 1:x 2"));
    EXPECT_FALSE(detail::parse_copyuid("1 2 3 4"));

    const auto a = detail::parse_appenduid("7 42:44");
    ASSERT_TRUE(a);
    EXPECT_EQ(a->uidvalidity, 7u);
    EXPECT_EQ(a->uids.to_string(), "42:44");
    EXPECT_FALSE(detail::parse_appenduid("7"));
    EXPECT_FALSE(detail::parse_appenduid("7 ,"));

    EXPECT_EQ(detail::parse_modified("7,9:11").to_string(), "7,9:11");
    EXPECT_TRUE(detail::parse_modified("junk").empty());
}

TEST(imap_responses, vanished) {
    parsed now("* VANISHED 405,407,410:412");
    auto v = detail::interpret_vanished(now.r);
    ASSERT_TRUE(v);
    EXPECT_FALSE(v->earlier);
    EXPECT_EQ(v->uids.to_string(), "405,407,410:412");
    parsed earlier("* VANISHED (EARLIER) 300:310");
    v = detail::interpret_vanished(earlier.r);
    ASSERT_TRUE(v);
    EXPECT_TRUE(v->earlier);
    EXPECT_EQ(v->uids.to_string(), "300:310");
    parsed empty("* VANISHED (EARLIER)");
    EXPECT_FALSE(detail::interpret_vanished(empty.r));
    parsed bad("* VANISHED 1:x");
    EXPECT_EQ(protocol_code([&] { (void)detail::interpret_vanished(bad.r); }), errc::protocol_violation);
}

TEST(imap_responses, search_and_sort_bounded) {
    parsed p("* SEARCH 1 2 3 4 5");
    EXPECT_EQ(interpret_search(p.r, 5).ids.size(), 5u);
    EXPECT_EQ(protocol_code([&] { (void)interpret_search(p.r, 4); }), errc::limit_exceeded);
    // ESEARCH ALL stays a set when it would expand beyond the bound.
    parsed all("* ESEARCH (TAG \"A1\") UID ALL 1:10");
    const auto s = interpret_search(all.r, 5);
    EXPECT_TRUE(s.ids.empty());
    ASSERT_TRUE(s.all);
    EXPECT_EQ(s.all->to_string(), "1:10");
    EXPECT_EQ(interpret_search(all.r, 10).ids.size(), 10u);
}

// Depth of the first chain, walked iteratively.
std::size_t chain_depth(const thread_node& root) {
    std::size_t d = 1;
    for (const thread_node* n = &root; !n->children.empty(); n = &n->children[0]) ++d;
    return d;
}

TEST(imap_responses, thread_chain_is_iterative) {
    // RFC 5256 §4: "(1 2 3 … n)" is an n-deep chain. 300 000 levels would overflow an 8 MB stack
    // many times over if building, copying, comparing or destroying recursed.
    constexpr std::uint32_t n = 300'000;
    std::string line = "* THREAD (";
    for (std::uint32_t i = 1; i <= n; ++i) line += std::to_string(i) + (i < n ? " " : ")");
    line += "(7 (8)(9))";
    parser_limits lim;
    lim.max_line_length = line.size() + 2;
    lim.max_response_bytes = line.size() + 2;
    std::string bytes = line;
    response r;
    parse_response(bytes, r, lim);
    std::size_t nodes = 0;
    auto forest = interpret_thread(r, n + 3, &nodes);
    EXPECT_EQ(nodes, n + 3);
    ASSERT_EQ(forest.size(), 2u);
    EXPECT_EQ(chain_depth(forest[0]), n);
    const thread_node* last = &forest[0];
    while (!last->children.empty()) last = &last->children[0];
    EXPECT_EQ(last->id, n);
    EXPECT_EQ(forest[1].children.size(), 2u);

    auto copy = forest;  // deep copy
    EXPECT_TRUE(copy == forest);
    copy[0].children[0].children[0].id = 99;
    EXPECT_FALSE(copy == forest);
    copy = forest;  // copy assignment over an existing deep tree
    EXPECT_TRUE(copy == forest);
    thread_node moved = std::move(copy[0]);
    EXPECT_EQ(chain_depth(moved), n);
    moved = thread_node(5);  // move assignment destroys the old chain
    EXPECT_EQ(moved.id, 5u);
    EXPECT_TRUE(moved.children.empty());

    EXPECT_EQ(protocol_code([&] { (void)interpret_thread(r, n + 2); }), errc::limit_exceeded);
}

TEST(imap_responses, thread_nesting_and_wide) {
    parsed p("* THREAD (2)(3 6 (4 23)(44 7 96))((5)(6))");
    std::size_t nodes = 0;
    const auto t = interpret_thread(p.r, 100, &nodes);
    ASSERT_EQ(t.size(), 3u);
    EXPECT_EQ(t[1].id, 3u);
    ASSERT_EQ(t[1].children.size(), 1u);
    EXPECT_EQ(t[1].children[0].id, 6u);
    ASSERT_EQ(t[1].children[0].children.size(), 2u);
    EXPECT_EQ(t[1].children[0].children[1].children[0].children[0].id, 96u);
    EXPECT_EQ(t[2].id, 0u);  // placeholder
    EXPECT_EQ(t[2].children.size(), 2u);
    EXPECT_EQ(nodes, 11u);
    EXPECT_EQ(protocol_code([&] { (void)interpret_thread(p.r, 10); }), errc::limit_exceeded);
}

TEST(imap_responses, quote_refuses_what_a_quoted_string_cannot_carry) {
    EXPECT_EQ(client::quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
    for (const std::string& bad : {std::string("a\rb"), std::string("a\nb"), std::string("a\0b", 3)}) {
        try {
            (void)client::quote(bad);
            ADD_FAILURE() << "quote accepted a control character";
        } catch (const error& e) {
            EXPECT_EQ(code_of(e), errc::invalid_argument);
        }
    }
    client::command c;
    c.string("a\r\nb");  // CR/LF: a literal
    ASSERT_EQ(c.parts.size(), 3u);
    EXPECT_EQ(c.parts[1], "a\r\nb");
    try {
        c.string(std::string_view("a\0b", 3));
        ADD_FAILURE() << "a NUL went into a command";
    } catch (const error& e) {
        EXPECT_EQ(code_of(e), errc::invalid_argument);
    }
    try {
        (void)search_query::subject(std::string_view("x\0y", 3));
        ADD_FAILURE() << "a NUL went into a search string";
    } catch (const error& e) {
        EXPECT_EQ(code_of(e), errc::invalid_argument);
    }
}

}  // namespace
}  // namespace mailwire::imap
