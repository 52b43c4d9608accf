// RFC 5322 §3.4 addresses and their obsolete and broken forms.
#include "mailwire/mime/address.hpp"

#include <gtest/gtest.h>

using namespace mailwire::mime;

namespace {
mailbox one(std::string_view s) {
    auto l = parse_mailbox_list(s);
    EXPECT_EQ(l.size(), 1u) << s;
    return l.empty() ? mailbox{} : l.front();
}
}  // namespace

TEST(Address, Plain) {
    auto m = one("John Doe <jdoe@machine.example>");
    EXPECT_EQ(m.name, "John Doe");
    EXPECT_EQ(m.local, "jdoe");
    EXPECT_EQ(m.domain, "machine.example");
    EXPECT_EQ(m.address(), "jdoe@machine.example");
    m = one("jdoe@example.org");
    EXPECT_EQ(m.name, "");
    EXPECT_EQ(m.address(), "jdoe@example.org");
    m = one("<boss@nil.test>");
    EXPECT_EQ(m.address(), "boss@nil.test");
}

TEST(Address, Rfc5322AppendixA) {
    // A.1.2
    auto l = parse_address_list(
        "\"Joe Q. Public\" <john.q.public@example.com>, Mary Smith <mary@x.test>, jdoe@example.org, "
        "Who? <one@y.test>");
    ASSERT_EQ(l.size(), 4u);
    EXPECT_EQ(l[0].members[0].name, "Joe Q. Public");
    EXPECT_EQ(l[1].members[0].address(), "mary@x.test");
    EXPECT_EQ(l[2].members[0].address(), "jdoe@example.org");
    EXPECT_EQ(l[3].members[0].name, "Who?");
    l = parse_address_list("<boss@nil.test>, \"Giant; \\\"Big\\\" Box\" <sysservices@example.net>");
    ASSERT_EQ(l.size(), 2u);
    EXPECT_EQ(l[1].members[0].name, "Giant; \"Big\" Box");
    // A.1.3 groups, one empty.
    l = parse_address_list(
        "A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;, Undisclosed recipients:;");
    ASSERT_EQ(l.size(), 2u);
    EXPECT_TRUE(l[0].is_group());
    EXPECT_EQ(l[0].group_name, "A Group");
    ASSERT_EQ(l[0].members.size(), 3u);
    EXPECT_EQ(l[0].members[0].name, "Ed Jones");
    EXPECT_EQ(l[0].members[1].address(), "joe@where.test");
    EXPECT_EQ(l[0].members[2].address(), "jdoe@one.test");
    EXPECT_TRUE(l[1].is_group());
    EXPECT_EQ(l[1].group_name, "Undisclosed recipients");
    EXPECT_TRUE(l[1].members.empty());
    EXPECT_EQ(parse_mailbox_list("A Group:Ed Jones <c@a.test>,joe@where.test;").size(), 2u);
    // A.5 comments and white space.
    l = parse_address_list("Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>");
    ASSERT_EQ(l.size(), 1u);
    EXPECT_EQ(l[0].members[0].name, "Pete");
    EXPECT_EQ(l[0].members[0].address(), "pete@silly.test");
    l = parse_address_list(
        "A Group(Some people)\r\n     :Chris Jones <c@(Chris's host.)public.example>,\r\n"
        "         joe@example.org,\r\n  John <jdoe@one.test> (my dear friend); (the end of the group)");
    ASSERT_EQ(l.size(), 1u);
    EXPECT_EQ(l[0].group_name, "A Group");
    ASSERT_EQ(l[0].members.size(), 3u);
    EXPECT_EQ(l[0].members[0].address(), "c@public.example");
    // A.6.1 obsolete: unquoted dots in the name, route address.
    auto m = one("Joe Q. Public <john.q.public@example.com>");
    EXPECT_EQ(m.name, "Joe Q. Public");
    m = one("Mary Smith <@node.test:mary@example.net>");
    EXPECT_EQ(m.address(), "mary@example.net");
    m = one("<@a.test,@b.test:x@y.test>");
    EXPECT_EQ(m.address(), "x@y.test");
    // A.6.3 obsolete white space around dots and '@'.
    m = one("John Doe <jdoe@machine(comment).  example>");
    EXPECT_EQ(m.address(), "jdoe@machine.example");
}

TEST(Address, QuotedLocalParts) {
    auto m = one("\"john doe\"@example.com");
    EXPECT_EQ(m.local, "john doe");
    EXPECT_EQ(m.address(), "\"john doe\"@example.com");
    m = one("<\"a\\\"b\"@example.com>");
    EXPECT_EQ(m.local, "a\"b");
    EXPECT_EQ(m.address(), "\"a\\\"b\"@example.com");
}

