// Builder: built → serialised → parsed gives the same tree; headers, Bcc, replies, forwards.
#include "mailwire/mime/builder.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "mailwire/error.hpp"
#include "mailwire/mime/serializer.hpp"

namespace mime = mailwire::mime;

namespace {

// One line per entity: depth, type, filename, content id, decoded body.
std::string tree(const mime::entity& e) {
    std::string s;
    e.walk([&](const mime::entity& x, std::size_t depth) {
        s += std::to_string(depth) + " " + x.content_type().mime_type() + " [" + x.filename() + "] <" + x.content_id() +
             ">";
        if (x.is_leaf()) s += " " + x.decoded_body();
        s += "\n";
    });
    return s;
}

mime::mailbox mb(std::string name, std::string local, std::string domain) {
    return mime::mailbox{std::move(name), std::move(local), std::move(domain)};
}

void expect_lines_short(const std::string& out) {
    std::size_t start = 0;
    while (start < out.size()) {
        auto end = out.find("\r\n", start);
        if (end == std::string::npos) end = out.size();
        EXPECT_LE(end - start, 998u);
        start = end + 2;
    }
}

TEST(MimeBuilder, TextOnly) {
    mime::message_builder b;
    b.from(mb("Ann", "ann", "example.com")).to(mb("", "bob", "example.org")).subject("hello").text("Hi Bob\nbye");
    const auto m = b.build();
    EXPECT_TRUE(m.is_leaf());
    EXPECT_EQ(m.content_type().mime_type(), "text/plain");
    EXPECT_EQ(m.content_type().param("charset"), "utf-8");
    const std::string out = mime::to_string(m);
    EXPECT_EQ(out.find("From: Ann <ann@example.com>\r\n"), 0u);
    EXPECT_NE(out.find("\r\nMIME-Version: 1.0\r\n"), std::string::npos);
    EXPECT_NE(out.find("\r\nMessage-ID: <"), std::string::npos);
    EXPECT_NE(out.find("@example.com>\r\n"), std::string::npos);
    const auto back = mime::message::parse(out);
    EXPECT_EQ(back.text(), "Hi Bob\r\nbye");
    EXPECT_EQ(back.subject(), "hello");
    EXPECT_TRUE(back.date().has_value());
    EXPECT_EQ(tree(back), tree(m));
    EXPECT_EQ(mime::to_string(back), out);
}

TEST(MimeBuilder, FullStructureRoundTrips) {
    mime::message_builder b;
    b.from(mb("Jörg Müller", "joerg", "example.com"))
        .to(mb("Ann", "ann", "example.org"))
        .cc(mb("", "carl", "example.net"))
        .bcc(mb("", "secret", "example.net"))
        .subject("Grüße aus Köln — a rather long subject line that will need folding somewhere")
        .text("plain text\nwith two lines\n")
        .html("<p>html <img src=\"cid:logo@x\"></p>")
        .inline_image("logo@x", "logo.png", std::string("\x89PNG\r\n\x1a\n\0\0", 10))
        .attach("report.pdf", std::string(5000, '\x01'))
        .attach("notes.txt", "some notes\n")
        .attach("Ünïcödé name with spaces and a very long tail to force continuation lines.bin", "x");
    const auto m = b.build();
    ASSERT_TRUE(m.is_multipart());
    EXPECT_EQ(m.content_type().mime_type(), "multipart/mixed");
    ASSERT_EQ(m.parts().size(), 4u);
    EXPECT_EQ(m.parts()[0].content_type().mime_type(), "multipart/alternative");
    EXPECT_EQ(m.parts()[0].parts()[1].content_type().mime_type(), "multipart/related");
    EXPECT_EQ(m.parts()[1].content_type().mime_type(), "application/pdf");
    EXPECT_EQ(m.parts()[2].content_type().mime_type(), "text/plain");

    const std::string out = mime::to_string(m);
    EXPECT_EQ(out.find("secret"), std::string::npos) << "Bcc must not be written";
    EXPECT_EQ(b.recipients().size(), 3u);
    expect_lines_short(out);
    const auto back = mime::message::parse(out);
    EXPECT_EQ(tree(back), tree(m));
    EXPECT_EQ(back.subject(), "Grüße aus Köln — a rather long subject line that will need folding somewhere");
    EXPECT_EQ(back.parts()[3].filename(),
              "Ünïcödé name with spaces and a very long tail to force continuation lines.bin");
    EXPECT_TRUE(back.parts()[1].disposition().is_attachment());
    EXPECT_EQ(back.parts()[0].parts()[1].parts()[1].content_id(), "logo@x");
    EXPECT_TRUE(back.parts()[0].parts()[1].parts()[1].disposition().is_inline());
    EXPECT_EQ(mime::to_string(back), out);
    // Header lines of the built message stay within 78 columns where possible.
    const std::string head = out.substr(0, out.find("\r\n\r\n"));
    std::size_t start = 0;
    while (start < head.size()) {
        auto end = head.find("\r\n", start);
        if (end == std::string::npos) end = head.size();
        EXPECT_LE(end - start, 78u) << head.substr(start, end - start);
        start = end + 2;
    }
}

TEST(MimeBuilder, AttachFileStreamsFromDisk) {
    const std::string path = ::testing::TempDir() + "/mailwire_attach.bin";
    std::string data;
    for (int i = 0; i < 300000; ++i) data += static_cast<char>(i * 7);
    {
        std::ofstream out(path, std::ios::binary);
        out << data;
    }
    mime::message_builder b;
    b.from(mb("", "a", "x.org")).to(mb("", "b", "y.org")).text("see attachment").attach_file(path);
    const auto m = b.build();
    EXPECT_EQ(m.parts()[1].filename(), "mailwire_attach.bin");
    EXPECT_TRUE(m.parts()[1].raw_body().empty());  // not held in memory
    const auto back = mime::message::parse(mime::to_string(m));
    EXPECT_EQ(back.parts()[1].decoded_body(), data);
    std::remove(path.c_str());
}

TEST(MimeBuilder, ReplyAndForward) {
    const auto original = mime::message::parse(
        "From: Ann <ann@example.org>\r\nTo: me@example.com, carl@example.net\r\nCc: dora@example.net\r\n"
        "Subject: Plans\r\nDate: Tue, 01 Jul 2003 10:52:37 +0200\r\nMessage-ID: <m1@example.org>\r\n"
        "References: <m0@example.org>\r\n\r\nLet's meet.\r\nTomorrow?\r\n");
    auto r = mime::message_builder::reply(original, true, mb("Me", "me", "example.com")).build();
    EXPECT_EQ(r.subject(), "Re: Plans");
    EXPECT_EQ(r.in_reply_to(), "m1@example.org");
    EXPECT_EQ(r.references(), (std::vector<std::string>{"m0@example.org", "m1@example.org"}));
    ASSERT_EQ(r.to().size(), 1u);
    EXPECT_EQ(r.to()[0].members[0].address(), "ann@example.org");
    EXPECT_EQ(r.cc().size(), 2u);  // carl and dora, not me
    EXPECT_NE(r.text().find("> Let's meet.\r\n> Tomorrow?"), std::string::npos);
    EXPECT_NE(r.text().find("Ann <ann@example.org> wrote:"), std::string::npos);
    auto rr = mime::message_builder::reply(r, false, mb("", "ann", "example.org")).build();
    EXPECT_EQ(rr.subject(), "Re: Plans");

    auto f = mime::message_builder::forward(original)
                 .from(mb("", "me", "example.com"))
                 .to(mb("", "z", "example.com"))
                 .build();
    EXPECT_EQ(f.subject(), "Fwd: Plans");
    ASSERT_EQ(f.parts().size(), 2u);
    ASSERT_TRUE(f.parts()[1].is_message());
    const auto fb = mime::message::parse(mime::to_string(f));
    ASSERT_NE(fb.parts()[1].embedded(), nullptr);
    EXPECT_EQ(fb.parts()[1].embedded()->subject(), "Plans");
    EXPECT_EQ(fb.parts()[1].embedded()->text(), "Let's meet.\r\nTomorrow?\r\n");

    auto fi = mime::message_builder::forward(original, false)
                  .from(mb("", "me", "example.com"))
                  .to(mb("", "z", "example.com"))
                  .build();
    EXPECT_NE(fi.text().find("Forwarded message"), std::string::npos);
    EXPECT_NE(fi.text().find("Let's meet."), std::string::npos);
}

TEST(MimeBuilder, RequiresFromAndRecipients) {
    mime::message_builder b;
    EXPECT_THROW((void)b.build(), mailwire::error);
    b.from(mb("", "a", "b.c"));
    EXPECT_THROW((void)b.build(), mailwire::error);
    b.bcc(mb("", "d", "e.f"));
    EXPECT_NO_THROW((void)b.build());
}

TEST(MimeBuilder, GuessTypeAndIds) {
    EXPECT_EQ(mime::guess_mime_type("a.PDF"), "application/pdf");
    EXPECT_EQ(mime::guess_mime_type("photo.jpeg"), "image/jpeg");
    EXPECT_EQ(mime::guess_mime_type("noext"), "application/octet-stream");
    const auto a = mime::make_message_id("example.com");
    const auto b = mime::make_message_id("example.com");
    EXPECT_NE(a, b);
    EXPECT_EQ(a.front(), '<');
    EXPECT_EQ(a.substr(a.size() - 13), "@example.com>");
}

// ---- composed messages obey the RFCs (issue #13 item 8) ----------------------------------------

// The header block of the part whose Content-Type starts with `type`, in the serialised message.
std::string part_headers(const std::string& out, const std::string& type) {
    const auto at = out.find("Content-Type: " + type);
    if (at == std::string::npos) return {};
    return out.substr(at, out.find("\r\n\r\n", at) - at);
}

std::string write_temp(const std::string& name, const std::string& data) {
    const std::string path = ::testing::TempDir() + "/" + name;
    std::ofstream out(path, std::ios::binary);
    out << data;
    return path;
}

TEST(MimeBuilder, AttachedMessageIsNeverBase64) {
    // RFC 2046 §5.2.1: message/rfc822 is 7bit, 8bit or binary. An .eml file used to go as base64.
    const std::string seven = "From: a@x.org\nSubject: plain\n\nhello\n";
    const std::string eight = "From: a@x.org\nSubject: =?utf-8?q?x?=\n\nGrüße\n";
    const auto p7 = write_temp("mw_seven.eml", seven);
    const auto p8 = write_temp("mw_eight.eml", eight);
    mime::message_builder b;
    b.from(mb("", "a", "x.org")).to(mb("", "b", "y.org")).text("two messages").attach_file(p7);
    b.attach("eight.eml", eight);  // from memory: the same rule
    const auto m = b.build();
    const std::string out = mime::to_string(m);
    EXPECT_EQ(out.find("base64"), std::string::npos) << out;
    for (std::size_t i = out.find('\n'); i != std::string::npos; i = out.find('\n', i + 1))
        ASSERT_TRUE(i > 0 && out[i - 1] == '\r') << "a bare LF at " << i;  // the .eml's LF became CRLF
    ASSERT_EQ(m.parts().size(), 3u);
    EXPECT_EQ(m.parts()[1].content_type().mime_type(), "message/rfc822");
    EXPECT_EQ(m.parts()[1].encoding(), mime::transfer_encoding::seven_bit);
    EXPECT_EQ(m.parts()[2].encoding(), mime::transfer_encoding::eight_bit);
    EXPECT_NE(out.find("Content-Transfer-Encoding: 8bit"), std::string::npos);
    const auto back = mime::message::parse(out);
    ASSERT_NE(back.parts()[1].embedded(), nullptr);
    EXPECT_EQ(back.parts()[1].embedded()->subject(), "plain");
    ASSERT_NE(back.parts()[2].embedded(), nullptr);
    EXPECT_EQ(back.parts()[2].embedded()->decoded_body(), "Grüße\r\n");

    mime::message_builder f8;
    f8.from(mb("", "a", "x.org")).to(mb("", "b", "y.org")).attach_file(p8);
    EXPECT_NE(part_headers(mime::to_string(f8.build()), "message/rfc822").find("Content-Transfer-Encoding: 8bit"),
              std::string::npos);
    std::remove(p7.c_str());
    std::remove(p8.c_str());
}

TEST(MimeBuilder, ForwardedMessageDeclaresItsEncoding) {
    const auto original = mime::message::parse(
        "From: Ann <ann@example.org>\r\nSubject: Pläne\r\nContent-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n\r\nGrüße\r\n");
    auto f = mime::message_builder::forward(original).from(mb("", "me", "example.com")).to(mb("", "z", "example.com"));
    const auto m = f.build();
    ASSERT_TRUE(m.parts()[1].is_message());
    EXPECT_EQ(m.parts()[1].encoding(), mime::transfer_encoding::eight_bit);  // was undeclared (7bit)
    const std::string out = mime::to_string(m);
    EXPECT_NE(part_headers(out, "message/rfc822").find("Content-Transfer-Encoding: 8bit"), std::string::npos) << out;
    // A 7-bit original needs no declaration.
    const auto plain = mime::message::parse("From: a@x.org\r\nSubject: s\r\n\r\nhi\r\n");
    auto g = mime::message_builder::forward(plain).from(mb("", "me", "example.com")).to(mb("", "z", "example.com"));
    EXPECT_EQ(g.build().parts()[1].encoding(), mime::transfer_encoding::seven_bit);
}

TEST(MimeBuilder, MessageThatCannotBeOneGoesAsOctetStream) {
    // A NUL or a line over 998 octets: no RFC 5322 message; BINARYMIME would be needed, so it is
    // attached as application/octet-stream (base64) under its name instead.
    const std::string bad = "From: a@x.org\n\n" + std::string(1200, 'x') + "\n";
    const auto path = write_temp("mw_long.eml", bad);
    mime::message_builder b;
    b.from(mb("", "a", "x.org")).to(mb("", "b", "y.org")).text("t").attach_file(path);
    b.attach("nul.eml", std::string("From: a@x.org\n\nx\0y\n", 19));
    const auto m = b.build();
    for (std::size_t i : {1u, 2u}) {
        EXPECT_EQ(m.parts()[i].content_type().mime_type(), "application/octet-stream");
        EXPECT_EQ(m.parts()[i].encoding(), mime::transfer_encoding::base64);
    }
    EXPECT_EQ(m.parts()[1].filename(), "mw_long.eml");
    const auto back = mime::message::parse(mime::to_string(m));
    EXPECT_EQ(back.parts()[1].decoded_body(), bad);
    std::remove(path.c_str());
    // A multipart type has parts, not data.
    mime::message_builder c;
    EXPECT_THROW(c.attach("x", "y", "multipart/mixed"), mailwire::error);
}

TEST(MimeBuilder, CompositeTypesRefuseEncodedBodies) {
    // The entity API: base64 or quoted-printable on message/rfc822 or multipart/* is refused,
    // whichever header comes first, and nothing changes.
    mime::entity e;
    e.set("Content-Type", "message/rfc822");
    EXPECT_THROW(e.set("Content-Transfer-Encoding", "base64"), mailwire::error);
    EXPECT_THROW(e.add("Content-Transfer-Encoding", "quoted-printable"), mailwire::error);
    EXPECT_THROW(e.set_content("From: a@b\r\n\r\nx\r\n", mime::transfer_encoding::base64), mailwire::error);
    EXPECT_EQ(e.find("Content-Transfer-Encoding"), nullptr);
    e.set_content("From: a@b\r\n\r\nxä\r\n");  // chosen: 8bit, never base64
    EXPECT_EQ(e.encoding(), mime::transfer_encoding::eight_bit);
    mime::entity g;
    g.set("Content-Type", "message/global");  // RFC 6532 §3.5 allows encoding message/global
    EXPECT_NO_THROW(g.set("Content-Transfer-Encoding", "base64"));
    mime::entity l;
    l.set_content("data", mime::transfer_encoding::base64);
    EXPECT_THROW(l.set("Content-Type", "multipart/mixed; boundary=x"), mailwire::error);
    l.make_multipart("mixed");  // drops the encoding first
    EXPECT_EQ(l.find("Content-Transfer-Encoding"), nullptr);
    // A parsed message is written back as it came, even when its sender broke the rule.
    const std::string received =
        "Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\nRnJvbTogYUBiDQoNCng=\r\n";
    EXPECT_EQ(mime::to_string(mime::message::parse(received)), received);
}

TEST(MimeBuilder, UnicodeAddressesAndNamesGoOutAscii) {
    // RFC 2047 names and IDNA domains: a message whose local parts are ASCII is pure ASCII, so it
    // needs no SMTPUTF8 (RFC 6531 §3.4). The domain used to go out raw.
    mime::message_builder b;
    b.from(mb("Jörg", "joerg", "bücher.example"))
        .to(mb("", "x", "bücher.example"))
        .cc(mb("Müller, Anna", "anna", "example.org"))
        .subject("Grüße");
    const std::string out = mime::to_string(b.build());
    const std::string head = out.substr(0, out.find("\r\n\r\n"));
    for (const char c : head) EXPECT_LT(static_cast<unsigned char>(c), 0x80) << head;
    EXPECT_NE(head.find("To: x@xn--bcher-kva.example\r\n"), std::string::npos) << head;
    EXPECT_NE(head.find("<joerg@xn--bcher-kva.example>"), std::string::npos) << head;
    const auto back = mime::message::parse(out);
    EXPECT_EQ(back.from()[0].members[0].name, "Jörg");
    EXPECT_EQ(back.cc()[0].members[0].name, "Müller, Anna");
    EXPECT_EQ(back.to()[0].members[0].domain_unicode(), "bücher.example");
    // A UTF-8 local part cannot be made ASCII: it keeps its domain as given (RFC 6532).
    EXPECT_EQ(mime::format_mailbox(mb("", "jörg", "bücher.example")), "jörg@bücher.example");
}

}  // namespace
