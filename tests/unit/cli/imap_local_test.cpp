// `mailwire imap` against scripted IMAP servers: the exact SEARCH keys the query language produces,
// and the paths Dovecot never takes (no MOVE, no UIDPLUS).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_files.hpp"
#include "cli_run.hpp"
#include "support/scripted_server.hpp"

namespace mailwire::test {
namespace {

using nlohmann::json;

/// Greeting with `caps`, then AUTHENTICATE PLAIN accepted.
script logged_in(const std::string& caps) {
    return script{}
        .send("* OK [CAPABILITY IMAP4rev1 SASL-IR AUTH=PLAIN " + caps + "] scripted\r\n")
        .expect_line_matching(R"(^(\S+) AUTHENTICATE PLAIN \S+$)")
        .send("$1 OK [CAPABILITY IMAP4rev1 " + caps + "] Logged in\r\n");
}

script& logout(script& s) { return s.expect_line_matching(R"(^(\S+) LOGOUT$)").send("* BYE bye\r\n$1 OK done\r\n"); }

run_result run_imap(const scripted_server& srv, std::vector<std::string> args) {
    args.insert(args.begin(), "imap");
    for (const std::string a : {"--host", "127.0.0.1", "--security", "none", "--allow-plaintext-auth", "--user",
                                "alice", "--password-env", "MW_TEST_PW", "--timeout", "5"})
        args.push_back(a);
    args.push_back("--port");
    args.push_back(std::to_string(srv.port()));
    return run_cli(args, {{"MW_TEST_PW", "secret"}});
}

TEST(CliImapLocal, SearchQueriesMapOntoImapSearchKeys) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"from:alice subject:\"x y\" since:2024-01-01 unseen larger:10k",
         R"(FROM "alice" SUBJECT "x y" SINCE 1-Jan-2024 UNSEEN LARGER 10000)"},
        {"(from:a or from:b) not seen", R"(OR (FROM "a") (FROM "b") NOT (SEEN))"},
        {"a or b or c d", R"(OR (OR (TEXT "a") (TEXT "b")) (TEXT "c") TEXT "d")"},  // or binds tighter
        {"not (flagged or deleted) header:List-Id:dev uid:1:5,9 sent-before:2023-12-31 smaller:2M keyword:$Work",
         R"(NOT (OR (FLAGGED) (DELETED)) HEADER "List-Id" "dev" UID 1:5,9 SENTBEFORE 31-Dec-2023 SMALLER 2000000 KEYWORD $Work)"},
        {"on:2024-02-29 sent-since:2024-01-01 sent-on:2024-01-02 before:2025-01-01 cc:c bcc:d to:e body:f",
         R"(ON 29-Feb-2024 SENTSINCE 1-Jan-2024 SENTON 2-Jan-2024 BEFORE 1-Jan-2025 CC "c" BCC "d" TO "e" BODY "f")"},
        {"answered unanswered draft undraft recent unflagged undeleted read unread all",
         "ANSWERED UNANSWERED DRAFT UNDRAFT RECENT UNFLAGGED UNDELETED SEEN UNSEEN ALL"},
        {"\"or\" \"seen\" subject:\"say \\\"hi\\\"\"", R"(TEXT "or" TEXT "seen" SUBJECT "say \"hi\"")"},
        {"seq:2:* younger:60 unkeyword:$Junk", "2:* YOUNGER 60 UNKEYWORD $Junk"},
    };
    for (const auto& [query, keys] : cases) {
        script s = logged_in("WITHIN");  // younger: needs it
        s.expect_line_matching(R"(^(\S+) EXAMINE "?INBOX"?$)")
            .send("* 9 EXISTS\r\n$1 OK [READ-ONLY] examined\r\n")
            .expect_line_matching(R"(^(\S+) UID SEARCH (.*)$)")
            .send("* SEARCH 5 3\r\n$1 OK searched\r\n");  // inside uid:1:5,9 below
        scripted_server srv(logout(s));
        const auto r = run_imap(srv, {"search", "INBOX", query});
        EXPECT_EQ(r.exit_code, 0) << query << "\n" << r.out << r.err;
        EXPECT_EQ(r.out, "3\n5\n") << query;  // sorted, one per line
        EXPECT_EQ(srv.wait(), "") << query;
        EXPECT_NE(srv.received().find(" UID SEARCH " + keys + "\r\n"), std::string::npos)
            << query << "\nexpected UID SEARCH " << keys << "\n"
            << srv.received();
    }
}

