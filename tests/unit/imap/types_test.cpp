// Typed interpretation: FETCH items, ENVELOPE, BODYSTRUCTURE, LIST/STATUS/ESEARCH/THREAD,
// sequence sets, modified UTF-7 and the SEARCH builder. Real server output where possible.
#include "mailwire/imap/types.hpp"

#include <gtest/gtest.h>

#include <cstdio>

#include "mailwire/error.hpp"
#include "mailwire/mime/rfc2047.hpp"
#include "support/grind.hpp"

namespace mailwire::imap {
namespace {

// Frames and parses one response from whatever chunking grind() chose; returns the fetch result.
template <class F>
auto via_parser(std::string_view in, F interpret) {
    using result_t = decltype(interpret(std::declval<const response&>()));
    result_t result{};
    test::grind(in, [&](const std::vector<std::string_view>& chunks) {
        response_parser p;
        std::string buf;
        result_t got{};
        for (auto c : chunks) {
            buf.append(c);
            auto ev = p.next(buf);
            if (ev.type == response_parser::event::kind::response) {
                got = interpret(p.current());
                buf.erase(0, ev.consumed);
            }
        }
        result = got;
        return got;
    });
    return result;
}

const char* const rfc3501_example =
    "* 12 FETCH (FLAGS (\\Seen) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" RFC822.SIZE 4286 ENVELOPE (\"Wed, "
    "17 Jul 1996 02:23:25 -0700 (PDT)\" \"IMAP4rev1 WG mtg summary and minutes\" ((\"Terry Gray\" NIL \"gray\" "
    "\"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL "
    "\"gray\" \"cac.washington.edu\")) ((NIL NIL \"imap\" \"cac.washington.edu\")) ((NIL NIL \"minutes\" "
    "\"CNRI.Reston.VA.US\")(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) NIL NIL "
    "\"<B27397-0100000@cac.washington.edu>\") BODY (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL "
    "\"7BIT\" 3028 92) UID 4827313 MODSEQ (12121231000))\r\n";

TEST(imap_types, rfc3501_fetch_example) {
    auto f = via_parser(rfc3501_example, [](const response& r) { return interpret_fetch(r); });
    EXPECT_EQ(f.seq, 12u);
    EXPECT_EQ(f.uid, 4827313u);
    EXPECT_EQ(f.flags, (std::vector<std::string>{"\\Seen"}));
    EXPECT_EQ(f.rfc822_size, 4286u);
    EXPECT_EQ(f.modseq, 12121231000u);
    ASSERT_TRUE(f.parsed_internaldate);
    EXPECT_EQ(f.parsed_internaldate->offset_minutes, -420);
    EXPECT_EQ(format_internaldate(*f.parsed_internaldate), "17-Jul-1996 02:44:25 -0700");
    ASSERT_TRUE(f.env);
    EXPECT_EQ(f.env->subject, "IMAP4rev1 WG mtg summary and minutes");
    ASSERT_EQ(f.env->from.size(), 1u);
    EXPECT_EQ(f.env->from[0].members[0].name, "Terry Gray");
    EXPECT_EQ(f.env->from[0].members[0].address(), "gray@cac.washington.edu");
    ASSERT_EQ(f.env->cc.size(), 2u);
    EXPECT_EQ(f.env->cc[1].members[0].local, "KLENSIN");
    EXPECT_TRUE(f.env->bcc.empty());
    EXPECT_EQ(f.env->message_id, "<B27397-0100000@cac.washington.edu>");
    ASSERT_TRUE(f.env->parsed_date);
    ASSERT_TRUE(f.body);
    EXPECT_EQ(f.body->type, "text");
    EXPECT_EQ(f.body->subtype, "plain");
    EXPECT_EQ(f.body->param("charset"), "US-ASCII");
    EXPECT_EQ(f.body->size, 3028u);
    EXPECT_EQ(f.body->lines, 92u);
}

TEST(imap_types, encoded_words_groups_and_nil_everywhere) {
    const std::string in =
        "* 1 FETCH (UID 3 ENVELOPE (NIL {33}\r\n=?UTF-8?Q?Gr=C3=BC=C3=9Fe?= aus K NIL ((\"=?ISO-8859-1?Q?J=F6rg?=\" "
        "NIL \"joerg\" \"example.de\")) NIL ((NIL NIL \"team\" NIL)(NIL NIL \"a\" \"x.org\")(NIL NIL NIL NIL)(\"B\" "
        "NIL \"b\" \"y.org\")) NIL NIL NIL NIL))\r\n";
    auto f = via_parser(in, [](const response& r) { return interpret_fetch(r); });
    ASSERT_TRUE(f.env);
    EXPECT_EQ(f.env->subject,
              "Gr\xc3\xbc\xc3\x9f"
              "e aus K");
    EXPECT_FALSE(f.env->parsed_date);
    ASSERT_EQ(f.env->sender.size(), 1u);
    EXPECT_EQ(f.env->sender[0].members[0].name, "J\xc3\xb6rg");
    EXPECT_TRUE(f.env->from.empty());
    ASSERT_EQ(f.env->to.size(), 2u);
    EXPECT_EQ(f.env->to[0].group_name, "team");
    ASSERT_EQ(f.env->to[0].members.size(), 1u);
    EXPECT_EQ(f.env->to[0].members[0].address(), "a@x.org");
    EXPECT_EQ(f.env->to[1].members[0].name, "B");
    EXPECT_EQ(f.env->message_id, "");
}

TEST(imap_types, bodystructure_full_tree) {
    // multipart/mixed: text/plain, a message/rfc822 holding multipart/alternative, an attachment
    // with disposition, language and location, then the multipart extension data.
    const std::string in =
        "* 5 FETCH (BODYSTRUCTURE ((\"text\" \"plain\" (\"charset\" \"utf-8\" \"format\" \"flowed\") NIL NIL "
        "\"quoted-printable\" 120 4 NIL NIL NIL NIL)(\"message\" \"rfc822\" NIL \"<id@x>\" \"=?utf-8?B?w6Rw?=\" "
        "\"7bit\" 900 (NIL \"inner\" NIL NIL NIL NIL NIL NIL NIL NIL) ((\"text\" \"plain\" NIL NIL NIL \"7bit\" 10 1 "
        "NIL NIL NIL NIL)(\"text\" \"html\" NIL NIL NIL \"7bit\" 20 1 NIL NIL NIL NIL) \"alternative\" (\"boundary\" "
        "\"b2\") NIL NIL NIL) 30 NIL NIL NIL NIL)(\"application\" \"pdf\" (\"name\" \"a.pdf\") NIL NIL \"base64\" "
        "5000 \"md5sum\" (\"attachment\" (\"filename\" \"r\xc3\xa9sum\xc3\xa9.pdf\")) (\"de\" \"en\") "
        "\"http://x/a.pdf\") \"mixed\" (\"boundary\" \"b1\") (\"inline\" NIL) \"fr\" NIL))\r\n";
    auto b = via_parser(in, [](const response& r) { return *interpret_fetch(r).body; });
    EXPECT_TRUE(b.is_multipart());
    EXPECT_EQ(b.subtype, "mixed");
    EXPECT_EQ(b.param("boundary"), "b1");
    EXPECT_EQ(b.disposition, "inline");
    EXPECT_EQ(b.language, (std::vector<std::string>{"fr"}));
    ASSERT_EQ(b.parts.size(), 3u);
    EXPECT_EQ(b.parts[0].section, "1");
    EXPECT_EQ(b.parts[0].encoding, "QUOTED-PRINTABLE");
    EXPECT_EQ(b.parts[0].param("format"), "flowed");
    EXPECT_EQ(b.parts[0].lines, 4u);
    const auto& msg = b.parts[1];
    EXPECT_EQ(msg.section, "2");
    EXPECT_EQ(msg.description, "\xc3\xa4p");
    ASSERT_TRUE(msg.message_envelope);
    EXPECT_EQ(msg.message_envelope->subject, "inner");
    EXPECT_EQ(msg.lines, 30u);
    ASSERT_EQ(msg.parts.size(), 1u);
    EXPECT_EQ(msg.parts[0].subtype, "alternative");
    ASSERT_EQ(msg.parts[0].parts.size(), 2u);
    EXPECT_EQ(msg.parts[0].parts[1].section, "2.2");
    EXPECT_EQ(msg.parts[0].parts[1].subtype, "html");
    const auto& pdf = b.parts[2];
    EXPECT_EQ(pdf.section, "3");
    EXPECT_EQ(pdf.md5, "md5sum");
    EXPECT_EQ(pdf.disposition, "attachment");
    ASSERT_EQ(pdf.disposition_params.size(), 1u);
    EXPECT_EQ(pdf.disposition_params[0].value, "r\xc3\xa9sum\xc3\xa9.pdf");
    EXPECT_EQ(pdf.language, (std::vector<std::string>{"de", "en"}));
    EXPECT_EQ(pdf.location, "http://x/a.pdf");
}

TEST(imap_types, rfc2231_parameters_are_joined) {
    const std::string in =
        "* 1 FETCH (BODYSTRUCTURE (\"application\" \"octet-stream\" (\"name*0*\" \"utf-8''%C3%A4\" \"name*1*\" "
        "\"b.txt\") NIL NIL \"base64\" 4 NIL NIL NIL NIL))\r\n";
    auto b = via_parser(in, [](const response& r) { return *interpret_fetch(r).body; });
    EXPECT_EQ(b.param("name"),
              "\xc3\xa4"
              "b.txt");
}

TEST(imap_types, body_sections_and_partials) {
    const std::string in =
        "* 2 FETCH (UID 9 BODY[HEADER.FIELDS (SUBJECT)] {11}\r\nSubject: x\n BODY[]<100> \"abc\" BODY[2.MIME] NIL "
        "X-GM-LABELS (\\Inbox) RFC822.SIZE 44)\r\n";
    auto f = via_parser(in, [](const response& r) { return interpret_fetch(r); });
    ASSERT_EQ(f.sections.size(), 3u);
    EXPECT_EQ(f.sections[0].section, "HEADER.FIELDS (SUBJECT)");
    EXPECT_EQ(f.sections[0].data, "Subject: x\n");
    EXPECT_EQ(f.sections[1].origin, 100u);
    EXPECT_EQ(f.sections[1].data, "abc");
    EXPECT_EQ(f.sections[1].name, "BODY[]");
    EXPECT_TRUE(f.sections[2].nil);
    EXPECT_EQ(f.find("2.MIME"), &f.sections[2]);
    EXPECT_EQ(f.rfc822_size, 44u);
}

TEST(imap_types, malformed_fetch_items) {
    for (std::string_view bad :
         {"* 1 FETCH UID 3\r\n", "* 1 FETCH (UID)\r\n", "* 1 FETCH (UID x)\r\n", "* 1 FETCH (FLAGS \\Seen)\r\n",
          "* 1 FETCH (ENVELOPE NIL)\r\n", "* 1 FETCH (BODYSTRUCTURE ())\r\n", "* 1 FETCH (MODSEQ ())\r\n"}) {
        response r;
        parse_response(bad, r);
        EXPECT_THROW(interpret_fetch(r), protocol_error) << bad;
    }
}

TEST(imap_types, list_status_search_thread) {
    response r;
    parse_response("* LIST (\\HasNoChildren \\Drafts) \"/\" \"Entw&APw-rfe\" (\"OLDNAME\" (\"Old&AOQ-\"))", r);
    auto l = interpret_list(r);
    EXPECT_EQ(l.name, "Entw\xc3\xbcrfe");
    EXPECT_EQ(l.raw_name, "Entw&APw-rfe");
    EXPECT_EQ(l.delimiter, '/');
    EXPECT_TRUE(l.has_attribute("\\drafts"));
    EXPECT_EQ(l.old_name, "Old\xc3\xa4");

    parse_response("* STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292 HIGHESTMODSEQ 7011231777)", r);
    auto s = interpret_status(r);
    EXPECT_EQ(s.mailbox, "blurdybloop");
    EXPECT_EQ(s.messages, 231u);
    EXPECT_EQ(s.uidnext, 44292u);
    EXPECT_EQ(s.highestmodseq, 7011231777u);
    EXPECT_FALSE(s.unseen);

    parse_response("* SEARCH 2 5 6 (MODSEQ 917162500)", r);
    auto q = interpret_search(r);
    EXPECT_EQ(q.ids, (std::vector<std::uint32_t>{2, 5, 6}));
    EXPECT_EQ(q.modseq, 917162500u);

    parse_response("* ESEARCH (TAG \"A1\") UID MIN 2 MAX 9 COUNT 4 ALL 2,4:5,9", r);
    q = interpret_search(r);
    EXPECT_TRUE(q.uid);
    EXPECT_EQ(q.min, 2u);
    EXPECT_EQ(q.max, 9u);
    EXPECT_EQ(q.count, 4u);
    EXPECT_EQ(q.ids, (std::vector<std::uint32_t>{2, 4, 5, 9}));

    // A hostile ALL range is kept as a set, never expanded into gigabytes.
    parse_response("* ESEARCH UID ALL 1:4000000000,7:*", r);
    q = interpret_search(r);
    EXPECT_TRUE(q.ids.empty());
    ASSERT_TRUE(q.all);
    EXPECT_TRUE(q.all->contains(3999999999u));

    parse_response("* THREAD (2)(3 6 (4 23)(44 7 96))", r);
    auto t = interpret_thread(r);
    ASSERT_EQ(t.size(), 2u);
    EXPECT_EQ(t[0].id, 2u);
    EXPECT_EQ(t[1].id, 3u);
    ASSERT_EQ(t[1].children.size(), 1u);
    const auto& six = t[1].children[0];
    EXPECT_EQ(six.id, 6u);
    ASSERT_EQ(six.children.size(), 2u);
    EXPECT_EQ(six.children[0].id, 4u);
    EXPECT_EQ(six.children[0].children[0].id, 23u);
    EXPECT_EQ(six.children[1].children[0].children[0].id, 96u);
}

TEST(imap_types, sequence_sets) {
    auto s = sequence_set::parse("1:4,7,9:*");
    EXPECT_EQ(s.to_string(), "1:4,7,9:*");
    EXPECT_TRUE(s.contains(3));
    EXPECT_FALSE(s.contains(8));
    EXPECT_TRUE(s.contains(100000));
    EXPECT_EQ(sequence_set::parse("5:2").to_string(), "2:5");
    EXPECT_EQ(sequence_set::from({9, 1, 2, 3, 7, 8, 3}).to_string(), "1:3,7:9");
    EXPECT_EQ(sequence_set::all().to_string(), "1:*");
    EXPECT_EQ(sequence_set::parse("1:3,5").expand(), (std::vector<std::uint32_t>{1, 2, 3, 5}));
    for (std::string_view bad : {"", "0", "1:", ",", "a", "1,,2", "4294967296"})
        EXPECT_THROW(sequence_set::parse(bad), parse_error) << bad;
}

TEST(imap_types, modified_utf7_both_ways) {
    const std::pair<const char*, const char*> cases[] = {
        {"INBOX", "INBOX"},
        {"Entw\xc3\xbcrfe", "Entw&APw-rfe"},
        {"~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e",
         "~peter/mail/&U,BTFw-/&ZeVnLIqe-"},
        {"a&b", "a&-b"},
        {"\xf0\x9f\x98\x80 smile", "&2D3eAA- smile"},
    };
    for (auto [utf8, utf7] : cases) {
        EXPECT_EQ(encode_mailbox_name(utf8), utf7);
        EXPECT_EQ(decode_mailbox_name(utf7), utf8);
    }
    // Broken input stays as it is.
    EXPECT_EQ(decode_mailbox_name("a&Jjo"), "a&Jjo");
    EXPECT_EQ(decode_mailbox_name("a&*-"), "a&*-");
}

TEST(imap_types, search_builder) {
    auto q = search_query::unseen() && search_query::from("alice@example.com") && !search_query::deleted() &&
             search_query::since({2024, 2, 1}) && search_query::larger(1000);
    EXPECT_EQ(q.text(), "UNSEEN FROM \"alice@example.com\" NOT (DELETED) SINCE 1-Feb-2024 LARGER 1000");
    EXPECT_FALSE(q.needs_utf8());
    ASSERT_EQ(q.parts().size(), 1u);

    auto o = search_query::subject("a\"b") || search_query::uid(sequence_set(1, 5));
    EXPECT_EQ(o.parts()[0], "OR (SUBJECT \"a\\\"b\") (UID 1:5)");

    auto u = search_query::header("X-Tag", "gr\xc3\xbc\xc3\x9f") && search_query::flagged();
    EXPECT_TRUE(u.needs_utf8());
    ASSERT_EQ(u.parts().size(), 3u);
    EXPECT_EQ(u.parts()[0], "HEADER \"X-Tag\" ");
    EXPECT_EQ(u.parts()[1], "gr\xc3\xbc\xc3\x9f");
    EXPECT_EQ(u.parts()[2], " FLAGGED");
    EXPECT_THROW(search_query::since({2024, 13, 1}), error);
}

TEST(imap_types, internaldate) {
    auto d = parse_internaldate(" 1-Feb-2024 00:00:00 +0000");
    ASSERT_TRUE(d);
    EXPECT_EQ(format_internaldate(*d), "01-Feb-2024 00:00:00 +0000");
    EXPECT_FALSE(parse_internaldate("31-Feb-2024 00:00:00 +0000"));
    EXPECT_FALSE(parse_internaldate("1-Foo-2024 00:00:00 +0000"));
    EXPECT_FALSE(parse_internaldate(""));
}

// ---- storage reuse and fast paths: results must equal the general code's -----------------

response parsed(std::string_view line) {
    response r;
    parse_response(line, r);
    return r;
}

TEST(imap_types, fetch_into_a_reused_object_equals_a_fresh_one) {
    // Varied shapes one after another: more/fewer addresses, groups, parts, items missing.
    const std::vector<std::string> lines = {
        rfc3501_example,
        "* 1 FETCH (UID 3 ENVELOPE (NIL {33}\r\n=?UTF-8?Q?Gr=C3=BC=C3=9Fe?= aus K NIL ((\"=?ISO-8859-1?Q?J=F6rg?=\" "
        "NIL \"joerg\" \"example.de\")) NIL ((NIL NIL \"team\" NIL)(NIL NIL \"a\" \"x.org\")(NIL NIL NIL NIL)(\"B\" "
        "NIL \"b\" \"y.org\")) NIL NIL NIL NIL))\r\n",
        "* 2 FETCH (UID 9 FLAGS () RFC822.SIZE 10)\r\n",
        "* 3 FETCH (FLAGS (\\Seen $Label1 \\Flagged) BODYSTRUCTURE ((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL "
        "NIL \"7bit\" 10 1 NIL NIL NIL NIL)((\"text\" \"html\" NIL NIL NIL \"quoted-printable\" 20 2 NIL (\"inline\" "
        "NIL) (\"en\" \"de\") \"loc\")(\"image\" \"png\" (\"name\" \"a.png\") \"<id>\" \"=?utf-8?b?w6Q=?=\" \"base64\" "
        "30 \"md5\" (\"attachment\" (\"filename\" \"a.png\")) \"fr\" NIL) \"related\" (\"type\" \"text/html\") NIL "
        "NIL) "
        "\"mixed\" (\"boundary\" \"b1\") (\"inline\" NIL) NIL NIL))\r\n",
        "* 4 FETCH (ENVELOPE (\"Thu, 01 Feb 2024 00:00:00 +0100\" \"=?utf-8?b?R3LDvMOfZQ==?=\" "
        "((\"=?utf-8?b?Wm/DqyDDhXN0csO2bQ==?=\" "
        "NIL \"z\" \"example.org\")) NIL NIL ((\"A\" NIL \"a\" \"b\")(\"C\" NIL \"c\" \"d\")(\"E\" NIL \"e\" \"f\")) "
        "NIL NIL "
        "\"<x>\" \"<y>\") BODYSTRUCTURE (\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 100 (NIL \"inner\" NIL NIL NIL "
        "NIL "
        "NIL NIL NIL NIL) (\"text\" \"plain\" NIL NIL NIL \"7bit\" 5 1) 7))\r\n",
        "* 5 FETCH (UID 1 BODY[HEADER] {5}\r\nab\r\n\r\n MODSEQ (4) EMAILID (M1))\r\n",
    };
    for (std::size_t a = 0; a < lines.size(); ++a) {
        for (std::size_t b = 0; b < lines.size(); ++b) {
            fetch_data reused;
            interpret_fetch(parsed(lines[a]), reused);
            interpret_fetch(parsed(lines[b]), reused);
            EXPECT_EQ(reused, interpret_fetch(parsed(lines[b]))) << a << " then " << b;
        }
    }
}

TEST(imap_types, encoded_word_fast_path_matches_the_mime_decoder) {
    const std::vector<std::string> words = {
        "=?utf-8?b?R3LDvMOfZSBkcmFmdA==?=",
        "=?UTF-8?B?R3LDvMOfZQ==?=",
        "=?utf-8?b?YWJj?=",
        "=?utf-8?b?YWI=?=",
        "=?utf-8?b?YQ==?=",
        "=?utf-8?b?"
        "?=",
        "=?utf-8?b?YWJ?=",   // empty, bad length
        "=?utf-8?b?YR==?=",  // non-canonical padding bits
        "=?utf-8?b?YW=j?=",
        "=?utf-8?b?/w==?=",  // data after '=', invalid UTF-8
        "=?utf-8?b?7aCA?=",  // a surrogate
        "=?utf-8?b?YQlj?=",
        "=?utf-8?b?YQpj?=",  // TAB, LF inside
        "=?utf-8?q?Gr=C3=BC=C3=9Fe?=",
        "=?iso-8859-1?b?5A==?=",
        "=?utf-8?b?YWJj?= =?utf-8?b?ZGVm?=",
        "x =?utf-8?b?YWJj?=",
        "=?utf-8*en?b?YWJj?=",
        "=?utf-8?b?YW Jj?=",
        "=?utf-8?b?8J+YgA==?=",
        "plain",
        "caf\xc3\xa9",
        "=?utf-8?b?YWJj?=x",
    };
    for (const auto& w : words) {
        std::string quoted;
        for (char c : w) {
            if (c == '"' || c == '\\') quoted += '\\';
            quoted += c;
        }
        const std::string line = "* 1 FETCH (ENVELOPE (NIL \"" + quoted + "\" ((\"" + quoted +
                                 "\" NIL \"a\" \"b\")) NIL NIL NIL NIL NIL NIL NIL))\r\n";
        const auto f = interpret_fetch(parsed(line));
        ASSERT_TRUE(f.env);
        EXPECT_EQ(f.env->subject, mime::decode_header_text(w)) << w;
        ASSERT_EQ(f.env->from.size(), 1u);
        EXPECT_EQ(f.env->from[0].members[0].name, mime::decode_header_text(w)) << w;
    }
}

TEST(imap_types, canonical_date_fast_path_matches_the_mime_parser) {
    std::vector<std::string> dates = {
        "Thu, 01 Feb 2024 00:00:00 +0100",
        "1 Feb 2024 00:00:00 +0100",
        "Thu, 1 Feb 2024 23:59:59 -0000",
        "Fri, 29 Feb 2024 12:00:00 +1400",
        "Thu, 30 Feb 2024 12:00:00 +0000",
        "Thu, 31 Apr 2023 12:00:00 +0000",
        "Mon, 01 Jan 1900 00:00:00 +0000",
        "Tue, 15 Mar 1899 10:00:00 +0000",
        "Sun, 31 Dec 9999 23:59:59 -2359",
        "Xyz, 01 Feb 2024 00:00:00 +0100",
        "thu, 01 Feb 2024 00:00:00 +0100",
        "Thu, 01 feb 2024 00:00:00 +0100",
        "Thu, 01 Feb 2024 24:00:00 +0100",
        "Thu, 01 Feb 2024 00:60:00 +0100",
        "Thu, 01 Feb 2024 00:00:60 +0100",
        "Thu, 01 Feb 2024 00:00:00 +0160",
        "Thu, 01 Feb 2024 00:00:00 +2400",
        "Thu, 01 Feb 2024 00:00:00 GMT",
        "Thu, 01 Feb 2024 00:00:00 +0100 (CET)",
        "Thu, 01 Feb 24 00:00:00 +0100",
        "Thu, 001 Feb 2024 00:00:00 +0100",
        "Thu, 00 Feb 2024 00:00:00 +0100",
        "Thu,01 Feb 2024 00:00:00 +0100",
        "Thu, 01 Feb 2024 00:00 +0100",
        "",
    };
    // And a sweep of ordinary values.
    const char* const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    for (int i = 0; i < 400; ++i) {
        char buf[64];
        std::snprintf(buf, sizeof buf, "Wed, %d %s %d %02d:%02d:%02d %c%02d%02d", 1 + i % 31, mon[i % 12],
                      1950 + (i * 7) % 120, i % 24, (i * 13) % 60, (i * 29) % 60, i % 3 ? '+' : '-', (i * 5) % 15,
                      (i % 4) * 15);
        dates.emplace_back(buf);
    }
    for (const auto& d : dates) {
        const std::string line = "* 1 FETCH (ENVELOPE (\"" + d + "\" NIL NIL NIL NIL NIL NIL NIL NIL NIL))\r\n";
        const auto f = interpret_fetch(parsed(line));
        ASSERT_TRUE(f.env);
        EXPECT_EQ(f.env->parsed_date, d.empty() ? std::nullopt : mime::parse_date(d)) << d;
    }
}

TEST(imap_types, search_query_records_capabilities_and_the_sets_matches_lie_in) {
    using Q = search_query;
    const auto within = Q::younger(60) && Q::modseq(3) && Q::older(5);
    EXPECT_EQ(within.required_capabilities(), (std::vector<std::string>{"WITHIN", "CONDSTORE"}));
    EXPECT_EQ((Q::seen() || !Q::older(5)).required_capabilities(), std::vector<std::string>{"WITHIN"});
    EXPECT_TRUE((Q::seen() && Q::from("a")).required_capabilities().empty());

    const auto and_uid = Q::unseen() && Q::uid(sequence_set(2, 4)) && Q::sequence(sequence_set(1, 9));
    ASSERT_EQ(and_uid.bounds().size(), 2u);
    EXPECT_TRUE(and_uid.bounds()[0].first);
    EXPECT_EQ(and_uid.bounds()[0].second.to_string(), "2:4");
    EXPECT_FALSE(and_uid.bounds()[1].first);
    EXPECT_TRUE((Q::uid(2) || Q::seen()).bounds().empty());  // OR: a match may lie outside UID 2
    EXPECT_TRUE((!Q::uid(2)).bounds().empty());
    EXPECT_EQ((Q::all() && !(Q::uid(2) && Q::uid(3))).bounds().size(), 0u);
}

TEST(imap_types, outside_of_reads_star_as_everything_from_its_start) {
    EXPECT_TRUE(outside_of(sequence_set::parse("2:4,9"), {2, 3, 4, 9}).empty());
    EXPECT_EQ(outside_of(sequence_set::parse("2:4,9"), {3, 5, 9, 1}), (std::vector<std::uint32_t>{5, 1}));
    EXPECT_EQ(outside_of(sequence_set::parse("5:*"), {4, 5, 4000000000u}), std::vector<std::uint32_t>{4});
    EXPECT_TRUE(outside_of(sequence_set::parse("*"), {1, 77}).empty());
}

}  // namespace
}  // namespace mailwire::imap
