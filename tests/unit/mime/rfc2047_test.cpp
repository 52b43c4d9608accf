// RFC 2047 encoded words.
#include "mailwire/mime/rfc2047.hpp"

#include <gtest/gtest.h>

#include <random>

#include "mailwire/mime/charset.hpp"

using namespace mailwire::mime;

TEST(Rfc2047, Rfc2047Section8Examples) {
    EXPECT_EQ(decode_header_text("=?ISO-8859-1?Q?Keld_J=F8rn_Simonsen?="), "Keld J\xC3\xB8rn Simonsen");
    EXPECT_EQ(decode_header_text("=?ISO-8859-1?Q?Andr=E9?= Pirard"), "Andr\xC3\xA9 Pirard");
    EXPECT_EQ(decode_header_text("=?ISO-8859-1?B?SWYgeW91IGNhbiByZWFkIHRoaXMgeW8=?=\r\n"
                                 " =?ISO-8859-2?B?dSB1bmRlcnN0YW5kIHRoZSBleGFtcGxlLg==?="),
              "If you can read this you understand the example.");
    EXPECT_EQ(decode_header_text("(=?ISO-8859-1?Q?a?=)"), "(a)");
    EXPECT_EQ(decode_header_text("(=?ISO-8859-1?Q?a?= b)"), "(a b)");
    EXPECT_EQ(decode_header_text("(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)"), "(ab)");
    EXPECT_EQ(decode_header_text("(=?ISO-8859-1?Q?a?=  \r\n  =?ISO-8859-1?Q?b?=)"), "(ab)");
    EXPECT_EQ(decode_header_text("(=?ISO-8859-1?Q?a_b?=)"), "(a b)");
    EXPECT_EQ(decode_header_text("(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)"), "(a b)");
}

TEST(Rfc2047, Tolerance) {
    // Unknown charset: bytes kept (valid UTF-8 stays).
    EXPECT_EQ(decode_header_text("=?x-bogus?Q?caf=C3=A9?="), "caf\xC3\xA9");
    // Bad base64 inside: left as written.
    EXPECT_EQ(decode_header_text("=?utf-8?B?@@@?= x"), "=?utf-8?B?@@@?= x");
    // Missing "?=".
    EXPECT_EQ(decode_header_text("=?utf-8?Q?open word"), "=?utf-8?Q?open word");
    EXPECT_EQ(decode_header_text("=?utf-8?Q?open =?utf-8?Q?ok?="), "=?utf-8?Q?open ok");
    // Unknown encoding letter.
    EXPECT_EQ(decode_header_text("=?utf-8?X?abc?="), "=?utf-8?X?abc?=");
    // Glued to text, lower-case letters, language suffix, blanks inside Q text.
    EXPECT_EQ(decode_header_text("Re:=?utf-8?q?caf=c3=a9?=!"), "Re:caf\xC3\xA9!");
    EXPECT_EQ(decode_header_text("=?UTF-8*en?B?w6k=?="), "\xC3\xA9");
    EXPECT_EQ(decode_header_text("=?utf-8?Q?two words?="), "two words");
    // A character split across two words (both B and Q).
    EXPECT_EQ(decode_header_text("=?utf-8?B?4oI=?= =?utf-8?B?rA==?="), "\xE2\x82\xAC");
    EXPECT_EQ(decode_header_text("=?UTF-8?Q?=E2=82?=\r\n =?utf-8?Q?=AC_x?="), "\xE2\x82\xAC x");
    // Raw 8-bit text: UTF-8 if valid, else windows-1252.
    EXPECT_EQ(decode_header_text("caf\xC3\xA9"), "caf\xC3\xA9");
    EXPECT_EQ(decode_header_text("caf\xE9"), "caf\xC3\xA9");
    EXPECT_EQ(decode_header_text("plain\r\n folded"), "plain folded");
    EXPECT_EQ(decode_header_text(""), "");
    EXPECT_TRUE(is_valid_utf8(decode_header_text("=?utf-8?B?/w==?=")));
}

TEST(Rfc2047, EncodeOnlyWhenNeeded) {
    EXPECT_EQ(encode_header_text("Hello world"), "Hello world");
    const std::string e = encode_header_text("Caf\xC3\xA9 au lait");
    EXPECT_NE(e.find("=?utf-8?"), std::string::npos);
    EXPECT_TRUE(e.ends_with(" au lait")) << e;
    EXPECT_EQ(decode_header_text(e), "Caf\xC3\xA9 au lait");
    // Text that looks like an encoded word must be encoded to survive.
    EXPECT_EQ(decode_header_text(encode_header_text("literal =?utf-8?Q?x?=")), "literal =?utf-8?Q?x?=");
}

TEST(Rfc2047, EncodeRoundTripsAndConforms) {
    std::mt19937 rng(2047);
    const char* pieces[] = {"a",
                            "b",
                            " ",
                            "  ",
                            "\xC3\xA9",
                            "\xE2\x82\xAC",
                            "\xF0\x9F\x98\x80",
                            "word",
                            "=",
                            "?",
                            "_",
                            "\xD0\x9F\xD1\x80\xD0\xB8",
                            "x.y",
                            "\t"};
    for (int round = 0; round < 300; ++round) {
        std::string s;
        const int n = 1 + static_cast<int>(rng() % 60);
        for (int i = 0; i < n; ++i) s += pieces[rng() % std::size(pieces)];
        const std::size_t used = rng() % 30;
        const std::string e = encode_header_text(s, used);
        EXPECT_EQ(decode_header_text(e), s) << e;
        // Lines ≤ 76 (plain words longer than a line cannot be broken); encoded words ≤ 75.
        std::size_t line = used;
        for (std::size_t i = 0; i < e.size(); ++i) {
            if (e[i] == '\r') {
                ASSERT_EQ(e[i + 1], '\n');
                ASSERT_LE(line, 76u) << e;
                line = 0;
                ++i;
            } else {
                ++line;
            }
        }
        for (std::size_t p = e.find("=?"); p != std::string::npos; p = e.find("=?", p + 2)) {
            const std::size_t q = e.find("?=", p + 10);
            ASSERT_NE(q, std::string::npos);
            EXPECT_LE(q + 2 - p, 75u) << e;
            p = q;
        }
    }
}

// Hostile headers full of word fragments: decoded as written, in linear time (a quadratic scan
// would make this test run for minutes).
TEST(Rfc2047, ManyBrokenWordsStayLinear) {
    std::string s;
    while (s.size() < 400000) s += "=?utf-8?q?x ";
    EXPECT_TRUE(decode_header_text(s) == s);
    s.assign(400000, '=');
    for (std::size_t i = 1; i < s.size(); i += 2) s[i] = '?';
    EXPECT_TRUE(decode_header_text(s) == s);
    s.clear();
    std::string expect;
    while (s.size() < 400000) {
        s += "=?utf-8?B?QQ==?= ";
        expect += 'A';
    }
    EXPECT_TRUE(decode_header_text(s) == expect + " ");  // adjacent words joined, the final blank kept
}
