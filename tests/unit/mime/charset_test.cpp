// Charset conversion and UTF-8 validation.
#include "mailwire/mime/charset.hpp"

#include <gtest/gtest.h>

using namespace mailwire::mime;

TEST(Charset, NormalizeAliases) {
    EXPECT_EQ(normalize_charset_name("utf8"), "UTF-8");
    EXPECT_EQ(normalize_charset_name(" \"UTF-8\" "), "UTF-8");
    EXPECT_EQ(normalize_charset_name("utf-8*en"), "UTF-8");
    EXPECT_EQ(normalize_charset_name("latin1"), "ISO-8859-1");
    EXPECT_EQ(normalize_charset_name("iso_8859-1:1987"), "ISO-8859-1");
    EXPECT_EQ(normalize_charset_name("iso8859-15"), "ISO-8859-15");
    EXPECT_EQ(normalize_charset_name("ks_c_5601-1987"), "CP949");
    EXPECT_EQ(normalize_charset_name("gb2312"), "GB18030");
    EXPECT_EQ(normalize_charset_name("Shift_JIS"), "CP932");
    EXPECT_EQ(normalize_charset_name("cp1251"), "WINDOWS-1251");
    EXPECT_EQ(normalize_charset_name("x-unknown"), "UNKNOWN-8BIT");
    EXPECT_EQ(normalize_charset_name("koi8-r"), "KOI8-R");
}

TEST(Charset, Utf8Validation) {
    EXPECT_TRUE(is_valid_utf8(""));
    EXPECT_TRUE(is_valid_utf8("plain ascii that is longer than eight bytes"));
    EXPECT_TRUE(is_valid_utf8("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"));
    EXPECT_FALSE(is_valid_utf8("\xC3"));              // truncated
    EXPECT_FALSE(is_valid_utf8("\xC0\xAF"));          // overlong
    EXPECT_FALSE(is_valid_utf8("\xED\xA0\x80"));      // surrogate
    EXPECT_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // > U+10FFFF
    EXPECT_FALSE(is_valid_utf8("abcdefgh\xFF"));
    EXPECT_EQ(sanitize_utf8("a\xFF"
                            "b"),
              "a\xEF\xBF\xBD"
              "b");
}

TEST(Charset, Conversions) {
    EXPECT_EQ(to_utf8("caf\xE9", "iso-8859-1").text, "caf\xC3\xA9");
    EXPECT_EQ(to_utf8("\x80 \x93quoted\x94", "windows-1252").text, "\xE2\x82\xAC \xE2\x80\x9Cquoted\xE2\x80\x9D");
    EXPECT_EQ(to_utf8("\x80", "latin1").text, "\xE2\x82\xAC");  // read as windows-1252
    EXPECT_EQ(to_utf8("\xF0\xD2\xC9\xD7\xC5\xD4", "koi8-r").text, "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82");
    EXPECT_EQ(to_utf8("\x82\xA0", "shift_jis").text, "\xE3\x81\x82");
    EXPECT_EQ(to_utf8("\x1B$B$\"\x1B(B", "iso-2022-jp").text, "\xE3\x81\x82");
    EXPECT_EQ(to_utf8("\xB0\xA1", "euc-kr").text, "\xEA\xB0\x80");
    EXPECT_EQ(to_utf8("\xC4\xE3", "gb2312").text, "\xE4\xBD\xA0");
    EXPECT_EQ(to_utf8(std::string("h\0i\0", 4), "utf-16le").text, "hi");
    EXPECT_EQ(to_utf8("+AOk-", "utf-7").text, "\xC3\xA9");
    auto r = to_utf8("plain", "utf-8");
    EXPECT_TRUE(r.ok);
    EXPECT_EQ(r.text, "plain");
}

TEST(Charset, BadInputIsReportedNotThrown) {
    auto r = to_utf8("caf\xC3", "utf-8");
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.text, "caf\xEF\xBF\xBD");
    r = to_utf8("abc\xE9", "x-no-such-charset");
    EXPECT_FALSE(r.ok);
    EXPECT_NE(r.error.find("x-no-such-charset"), std::string::npos);
    EXPECT_TRUE(is_valid_utf8(r.text));
    // Names that are not charset names never reach iconv.
    EXPECT_FALSE(to_utf8("abc\xE9", "ISO-8859-1//TRANSLIT").ok);
    EXPECT_FALSE(to_utf8("abc\xE9", "../../tmp/x").ok);
    // Invalid bytes for a real charset are replaced; the rest survives.
    r = to_utf8("a\x82", "shift_jis");  // truncated double-byte character
    EXPECT_FALSE(r.ok);
    EXPECT_TRUE(is_valid_utf8(r.text));
    EXPECT_EQ(r.text.front(), 'a');
    // 8-bit under an ASCII label: UTF-8 when it is, else windows-1252.
    EXPECT_EQ(to_utf8("\xC3\xA9", "us-ascii").text, "\xC3\xA9");
    EXPECT_EQ(to_utf8("\xE9", "us-ascii").text, "\xC3\xA9");
    EXPECT_EQ(to_utf8("\xE9", "").text, "\xC3\xA9");
    EXPECT_TRUE(to_utf8("\xE9", "x-unknown").ok);
}

TEST(Charset, FromUtf8) {
    std::string out;
    EXPECT_TRUE(from_utf8("caf\xC3\xA9", "iso-8859-1", out));
    EXPECT_EQ(out, "caf\xE9");
    EXPECT_FALSE(
        from_utf8("a\xE2\x82\xAC"
                  "b",
                  "iso-8859-1", out));  // no euro sign in latin-1
    EXPECT_EQ(out, "a?b");
    out = "kept";
    EXPECT_FALSE(from_utf8("x", "no-such-charset", out));
    EXPECT_EQ(out, "kept");
}
