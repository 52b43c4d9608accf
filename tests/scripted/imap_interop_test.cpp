// IMAP servers that answer outside what was asked (GNU Mailutils reads `UID SEARCH UID 2` as sequence
// number 2), send the non-standard `* n EXPUNGED`, mix other sessions' FETCH responses into a
// command's results, or lack the extension a call needs — against the scripted server, since no
// server in the test matrix behaves like this.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "mailwire/imap/client.hpp"
#include "scripted_helpers.hpp"
#include "support/scripted_server.hpp"

namespace mailwire::imap {
namespace {

using test::connect;
using test::script;
using test::scripted_server;

const std::string select_m =
    "* 9 EXISTS\r\n* OK [UIDVALIDITY 5] x\r\n* OK [UIDNEXT 20] x\r\nA0001 OK [READ-WRITE] ok\r\n";

/// Runs `f`, which must throw protocol_error whose detail contains every string of `names`.
template <class F>
void expect_outside(F&& f, const std::vector<std::string>& names) {
    try {
        f();
        ADD_FAILURE() << "an answer outside the request was accepted";
    } catch (const protocol_error& e) {
        EXPECT_EQ(e.code(), errc::protocol_violation) << e.what();
        for (const auto& n : names) EXPECT_NE(e.detail().find(n), std::string::npos) << n << "\n" << e.detail();
    }
}

TEST(imap_interop, uid_search_answered_as_sequence_number_is_refused) {
    // Mailutils: UID 5 is read as message 5, whose UID is 6.
    scripted_server srv(script{}
                            .send("* PREAUTH [CAPABILITY IMAP4rev1 MOVE UIDPLUS] hi\r\n")
                            .expect_line("A0001 SELECT \"INBOX\"")
                            .send(select_m)
                            .expect_line("A0002 UID SEARCH UID 5")
                            .send("* SEARCH 6\r\nA0002 OK done\r\n")
                            .expect_eof());  // nothing after: no MOVE, no STORE
    client c;
    connect(c, srv);
    c.select("INBOX");
    expect_outside([&] { (void)c.uids_in(sequence_set(5)); }, {"UID SEARCH UID 5", "6"});
    EXPECT_FALSE(c.is_connected());
    EXPECT_EQ(srv.wait(), "");
}

TEST(imap_interop, search_keeps_matches_inside_the_uid_key_of_the_query) {
    scripted_server srv(script{}
                            .send("* PREAUTH [CAPABILITY IMAP4rev1] hi\r\n")
                            .expect_line("A0001 UID SEARCH UID 2:4 UNSEEN")
                            .send("* SEARCH 3 4\r\nA0001 OK done\r\n")
                            .expect_line("A0002 UID SEARCH OR (UID 2) (SEEN)")
                            .send("* SEARCH 2 8\r\nA0002 OK done\r\n")  // OR: 8 may match SEEN
                            .expect_line("A0003 UID SEARCH UID 5:*")
                            .send("* SEARCH 3\r\nA0003 OK done\r\n")  // RFC 3501: the highest UID, 3
                            .expect_line("A0004 UID SEARCH UID 2:4 UNSEEN")
                            .send("* SEARCH 3 7\r\nA0004 OK done\r\n")
                            .expect_eof());
    client c;
    connect(c, srv);
    const auto q = search_query::uid(sequence_set(2, 4)) && search_query::unseen();
    EXPECT_EQ(c.search(q).ids, (std::vector<std::uint32_t>{3, 4}));
    EXPECT_EQ(c.search(search_query::uid(2) || search_query::seen()).ids, (std::vector<std::uint32_t>{2, 8}));
    EXPECT_TRUE(c.search(search_query::uid(sequence_set(5, sequence_set::star))).ids.empty());
    expect_outside([&] { (void)c.search(q); }, {"UID SEARCH UID 2:4 UNSEEN", "7"});
    EXPECT_EQ(srv.wait(), "");
}

TEST(imap_interop, uids_in_sends_no_star_and_checks_sequence_numbers) {
    scripted_server srv(script{}
                            .send("* PREAUTH [CAPABILITY IMAP4rev1] hi\r\n")
                            .expect_line("A0001 SELECT \"INBOX\"")
                            .send(select_m)
                            // "5:*" would let the server answer the highest UID below 5 (RFC 3501)
                            .expect_line("A0002 UID SEARCH UID 5:4294967295")
                            .send("* SEARCH 12 7\r\nA0002 OK done\r\n")
                            .expect_line("A0003 FETCH 2:3 (UID)")
                            // message 8's flag change (another session) is not an answer about 2:3
                            .send("* 8 FETCH (UID 40 FLAGS (\\Seen))\r\n* 2 FETCH (UID 7)\r\n* 3 FETCH (UID 12)\r\n"
                                  "A0003 OK done\r\n")
                            .expect_eof());
    client c;
    connect(c, srv);
    c.select("INBOX");
    EXPECT_EQ(c.uids_in(sequence_set(5, sequence_set::star)), (std::vector<std::uint32_t>{7, 12}));
    EXPECT_EQ(c.uids_in(sequence_set(2, 3), false), (std::vector<std::uint32_t>{7, 12}));
    c.disconnect(false);
    EXPECT_EQ(srv.wait(), "");
}

TEST(imap_interop, expunged_counts_as_expunge) {
    scripted_server srv(script{}
                            .send("* PREAUTH [CAPABILITY IMAP4rev1 UIDPLUS] hi\r\n")
                            .expect_line("A0001 SELECT \"INBOX\"")
                            .send(select_m)
                            .expect_line("A0002 UID EXPUNGE 3:4")
                            .send("* 2 EXPUNGED\r\n* 2 EXPUNGED\r\nA0002 OK done\r\n")
                            .expect_line("A0003 EXPUNGE")
                            .send("* 1 EXPUNGED\r\nA0003 OK done\r\n")
                            .expect_eof());
    client c;
    connect(c, srv);
    c.select("INBOX");
    std::vector<std::uint32_t> seen;
    c.on_mailbox_event([&](const mailbox_event& e, const mailbox_state&) {
        if (e.type == mailbox_event::kind::expunge) seen.push_back(e.number);
    });
    EXPECT_EQ(c.expunge(sequence_set(3, 4)).sequence_numbers, (std::vector<std::uint32_t>{2, 2}));
    EXPECT_EQ(c.expunge().sequence_numbers, (std::vector<std::uint32_t>{1}));
    EXPECT_EQ(seen, (std::vector<std::uint32_t>{2, 2, 1}));
    EXPECT_EQ(c.mailbox().exists, 6u);
    c.disconnect(false);
    EXPECT_EQ(srv.wait(), "");
}

TEST(imap_interop, fetch_and_store_hand_back_only_the_messages_asked_for) {
    scripted_server srv(script{}
                            .send("* PREAUTH [CAPABILITY IMAP4rev1] hi\r\n")
                            .expect_line("A0001 SELECT \"INBOX\"")
                            .send(select_m)
                            .expect_line("A0002 UID FETCH 5 (UID FLAGS)")
                            .send("* 3 FETCH (UID 9 FLAGS (\\Deleted))\r\n* 4 FETCH (UID 5 FLAGS ())\r\n"
                                  "* 6 FETCH (FLAGS (\\Seen))\r\nA0002 OK done\r\n")
                            .expect_line("A0003 UID STORE 5 +FLAGS (\\Flagged)")
                            .send("* 3 FETCH (UID 9 FLAGS (\\Deleted))\r\n* 4 FETCH (UID 5 FLAGS (\\Flagged))\r\n"
                                  "A0003 OK done\r\n")
                            .expect_line("A0004 FETCH 4 FLAGS")
                            .send("* 3 FETCH (FLAGS (\\Seen))\r\n* 4 FETCH (FLAGS (\\Answered))\r\nA0004 OK done\r\n")
                            .expect_eof());
    client c;
    connect(c, srv);
    c.select("INBOX");
    std::vector<std::uint32_t> observed;  // sequence numbers of every FETCH the mailbox state saw
    c.on_mailbox_event([&](const mailbox_event& e, const mailbox_state&) {
        if (e.type == mailbox_event::kind::fetch) observed.push_back(e.number);
    });
    const auto f = c.fetch(sequence_set(5), "UID FLAGS");
    ASSERT_EQ(f.size(), 1u);
    EXPECT_EQ(f[0].uid, 5u);
    const auto s = c.store(sequence_set(5), store_action::add, {"\\Flagged"});
    ASSERT_EQ(s.updated.size(), 1u);
    EXPECT_EQ(s.updated[0].uid, 5u);
    fetch_options by_number;
    by_number.uid = false;
    const auto g = c.fetch(sequence_set(4), "FLAGS", by_number);
    ASSERT_EQ(g.size(), 1u);
    EXPECT_EQ(g[0].seq, 4u);
    EXPECT_EQ(observed, (std::vector<std::uint32_t>{3, 4, 6, 3, 4, 3, 4}));
    c.disconnect(false);
    EXPECT_EQ(srv.wait(), "");
}

TEST(imap_interop, copyuid_naming_other_uids_stops_the_move_before_store_and_expunge) {
    scripted_server srv(script{}
                            .send("* PREAUTH [CAPABILITY IMAP4rev1 UIDPLUS] hi\r\n")
                            .expect_line("A0001 UID COPY 5 \"Dest\"")
                            .send("A0001 OK [COPYUID 9 6 10] copied\r\n")
                            .expect_eof());  // no STORE \Deleted, no EXPUNGE
    client c;
    connect(c, srv);
    expect_outside([&] { (void)c.move(sequence_set(5), "Dest"); }, {"COPYUID", "6"});
    EXPECT_EQ(srv.wait(), "");
}

TEST(imap_interop, move_whose_copyuid_names_other_uids_is_an_error) {
    scripted_server srv(script{}
                            .send("* PREAUTH [CAPABILITY IMAP4rev1 MOVE UIDPLUS] hi\r\n")
                            .expect_line("A0001 UID MOVE 5:6 \"Dest\"")
                            .send("* OK [COPYUID 9 5:7 10:12] moved\r\n* 1 EXPUNGE\r\nA0001 OK done\r\n")
                            .expect_eof());
    client c;
    connect(c, srv);
    expect_outside([&] { (void)c.move(sequence_set(5, 6), "Dest"); }, {"5:7", "UID 7"});
    EXPECT_EQ(srv.wait(), "");
}

TEST(imap_interop, every_extension_is_checked_before_anything_is_sent) {
    // Each call needs one extension the server does not offer: refused with its name, nothing sent.
    struct refusal {
        const char* extension;
        std::function<void(client&)> call;
    };
    const std::vector<refusal> cases = {
        {"WITHIN", [](client& c) { (void)c.search(search_query::younger(60)); }},
        {"WITHIN", [](client& c) { (void)c.search(search_query::unseen() || !search_query::older(60)); }},
        {"CONDSTORE", [](client& c) { (void)c.search(search_query::modseq(3)); }},
        {"SORT", [](client& c) { (void)c.sort("DATE", search_query::all()); }},
        {"THREAD=REFERENCES", [](client& c) { (void)c.thread("REFERENCES", search_query::all()); }},
        {"UIDPLUS", [](client& c) { (void)c.expunge(sequence_set(3)); }},
        {"CONDSTORE",
         [](client& c) {
             fetch_options o;
             o.changed_since = 4;
             (void)c.fetch(sequence_set(1), "FLAGS", o);
         }},
        {"CONDSTORE", [](client& c) { (void)c.fetch(sequence_set(1), "UID MODSEQ"); }},
        {"BINARY", [](client& c) { (void)c.fetch(sequence_set(1), "BINARY.PEEK[1]"); }},
        {"OBJECTID", [](client& c) { (void)c.fetch(sequence_set(1), "UID EMAILID"); }},
        {"CONDSTORE",
         [](client& c) {
             store_options o;
             o.unchanged_since = 7;
             (void)c.store(sequence_set(1), store_action::add, {"\\Seen"}, o);
         }},
        {"CONDSTORE", [](client& c) { (void)c.select("INBOX", true); }},
        {"QRESYNC",
         [](client& c) {
             (void)c.select_qresync("INBOX", {1, 2, {}});
         }},
        {"STATUS=SIZE",
         [](client& c) {
             (void)c.status("INBOX", {"MESSAGES", "SIZE"});
         }},
        {"CONDSTORE", [](client& c) { (void)c.status("INBOX", {"HIGHESTMODSEQ"}); }},
        {"SPECIAL-USE",
         [](client& c) {
             list_options o;
             o.special_use = true;
             (void)c.list("", "*", o);
         }},
        {"CREATE-SPECIAL-USE", [](client& c) { c.create("Sent", "\\Sent"); }},
        {"IDLE", [](client& c) { c.idle([](const mailbox_event&) { return false; }); }},
        {"NAMESPACE", [](client& c) { (void)c.namespaces(); }},
        {"ID", [](client& c) { (void)c.id(); }},
        {"ENABLE", [](client& c) { (void)c.enable({"UTF8=ACCEPT"}); }},
        {"COMPRESS=DEFLATE", [](client& c) { c.compress(); }},
        {"QUOTA", [](client& c) { (void)c.quota_root("INBOX"); }},
        {"METADATA", [](client& c) { (void)c.get_metadata("INBOX", {"/private/comment"}); }},
    };
    for (const auto& [extension, call] : cases) {
        // LIST-EXTENDED is offered so that the SPECIAL-USE selection fails on SPECIAL-USE alone.
        scripted_server srv(script{}.send("* PREAUTH [CAPABILITY IMAP4rev1 LIST-EXTENDED] hi\r\n").expect_eof());
        client c;
        connect(c, srv);
        try {
            call(c);
            ADD_FAILURE() << "sent without " << extension;
        } catch (const command_error& e) {
            EXPECT_EQ(e.code(), errc::command_failed) << e.what();
            EXPECT_NE(e.detail().find(std::string("the ") + extension + " extension"), std::string::npos)
                << extension << ": " << e.detail();
        }
        EXPECT_TRUE(c.is_connected()) << extension;
        c.disconnect(false);
        EXPECT_EQ(srv.wait(), "") << extension;
    }
}

TEST(imap_interop, offered_extensions_are_used) {
    scripted_server srv(script{}
                            .send("* PREAUTH [CAPABILITY IMAP4rev1 WITHIN QRESYNC SORT] hi\r\n")
                            .expect_line("A0001 UID SEARCH YOUNGER 60 MODSEQ 4")
                            .send("* SEARCH 2\r\nA0001 OK done\r\n")
                            .expect_line("A0002 UID SORT (DATE) UTF-8 OLDER 5")
                            .send("* SORT 2\r\nA0002 OK done\r\n")
                            .expect_eof());
    client c;
    connect(c, srv);
    // QRESYNC implies CONDSTORE (RFC 7162 §3.2.3)
    EXPECT_EQ(c.search(search_query::younger(60) && search_query::modseq(4)).ids, std::vector<std::uint32_t>{2});
    EXPECT_EQ(c.sort("DATE", search_query::older(5)), std::vector<std::uint32_t>{2});
    c.disconnect(false);
    EXPECT_EQ(srv.wait(), "");
}

TEST(imap_interop, trycreate_carries_its_response_code_and_a_hint) {
    scripted_server srv(script{}
                            .send("* PREAUTH [CAPABILITY IMAP4rev1 LITERAL+] hi\r\n")
                            .expect_line("A0001 APPEND \"Nope\" {3+}")
                            .expect_exact("abc\r\n")
                            .send("A0001 NO [TRYCREATE] Mailbox doesn't exist: Nope\r\n")
                            .expect_eof());
    client c;
    connect(c, srv);
    try {
        (void)c.append("Nope", append_message{"abc", {}, std::nullopt});
        FAIL();
    } catch (const command_refused& e) {
        EXPECT_EQ(e.response_code(), "TRYCREATE");
        EXPECT_NE(e.hint().find("create it"), std::string::npos) << e.what();
    }
    EXPECT_TRUE(c.is_connected());
    c.disconnect(false);
    EXPECT_EQ(srv.wait(), "");
}

TEST(imap_interop, appendlimit_refuses_a_larger_message_before_sending) {
    scripted_server srv(script{}.send("* PREAUTH [CAPABILITY IMAP4rev1 APPENDLIMIT=10] hi\r\n").expect_eof());
    client c;
    connect(c, srv);
    try {
        (void)c.append("INBOX", append_message{"0123456789ab", {}, std::nullopt});
        FAIL();
    } catch (const command_error& e) {
        EXPECT_NE(e.detail().find("APPENDLIMIT of 10"), std::string::npos) << e.what();
    }
    c.disconnect(false);
    EXPECT_EQ(srv.wait(), "");
}

TEST(imap_interop, internaldate_with_a_leading_space_is_iso_8601) {
    // Cyrus pads the day with a space inside the quotes.
    const auto t = parse_internaldate(" 6-Dec-2026 01:13:52 +0000");
    ASSERT_TRUE(t);
    EXPECT_EQ(format_iso8601(*t), "2026-12-06T01:13:52+00:00");
    EXPECT_EQ(format_iso8601(*parse_internaldate("17-Jul-1996 02:44:25 -0730")), "1996-07-17T02:44:25-07:30");
}

}  // namespace
}  // namespace mailwire::imap
