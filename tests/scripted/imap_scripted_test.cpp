// IMAP client behaviour Dovecot cannot show: servers without LITERAL+ or MOVE, split responses,
// oversized literals, unknown tags — against the scripted server.
#include <gtest/gtest.h>

#include "mailwire/imap/client.hpp"
#include "support/scripted_server.hpp"

namespace mailwire::imap {
namespace {

using namespace std::chrono_literals;
using test::script;
using test::scripted_server;

void fast(client& c) {
    c.timeouts().greeting = 2000ms;
    c.timeouts().io = 2000ms;
    c.timeouts().connect = 2000ms;
}

TEST(imap_scripted, synchronising_literal_waits_for_continuation) {
    const std::string msg = "Subject: x\r\n\r\nbody\r\n";
    scripted_server srv(script{}
                            .send("* PREAUTH [CAPABILITY IMAP4rev1 UIDPLUS] hi\r\n")
                            .expect_line("A0001 APPEND \"Box\" (\\Seen) {" + std::to_string(msg.size()) + "}")
                            .send("+ go ahead\r\n")
                            .expect_exact(msg + "\r\n")
                            .send("A0001 OK [APPENDUID 7 42] done\r\n")
                            .expect_line("A0002 APPEND \"Box\" {3}")
                            .send("A0002 NO [TRYCREATE] no such mailbox\r\n")
                            .expect_eof());
    client c;
    fast(c);
    c.connect(srv.host(), srv.port(), security::none);
    auto r = c.append("Box", append_message{msg, {"\\Seen"}, std::nullopt});
    EXPECT_EQ(r.uidvalidity, 7u);
    EXPECT_EQ(r.uids.to_string(), "42");
    // The server refuses instead of sending "+": the literal is never sent, the session lives.
    try {
        c.append("Box", append_message{"abc", {}, std::nullopt});
        FAIL();
    } catch (const command_error& e) {
        EXPECT_NE(std::string(e.what()).find("TRYCREATE"), std::string::npos);
    }
    EXPECT_TRUE(c.is_connected());
    c.disconnect(false);
    EXPECT_EQ(srv.wait(), "");
}

TEST(imap_scripted, literal_plus_and_multiappend_in_one_command) {
    scripted_server srv(script{}
                            .send("* PREAUTH [CAPABILITY IMAP4rev1 LITERAL+ MULTIAPPEND] hi\r\n")
                            .expect_line("A0001 APPEND \"B\" {2+}")
                            .expect_exact("m1 {3+}\r\n")
                            .expect_exact("m22\r\n")
                            .send("A0001 OK [APPENDUID 1 5:6] ok\r\n")
                            .expect_eof());
    client c;
    fast(c);
    c.connect(srv.host(), srv.port(), security::none);
    auto r = c.append("B", std::vector<append_message>{{"m1", {}, {}}, {"m22", {}, {}}});
    EXPECT_EQ(r.uids.to_string(), "5:6");
    c.disconnect(false);
    EXPECT_EQ(srv.wait(), "");
}

TEST(imap_scripted, utf8_accept_names_and_append) {
    scripted_server srv(script{}
                            .send("* PREAUTH [CAPABILITY IMAP4rev1 LITERAL+ ENABLE UTF8=ACCEPT] hi\r\n")
                            .expect_line("A0001 ENABLE UTF8=ACCEPT")
                            .send("* ENABLED UTF8=ACCEPT\r\nA0001 OK enabled\r\n")
                            .expect_line("A0002 APPEND {6+}")
                            .expect_exact("Entw\xc3\xbc UTF8 (~{3+}\r\n")
                            .expect_exact("abc)\r\n")
                            .send("A0002 OK done\r\n")
                            .expect_line("A0003 LIST \"\" \"*\"")
                            .send("* LIST () \"/\" \"Entw\xc3\xbc\"\r\nA0003 OK done\r\n")
                            .expect_eof());
    client c;
    fast(c);
    c.connect(srv.host(), srv.port(), security::none);
    EXPECT_EQ(c.enable({"UTF8=ACCEPT"}), (std::vector<std::string>{"UTF8=ACCEPT"}));
    c.append("Entw\xc3\xbc", append_message{"abc", {}, std::nullopt});
    auto l = c.list();
    ASSERT_EQ(l.size(), 1u);
    EXPECT_EQ(l[0].entry.name, "Entw\xc3\xbc");
    c.disconnect(false);
    EXPECT_EQ(srv.wait(), "");
}

TEST(imap_scripted, move_falls_back_to_copy_store_expunge) {
    scripted_server srv(script{}
                            .send("* PREAUTH [CAPABILITY IMAP4rev1 UIDPLUS] hi\r\n")
                            .expect_line("A0001 UID COPY 3:4 \"Dest\"")
                            .send("A0001 OK [COPYUID 9 3:4 10:11] copied\r\n")
                            .expect_line("A0002 UID STORE 3:4 +FLAGS.SILENT (\\Deleted)")
                            .send("A0002 OK stored\r\n")
                            .expect_line("A0003 UID EXPUNGE 3:4")
                            .send("* 1 EXPUNGE\r\n* 1 EXPUNGE\r\nA0003 OK expunged\r\n")
                            .expect_eof());
    client c;
    fast(c);
    c.connect(srv.host(), srv.port(), security::none);
    auto r = c.move(sequence_set(3, 4), "Dest");
    EXPECT_EQ(r.uidvalidity, 9u);
    EXPECT_EQ(r.destination.to_string(), "10:11");
    c.disconnect(false);
    EXPECT_EQ(srv.wait(), "");
}

TEST(imap_scripted, split_fetch_with_literals_and_unsolicited_updates) {
    scripted_server srv(script{}
                            .send("* PREAUTH [CAPABILITY IMAP4rev1] hi\r\n")
                            .expect_line("A0001 SELECT \"INBOX\"")
                            .send("* 3 EXISTS\r\n* OK [UIDVALIDITY 77] x\r\n* OK [UIDNEXT 9] x\r\n"
                                  "* FLAGS (\\Seen \\Deleted)\r\nA0001 OK [READ-WRITE] done\r\n")
                            .expect_line("A0002 UID FETCH 1:* (UID BODY.PEEK[])")
                            .send_split({"* 1 FETCH (UID 5 BODY[] {1", "0}\r\n0123", "456789)\r\n* 4 EX", "ISTS\r\n",
                                         "* 2 FETCH (UID 6 BODY[] \"quoted\")\r\nA0002 OK done\r\n"})
                            .expect_eof());
    client c;
    fast(c);
    c.connect(srv.host(), srv.port(), security::none);
    const auto& st = c.select("INBOX");
    EXPECT_EQ(st.exists, 3u);
    EXPECT_EQ(st.uidvalidity, 77u);
    EXPECT_EQ(st.uidnext, 9u);
    EXPECT_EQ(st.flags.size(), 2u);
    auto f = c.fetch(sequence_set::all(), "UID BODY.PEEK[]");
    ASSERT_EQ(f.size(), 2u);
    EXPECT_EQ(f[0].sections.at(0).data, "0123456789");
    EXPECT_EQ(f[1].sections.at(0).data, "quoted");
    EXPECT_EQ(c.mailbox().exists, 4u);
    c.disconnect(false);
    EXPECT_EQ(srv.wait(), "");
}

TEST(imap_scripted, oversized_literal_is_a_protocol_error) {
    scripted_server srv(script{}
                            .send("* PREAUTH [CAPABILITY IMAP4rev1] hi\r\n")
                            .expect_line("A0001 UID FETCH 1 BODY.PEEK[]")
                            .send("* 1 FETCH (BODY[] {999999999}\r\n")
                            .expect_eof());
    client c;
    fast(c);
    c.response_limits().max_literal_size = 1000;
    c.connect(srv.host(), srv.port(), security::none);
    try {
        c.fetch(sequence_set(1), "BODY.PEEK[]");
        FAIL();
    } catch (const protocol_error& e) {
        EXPECT_EQ(e.code(), errc::limit_exceeded);
    }
    EXPECT_FALSE(c.is_connected());
    EXPECT_EQ(srv.wait(), "");
}

TEST(imap_scripted, unknown_tag_and_garbage_close_the_session) {
    scripted_server srv(script{}
                            .send("* PREAUTH [CAPABILITY IMAP4rev1] hi\r\n")
                            .expect_line("A0001 NOOP")
                            .send("* 1 FETCH (UID 3 FLAGS (\\Seen)\r\n")  // unbalanced list
                            .expect_eof());
    client c;
    fast(c);
    c.connect(srv.host(), srv.port(), security::none);
    EXPECT_THROW(c.noop(), protocol_error);
    EXPECT_FALSE(c.is_connected());
    EXPECT_EQ(srv.wait(), "");
}

TEST(imap_scripted, idle_callback_and_done) {
    scripted_server srv(script{}
                            .send("* PREAUTH [CAPABILITY IMAP4rev1 IDLE] hi\r\n")
                            .expect_line("A0001 IDLE")
                            .send("+ idling\r\n")
                            .send_split({"* 5 EXI", "STS\r\n"})
                            .send("* 2 EXPUNGE\r\n* 1 FETCH (FLAGS (\\Seen))\r\n")
                            .expect_line("DONE")
                            .send("A0001 OK idle done\r\n")
                            .expect_eof());
    client c;
    fast(c);
    c.connect(srv.host(), srv.port(), security::none);
    std::vector<std::string> seen;
    c.idle(
        [&](const mailbox_event& e) {
            if (e.type == mailbox_event::kind::exists) seen.push_back("exists " + std::to_string(e.number));
            if (e.type == mailbox_event::kind::expunge) seen.push_back("expunge " + std::to_string(e.number));
            if (e.type == mailbox_event::kind::fetch) {
                seen.push_back("fetch " + std::to_string(e.number));
                return false;
            }
            return true;
        },
        5s);
    EXPECT_EQ(seen, (std::vector<std::string>{"exists 5", "expunge 2", "fetch 1"}));
    EXPECT_EQ(c.mailbox().exists, 4u);
    c.disconnect(false);
    EXPECT_EQ(srv.wait(), "");
}

}  // namespace
}  // namespace mailwire::imap