TEST(Address, BrokenForms) {
    // Comment as the name of a bare address.
    auto m = one("jdoe@example.org (John Doe)");
    EXPECT_EQ(m.name, "John Doe");
    // Missing angle brackets after a name.
    m = one("John Doe jdoe@example.org");
    EXPECT_EQ(m.name, "John Doe");
    EXPECT_EQ(m.address(), "jdoe@example.org");
    // Unquoted comma in the name.
    m = one("Doe, John <jdoe@example.org>");
    EXPECT_EQ(m.name, "Doe, John");
    // Encoded words, also inside quotes (Outlook).
    m = one("=?utf-8?Q?Andr=C3=A9?= Pirard <ap@example.be>");
    EXPECT_EQ(m.name, "Andr\xC3\xA9 Pirard");
    m = one("\"=?utf-8?B?w6lsw6h2ZQ==?=\" <e@example.fr>");
    EXPECT_EQ(m.name, "\xC3\xA9l\xC3\xA8ve");
    // Empty entries and junk.
    auto l = parse_address_list(" , ,a@b.test,, <>, ");
    ASSERT_EQ(l.size(), 1u);
    EXPECT_EQ(l[0].members[0].address(), "a@b.test");
    EXPECT_TRUE(parse_address_list("").empty());
    EXPECT_NO_THROW(parse_address_list("\"unterminated <x@y"));
    EXPECT_NO_THROW(parse_address_list("(((((("));
    EXPECT_NO_THROW(parse_address_list("<<<>>>@@@:::;;;"));
    // Unterminated angle bracket.
    m = one("Name <x@y.test");
    EXPECT_EQ(m.address(), "x@y.test");
    EXPECT_EQ(m.name, "Name");
    // No domain.
    m = one("root");
    EXPECT_EQ(m.local, "root");
    EXPECT_EQ(m.domain, "");
}

TEST(Address, InternationalDomainsAndUtf8) {
    auto m =
        one("user@b\xC3\xBC"
            "cher.example");
    EXPECT_EQ(m.domain,
              "b\xC3\xBC"
              "cher.example");
    EXPECT_EQ(m.domain_ascii(), "xn--bcher-kva.example");
    m = one("user@xn--bcher-kva.example");
    EXPECT_EQ(m.domain_unicode(),
              "b\xC3\xBC"
              "cher.example");
    EXPECT_EQ(m.domain_ascii(), "xn--bcher-kva.example");
    m = one("User@EXAMPLE.com");
    EXPECT_EQ(m.domain_ascii(), "example.com");
    m = one("J\xC3\xB6rg <j\xC3\xB6rg@m\xC3\xBCnchen.example>");  // RFC 6532
    EXPECT_EQ(m.name, "J\xC3\xB6rg");
    EXPECT_EQ(m.local, "j\xC3\xB6rg");
    EXPECT_EQ(m.address(), "j\xC3\xB6rg@m\xC3\xBCnchen.example");
    m = one("x@[192.0.2.1]");
    EXPECT_EQ(m.domain, "[192.0.2.1]");
    EXPECT_EQ(m.domain_ascii(), "[192.0.2.1]");
}

TEST(Address, FormatRoundTrips) {
    std::vector<address> list = {
        {"", {{"John Doe", "jdoe", "example.org"}}},
        {"", {{"Doe, John \"JD\"", "jdoe", "example.org"}}},
        {"", {{"", "john doe", "example.org"}}},
        {"", {{"Andr\xC3\xA9 Pirard", "ap", "example.be"}}},
        {"", {{"M\xC3\xBCller, Hans", "hm", "example.de"}}},
        {"Team", {{"A", "a", "x.test"}, {"", "b", "x.test"}}},
        {"Undisclosed recipients", {}},
    };
    const std::string s = format_address_list(list);
    EXPECT_EQ(parse_address_list(s), list) << s;
    EXPECT_EQ(format_mailbox({"John Doe", "jdoe", "example.org"}), "John Doe <jdoe@example.org>");
    EXPECT_EQ(format_mailbox({"Doe, John", "jdoe", "example.org"}), "\"Doe, John\" <jdoe@example.org>");
    EXPECT_EQ(format_mailbox({"", "jdoe", "example.org"}), "jdoe@example.org");
    const std::string enc = format_mailbox({"M\xC3\xBCller, Hans", "hm", "example.de"});
    EXPECT_EQ(enc.find(','), std::string::npos) << enc;  // the comma went into the encoded word
}

TEST(Address, LongListsStayLinear) {
    std::string v;
    for (int i = 0; i < 20000; ++i) v += "User " + std::to_string(i) + " <u" + std::to_string(i) + "@example.com>, ";
    auto l = parse_mailbox_list(v);
    ASSERT_EQ(l.size(), 20000u);
    EXPECT_EQ(l.back().address(), "u19999@example.com");
    EXPECT_EQ(l.back().name, "User 19999");
}
