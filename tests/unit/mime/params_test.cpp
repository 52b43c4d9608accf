// Content-Type / Content-Disposition / RFC 2231 parameters.
#include "mailwire/mime/params.hpp"

#include <gtest/gtest.h>

using namespace mailwire::mime;

TEST(Params, SimpleContentType) {
    auto ct = parse_content_type("text/plain; charset=us-ascii (Plain text)");  // RFC 2045 §5.1
    EXPECT_EQ(ct.mime_type(), "text/plain");
    EXPECT_EQ(ct.param("charset"), "us-ascii");
    EXPECT_EQ(ct.param("CHARSET"), "us-ascii");
    EXPECT_EQ(ct.param("missing"), "");
    EXPECT_TRUE(ct.is("TEXT"));
    EXPECT_TRUE(ct.is("text", "Plain"));
    EXPECT_FALSE(ct.is("text", "html"));
}

TEST(Params, CaseAndQuotesAndFolding) {
    auto ct = parse_content_type("Multipart/Mixed;\r\n\tBoundary=\"----=_Part_1 \\\"x\\\"\"");
    EXPECT_TRUE(ct.is_multipart());
    EXPECT_EQ(ct.subtype, "mixed");
    EXPECT_EQ(ct.param("boundary"), "----=_Part_1 \"x\"");
}

TEST(Params, UnquotedBoundaryWithTspecials) {
    auto ct = parse_content_type("multipart/alternative; boundary=----=_NextPart_000_0012_01D2");
    EXPECT_EQ(ct.param("boundary"), "----=_NextPart_000_0012_01D2");
}

TEST(Params, MissingSemicolons) {
    auto ct = parse_content_type("text/plain charset=utf-8 format=flowed");
    EXPECT_EQ(ct.mime_type(), "text/plain");
    EXPECT_EQ(ct.param("charset"), "utf-8");
    EXPECT_EQ(ct.param("format"), "flowed");
}

TEST(Params, MalformedFallsBackToTextPlain) {
    auto ct = parse_content_type("/; charset=koi8-r");
    EXPECT_EQ(ct.mime_type(), "text/plain");
    EXPECT_EQ(ct.param("charset"), "koi8-r");
    EXPECT_EQ(parse_content_type("").mime_type(), "text/plain");
    EXPECT_EQ(parse_content_type("multipart; boundary=x").mime_type(), "multipart/mixed");
    EXPECT_EQ(parse_content_type("multipart; boundary=x").param("boundary"), "x");
    EXPECT_EQ(parse_content_type("charset=utf-8").param("charset"), "utf-8");
}

TEST(Params, MessageTypes) {
    EXPECT_TRUE(parse_content_type("message/rfc822").is_message());
    EXPECT_TRUE(parse_content_type("message/global").is_message());
    EXPECT_FALSE(parse_content_type("message/delivery-status").is_message());
}

TEST(Params, Rfc2231Examples) {
    // RFC 2231 §3, §4, §4.1.
    auto ct = parse_content_type(
        "message/external-body; access-type=URL;\r\n URL*0=\"ftp://\";\r\n "
        "URL*1=\"cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar\"");
    EXPECT_EQ(ct.param("url"), "ftp://cs.utk.edu/pub/moore/bulk-mailer/bulk-mailer.tar");
    ct = parse_content_type("application/x-stuff; title*=us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A");
    EXPECT_EQ(ct.param("title"), "This is ***fun***");
    ct = parse_content_type(
        "application/x-stuff; title*0*=us-ascii'en'This%20is%20even%20more%20; title*1*=%2A%2A%2Afun%2A%2A%2A%20; "
        "title*2=\"isn't it!\"");
    EXPECT_EQ(ct.param("title"), "This is even more ***fun*** isn't it!");
}

TEST(Params, Rfc2231OutOfOrderAndCharset) {
    auto cd = parse_content_disposition(
        "attachment; filename*2*=%C3%A9.txt; filename*0*=utf-8''r%C3%A9; filename*1*=sum%C3%A9-");
    EXPECT_EQ(cd.kind, "attachment");
    EXPECT_EQ(cd.filename(), "r\xC3\xA9sum\xC3\xA9-\xC3\xA9.txt");
    // ISO-8859-1 converted to UTF-8.
    cd = parse_content_disposition("inline; filename*=iso-8859-1''caf%E9.txt");
    EXPECT_EQ(cd.filename(), "caf\xC3\xA9.txt");
    // Missing charset: UTF-8 if it is, else windows-1252.
    cd = parse_content_disposition("attachment; filename*=''%C3%A9t%C3%A9.pdf");
    EXPECT_EQ(cd.filename(), "\xC3\xA9t\xC3\xA9.pdf");
    cd = parse_content_disposition("attachment; filename*=%E9t%E9.pdf");
    EXPECT_EQ(cd.filename(), "\xC3\xA9t\xC3\xA9.pdf");
    // The extended form wins over the plain fallback, whichever comes first.
    cd = parse_content_disposition("attachment; filename=\"fallback.txt\"; filename*=utf-8''%E2%82%AC.txt");
    EXPECT_EQ(cd.filename(), "\xE2\x82\xAC.txt");
}

