// The incremental response parser: framing, tokens, literals (inline and streamed), limits.
// Every input goes through grind(): whole, split at every offset, and byte by byte.
#include "mailwire/imap/parser.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "mailwire/error.hpp"
#include "support/grind.hpp"

namespace mailwire::imap {
namespace {

std::string dump_node(const response& r, std::uint32_t i) {
    std::string out;
    for (; i != node::npos; i = r.nodes[i].next) {
        if (!out.empty()) out += ' ';
        const node& n = r.nodes[i];
        switch (n.type) {
        case node::kind::atom:
            out += "a:" + std::string(n.text);
            break;
        case node::kind::number:
            out += "n:" + std::to_string(n.number);
            break;
        case node::kind::string:
            out += "s:" + node_string(n);
            break;
        case node::kind::literal:
            out += "l" + std::to_string(n.number) + (n.streamed ? ":streamed" : ":" + std::string(n.text));
            break;
        case node::kind::nil:
            out += "NIL";
            break;
        case node::kind::list:
            out += "(" + dump_node(r, n.first_child) + ")#" + std::to_string(n.count);
            break;
        }
    }
    return out;
}

std::string dump(const response& r) {
    std::string out;
    out += r.type == response_line::kind::tagged     ? "T:" + std::string(r.tag)
           : r.type == response_line::kind::untagged ? std::string("*")
                                                     : std::string("+");
    out += "|st" + std::to_string(static_cast<int>(r.status));
    if (r.has_number) out += "|#" + std::to_string(r.number);
    if (!r.name.empty()) out += "|" + std::string(r.name);
    if (!r.code.empty()) out += "|[" + std::string(r.code) + "](" + dump_node(r, r.code_args) + ")";
    if (r.status != status::none || r.type == response_line::kind::continuation) out += "|text=" + std::string(r.text);
    if (r.data != node::npos) out += "|" + dump_node(r, r.data);
    return out;
}

// Feeds chunks the way the client does: an accumulating buffer, consumed per event.
struct fed {
    std::vector<std::string> responses;
    std::string streamed;
    std::vector<std::string> begins;
    std::string leftover;
    bool operator==(const fed&) const = default;
};

fed feed(const std::vector<std::string_view>& chunks, parser_limits lim = {}) {
    response_parser p(lim);
    fed out;
    std::string buf;
    for (auto c : chunks) {
        buf.append(c);
        for (;;) {
            auto ev = p.next(buf);
            if (ev.type == response_parser::event::kind::need_more) break;
            if (ev.type == response_parser::event::kind::response) out.responses.push_back(dump(p.current()));
            if (ev.type == response_parser::event::kind::literal_begin)
                out.begins.push_back(std::to_string(ev.literal_seq) + " " + std::string(ev.literal_item) + " " +
                                     std::to_string(ev.literal_size));
            if (ev.type == response_parser::event::kind::literal_data) out.streamed.append(ev.data);
            buf.erase(0, ev.consumed);
        }
    }
    out.leftover = buf;
    return out;
}

fed ground(std::string_view input, parser_limits lim = {}) {
    fed result;
    test::grind(input, [&](const std::vector<std::string_view>& chunks) {
        result = feed(chunks, lim);
        return result;
    });
    return result;
}

TEST(imap_parser, status_responses_and_codes) {
    auto f = ground(
        "* OK [CAPABILITY IMAP4rev1 SASL-IR] Dovecot ready.\r\n"
        "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\*)] Flags permitted.\r\n"
        "* OK [UIDVALIDITY 3857529045] UIDs valid\r\n"
        "A2 OK [READ-WRITE] SELECT completed\r\n"
        "A3 NO [TRYCREATE] Mailbox doesn't exist: Foo\r\n"
        "+ idling\r\n"
        "* BYE Logging out\r\n");
    ASSERT_EQ(f.responses.size(), 7u);
    EXPECT_EQ(f.responses[0], "*|st0|[CAPABILITY](a:IMAP4rev1 a:SASL-IR)|text=Dovecot ready.");
    EXPECT_EQ(f.responses[1], "*|st0|[PERMANENTFLAGS]((a:\\Answered a:\\Flagged a:\\*)#3)|text=Flags permitted.");
    EXPECT_EQ(f.responses[2], "*|st0|[UIDVALIDITY](n:3857529045)|text=UIDs valid");
    EXPECT_EQ(f.responses[3], "T:A2|st0|[READ-WRITE]()|text=SELECT completed");
    EXPECT_EQ(f.responses[4], "T:A3|st1|[TRYCREATE]()|text=Mailbox doesn't exist: Foo");
    EXPECT_EQ(f.responses[5], "+|st5|text=idling");
    EXPECT_EQ(f.responses[6], "*|st4|text=Logging out");
    EXPECT_TRUE(f.leftover.empty());
}

TEST(imap_parser, data_responses) {
    auto f = ground(
        "* 23 EXISTS\r\n* 1 RECENT\r\n* 44 EXPUNGE\r\n"
        "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n"
        "* LIST (\\HasNoChildren \\Sent) \"/\" Sent\r\n"
        "* LIST () NIL \"\"\r\n"
        "* SEARCH 2 84 882\r\n"
        "* SEARCH\r\n"
        "* ESEARCH (TAG \"A285\") UID MIN 7 MAX 3800 ALL 7,9:12,3800\r\n"
        "* VANISHED (EARLIER) 300:310,405,411\r\n"
        "* NAMESPACE ((\"\" \"/\")) NIL ((\"#shared/\" \"/\"))\r\n"
        "* STATUS \"INBOX\" (MESSAGES 231 UIDNEXT 44292)\r\n"
        "* THREAD (2)(3 6 (4 23)(44 7 96))\r\n");
    ASSERT_EQ(f.responses.size(), 13u);
    EXPECT_EQ(f.responses[0], "*|st5|#23|EXISTS");
    EXPECT_EQ(f.responses[2], "*|st5|#44|EXPUNGE");
    EXPECT_EQ(f.responses[3], "*|st5|FLAGS|(a:\\Answered a:\\Flagged a:\\Deleted a:\\Seen a:\\Draft)#5");
    EXPECT_EQ(f.responses[4], "*|st5|LIST|(a:\\HasNoChildren a:\\Sent)#2 s:/ a:Sent");
    EXPECT_EQ(f.responses[5], "*|st5|LIST|()#0 NIL s:");
    EXPECT_EQ(f.responses[6], "*|st5|SEARCH|n:2 n:84 n:882");
    EXPECT_EQ(f.responses[7], "*|st5|SEARCH");
    EXPECT_EQ(f.responses[8], "*|st5|ESEARCH|(a:TAG s:A285)#2 a:UID a:MIN n:7 a:MAX n:3800 a:ALL a:7,9:12,3800");
    EXPECT_EQ(f.responses[9], "*|st5|VANISHED|(a:EARLIER)#1 a:300:310,405,411");
    EXPECT_EQ(f.responses[10], "*|st5|NAMESPACE|((s: s:/)#2)#1 NIL ((s:#shared/ s:/)#2)#1");
    EXPECT_EQ(f.responses[11], "*|st5|STATUS|s:INBOX (a:MESSAGES n:231 a:UIDNEXT n:44292)#4");
    EXPECT_EQ(f.responses[12], "*|st5|THREAD|(n:2)#1 (n:3 n:6 (n:4 n:23)#2 (n:44 n:7 n:96)#3)#4");
}

TEST(imap_parser, literals_inside_envelopes_and_bodies) {
    // A literal subject inside an ENVELOPE, a literal body, a ~{} binary literal, escapes.
    const std::string in =
        std::string(
            "* 12 FETCH (UID 7 ENVELOPE (\"Wed, 17 Jul 1996 02:23:25 -0700\" {10}\r\nIMAP4 s\"ub NIL NIL "
            "NIL NIL NIL NIL NIL \"<x@y>\") BODY[] {5}\r\nhello BINARY[1] ~{3}\r\n") +
        std::string("\x00\x01\x02", 3) + " X \"a\\\"b\\\\c\")\r\nA1 OK done\r\n";
    auto f = ground(std::string_view(in.data(), in.size()));
    ASSERT_EQ(f.responses.size(), 2u);
    EXPECT_EQ(f.responses[0],
              std::string(
                  "*|st5|#12|FETCH|(a:UID n:7 a:ENVELOPE (s:Wed, 17 Jul 1996 02:23:25 -0700 l10:IMAP4 s\"ub NIL "
                  "NIL NIL NIL NIL NIL NIL s:<x@y>)#10 a:BODY[] l5:hello a:BINARY[1] l3:") +
                  std::string("\x00\x01\x02", 3) + " a:X s:a\"b\\c)#10");
}

TEST(imap_parser, sections_with_spaces_and_partials) {
    auto f = ground("* 1 FETCH (BODY[HEADER.FIELDS (FROM TO)]<0> {4}\r\nab\r\n BODY[1.2.MIME] NIL)\r\n");
    ASSERT_EQ(f.responses.size(), 1u);
    EXPECT_EQ(f.responses[0], "*|st5|#1|FETCH|(a:BODY[HEADER.FIELDS (FROM TO)]<0> l4:ab\r\n a:BODY[1.2.MIME] NIL)#4");
}

TEST(imap_parser, non_ascii_and_empty_lists) {
    auto f = ground("* LIST () \"/\" \"Entw\xc3\xbcrfe\"\r\n* 3 FETCH (FLAGS () UID 9)\r\n");
    ASSERT_EQ(f.responses.size(), 2u);
    EXPECT_EQ(f.responses[0], "*|st5|LIST|()#0 s:/ s:Entw\xc3\xbcrfe");
    EXPECT_EQ(f.responses[1], "*|st5|#3|FETCH|(a:FLAGS ()#0 a:UID n:9)#4");
}

TEST(imap_parser, huge_uid_set) {
    std::string set;
    for (int i = 1; i < 20000; i += 2) set += std::to_string(i) + ",";
    set += "99999";
    auto f = feed({"* SEARCH " + set + "\r\n* ESEARCH UID ALL " + set + "\r\n"});
    ASSERT_EQ(f.responses.size(), 2u);
    EXPECT_NE(f.responses[1].find("a:1,3,5,"), std::string::npos);
}

TEST(imap_parser, streamed_literal_goes_to_the_sink) {
    parser_limits lim;
    lim.stream_threshold = 8;
    const std::string body = "0123456789abcdefghij";
    const std::string in =
        "* 4 FETCH (UID 40 BODY[2]<0> {20}\r\n" + body + " FLAGS (\\Seen) BODY[3] {3}\r\nxyz)\r\nA1 OK\r\n";
    fed result;
    test::grind(in, [&](const std::vector<std::string_view>& chunks) {
        result = feed(chunks, lim);
        return result;
    });
    EXPECT_EQ(result.streamed, body);
    ASSERT_EQ(result.begins.size(), 1u);
    EXPECT_EQ(result.begins[0], "4 BODY[2]<0> 20");
    ASSERT_EQ(result.responses.size(), 2u);
    EXPECT_EQ(result.responses[0],
              "*|st5|#4|FETCH|(a:UID n:40 a:BODY[2]<0> l20:streamed a:FLAGS (a:\\Seen)#1 a:BODY[3] l3:xyz)#8");
    EXPECT_EQ(result.responses[1], "T:A1|st0|text=");
}

TEST(imap_parser, two_streamed_literals_in_one_response) {
    parser_limits lim;
    lim.stream_threshold = 2;
    auto f = feed({"* 1 FETCH (BODY[1] {3}\r\nabc BODY[2] {4}\r\ndefg)\r\n"}, lim);
    EXPECT_EQ(f.streamed, "abcdefg");
    ASSERT_EQ(f.begins.size(), 2u);
    EXPECT_EQ(f.begins[1], "1 BODY[2] 4");
    ASSERT_EQ(f.responses.size(), 1u);
    EXPECT_EQ(f.responses[0], "*|st5|#1|FETCH|(a:BODY[1] l3:streamed a:BODY[2] l4:streamed)#4");
}

TEST(imap_parser, bare_lf_line_ends_are_accepted) {
    auto f = ground("* 2 EXISTS\nA1 OK fine\n");
    ASSERT_EQ(f.responses.size(), 2u);
    EXPECT_EQ(f.responses[1], "T:A1|st0|text=fine");
}

TEST(imap_parser, limits_are_enforced) {
    parser_limits lim;
    lim.max_line_length = 16;
    EXPECT_THROW(feed({"* OK this line is far too long\r\n"}, lim), protocol_error);
    EXPECT_THROW(feed({"* OK this line is far too long and has no end yet"}, lim), protocol_error);
    lim = {};
    lim.max_literal_size = 10;
    EXPECT_THROW(feed({"* 1 FETCH (BODY[] {11}\r\n"}, lim), protocol_error);
    lim = {};
    lim.max_depth = 3;
    EXPECT_THROW(feed({"* X ((((a))))\r\n"}, lim), protocol_error);
    EXPECT_NO_THROW(feed({"* X (((a)))\r\n"}, lim));
    lim = {};
    lim.max_tokens = 5;
    EXPECT_THROW(feed({"* SEARCH 1 2 3 4 5 6\r\n"}, lim), protocol_error);
    EXPECT_NO_THROW(feed({"* SEARCH 1 2 3 4\r\n"}, lim));
    lim = {};
    lim.max_response_bytes = 100;
    EXPECT_THROW(feed({"* 1 FETCH (BODY[] {200}\r\n"}, lim), protocol_error);
    try {
        lim = {};
        lim.max_depth = 1;
        feed({"* X ((a))\r\n"}, lim);
        FAIL();
    } catch (const protocol_error& e) {
        EXPECT_EQ(e.code(), make_error_code(errc::limit_exceeded));
    }
}

TEST(imap_parser, malformed_responses) {
    for (std::string_view bad :
         {"A1 MAYBE\r\n", "(x) OK\r\n", "* X (a\r\n", "* X a)\r\n", "* X \"open\r\n", "* 1 FETCH (BODY[] {3x}\r\n",
          "A+1 OK\r\n", "* X [unterminated\r\n", "* OK [ALERT unterminated\r\n", "* 99999999999 EXISTS\r\n"})
        EXPECT_THROW(feed({bad}), protocol_error) << bad;
}

TEST(imap_parser, need_more_keeps_nothing_consumed) {
    response_parser p;
    std::string buf = "* 1 FETCH (BODY[] {10}\r\n01234";
    auto ev = p.next(buf);
    EXPECT_EQ(ev.type, response_parser::event::kind::need_more);
    buf += "56789)\r\n";
    ev = p.next(buf);
    ASSERT_EQ(ev.type, response_parser::event::kind::response);
    EXPECT_EQ(ev.consumed, buf.size());
}

TEST(imap_parser, to_line_matches_the_line_parser) {
    for (std::string_view line :
         {"* OK [CAPABILITY IMAP4rev1 SASL-IR STARTTLS AUTH=PLAIN] Dovecot ready.",
          "A0001 NO [AUTHENTICATIONFAILED] Authentication failed.", "* 23 EXISTS", "* CAPABILITY IMAP4rev1 IDLE",
          "+ YWJj", "* BYE shutting down", "* OK [UIDVALIDITY 3857529045] UIDs valid"}) {
        response r;
        parse_response(line, r);
        EXPECT_EQ(r.to_line(), parse_response_line(line)) << line;
    }
}

}  // namespace
}  // namespace mailwire::imap
