// Streaming MIME parser: events on byte strings, every split (grind), malformed input, limits.
#include "mailwire/mime/parser.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "mailwire/error.hpp"
#include "support/grind.hpp"
#include "unit/mime/parser_events.hpp"

using mailwire::test::event_recorder;
using mailwire::test::parse_chunks;
namespace mime = mailwire::mime;

namespace {

// Parses `in` at every split; checks that every byte is reported once; returns the events.
std::vector<std::string> events_of(std::string_view in, mime::parser_options opt = {}, bool check_raw = true) {
    event_recorder whole;
    mailwire::test::grind(in, [&](const std::vector<std::string_view>& chunks) {
        auto r = parse_chunks(chunks, opt);
        if (chunks.size() == 1) whole = r;
        return r;
    });
    if (check_raw) {
        EXPECT_EQ(whole.raw, in);
    }
    return whole.events;
}

std::string decoded_of(std::string_view in) {
    mime::parser_options opt;
    opt.decode = true;
    return parse_chunks({in}, opt).decoded;
}

using ev = std::vector<std::string>;

TEST(MimeParser, SimpleMessageCrlf) {
    const std::string in = "From: a@b\r\nSubject: hi\r\n there\r\n\r\nbody line\r\nsecond\r\n";
    EXPECT_EQ(events_of(in),
              (ev{"message ", "begin depth=0 type=text/plain kind=0 fields=[From=a@b][Subject=hi\r\n there] sep=2",
                  "b:body line\r\nsecond\r\n", "end", "message-end "}));
}

TEST(MimeParser, BareLf) {
    const std::string in = "Subject: x\n\nline\n";
    EXPECT_EQ(events_of(in), (ev{"message ", "begin depth=0 type=text/plain kind=0 fields=[Subject=x] sep=1",
                                 "b:line\n", "end", "message-end "}));
}

TEST(MimeParser, EmptyInput) {
    EXPECT_EQ(events_of(""),
              (ev{"message ", "begin depth=0 type=text/plain kind=0 fields= sep=0", "end", "message-end "}));
}

TEST(MimeParser, HeadersOnlyNoSeparator) {
    EXPECT_EQ(events_of("A: 1\r\nB: 2"),
              (ev{"message ", "begin depth=0 type=text/plain kind=0 fields=[A=1][B=2] sep=0", "end", "message-end "}));
}

TEST(MimeParser, Multipart) {
    const std::string in =
        "Content-Type: multipart/mixed; boundary=\"XX\"\r\n\r\n"
        "preamble\r\n"
        "--XX\r\n"
        "Content-Type: text/plain\r\n\r\n"
        "one\r\n"
        "--XX  \r\n"
        "\r\n"
        "two\r\n"
        "--XX--\r\n"
        "epilogue\r\n";
    EXPECT_EQ(events_of(in), (ev{"message ",
                                 "begin depth=0 type=multipart/mixed kind=1 fields=[Content-Type=multipart/mixed; "
                                 "boundary=\"XX\"] sep=2",
                                 "p:preamble", "delim:\r\n--XX\r\n",
                                 "begin depth=1 type=text/plain kind=0 fields=[Content-Type=text/plain] sep=2", "b:one",
                                 "end", "delim:\r\n--XX  \r\n", "begin depth=1 type=text/plain kind=0 fields= sep=2",
                                 "b:two", "end", "close:\r\n--XX--\r\n", "e:epilogue\r\n", "end", "message-end "}));
}

TEST(MimeParser, MissingCloseDelimiterAndNoFinalNewline) {
    const std::string in = "Content-Type: multipart/mixed; boundary=b\n\n--b\n\nonly\n--b--";
    EXPECT_EQ(events_of(in),
              (ev{"message ",
                  "begin depth=0 type=multipart/mixed kind=1 fields=[Content-Type=multipart/mixed; boundary=b] sep=1",
                  "delim:--b\n", "begin depth=1 type=text/plain kind=0 fields= sep=1", "b:only", "end", "close:\n--b--",
                  "end", "message-end "}));
    const std::string broken = "Content-Type: multipart/mixed; boundary=b\n\n--b\n\nonly\nmore\n";
    EXPECT_EQ(events_of(broken),
              (ev{"message ",
                  "begin depth=0 type=multipart/mixed kind=1 fields=[Content-Type=multipart/mixed; boundary=b] sep=1",
                  "delim:--b\n", "begin depth=1 type=text/plain kind=0 fields= sep=1", "b:only\nmore\n", "end", "end",
                  "message-end "}));
}

TEST(MimeParser, BoundaryOnlyAtLineStartAndExact) {
    const std::string in =
        "Content-Type: multipart/mixed; boundary=b\n\n--b\n\n"
        "x --b\n"  // not at line start
        "--bx\n"   // longer: not a delimiter
        "--b x\n"  // trailing garbage: not a delimiter
        "-b\n"
        "--b--\n";
    const auto e = events_of(in);
    ASSERT_EQ(e.size(), 9u);
    EXPECT_EQ(e[4], "b:x --b\n--bx\n--b x\n-b");
}

TEST(MimeParser, InnerBoundaryPrefixOfOuter) {
    const std::string in =
        "Content-Type: multipart/mixed; boundary=\"abc\"\n\n"
        "--abc\n"
        "Content-Type: multipart/alternative; boundary=\"abc-1\"\n\n"
        "--abc-1\n\ninner one\n"
        "--abc-1\n\ninner two\n"
        "--abc-1--\n"
        "--abc\n\nouter two\n"
        "--abc--\n";
    EXPECT_EQ(events_of(in), (ev{"message ",
                                 "begin depth=0 type=multipart/mixed kind=1 fields=[Content-Type=multipart/mixed; "
                                 "boundary=\"abc\"] sep=1",
                                 "delim:--abc\n",
                                 "begin depth=1 type=multipart/alternative kind=1 "
                                 "fields=[Content-Type=multipart/alternative; boundary=\"abc-1\"] sep=1",
                                 "delim:--abc-1\n",
                                 "begin depth=2 type=text/plain kind=0 fields= sep=1",
                                 "b:inner one",
                                 "end",
                                 "delim:\n--abc-1\n",
                                 "begin depth=2 type=text/plain kind=0 fields= sep=1",
                                 "b:inner two",
                                 "end",
                                 "close:\n--abc-1--\n",
                                 "end",
                                 "delim:--abc\n",
                                 "begin depth=1 type=text/plain kind=0 fields= sep=1",
                                 "b:outer two",
                                 "end",
                                 "close:\n--abc--\n",
                                 "end",
                                 "message-end "}));
}

TEST(MimeParser, OuterBoundaryClosesUnterminatedInner) {
    const std::string in =
        "Content-Type: multipart/mixed; boundary=o\n\n"
        "--o\n"
        "Content-Type: multipart/mixed; boundary=i\n\n"
        "--i\n\nin\n"
        "--o\n\nnext\n"
        "--o--\n";
    EXPECT_EQ(events_of(in),
              (ev{"message ",
                  "begin depth=0 type=multipart/mixed kind=1 fields=[Content-Type=multipart/mixed; boundary=o] sep=1",
                  "delim:--o\n",
                  "begin depth=1 type=multipart/mixed kind=1 fields=[Content-Type=multipart/mixed; boundary=i] sep=1",
                  "delim:--i\n", "begin depth=2 type=text/plain kind=0 fields= sep=1", "b:in", "end", "end",
                  "delim:\n--o\n", "begin depth=1 type=text/plain kind=0 fields= sep=1", "b:next", "end",
                  "close:\n--o--\n", "end", "message-end "}));
}

TEST(MimeParser, EmbeddedMessage) {
    const std::string in =
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
        "--b\r\nContent-Type: message/rfc822\r\n\r\n"
        "Subject: inner\r\n\r\ninner body\r\n"
        "--b--\r\n";
    EXPECT_EQ(events_of(in),
              (ev{"message ",
                  "begin depth=0 type=multipart/mixed kind=1 fields=[Content-Type=multipart/mixed; boundary=b] sep=2",
                  "delim:--b\r\n",
                  "begin depth=1 type=message/rfc822 kind=2 fields=[Content-Type=message/rfc822] sep=2",
                  "begin depth=2 type=text/plain kind=0 fields=[Subject=inner] sep=2", "b:inner body", "end", "end",
                  "close:\r\n--b--\r\n", "end", "message-end "}));
}

TEST(MimeParser, EncodedEmbeddedMessageStaysLeaf) {
    const std::string in = "Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\nU3ViamVjdDogeAoKeQo=\n";
    const auto e = events_of(in);
    ASSERT_EQ(e.size(), 5u);
    EXPECT_NE(e[1].find("kind=0"), std::string::npos);
    EXPECT_EQ(decoded_of(in), "Subject: x\n\ny\n|");
}

TEST(MimeParser, DigestDefaultsToMessage) {
    const std::string in = "Content-Type: multipart/digest; boundary=d\n\n--d\n\nSubject: s\n\nb\n--d--\n";
    const auto e = events_of(in);
    ASSERT_GE(e.size(), 4u);
    EXPECT_EQ(e[3], "begin depth=1 type=message/rfc822 kind=2 fields= sep=1");
    EXPECT_EQ(e[4], "begin depth=2 type=text/plain kind=0 fields=[Subject=s] sep=1");
}

TEST(MimeParser, MultipartWithoutBoundaryIsLeaf) {
    const auto e = events_of("Content-Type: multipart/mixed\n\n--x\nbody\n");
    EXPECT_EQ(e[1], "begin depth=0 type=multipart/mixed kind=0 fields=[Content-Type=multipart/mixed] sep=1");
    EXPECT_EQ(e[2], "b:--x\nbody\n");
}

TEST(MimeParser, ObsoleteHeaderSyntax) {
    // WSP before the colon; 8-bit bytes kept raw; a line that is not a field is skipped (GMime).
    const std::string in = "Subject : x\nX-8bit: caf\xc3\xa9\nnot a header\n cont\nA: b\n\nbody\n";
    EXPECT_EQ(events_of(in), (ev{"message ",
                                 "begin depth=0 type=text/plain kind=0 fields=[Subject=x][X-8bit=caf\xc3\xa9][=not a "
                                 "header\n cont][A=b] sep=1",
                                 "b:body\n", "end", "message-end "}));
}

TEST(MimeParser, LeadingContinuationLineIsSkipped) {
    EXPECT_EQ(events_of(" folded\nA: b\n"),
              (ev{"message ", "begin depth=0 type=text/plain kind=0 fields=[= folded][A=b] sep=0", "end",
                  "message-end "}));
}

TEST(MimeParser, LastContentTypeWins) {
    const auto e = events_of("Content-Type: text/html\nContent-Type: image/png\n\nx");
    EXPECT_EQ(e[1],
              "begin depth=0 type=image/png kind=0 fields=[Content-Type=text/html][Content-Type=image/png] sep=1");
}

TEST(MimeParser, DelimiterInsidePartHeaders) {
    const std::string in =
        "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/html\n--b\n\nx\n--b--\n";
    EXPECT_EQ(events_of(in),
              (ev{"message ",
                  "begin depth=0 type=multipart/mixed kind=1 fields=[Content-Type=multipart/mixed; boundary=b] sep=1",
                  "delim:--b\n", "begin depth=1 type=text/html kind=0 fields=[Content-Type=text/html] sep=0", "end",
                  "delim:--b\n", "begin depth=1 type=text/plain kind=0 fields= sep=1", "b:x", "end", "close:\n--b--\n",
                  "end", "message-end "}));
}

TEST(MimeParser, EnvelopeLine) {
    EXPECT_EQ(events_of("From someone Mon Jan  1 00:00:00 2024\nA: b\n\nx\n"),
              (ev{"message From someone Mon Jan  1 00:00:00 2024\n",
                  "begin depth=0 type=text/plain kind=0 fields=[A=b] sep=1", "b:x\n", "end", "message-end "}));
}

TEST(MimeParser, Mbox) {
    mime::parser_options opt;
    opt.format = mime::input_format::mbox;
    const std::string in =
        "From a Mon Jan  1 00:00:00 2024\nSubject: 1\n\nhello\n>From here\n\n"
        "From b Mon Jan  1 00:00:00 2024\nSubject: 2\n\nbye\n";
    EXPECT_EQ(events_of(in, opt),
              (ev{"message From a Mon Jan  1 00:00:00 2024\n",
                  "begin depth=0 type=text/plain kind=0 fields=[Subject=1] sep=1", "b:hello\n>From here\n", "end",
                  "message-end \n", "message From b Mon Jan  1 00:00:00 2024\n",
                  "begin depth=0 type=text/plain kind=0 fields=[Subject=2] sep=1", "b:bye\n", "end", "message-end "}));
    opt.unquote_from = true;
    const auto e = events_of(in, opt, false);
    EXPECT_EQ(e[2], "b:hello\nFrom here\n");
    EXPECT_TRUE(events_of("", opt).empty());
}

TEST(MimeParser, MboxFromInsideMultipartEndsMessage) {
    mime::parser_options opt;
    opt.format = mime::input_format::mbox;
    const std::string in =
        "From a\nContent-Type: multipart/mixed; boundary=b\n\n--b\n\npart\n\n"
        "From b\nSubject: 2\n\nbye\n";
    const auto e = events_of(in, opt);
    EXPECT_EQ(e,
              (ev{"message From a\n",
                  "begin depth=0 type=multipart/mixed kind=1 fields=[Content-Type=multipart/mixed; boundary=b] sep=1",
                  "delim:--b\n", "begin depth=1 type=text/plain kind=0 fields= sep=1", "b:part\n", "end", "end",
                  "message-end \n", "message From b\n", "begin depth=0 type=text/plain kind=0 fields=[Subject=2] sep=1",
                  "b:bye\n", "end", "message-end "}));
}

TEST(MimeParser, DecodesBodies) {
    const std::string in =
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n"
        "--b\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8g\r\nd29ybGQ=\r\n"
        "--b\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\ncaf=C3=A9 =\r\nau lait\r\n"
        "--b\r\n\r\nplain\r\n"
        "--b--\r\n";
    mime::parser_options opt;
    opt.decode = true;
    event_recorder whole;
    mailwire::test::grind(in, [&](const std::vector<std::string_view>& chunks) { return parse_chunks(chunks, opt); });
    EXPECT_EQ(decoded_of(in), "hello world|caf\xc3\xa9 au lait|plain||");
}

TEST(MimeParser, CrLfSplitAcrossChunksBeforeDelimiter) {
    const std::string in = "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\r\n--b--\r\n";
    const auto e = events_of(in);
    EXPECT_EQ(e[4], "b:x\r");
    EXPECT_EQ(e[6], "close:\r\n--b--\r\n");
}

TEST(MimeParser, Limits) {
    mime::parser_options opt;
    opt.limits.max_header_bytes = 100;
    event_recorder r;
    mime::parser p(r, opt);
    try {
        p.feed("Subject: " + std::string(200, 'x') + "\r\n\r\n");
        FAIL() << "no limit error";
    } catch (const mailwire::parse_error& e) {
        EXPECT_EQ(e.code(), mailwire::errc::limit_exceeded);
    }
    p.reset();
    p.feed("A: b\n\nok\n");
    p.finish();

    opt = {};
    opt.limits.max_line_length = 50;
    EXPECT_THROW(parse_chunks({"Subject: " + std::string(60, 'x') + "\r\n\r\n"}, opt), mailwire::parse_error);
    EXPECT_NO_THROW(
        parse_chunks({"Subject: x\r\n\r\n" + std::string(1000, 'y') + "\r\n"}, opt));  // body lines unlimited

    opt = {};
    opt.limits.max_depth = 3;
    std::string deep;
    for (int i = 0; i < 5; ++i)
        deep += "Content-Type: multipart/mixed; boundary=b" + std::to_string(i) + "\n\n--b" + std::to_string(i) + "\n";
    EXPECT_THROW(parse_chunks({deep}, opt), mailwire::parse_error);

    opt = {};
    opt.limits.max_parts = 3;
    EXPECT_THROW(parse_chunks({"Content-Type: multipart/mixed; boundary=b\n\n--b\n\n--b\n\n--b\n\n--b--\n"}, opt),
                 mailwire::parse_error);
}

TEST(MimeParser, MalformedInputsCoverEveryByte) {
    const std::vector<std::string> cases = {
        "\r\n\r\n",
        "\n",
        ":\n\n",
        "Content-Type: multipart/mixed; boundary=\"\"\n\n--\n\n",
        "Content-Type: multipart/mixed; boundary=b\n\n--b--\n--b\n\nafter close\n",
        "Content-Type: multipart/mixed; boundary=b\n\n--b",
        "Content-Type: multipart/mixed; boundary=b\n\n--b\n",
        "Content-Type: multipart/mixed; boundary=b\n\n--b\r",
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n\r\n--b\r\n\r\n\r\n--b--",
        "Content-Type: message/rfc822\n\n",
        "Content-Type: message/rfc822\n\nContent-Type: message/rfc822\n\nContent-Type: message/rfc822\n",
        "Content-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: message/rfc822\n\n--b--\n",
        "Content-Type: multipart/mixed; boundary=a\n\n--a\nContent-Type: multipart/mixed; "
        "boundary=a\n\n--a\n\nx\n--a--\n--a--\n",
        "A: b\r\nbad line\r\n--b\r\n",
        "A\0: b\n\n\0\0\0\n" + std::string(1, '\0'),
        "Subject: x\r\n \r\n\t\r\n\r\n",
        "Subject: x\r\r\n\r\n",
        std::string(5000, '-') + "\n",
        "Content-Type: multipart/mixed; boundary=b\n\n--b\n\n" + std::string(5000, '-') + "\n--b--\n",
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c);
        EXPECT_NO_THROW(events_of(c));
    }
}

}  // namespace
