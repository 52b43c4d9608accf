// Message model: typed header access, lazy decoding, edits written canonically, mbox reading.
#include "mailwire/mime/message.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "mailwire/error.hpp"
#include "mailwire/mime/mbox.hpp"
#include "mailwire/mime/serializer.hpp"

namespace mime = mailwire::mime;

namespace {

const std::string sample =
    "From: =?utf-8?q?J=C3=B6rg?= <joerg@example.com>\r\n"
    "To: Ann <ann@example.org>, bob@example.net\r\n"
    "Cc: team: x@example.com, y@example.com;\r\n"
    "Subject: =?utf-8?b?R3LDvMOfZQ==?=\r\n"
    " again\r\n"
    "Date: Tue, 01 Jul 2003 10:52:37 +0200\r\n"
    "Message-ID: <abc@example.com>\r\n"
    "In-Reply-To: <parent@example.com> (comment)\r\n"
    "References: <root@example.com>\r\n <parent@example.com>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed; boundary=\"zz\"\r\n"
    "\r\n"
    "preamble\r\n"
    "--zz\r\n"
    "Content-Type: text/plain; charset=iso-8859-1\r\n"
    "Content-Transfer-Encoding: quoted-printable\r\n"
    "\r\n"
    "caf=E9\r\n"
    "--zz\r\n"
    "Content-Type: application/octet-stream; name=\"a.bin\"\r\n"
    "Content-Disposition: attachment; filename*=utf-8''%C3%A4.bin\r\n"
    "Content-Transfer-Encoding: base64\r\n"
    "Content-ID: <part2@example.com>\r\n"
    "\r\n"
    "AAEC/w==\r\n"
    "--zz--\r\n"
    "epilogue\r\n";

TEST(MimeMessage, TypedHeaders) {
    const auto m = mime::message::parse(sample);
    EXPECT_EQ(m.subject(), "Grüße again");
    ASSERT_EQ(m.from().size(), 1u);
    EXPECT_EQ(m.from()[0].members[0].name, "Jörg");
    EXPECT_EQ(m.to().size(), 2u);
    ASSERT_EQ(m.cc().size(), 1u);
    EXPECT_TRUE(m.cc()[0].is_group());
    ASSERT_TRUE(m.date().has_value());
    EXPECT_EQ(m.date()->offset_minutes, 120);
    EXPECT_EQ(m.message_id(), "abc@example.com");
    EXPECT_EQ(m.in_reply_to(), "parent@example.com");
    EXPECT_EQ(m.references(), (std::vector<std::string>{"root@example.com", "parent@example.com"}));
    EXPECT_EQ(m.get("subject"), "=?utf-8?b?R3LDvMOfZQ==?= again");
    EXPECT_EQ(m.headers().size(), 10u);
    EXPECT_EQ(m.headers()[3].raw, "Subject: =?utf-8?b?R3LDvMOfZQ==?=\r\n again\r\n");
}

TEST(MimeMessage, StructureAndLazyDecoding) {
    const auto m = mime::message::parse(sample);
    ASSERT_TRUE(m.is_multipart());
    EXPECT_EQ(m.preamble(), "preamble");
    EXPECT_EQ(m.epilogue(), "epilogue\r\n");
    ASSERT_EQ(m.parts().size(), 2u);
    const auto& text = m.parts()[0];
    EXPECT_EQ(text.raw_body(), "caf=E9");
    EXPECT_EQ(text.decoded_body(), "caf\xe9");
    EXPECT_EQ(text.text(), "café");
    const auto& bin = m.parts()[1];
    EXPECT_EQ(bin.decoded_body(), std::string("\x00\x01\x02\xff", 4));
    EXPECT_EQ(bin.filename(), "ä.bin");
    EXPECT_EQ(bin.content_id(), "part2@example.com");
    EXPECT_EQ(m.attachments().size(), 1u);
    EXPECT_EQ(m.find_text(), &m.parts()[0]);
    EXPECT_EQ(mime::to_string(m), sample);
}

TEST(MimeMessage, EditsAreCanonicalTheRestStaysRaw) {
    auto m = mime::message::parse(sample);
    m.set("Subject", "changed");
    m.parts()[0].set_text("new text\nline two");
    const std::string out = mime::to_string(m);
    EXPECT_NE(out.find("Subject: changed\r\nDate:"), std::string::npos);
    EXPECT_NE(out.find("To: Ann <ann@example.org>, bob@example.net\r\n"), std::string::npos);
    EXPECT_NE(out.find("AAEC/w==\r\n--zz--\r\nepilogue\r\n"), std::string::npos);
    const auto again = mime::message::parse(out);
    EXPECT_EQ(again.subject(), "changed");
    EXPECT_EQ(again.parts()[0].text(), "new text\r\nline two");
    EXPECT_EQ(again.parts()[1].decoded_body(), std::string("\x00\x01\x02\xff", 4));
    EXPECT_EQ(mime::to_string(again), out);

    m.remove("cc");
    EXPECT_EQ(m.find("Cc"), nullptr);
    mime::entity extra;
    extra.set_text("third");
    m.add_part(extra);
    const auto three = mime::message::parse(mime::to_string(m));
    ASSERT_EQ(three.parts().size(), 3u);
    EXPECT_EQ(three.parts()[2].text(), "third");
}

TEST(MimeMessage, FormatHeaderFolds) {
    std::string value;
    for (int i = 0; i < 30; ++i) value += "word" + std::to_string(i) + " ";
    const std::string h = mime::format_header("X-Long", value);
    std::size_t start = 0;
    int lines = 0;
    while (start < h.size()) {
        const auto end = h.find("\r\n", start);
        ASSERT_NE(end, std::string::npos);
        EXPECT_LE(end - start, 78u);
        start = end + 2;
        ++lines;
    }
    EXPECT_GT(lines, 1);
    const auto m = mime::message::parse(h + "\r\n");
    EXPECT_EQ(m.get("x-long"), std::string(value.substr(0, value.size() - 1)));
    EXPECT_EQ(mime::format_header("A", "b\r\n c"), "A: b\r\n c\r\n");       // pre-folded value kept
    EXPECT_THROW((void)mime::format_header("A", "b\nc"), mailwire::error);  // a bare LF is no folding
    EXPECT_EQ(mime::format_header("A", std::string(100, 'x')), "A: " + std::string(100, 'x') + "\r\n");
}

TEST(MimeMessage, EmbeddedMessageAndDigest) {
    const std::string in =
        "Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: one\n\nbody one\n--d\n"
        "Content-Type: message/rfc822\n\nSubject: two\nContent-Type: text/html\n\n<p>two</p>\n--d--\n";
    const auto m = mime::message::parse(in);
    ASSERT_EQ(m.parts().size(), 2u);
    EXPECT_EQ(m.parts()[0].content_type().mime_type(), "message/rfc822");
    ASSERT_NE(m.parts()[0].embedded(), nullptr);
    EXPECT_EQ(m.parts()[0].embedded()->subject(), "one");
    EXPECT_EQ(m.parts()[1].embedded()->find_text("html")->text(), "<p>two</p>");
    EXPECT_EQ(mime::to_string(m), in);
}

TEST(MimeMessage, MboxReaderAndStreams) {
    const std::string path = ::testing::TempDir() + "/mailwire_test.mbox";
    const std::string mbox =
        "From a@b Mon Jan  1 00:00:00 2024\nSubject: 1\n\n>From quoted\n\n"
        "From c@d Mon Jan  1 00:00:00 2024\nSubject: 2\n\ntwo\n";
    {
        std::ofstream out(path, std::ios::binary);
        out << mbox;
    }
    mime::mbox_reader r(path);
    auto a = r.next();
    auto b = r.next();
    ASSERT_TRUE(a && b);
    EXPECT_FALSE(r.next().has_value());
    EXPECT_EQ(a->subject(), "1");
    EXPECT_EQ(a->envelope(), "From a@b Mon Jan  1 00:00:00 2024\n");
    EXPECT_EQ(a->raw_body(), ">From quoted\n");
    EXPECT_EQ(b->subject(), "2");
    EXPECT_EQ(mime::to_string(*a) + mime::to_string(*b), mbox);

    mime::parser_options opt;
    opt.unquote_from = true;
    mime::mbox_reader u(path, opt);
    EXPECT_EQ(u.next()->raw_body(), "From quoted\n");
    std::remove(path.c_str());

    std::istringstream in(sample);
    std::string raw;
    struct collect : mime::parser_handler {
        std::string& s;
        explicit collect(std::string& x) : s(x) {}
        void on_body(std::string_view b) override { s.append(b); }
    } c(raw);
    mime::parse_stream(in, c);
    EXPECT_EQ(raw, "caf=E9AAEC/w==");
    EXPECT_THROW(mime::message::load("/nonexistent/file.eml"), mailwire::error);
}

TEST(MimeMessage, CopiesAreDeep) {
    auto m = mime::message::parse(sample);
    mime::message copy = m;
    copy.parts()[0].set_text("other");
    EXPECT_EQ(m.parts()[0].text(), "café");
    EXPECT_EQ(mime::to_string(m), sample);
}

}  // namespace