TEST(Params, EncodedWordInQuotedValue) {
    auto cd = parse_content_disposition("attachment; filename=\"=?UTF-8?B?w6l0w6kucGRm?=\"");
    EXPECT_EQ(cd.filename(), "\xC3\xA9t\xC3\xA9.pdf");
}

TEST(Params, FormatRoundTrip) {
    std::vector<parameter> ps = {{"charset", "utf-8"},
                                 {"name", "a b \"c\".txt"},
                                 {"filename",
                                  "\xE2\x82\xAC rapport \xC3\xA9t\xC3\xA9 2024 tr\xC3\xA8s long nom de fichier.pdf"},
                                 {"title", std::string(150, 'x')}};
    const std::string s = format_parameters(ps);
    auto back = parse_parameters(s);
    EXPECT_EQ(back, ps) << s;
    const std::string folded = format_parameters_folded(ps, 24);
    EXPECT_EQ(parse_parameters(folded), ps) << folded;
    std::size_t line = 24, max_line = 0;
    for (char c : folded) {
        if (c == '\n') {
            max_line = std::max(max_line, line);
            line = 0;
        } else if (c != '\r') {
            ++line;
        }
    }
    EXPECT_LE(std::max(max_line, line), 78u) << folded;
}

TEST(Params, ManyParametersStayLinear) {
    std::string v = "text/plain";
    for (int i = 0; i < 30000; ++i) v += "; p" + std::to_string(i) + "*" + std::to_string(i % 7) + "*=%41";
    auto ct = parse_content_type(v);
    EXPECT_EQ(ct.params.size(), 30000u);
    EXPECT_EQ(ct.param("p29999"), "A");
}

TEST(Params, BrokenValues) {
    // Unescaped Windows path inside quotes: backslashes kept.
    EXPECT_EQ(parse_content_disposition("attachment; filename=\"C:\\dir\\file.txt\"").filename(), "C:\\dir\\file.txt");
    // Unquoted value with blanks runs to the ';'.
    auto ct = parse_content_type("application/pdf; name=my file.pdf; x=1");
    EXPECT_EQ(ct.param("name"), "my file.pdf");
    EXPECT_EQ(ct.param("x"), "1");
    // Unterminated quote: the rest of the field.
    EXPECT_EQ(parse_content_type("text/plain; name=\"open ended").param("name"), "open ended");
    // Duplicates: the first one wins.
    EXPECT_EQ(parse_content_type("multipart/mixed; boundary=a; boundary=b").param("boundary"), "a");
    // No disposition type, only parameters.
    auto cd = parse_content_disposition("filename=report.pdf");
    EXPECT_EQ(cd.kind, "");
    EXPECT_EQ(cd.filename(), "report.pdf");
    // Junk between parameters is skipped.
    ct = parse_content_type("text/html; ;; garbage; charset=utf-8 ; =x; y");
    EXPECT_EQ(ct.param("charset"), "utf-8");
    EXPECT_EQ(ct.params.size(), 1u);
    // Raw 8-bit in a plain value: UTF-8 if valid, else windows-1252.
    EXPECT_EQ(parse_content_disposition("attachment; filename=\"caf\xC3\xA9.txt\"").filename(), "caf\xC3\xA9.txt");
    EXPECT_EQ(parse_content_disposition("attachment; filename=\"caf\xE9.txt\"").filename(), "caf\xC3\xA9.txt");
    // RFC 2231 segments with a gap and a duplicate index: what is there, in order, first wins.
    EXPECT_EQ(parse_content_type("text/plain; n*0=a; n*2=c; n*0=x").param("n"), "ac");
    // Bad percent escapes are kept as written.
    EXPECT_EQ(parse_content_type("text/plain; n*=utf-8''a%2x%").param("n"), "a%2x%");
}

TEST(Params, FormatContentType) {
    content_type ct;
    ct.type = "text";
    ct.subtype = "plain";
    ct.set_param("Charset", "utf-8");
    ct.set_param("format", "flowed");
    EXPECT_EQ(format_content_type(ct), "text/plain; charset=utf-8; format=flowed");
    ct.set_param("charset", "us-ascii");
    EXPECT_EQ(ct.param("charset"), "us-ascii");
    EXPECT_EQ(ct.params.size(), 2u);
    content_disposition cd{"attachment", {{"filename", "\xE2\x82\xAC.txt"}}};
    EXPECT_EQ(format_content_disposition(cd), "attachment; filename*=utf-8''%E2%82%AC.txt");
    EXPECT_EQ(format_parameters({{"x", "=?utf-8?Q?a?="}}), "; x*=utf-8''%3D%3Futf-8%3FQ%3Fa%3F%3D");
    EXPECT_EQ(format_parameters({{"x", ""}}), "; x=\"\"");
}