TEST(CliImapLocal, MoveWithoutMoveCapabilityCopiesThenExpungesOnlyThoseUids) {
    script s = logged_in("UIDPLUS");
    s.expect_line_matching(R"(^(\S+) SELECT "src"$)")
        .send("* 5 EXISTS\r\n$1 OK [READ-WRITE] selected\r\n")
        .expect_line_matching(R"(^(\S+) UID SEARCH UID 4:6$)")
        .send("* SEARCH 4 5\r\n$1 OK searched\r\n")
        .expect_line_matching(R"(^(\S+) UID COPY 4:5 "dest"$)")
        .send("$1 OK [COPYUID 77 4:5 10:11] copied\r\n")
        .expect_line_matching(R"(^(\S+) UID STORE 4:5 \+FLAGS.SILENT \(\\Deleted\)$)")
        .send("$1 OK stored\r\n")
        .expect_line_matching(R"(^(\S+) UID EXPUNGE 4:5$)")
        .send("* 4 EXPUNGE\r\n* 4 EXPUNGE\r\n$1 OK expunged\r\n");
    scripted_server srv(logout(s));
    const auto r = run_imap(srv, {"move", "src", "4:6", "dest"});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_EQ(srv.wait(), "");
    EXPECT_EQ(r.out,
              "moved 2 messages (UIDs 4:5) from src to dest with COPY+STORE+UID EXPUNGE; new UIDs 10:11 "
              "(UIDVALIDITY 77)\n");
}

TEST(CliImapLocal, DeleteWithoutUidplusNeverExpungesOtherDeletedMessages) {
    auto start = [] {
        script s = logged_in("");
        s.expect_line_matching(R"(^(\S+) SELECT "m"$)")
            .send("* 3 EXISTS\r\n$1 OK [READ-WRITE] selected\r\n")
            .expect_line_matching(R"(^(\S+) UID SEARCH UID 2$)")
            .send("* SEARCH 2\r\n$1 OK searched\r\n")
            .expect_line_matching(R"(^(\S+) UID STORE 2 \+FLAGS.SILENT \(\\Deleted\)$)")
            .send("$1 OK stored\r\n")
            .expect_line_matching(R"(^(\S+) UID SEARCH DELETED$)")
            .send("* SEARCH 1 2\r\n$1 OK searched\r\n");  // UID 1 was marked by someone else
        return s;
    };
    {
        script s = start();
        scripted_server srv(logout(s));
        const auto r = run_imap(srv, {"delete", "m", "2", "--json"});
        EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
        EXPECT_EQ(srv.wait(), "");
        const auto j = json::parse(r.out);
        EXPECT_EQ(j["flagged_deleted"], 1);
        EXPECT_EQ(j["expunged"], 0);
        EXPECT_EQ(j["method"], "none");
        EXPECT_NE(j["not_expunged_because"].get<std::string>().find("1 other message"), std::string::npos) << j.dump(2);
    }
    {
        script s = start();
        s.expect_line_matching(R"(^(\S+) EXPUNGE$)").send("* 1 EXPUNGE\r\n* 1 EXPUNGE\r\n$1 OK expunged\r\n");
        scripted_server srv(logout(s));
        const auto r = run_imap(srv, {"delete", "m", "2", "--expunge-all"});
        EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
        EXPECT_EQ(srv.wait(), "");
        EXPECT_EQ(r.out, "deleted 1 message (UIDs 2) from m: flagged \\Deleted, then EXPUNGE removed 2 messages\n");
    }
}

