// Header injection (issue #12 item 9): no value given to the builder, the entity API or the
// formatters, and nothing copied from a received message by reply()/forward(), can add a header
// line or end the header block. Each entry point is tried with CR, LF, CRLF without WSP, NUL and
// an empty continuation line; the result is either a typed invalid_argument error or a message
// that parses back with exactly the headers that were meant to be there.
#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "mailwire/error.hpp"
#include "mailwire/mime/address.hpp"
#include "mailwire/mime/builder.hpp"
#include "mailwire/mime/params.hpp"
#include "mailwire/mime/rfc2047.hpp"
#include "mailwire/mime/serializer.hpp"

namespace mime = mailwire::mime;
using mailwire::errc;

namespace {

const std::vector<std::string>& bad_values() {
    static const std::vector<std::string> v{
        "a\rX-Evil: 1",          // bare CR
        "a\nX-Evil: 1",          // bare LF
        "a\r\nX-Evil: 1",        // CRLF not followed by WSP
        std::string("a\0b", 3),  // NUL
        "a\r\n \r\n b",          // whitespace-only continuation line
        "a\r\n",                 // trailing line break (would end the header block)
        "a\n X-Evil: 1",         // LF-only folding
        "\r\n\r\nbody",          // an empty line: the body would start here
    };
    return v;
}

// Runs f and expects mailwire::error with errc::invalid_argument.
template <class F>
void expect_invalid(F&& f, const std::string& what) {
    try {
        f();
        ADD_FAILURE() << "no error for " << what;
    } catch (const mailwire::error& e) {
        EXPECT_EQ(e.code(), errc::invalid_argument) << what;
    }
}

std::string printable(const std::string& s) {
    std::string o;
    for (const char c : s) {
        if (c == '\r') o += "\\r";
        else if (c == '\n') o += "\\n";
        else if (c == '\0') o += "\\0";
        else o += c;
    }
    return o;
}

// The header block of serialised bytes: every line end is CRLF, every line is either a
// "Name:" field start or a continuation that begins with WSP and has more than blanks.
void expect_clean_header_block(const std::string& wire) {
    const auto end = wire.find("\r\n\r\n");
    ASSERT_NE(end, std::string::npos);
    const std::string head = wire.substr(0, end + 2);
    for (std::size_t i = 0; i < head.size(); ++i) {
        ASSERT_NE(head[i], '\0') << printable(head);
        if (head[i] == '\r') {
            ASSERT_TRUE(i + 1 < head.size() && head[i + 1] == '\n') << printable(head);
        }
        if (head[i] == '\n') {
            ASSERT_TRUE(i > 0 && head[i - 1] == '\r') << printable(head);
        }
    }
    std::size_t start = 0;
    while (start < head.size()) {
        const auto eol = head.find("\r\n", start);
        const std::string line = head.substr(start, eol - start);
        ASSERT_FALSE(line.empty()) << printable(head);
        if (line.front() == ' ' || line.front() == '\t')
            EXPECT_NE(line.find_first_not_of(" \t"), std::string::npos) << "blank continuation: " << printable(head);
        else EXPECT_NE(line.find(':'), std::string::npos) << "not a field: " << printable(line);
        start = eol + 2;
    }
}

std::vector<std::string> names_of(const mime::entity& e) {
    std::vector<std::string> n;
    for (const auto& h : e.headers()) n.push_back(h.name);
    return n;
}

std::set<std::string> lower_names(const mime::entity& e) {
    std::set<std::string> n;
    for (const auto& h : e.headers()) {
        std::string l = h.name;
        for (auto& c : l) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        n.insert(l);
    }
    return n;
}

mime::message_builder base() {
    mime::message_builder b;
    b.from({"", "ann", "example.com"}).to({"", "bob", "example.org"}).text("hi");
    return b;
}

// Builds, serialises, parses back; checks the header block and that the top-level header names
// are exactly those of the built message (nothing added on the way through the wire).
mime::message round_trip(const mime::message_builder& b) {
    const mime::message m = b.build();
    const std::string wire = mime::to_string(m);
    expect_clean_header_block(wire);
    mime::message back = mime::message::parse(wire);
    EXPECT_EQ(names_of(back), names_of(m)) << printable(wire);
    return back;
}

TEST(MimeHeaderInjection, FormatHeaderAcceptsOnlyFolding) {
    for (const auto& v : bad_values()) expect_invalid([&] { (void)mime::format_header("X-A", v); }, printable(v));
    EXPECT_EQ(mime::format_header("X-A", "b\r\n c"), "X-A: b\r\n c\r\n");
    EXPECT_EQ(mime::format_header("X-A", "\r\n\tb"), "X-A:\r\n\tb\r\n");
    // Names: RFC 5322 §2.2 printable US-ASCII except colon, not empty.
    for (const std::string& n :
         std::vector<std::string>{"", "X A", "X:A", "X\r\nA", "X\nA", "\xC3\x84", std::string("X\0", 2)})
        expect_invalid([&] { (void)mime::format_header(n, "v"); }, "name " + printable(n));
    expect_invalid([&] { (void)mime::format_header(std::string(997, 'X'), "v"); }, "long name");
    // Trailing blanks are never folded onto a line of their own.
    const std::string h = mime::format_header("X-A", std::string(80, 'x') + "     ");
    EXPECT_EQ(h.find("\r\n "), std::string::npos) << printable(h);
}

TEST(MimeHeaderInjection, EntitySetAndAddReject) {
    mime::entity e;
    e.set("X-Keep", "1");
    const auto before = names_of(e);
    for (const auto& v : bad_values()) {
        expect_invalid([&] { e.set("X-Keep", v); }, "set " + printable(v));
        expect_invalid([&] { e.add("X-New", v); }, "add " + printable(v));
    }
    expect_invalid([&] { e.add("Bad Name", "v"); }, "add name");
    expect_invalid([&] { e.set("Bad:Name", "v"); }, "set name");
    EXPECT_EQ(names_of(e), before);
    EXPECT_EQ(e.get("x-keep"), "1");
    // Proper folding is accepted and written as given.
    e.add("X-Folded", "a\r\n b");
    EXPECT_NE(mime::to_string(e).find("X-Folded: a\r\n b\r\n"), std::string::npos);
}

TEST(MimeHeaderInjection, BuilderHeader) {
    for (const auto& v : bad_values()) {
        auto b = base();
        expect_invalid([&] { b.header("X-Custom", v); }, printable(v));
        round_trip(b);  // and the builder is unchanged
    }
    auto b = base();
    expect_invalid([&] { b.header("X-Evil\r\nBcc", "x"); }, "name with CRLF");
    expect_invalid([&] { b.header("X Custom", "x"); }, "name with space");
    expect_invalid([&] { b.header("", "x"); }, "empty name");
    // Names the builder writes itself: a second From/Subject or a Content-Type that would win.
    for (const std::string& n :
         std::vector<std::string>{"From", "subject", "Message-ID", "Bcc", "MIME-Version", "Content-Type", "content-id"})
        expect_invalid([&] { b.header(n, "x"); }, n);
    b.header("X-Custom", "one\r\n two");
    const auto back = round_trip(b);
    EXPECT_EQ(back.get("x-custom"), "one two");
}

TEST(MimeHeaderInjection, BuilderMessageId) {
    for (const std::string& id :
         std::vector<std::string>{"<a@b\r\nX-Evil: 1>", "<a@b\rX-Evil: 1>", "a@b\nX-Evil: 1", "<a@b\r\n c>",
                                  std::string("<a\0@b>", 6), "no-at-sign", "<a b@c>", "<a@b c>", "<@b>", "<a@>",
                                  "<a@b>>", "<<a@b>", "<a..b@c>", "<" + std::string(251, 'x') + "@y>"}) {
        auto b = base();
        expect_invalid([&] { b.message_id(id); }, printable(id));
    }
    auto b = base();
    b.message_id("<left.part@example.com>");
    EXPECT_EQ(round_trip(b).message_id(), "left.part@example.com");
    b.message_id("x@[192.0.2.1]");  // brackets optional, domain literal on the right
    EXPECT_EQ(round_trip(b).get("message-id"), "<x@[192.0.2.1]>");
    expect_invalid([] { (void)mime::make_message_id("example.com\r\nX-Evil: 1"); }, "make_message_id");
    expect_invalid([] { (void)mime::make_message_id("a b"); }, "make_message_id space");
}

TEST(MimeHeaderInjection, BuilderContentId) {
    for (const std::string& id : std::vector<std::string>{"logo\r\nX-Evil: 1", "logo\n", "lo\rgo",
                                                          std::string("lo\0go", 5), "a b", "<a@b", "a@b@c"}) {
        auto b = base();
        expect_invalid([&] { b.inline_image(id, "logo.png", "png"); }, printable(id));
    }
    auto b = base();
    b.html("<img src=\"cid:logo\">").inline_image("logo", "logo.png", "png").inline_image("<i2@example>", "b.png", "p");
    const auto back = round_trip(b);
    const auto& related = back.parts()[1];
    ASSERT_EQ(related.parts().size(), 3u);
    EXPECT_EQ(related.parts()[1].content_id(), "logo");
    EXPECT_EQ(related.parts()[2].content_id(), "i2@example");
}

TEST(MimeHeaderInjection, BuilderMailboxes) {
    using setter = mime::message_builder& (mime::message_builder::*)(mime::mailbox);
    const std::vector<setter> setters{&mime::message_builder::from, &mime::message_builder::sender,
                                      &mime::message_builder::to,   &mime::message_builder::cc,
                                      &mime::message_builder::bcc,  &mime::message_builder::reply_to};
    const std::vector<mime::mailbox> bad{
        {"", "a\r\nX-Evil: 1", "example.com"},
        {"", "a\rb", "example.com"},
        {"", "a\nb", "example.com"},
        {"", std::string("a\0b", 3), "example.com"},
        {"", "a", "example.com\r\nX-Evil: 1"},
        {"", "a", "example.com>\r\nX-Evil: 1"},
        {"", "a", "exa mple.com"},
        {"", "a", "example..com"},
        {"", "a", "[1.2.3.4\r\n]"},
        {"", "a", "ex<ample.com"},
    };
    for (const auto s : setters)
        for (const auto& m : bad) {
            auto b = base();
            expect_invalid([&] { (b.*s)(m); }, printable(m.local + "@" + m.domain));
            round_trip(b);
        }
    for (const auto& m : bad) expect_invalid([&] { (void)mime::format_mailbox(m); }, "format_mailbox");
    // Display names are unstructured text: line breaks become spaces, controls go.
    auto b = base();
    b.to({"Eve\r\nBcc: evil@example.net\nX-Evil: 1\r", "eve", "example.net"})
        .cc({std::string("Nul\0l", 5), "n", "example.net"})
        .reply_to({"\r\n", "r", "example.net"});
    const auto back = round_trip(b);
    ASSERT_EQ(back.to().size(), 2u);
    EXPECT_EQ(back.to()[1].members[0].name, "Eve Bcc: evil@example.net X-Evil: 1");
    EXPECT_EQ(back.cc()[0].members[0].name, "Null");
    EXPECT_EQ(back.reply_to()[0].members[0].name, "");
    EXPECT_EQ(back.find("bcc"), nullptr);
    // A quoted local part with specials is fine (it is quoted, not a line break).
    auto q = base();
    q.to({"", "odd \"local\" part", "example.org"});
    EXPECT_EQ(round_trip(q).to()[1].members[0].local, "odd \"local\" part");
}

TEST(MimeHeaderInjection, BuilderSubject) {
    for (const auto& v : bad_values()) {
        auto b = base();
        b.subject("Hello " + v + " end");
        const auto back = round_trip(b);
        EXPECT_EQ(back.subject().find_first_of(std::string("\r\n\0", 3)), std::string::npos) << printable(v);
        EXPECT_EQ(back.subject().rfind("Hello ", 0), 0u);
    }
    auto b = base();
    b.subject("line one\r\n  line two\nthree\rfour");
    EXPECT_EQ(round_trip(b).subject(), "line one line two three four");
    EXPECT_EQ(mime::encode_header_text("a\r\nX-Evil: 1"), "a X-Evil: 1");
    EXPECT_EQ(mime::decode_header_text(mime::encode_header_text("caf\xC3\xA9\r\nX-Evil: 1")), "caf\xC3\xA9 X-Evil: 1");
}

TEST(MimeHeaderInjection, BuilderAttachments) {
    auto b = base();
    b.attach("a\r\nX-Evil: 1.txt", "x").attach(std::string("b\0\n.bin", 7), "y");
    const auto back = round_trip(b);
    ASSERT_EQ(back.parts().size(), 3u);
    EXPECT_EQ(back.parts()[1].filename(), "a X-Evil: 1.txt");
    EXPECT_EQ(back.parts()[2].filename(), "b .bin");
    for (const auto& p : back.parts()) EXPECT_EQ(p.find("x-evil"), nullptr);
    for (const std::string& t :
         std::vector<std::string>{"text/plain\r\nX-Evil: 1", "text/plain; charset=x", "text", "text/", "/plain",
                                  "te xt/plain", "text/pl\nain", std::string("text/pl\0ain", 11)}) {
        auto c = base();
        expect_invalid([&] { c.attach("f.bin", "x", t); }, printable(t));
        expect_invalid([&] { c.attach_file("/nonexistent/f.bin", t); }, printable(t));
        expect_invalid([&] { c.inline_image("id@x", "f.png", "x", t); }, printable(t));
    }
    auto c = base();
    c.attach("f.bin", "x", "Application/X-Thing");
    EXPECT_EQ(round_trip(c).parts()[1].content_type().mime_type(), "application/x-thing");
}

TEST(MimeHeaderInjection, ContentTypeTokensAndParameterNames) {
    for (const std::string& n : std::vector<std::string>{"", "a b", "x; boundary", "a=b", "a\r\nX-Evil", "a\r\n b",
                                                         std::string("a\0", 2), "\xC3\xA4"}) {
        const std::vector<mime::parameter> ps{{n, "v"}};
        expect_invalid([&] { (void)mime::format_parameters(ps); }, "parameter " + printable(n));
        expect_invalid([&] { (void)mime::format_parameters_folded(ps, 10); }, "folded parameter " + printable(n));
    }
    // Values are always safe: control characters force the RFC 2231 form.
    const std::vector<mime::parameter> v{{"name", "a\r\nX-Evil: 1\"; x=y"}};
    const std::string f = mime::format_parameters(v);
    EXPECT_EQ(f.find_first_of("\r\n"), std::string::npos) << printable(f);
    EXPECT_EQ(mime::parse_parameters(f), v);
    mime::content_type ct;
    ct.subtype = "plain; boundary=x";
    expect_invalid([&] { (void)mime::format_content_type(ct); }, "subtype");
    ct.subtype = "plain";
    ct.type = "te\r\nxt";
    expect_invalid([&] { (void)mime::format_content_type(ct); }, "type");
    mime::content_disposition cd;
    cd.kind = "attachment\r\nX-Evil: 1";
    expect_invalid([&] { (void)mime::format_content_disposition(cd); }, "disposition kind");
    mime::entity e;
    expect_invalid([&] { e.set_text("x", "plain\r\nX-Evil: 1"); }, "set_text subtype");
    expect_invalid([&] { e.make_multipart("mixed; boundary=evil"); }, "make_multipart subtype");
    EXPECT_EQ(e.content_type().mime_type(), "text/plain");
}

TEST(MimeHeaderInjection, MboxEnvelope) {
    mime::message m = base().build();
    for (const std::string& line :
         std::vector<std::string>{"From a@b Sat Jan  1 00:00:00 2000\r\nX-Evil: 1\r\n", "From a\rb\n",
                                  "From a@b Sat Jan  1 00:00:00 2000", "X-Evil: 1\n", std::string("From a\0\n", 8)})
        expect_invalid([&] { m.set_envelope(line); }, printable(line));
    EXPECT_EQ(m.envelope(), "");
    m.set_envelope("From a@b Sat Jan  1 00:00:00 2000\n");
    EXPECT_EQ(mime::to_string(m).rfind("From a@b Sat Jan  1 00:00:00 2000\nFrom: ", 0), 0u);
}

// A received message whose ids carry bare CRs (which survive parsing inside <...>), whose
// encoded subject and display names decode to CRLF, and whose addresses are malformed.
const char* const hostile =
    "From: =?utf-8?Q?Mallory=0D=0ABcc=3A_x=40evil.example?= <mallory@example.net>\r\n"
    "To: me@example.com, =?utf-8?Q?Eve=0AX-Evil=3A_1?= <eve@example.net>, bad@exa\x01mple.net\r\n"
    "Cc: carl@example.net\r\n"
    "Subject: =?utf-8?Q?Plans=0D=0AX-Evil:_1?=\r\n"
    "Message-ID: <m1@example.org\rX-Evil: 1>\r\n"
    "References: <r0@example.org> <r1@example.org\rBcc: evil@example.net> <r2@example.org>\r\n"
    "\r\nbody\r\n";

TEST(MimeHeaderInjection, ReplyToHostileMessage) {
    const auto original = mime::message::parse(hostile);
    ASSERT_NE(original.message_id().find('\r'), std::string::npos);  // the premise: the CR survived
    auto b = mime::message_builder::reply(original, true, mime::mailbox{"", "me", "example.com"});
    const auto back = round_trip(b);
    const std::set<std::string> expected{"from",         "to",
                                         "cc",           "subject",
                                         "date",         "message-id",
                                         "references",   "mime-version",
                                         "content-type", "content-transfer-encoding"};
    EXPECT_EQ(lower_names(back), expected);  // no In-Reply-To: the parent's id is not a msg-id
    EXPECT_EQ(back.references(), (std::vector<std::string>{"r0@example.org", "r2@example.org"}));
    EXPECT_EQ(back.subject(), "Re: Plans X-Evil: 1");
    ASSERT_EQ(back.to().size(), 1u);
    EXPECT_EQ(back.to()[0].members[0].address(), "mallory@example.net");
    EXPECT_EQ(back.to()[0].members[0].name, "Mallory Bcc: x@evil.example");
    // Cc: eve and carl; me is excluded; the mailbox with a control character in its domain is dropped.
    std::vector<std::string> cc;
    for (const auto& a : back.cc()) cc.push_back(a.members[0].address());
    EXPECT_EQ(cc, (std::vector<std::string>{"eve@example.net", "carl@example.net"}));

    auto f = mime::message_builder::forward(original);
    f.from({"", "me", "example.com"}).to({"", "z", "example.com"});
    EXPECT_EQ(round_trip(f).subject(), "Fwd: Plans X-Evil: 1");
    auto fi = mime::message_builder::forward(original, false);
    fi.from({"", "me", "example.com"}).to({"", "z", "example.com"});
    round_trip(fi);
}

TEST(MimeHeaderInjection, ReplyReferencesBoundedAndFromInReplyTo) {
    std::string refs;
    for (int i = 0; i < 500; ++i) refs += "<r" + std::to_string(i) + "@example.org> ";
    const auto many = mime::message::parse("From: a@example.org\r\nMessage-ID: <m@example.org>\r\nReferences: " + refs +
                                           "\r\n\r\nx\r\n");
    const auto r = round_trip(mime::message_builder::reply(many, false, mime::mailbox{"", "me", "example.com"}));
    const auto got = r.references();
    ASSERT_EQ(got.size(), 20u);
    EXPECT_EQ(got.front(), "r0@example.org");
    EXPECT_EQ(got[1], "r482@example.org");
    EXPECT_EQ(got.back(), "m@example.org");
    EXPECT_EQ(r.in_reply_to(), "m@example.org");
    // No References in the parent: its In-Reply-To starts the chain (RFC 5322 §3.6.4).
    const auto parent = mime::message::parse(
        "From: a@example.org\r\nMessage-ID: <m@example.org>\r\nIn-Reply-To: <p@example.org>\r\n\r\nx\r\n");
    const auto r2 = round_trip(mime::message_builder::reply(parent, false, mime::mailbox{"", "me", "example.com"}));
    EXPECT_EQ(r2.references(), (std::vector<std::string>{"p@example.org", "m@example.org"}));
}

TEST(MimeHeaderInjection, ParsedDisplayNamesAreSingleLine) {
    const auto list = mime::parse_address_list(
        "=?utf-8?Q?Ann=0D=0ABcc=3A_x?= <a@example.com>, b@example.com (=?utf-8?B?Qm9iDQpYLUV2aWw6IDE=?=)");
    ASSERT_EQ(list.size(), 2u);
    EXPECT_EQ(list[0].members[0].name, "Ann Bcc: x");
    EXPECT_EQ(list[1].members[0].name, "Bob X-Evil: 1");
    EXPECT_EQ(mime::parse_address_list(mime::format_address_list(list)), list);
}

}  // namespace
