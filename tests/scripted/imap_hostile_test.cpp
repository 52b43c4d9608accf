// IMAP against hostile servers (issue #12 items 6 and 8): THREAD bombs, floods of untagged
// responses beyond limits().max_list_items, nesting beyond limits().max_nesting_depth, and
// arguments that would inject a command line. A bound that trips ends the session with a clean
// protocol_error(limit_exceeded); an injection attempt is refused with error(invalid_argument)
// before a byte leaves, and the session stays usable.
#include <gtest/gtest.h>

#include <functional>
#include <regex>
#include <string>

#include "mailwire/imap/client.hpp"
#include "support/scripted_server.hpp"

namespace mailwire::imap {
namespace {

using namespace std::chrono_literals;
using test::script;
using test::scripted_server;

void fast(client& c) {
    c.timeouts().greeting = 5000ms;
    c.timeouts().io = 5000ms;
    c.timeouts().connect = 5000ms;
}

errc code_of(const error& e) { return static_cast<errc>(e.code().value()); }

const char* const greeting =
    "* PREAUTH [CAPABILITY IMAP4rev1 THREAD=REFERENCES SORT ESEARCH UIDPLUS MOVE QUOTA METADATA ENABLE ID "
    "LIST-EXTENDED LIST-STATUS CONDSTORE NAMESPACE] hi\r\n";

// Runs `call` against a server that answers one command `request` (a regex) with `reply`
// (tagged with $1), and expects the session to end with protocol_error(limit_exceeded).
void expect_limit(const std::string& request, const std::string& reply, const std::function<void(client&)>& setup,
                  const std::function<void(client&)>& call) {
    scripted_server srv(script{}.send(greeting).expect_line_matching(request).send(reply).expect_eof());
    client c;
    fast(c);
    setup(c);
    c.connect(srv.host(), srv.port(), security::none);
    try {
        call(c);
        ADD_FAILURE() << "no limit tripped for " << request;
    } catch (const protocol_error& e) {
        EXPECT_EQ(code_of(e), errc::limit_exceeded) << e.what();
    }
    EXPECT_FALSE(c.is_connected());
    EXPECT_EQ(srv.wait(), "");
}

void small_lists(client& c) { c.limits().max_list_items = 100; }

std::string numbers(std::uint32_t from, std::uint32_t to) {
    std::string out;
    for (auto i = from; i <= to; ++i) out += " " + std::to_string(i);
    return out;
}

// ---- item 6: THREAD bombs -------------------------------------------------------------------

TEST(imap_hostile, thread_bomb_deep_chain) {
    // "(1 2 … n)" is an n-deep tree (RFC 5256 §4); ~2 MB of it used to overflow the stack while the
    // result was copied and destroyed. Now it is built, copied, compared and freed iteratively.
    constexpr std::uint32_t n = 300'000;
    std::string reply = "* THREAD (" + numbers(1, n).substr(1) + ")\r\n$1 OK Thread completed\r\n";
    scripted_server srv(script{}
                            .send(greeting)
                            .expect_line_matching(R"(^(\S+) UID THREAD REFERENCES UTF-8 ALL$)")
                            .send(reply)
                            .expect_line_matching(R"(^(\S+) NOOP$)")
                            .send("$1 OK done\r\n")
                            .expect_eof());
    client c;
    fast(c);
    c.limits().max_line_length = 4 << 20;
    c.connect(srv.host(), srv.port(), security::none);
    auto forest = c.thread("REFERENCES", search_query::all());
    ASSERT_EQ(forest.size(), 1u);
    std::uint32_t depth = 0;
    const thread_node* last = nullptr;
    for (const thread_node* t = &forest[0]; t != nullptr; t = t->children.empty() ? nullptr : &t->children[0]) {
        ++depth;
        last = t;
    }
    EXPECT_EQ(depth, n);
    EXPECT_EQ(last->id, n);
    const auto copy = forest;
    EXPECT_TRUE(copy == forest);
    forest.clear();
    c.noop();  // the session is intact
    c.disconnect(false);
    EXPECT_EQ(srv.wait(), "");
}

TEST(imap_hostile, thread_bomb_wide_forest) {
    std::string reply = "* THREAD ";
    for (int i = 1; i <= 500; ++i) reply += "(" + std::to_string(i) + ")";
    expect_limit(R"(^(\S+) UID THREAD REFERENCES UTF-8 ALL$)", reply + "\r\n$1 OK done\r\n", small_lists,
                 [](client& c) { (void)c.thread("REFERENCES", search_query::all()); });
}

TEST(imap_hostile, thread_bomb_wide_siblings_and_split_responses) {
    // One list of 500 siblings under a placeholder …
    std::string siblings = "* THREAD (";
    for (int i = 1; i <= 500; ++i) siblings += "(" + std::to_string(i) + ")";
    expect_limit(R"(^(\S+) UID THREAD REFERENCES UTF-8 ALL$)", siblings + ")\r\n$1 OK done\r\n", small_lists,
                 [](client& c) { (void)c.thread("REFERENCES", search_query::all()); });
    // … and a budget shared by every THREAD response of the command: 3 × 40 nodes > 100.
    std::string split;
    for (int k = 0; k < 3; ++k) split += "* THREAD (" + numbers(k * 40 + 1, k * 40 + 40).substr(1) + ")\r\n";
    expect_limit(R"(^(\S+) UID THREAD REFERENCES UTF-8 ALL$)", split + "$1 OK done\r\n", small_lists,
                 [](client& c) { (void)c.thread("REFERENCES", search_query::all()); });
}

// ---- item 6: floods of untagged responses -----------------------------------------------------

TEST(imap_hostile, search_flood) {
    expect_limit(R"(^(\S+) UID SEARCH ALL$)", "* SEARCH" + numbers(1, 500) + "\r\n$1 OK done\r\n", small_lists,
                 [](client& c) { (void)c.search(search_query::all()); });
    // Many small SEARCH responses add up.
    std::string many;
    for (int k = 0; k < 5; ++k) many += "* SEARCH" + numbers(k * 30 + 1, k * 30 + 30) + "\r\n";
    expect_limit(R"(^(\S+) UID SEARCH ALL$)", many + "$1 OK done\r\n", small_lists,
                 [](client& c) { (void)c.search(search_query::all()); });
    // ESEARCH ALL is not expanded beyond the bound: the set is kept instead.
    scripted_server srv(script{}
                            .send(greeting)
                            .expect_line_matching(R"(^(\S+) UID SEARCH RETURN \(ALL\) ALL$)")
                            .send("* ESEARCH (TAG \"$1\") UID ALL 1:100000\r\n$1 OK done\r\n")
                            .expect_eof());
    client c;
    fast(c);
    small_lists(c);
    c.connect(srv.host(), srv.port(), security::none);
    search_options o;
    o.returns = {"ALL"};
    auto r = c.search(search_query::all(), o);
    EXPECT_TRUE(r.ids.empty());
    ASSERT_TRUE(r.all);
    EXPECT_EQ(r.all->to_string(), "1:100000");
    c.disconnect(false);
    EXPECT_EQ(srv.wait(), "");
}

TEST(imap_hostile, sort_flood) {
    expect_limit(R"(^(\S+) UID SORT \(DATE\) UTF-8 ALL$)", "* SORT" + numbers(1, 300) + "\r\n$1 OK done\r\n",
                 small_lists, [](client& c) { (void)c.sort("DATE", search_query::all()); });
}

TEST(imap_hostile, list_flood) {
    std::string flood;
    for (int i = 0; i < 150; ++i) flood += "* LIST () \"/\" box" + std::to_string(i) + "\r\n";
    expect_limit(R"(^(\S+) LIST "" "\*"$)", flood + "$1 OK done\r\n", small_lists, [](client& c) { (void)c.list(); });
    std::string lsub;
    for (int i = 0; i < 150; ++i) lsub += "* LSUB () \"/\" box" + std::to_string(i) + "\r\n";
    expect_limit(R"(^(\S+) LSUB "" "\*"$)", lsub + "$1 OK done\r\n", small_lists, [](client& c) { (void)c.lsub(); });
}

TEST(imap_hostile, fetch_store_expunge_vanished_floods) {
    std::string fetches;
    for (int i = 1; i <= 150; ++i)
        fetches += "* " + std::to_string(i) + " FETCH (UID " + std::to_string(i) + " FLAGS (\\Seen))\r\n";
    expect_limit(R"(^(\S+) UID FETCH 1:\* \(UID FLAGS\)$)", fetches + "$1 OK done\r\n", small_lists,
                 [](client& c) { (void)c.fetch(sequence_set::all(), "UID FLAGS"); });
    expect_limit(R"(^(\S+) UID STORE 1:\* \+FLAGS \(\\Seen\)$)", fetches + "$1 OK done\r\n", small_lists,
                 [](client& c) { (void)c.store(sequence_set::all(), store_action::add, {"\\Seen"}); });
    std::string expunges;
    for (int i = 0; i < 150; ++i) expunges += "* 1 EXPUNGE\r\n";
    expect_limit(R"(^(\S+) EXPUNGE$)", expunges + "$1 OK done\r\n", small_lists, [](client& c) { (void)c.expunge(); });
    std::string vanished;
    for (int i = 0; i < 150; ++i) vanished += "* VANISHED " + std::to_string(2 * i + 1) + "\r\n";
    expect_limit(R"(^(\S+) UID EXPUNGE 1:\*$)", vanished + "$1 OK done\r\n", small_lists,
                 [](client& c) { (void)c.expunge(sequence_set::all()); });
}

TEST(imap_hostile, namespace_quota_metadata_id_floods) {
    std::string ns = "* NAMESPACE (";
    for (int i = 0; i < 150; ++i) ns += "(\"p" + std::to_string(i) + "/\" \"/\")";
    expect_limit(R"(^(\S+) NAMESPACE$)", ns + ") NIL NIL\r\n$1 OK done\r\n", small_lists,
                 [](client& c) { (void)c.namespaces(); });
    std::string roots = "* QUOTAROOT INBOX" + numbers(1, 150) + "\r\n";
    expect_limit(R"(^(\S+) GETQUOTAROOT "INBOX"$)", roots + "$1 OK done\r\n", small_lists,
                 [](client& c) { (void)c.quota_root("INBOX"); });
    std::string md = "* METADATA INBOX (";
    for (int i = 0; i < 150; ++i) md += "/private/e" + std::to_string(i) + " v ";
    expect_limit(R"(^(\S+) GETMETADATA "INBOX" \("/private/comment"\)$)", md + ")\r\n$1 OK done\r\n", small_lists,
                 [](client& c) { (void)c.get_metadata("INBOX", {"/private/comment"}); });
    std::string id;
    for (int k = 0; k < 3; ++k) {
        id += "* ID (";
        for (int i = 0; i < 40; ++i) id += "\"f" + std::to_string(k * 40 + i) + "\" \"v\" ";
        id += ")\r\n";
    }
    expect_limit(R"(^(\S+) ID NIL$)", id + "$1 OK done\r\n", small_lists, [](client& c) { (void)c.id(); });
}

TEST(imap_hostile, bodystructure_nesting_beyond_limit) {
    std::string body;
    for (int i = 0; i < 20; ++i) body += "(";
    body += "\"text\" \"plain\" NIL NIL NIL \"7BIT\" 1 1";
    for (int i = 0; i < 19; ++i) body += ")";
    body += " \"mixed\")";
    expect_limit(R"(^(\S+) UID FETCH 1 BODYSTRUCTURE$)",
                 "* 1 FETCH (UID 1 BODYSTRUCTURE " + body + ")\r\n$1 OK done\r\n",
                 [](client& c) { c.limits().max_nesting_depth = 10; },
                 [](client& c) { (void)c.fetch(sequence_set(1), "BODYSTRUCTURE"); });
}

// ---- item 8: injection ------------------------------------------------------------------------

// Every call must throw error(invalid_argument) before sending anything; the server then sees only
// the NOOP that proves the session still works.
TEST(imap_hostile, injection_refused_before_sending) {
    scripted_server srv(
        script{}.send(greeting).expect_line_matching(R"(^(\S+) NOOP$)").send("$1 OK done\r\n").expect_eof());
    client c;
    fast(c);
    c.connect(srv.host(), srv.port(), security::none);
    const std::string bads[] = {std::string("X\r\nA1 DELETE INBOX"), std::string("X\nA1 DELETE INBOX"),
                                std::string("X\0Y", 3)};
    int refused = 0;
    auto refuse = [&](const std::string& what, const std::function<void()>& f) {
        try {
            f();
            ADD_FAILURE() << what << " was accepted";
        } catch (const protocol_error& e) {
            ADD_FAILURE() << what << ": the session failed instead: " << e.what();
        } catch (const error& e) {
            EXPECT_EQ(code_of(e), errc::invalid_argument) << what << ": " << e.what();
            ++refused;
        }
        ASSERT_TRUE(c.is_connected()) << what;
    };
    const auto all = sequence_set::all();
    for (const auto& bad : bads) {
        refuse("STORE flag", [&] { c.store(all, store_action::add, {"\\Seen", bad}); });
        refuse("APPEND flag", [&] { c.append("INBOX", append_message{"m", {bad}, std::nullopt}); });
        refuse("FETCH items", [&] { c.fetch(all, "UID " + bad); });
        refuse("FETCH section", [&] {
            c.fetch_body(
                1, [](std::string_view) {}, bad);
        });
        refuse("SORT criteria", [&] { c.sort(bad, search_query::all()); });
        refuse("THREAD algorithm", [&] { c.thread(bad, search_query::all()); });
        refuse("SEARCH RETURN", [&] {
            search_options o;
            o.returns = {"MIN", bad};
            c.search(search_query::all(), o);
        });
        refuse("SEARCH keyword", [&] { c.search(search_query::keyword(bad)); });
        refuse("SEARCH unkeyword", [&] { c.sort("DATE", search_query::unkeyword(bad)); });
        refuse("SEARCH raw", [&] { c.thread("REFERENCES", search_query::raw(bad)); });
        refuse("STATUS item", [&] { c.status("INBOX", {"MESSAGES", bad}); });
        refuse("LIST STATUS item", [&] {
            list_options o;
            o.status_items = {bad};
            c.list("", "*", o);
        });
        refuse("ENABLE", [&] { c.enable({bad}); });
        refuse("CREATE special-use", [&] { c.create("Box", bad); });
        refuse("SETQUOTA resource", [&] { c.set_quota("root", {{bad, 1}}); });
        refuse("run()", [&] { c.run("NOOP" + bad); });
        refuse("quote()", [&] { (void)client::quote(bad); });
        // A multi-literal command whose last piece is bad: nothing is sent, not even the first
        // line with its literal announcement.
        refuse("execute() after a literal", [&] {
            client::command cmd;
            cmd.text("APPEND ").string("B\xc3\xa4").text(" ").literal("abc").text(" " + bad);
            (void)c.execute(cmd);
        });
    }
    // NUL fits neither a quoted string nor a literal (RFC 3501 §4.3 CHAR8).
    const std::string nul("a\0b", 3);
    refuse("SEARCH string with NUL", [&] { c.search(search_query::subject(nul)); });
    refuse("METADATA value with NUL", [&] { c.set_metadata("INBOX", {{"/private/comment", nul}}); });
    refuse("ID value with NUL", [&] { c.id({{"name", nul}}); });
    EXPECT_EQ(refused, 3 * 18 + 3);
    c.noop();
    c.disconnect(false);
    EXPECT_EQ(srv.wait(), "");
    EXPECT_TRUE(std::regex_match(srv.received(), std::regex(R"(^A\d+ NOOP\r\n$)"))) << srv.received();
}

TEST(imap_hostile, cr_lf_in_strings_go_as_literals) {
    // Search strings and metadata values are strings: CR/LF is legal content, sent as a literal.
    scripted_server srv(script{}
                            .send("* PREAUTH [CAPABILITY IMAP4rev1 LITERAL+ METADATA] hi\r\n")
                            .expect_line_matching(R"(^(\S+) SETMETADATA "INBOX" \("/private/comment" \{4\+\}$)")
                            .expect_exact("a\r\nb)\r\n")
                            .send("$1 OK done\r\n")
                            .expect_line_matching(R"(^(\S+) UID SEARCH SUBJECT \{4\+\}$)")
                            .expect_exact("x\r\ny\r\n")
                            .send("* SEARCH 3\r\n$1 OK done\r\n")
                            .expect_eof());
    client c;
    fast(c);
    c.connect(srv.host(), srv.port(), security::none);
    c.set_metadata("INBOX", {{"/private/comment", "a\r\nb"}});
    EXPECT_EQ(c.search(search_query::subject("x\r\ny")).ids, std::vector<std::uint32_t>{3});
    c.disconnect(false);
    EXPECT_EQ(srv.wait(), "");
}

}  // namespace
}  // namespace mailwire::imap