TEST(CliImapLocal, IdleWithoutIdleCapabilityExitsSeven) {
    script s = logged_in("");
    s.expect_line_matching(R"(^(\S+) EXAMINE "?INBOX"?$)").send("* 0 EXISTS\r\n$1 OK [READ-ONLY] examined\r\n");
    scripted_server srv(logout(s));
    const auto r = run_imap(srv, {"idle", "INBOX", "--wait", "1"});
    EXPECT_EQ(r.exit_code, 7) << r.out << r.err;
    EXPECT_NE(r.err.find("does not offer IDLE"), std::string::npos) << r.err;
    EXPECT_EQ(srv.wait(), "");
}

// A server that reads `UID SEARCH UID n` as sequence number n (GNU Mailutils) answers UIDs the user
// never named: move and delete stop there, exit 7, and nothing is moved, flagged or expunged.
TEST(CliImapLocal, MoveAndDeleteRefuseUidsTheServerAnswersOutsideTheSet) {
    for (const std::string cmd : {"move", "delete"}) {
        script s = logged_in("MOVE UIDPLUS");
        s.expect_line_matching(R"(^(\S+) SELECT "INBOX"$)")
            .send("* 9 EXISTS\r\n$1 OK [READ-WRITE] selected\r\n")
            .expect_line_matching(R"(^(\S+) UID SEARCH UID 5$)")
            .send("* SEARCH 6\r\n$1 OK searched\r\n")  // message 5's UID, not UID 5
            .expect_eof();                             // no MOVE, STORE or EXPUNGE follows
        scripted_server srv(std::move(s));
        std::vector<std::string> args = {cmd, "INBOX", "5"};
        if (cmd == "move") args.emplace_back("Archive");
        const auto r = run_imap(srv, args);
        EXPECT_EQ(r.exit_code, 7) << cmd << "\n" << r.out << r.err;
        EXPECT_NE(r.err.find("UID 6 was not asked for"), std::string::npos) << r.err;
        EXPECT_EQ(r.out, "") << cmd;
        EXPECT_EQ(srv.wait(), "") << cmd;
        EXPECT_EQ(srv.received().find("MOVE 6"), std::string::npos) << srv.received();
        EXPECT_EQ(srv.received().find("STORE"), std::string::npos) << srv.received();
    }
}

TEST(CliImapLocal, MoveRefusesACopyuidNamingOtherUidsBeforeFlaggingAnything) {
    script s = logged_in("UIDPLUS");
    s.expect_line_matching(R"(^(\S+) SELECT "src"$)")
        .send("* 5 EXISTS\r\n$1 OK [READ-WRITE] selected\r\n")
        .expect_line_matching(R"(^(\S+) UID SEARCH UID 4$)")
        .send("* SEARCH 4\r\n$1 OK searched\r\n")
        .expect_line_matching(R"(^(\S+) UID COPY 4 "dest"$)")
        .send("$1 OK [COPYUID 77 5 10] copied\r\n")
        .expect_eof();  // no STORE \Deleted, no EXPUNGE
    scripted_server srv(std::move(s));
    const auto r = run_imap(srv, {"move", "src", "4", "dest"});
    EXPECT_EQ(r.exit_code, 7) << r.out << r.err;
    EXPECT_NE(r.err.find("COPYUID"), std::string::npos) << r.err;
    EXPECT_EQ(srv.wait(), "");
}

// `* n EXPUNGED` (not in any RFC) counts as removed; when the server's count differs from what the
// command asked, a warning says so.
TEST(CliImapLocal, DeleteCountsExpungedAndWarnsWhenTheCountDoesNotAddUp) {
    {
        script s = logged_in("UIDPLUS");
        s.expect_line_matching(R"(^(\S+) SELECT "m"$)")
            .send("* 3 EXISTS\r\n$1 OK [READ-WRITE] selected\r\n")
            .expect_line_matching(R"(^(\S+) UID SEARCH UID 2$)")
            .send("* SEARCH 2\r\n$1 OK searched\r\n")
            .expect_line_matching(R"(^(\S+) UID STORE 2 \+FLAGS.SILENT \(\\Deleted\)$)")
            .send("$1 OK stored\r\n")
            .expect_line_matching(R"(^(\S+) UID EXPUNGE 2$)")
            .send("* 2 EXPUNGED\r\n$1 OK expunged\r\n");
        scripted_server srv(logout(s));
        const auto r = run_imap(srv, {"delete", "m", "2"});
        EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
        EXPECT_EQ(srv.wait(), "");
        EXPECT_EQ(r.out, "deleted 1 message (UIDs 2) from m: flagged \\Deleted, then UID EXPUNGE removed 1 message\n");
        EXPECT_EQ(r.err.find("warning"), std::string::npos) << r.err;
    }
    {
        script s = logged_in("UIDPLUS");
        s.expect_line_matching(R"(^(\S+) SELECT "m"$)")
            .send("* 3 EXISTS\r\n$1 OK [READ-WRITE] selected\r\n")
            .expect_line_matching(R"(^(\S+) UID SEARCH UID 1:2$)")
            .send("* SEARCH 1 2\r\n$1 OK searched\r\n")
            .expect_line_matching(R"(^(\S+) UID STORE 1:2 \+FLAGS.SILENT \(\\Deleted\)$)")
            .send("$1 OK stored\r\n")
            .expect_line_matching(R"(^(\S+) UID EXPUNGE 1:2$)")
            .send("* 1 EXPUNGE\r\n$1 OK expunged\r\n");  // one of two
        scripted_server srv(logout(s));
        const auto r = run_imap(srv, {"delete", "m", "1:2", "--json"});
        EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
        EXPECT_EQ(srv.wait(), "");
        const auto j = json::parse(r.out);
        EXPECT_EQ(j["expunged"], 1);
        EXPECT_NE(j["warning"].get<std::string>().find("1 message removed where 2 should have been"), std::string::npos)
            << j.dump(2);
    }
}

TEST(CliImapLocal, YoungerWithoutWithinIsRefusedBeforeSearching) {
    script s = logged_in("");
    s.expect_line_matching(R"(^(\S+) EXAMINE "?INBOX"?$)").send("* 9 EXISTS\r\n$1 OK [READ-ONLY] examined\r\n");
    scripted_server srv(logout(s));
    const auto r = run_imap(srv, {"search", "INBOX", "younger:3600"});
    EXPECT_EQ(r.exit_code, 7) << r.out << r.err;
    EXPECT_NE(r.err.find("does not offer the WITHIN extension"), std::string::npos) << r.err;
    EXPECT_EQ(srv.wait(), "");
    EXPECT_EQ(srv.received().find("SEARCH"), std::string::npos) << srv.received();
}

TEST(CliImapLocal, AppendAndMoveCreateTheMailboxOnTrycreateWithCreate) {
    const temp_dir dir("mw-append-create");
    const std::string file = dir / "m.eml";
    write_file(file, "Subject: x\r\n\r\nhi\r\n");
    {  // without --create: the refusal says how to get on
        script s = logged_in("LITERAL+");
        s.expect_line_matching(R"(^(\S+) APPEND "New" \{18\+\}$)")
            .expect_exact("Subject: x\r\n\r\nhi\r\n\r\n")
            .send("A0002 NO [TRYCREATE] Mailbox doesn't exist: New\r\n");
        scripted_server srv(logout(s));
        const auto r = run_imap(srv, {"append", "New", file});
        EXPECT_EQ(r.exit_code, 7) << r.out << r.err;
        EXPECT_NE(r.err.find("TRYCREATE"), std::string::npos) << r.err;
        EXPECT_NE(r.err.find("--create"), std::string::npos) << r.err;
        EXPECT_EQ(srv.wait(), "");
    }
    {
        script s = logged_in("LITERAL+ UIDPLUS");
        s.expect_line_matching(R"(^(\S+) APPEND "New" \{18\+\}$)")
            .expect_exact("Subject: x\r\n\r\nhi\r\n\r\n")
            .send("A0002 NO [TRYCREATE] Mailbox doesn't exist: New\r\n")
            .expect_line_matching(R"(^(\S+) CREATE "New"$)")
            .send("$1 OK created\r\n")
            .expect_line_matching(R"(^(\S+) APPEND "New" \{18\+\}$)")
            .expect_exact("Subject: x\r\n\r\nhi\r\n\r\n")
            .send("A0004 OK [APPENDUID 3 1] appended\r\n");
        scripted_server srv(logout(s));
        const auto r = run_imap(srv, {"append", "New", file, "--create", "--json"});
        EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
        EXPECT_EQ(srv.wait(), "");
        const auto j = json::parse(r.out);
        EXPECT_EQ(j["created"], true);
        EXPECT_EQ(j["appended"][0]["uid"], 1);
    }
    {
        script s = logged_in("MOVE UIDPLUS");
        s.expect_line_matching(R"(^(\S+) SELECT "src"$)")
            .send("* 5 EXISTS\r\n$1 OK [READ-WRITE] selected\r\n")
            .expect_line_matching(R"(^(\S+) UID SEARCH UID 4$)")
            .send("* SEARCH 4\r\n$1 OK searched\r\n")
            .expect_line_matching(R"(^(\S+) UID MOVE 4 "dest"$)")
            .send("$1 NO [TRYCREATE] no dest\r\n")
            .expect_line_matching(R"(^(\S+) CREATE "dest"$)")
            .send("$1 OK created\r\n")
            .expect_line_matching(R"(^(\S+) UID MOVE 4 "dest"$)")
            .send("* OK [COPYUID 8 4 1] moved\r\n* 1 EXPUNGE\r\n$1 OK done\r\n");
        scripted_server srv(logout(s));
        const auto r = run_imap(srv, {"move", "src", "4", "dest", "--create"});
        EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
        EXPECT_EQ(srv.wait(), "");
        EXPECT_EQ(r.out, "moved 1 message (UIDs 4) from src to dest (created) with MOVE; new UIDs 1 (UIDVALIDITY 8)\n");
    }
}

// Cyrus pads INTERNALDATE's day with a space: JSON shows ISO 8601, the table a readable date.
TEST(CliImapLocal, InternaldateIsIso8601InJson) {
    const std::string fetch_reply =
        "* 1 FETCH (UID 5 FLAGS (\\Seen) RFC822.SIZE 40 INTERNALDATE \" 6-Dec-2026 01:13:52 +0000\" ENVELOPE "
        "(NIL \"hi\" ((\"A\" NIL \"a\" \"example.org\")) NIL NIL NIL NIL NIL NIL \"<x@example.org>\"))\r\n$1 OK "
        "done\r\n";
    for (const bool as_json : {true, false}) {
        script s = logged_in("");
        s.expect_line_matching(R"(^(\S+) EXAMINE "?INBOX"?$)")
            .send("* 1 EXISTS\r\n$1 OK [READ-ONLY] examined\r\n")
            .expect_line_matching(R"(^(\S+) UID FETCH 5 .*INTERNALDATE.*$)")
            .send(fetch_reply);
        scripted_server srv(logout(s));
        std::vector<std::string> args = {"fetch", "INBOX", "--uid", "5"};
        if (as_json) args.emplace_back("--json");
        const auto r = run_imap(srv, args);
        EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
        EXPECT_EQ(srv.wait(), "");
        if (as_json) {
            EXPECT_NE(r.out.find("\"2026-12-06T01:13:52+00:00\""), std::string::npos) << r.out;
            EXPECT_EQ(r.out.find("6-Dec-2026"), std::string::npos) << r.out;
        } else {
            EXPECT_NE(r.out.find("2026-12-06 01:13"), std::string::npos) << r.out;
        }
    }
}

}  // namespace
}  // namespace mailwire::test
