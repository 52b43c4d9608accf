// Transfer encodings: RFC examples, malformed input, streaming (grind), round trips, conformance.
#include "mailwire/mime/encoding.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <random>

#include "support/grind.hpp"

using namespace mailwire::mime;

namespace {

struct decoded {
    std::string text;
    bool errors = false;
    bool operator==(const decoded&) const = default;
};

decoded decode_chunks(transfer_encoding e, const std::vector<std::string_view>& chunks) {
    auto d = make_decoder(e);
    decoded r;
    for (auto c : chunks) d->decode(c, r.text);
    d->finish(r.text);
    r.errors = d->saw_errors();
    return r;
}

// Decodes whole, at every split and byte by byte; all must agree. Returns the whole result.
decoded ground(transfer_encoding e, std::string_view in) {
    mailwire::test::grind(in, [&](const std::vector<std::string_view>& chunks) { return decode_chunks(e, chunks); });
    return decode_chunks(e, {in});
}

std::string encode_chunks(transfer_encoding e, std::string_view in, std::size_t chunk) {
    auto enc = make_encoder(e);
    std::string out;
    for (std::size_t i = 0; i < in.size(); i += chunk) enc->encode(in.substr(i, chunk), out);
    enc->finish(out);
    return out;
}

std::string random_bytes(std::mt19937& rng, std::size_t n) {
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng() & 0xFF);
    return s;
}

// Every line ends in CRLF (no bare CR or LF) and is at most `max` characters.
void expect_conforming(const std::string& s, std::size_t max) {
    std::size_t line = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '\r') {
            ASSERT_TRUE(i + 1 < s.size() && s[i + 1] == '\n') << "bare CR at " << i;
            ASSERT_LE(line, max) << "line too long before offset " << i;
            line = 0;
            ++i;
            continue;
        }
        ASSERT_NE(s[i], '\n') << "bare LF at " << i;
        ++line;
    }
    ASSERT_LE(line, max);
}

}  // namespace

TEST(TransferEncoding, Parse) {
    EXPECT_EQ(parse_transfer_encoding("Base64"), transfer_encoding::base64);
    EXPECT_EQ(parse_transfer_encoding(" quoted-printable (yes) "), transfer_encoding::quoted_printable);
    EXPECT_EQ(parse_transfer_encoding("7BIT"), transfer_encoding::seven_bit);
    EXPECT_EQ(parse_transfer_encoding(""), transfer_encoding::seven_bit);
    EXPECT_EQ(parse_transfer_encoding("8bit"), transfer_encoding::eight_bit);
    EXPECT_EQ(parse_transfer_encoding("binary"), transfer_encoding::binary);
    EXPECT_EQ(parse_transfer_encoding("x-uuencode"), transfer_encoding::uuencode);
    EXPECT_EQ(parse_transfer_encoding("X-UUE"), transfer_encoding::uuencode);
    EXPECT_EQ(parse_transfer_encoding("x-gzip64"), transfer_encoding::unknown);
    EXPECT_EQ(to_string(transfer_encoding::quoted_printable), "quoted-printable");
}

TEST(Base64, Rfc4648Vectors) {
    const std::pair<const char*, const char*> v[] = {{"", ""},
                                                     {"f", "Zg=="},
                                                     {"fo", "Zm8="},
                                                     {"foo", "Zm9v"},
                                                     {"foob", "Zm9vYg=="},
                                                     {"fooba", "Zm9vYmE="},
                                                     {"foobar", "Zm9vYmFy"}};
    for (auto [plain, enc] : v) {
        EXPECT_EQ(base64_encode(plain), enc);
        EXPECT_EQ(base64_decode(enc), plain);
        EXPECT_EQ(ground(transfer_encoding::base64, enc).text, plain);
        EXPECT_FALSE(ground(transfer_encoding::base64, enc).errors);
    }
}

TEST(Base64, Malformed) {
    // Line breaks and blanks are skipped silently.
    auto r = ground(transfer_encoding::base64, "Zm9v\r\nYmFy\r\n  Zm9v\n");
    EXPECT_EQ(r.text, "foobarfoo");
    EXPECT_FALSE(r.errors);
    // Junk is skipped and reported.
    r = ground(transfer_encoding::base64, "Zm9v!!YmFy*");
    EXPECT_EQ(r.text, "foobar");
    EXPECT_TRUE(r.errors);
    // Missing padding is fine.
    r = ground(transfer_encoding::base64, "Zm9vYg");
    EXPECT_EQ(r.text, "foob");
    EXPECT_FALSE(r.errors);
    // '=' in the middle ends a quad; decoding goes on (concatenated streams).
    r = ground(transfer_encoding::base64, "Zg==Zm8=Zm9v");
    EXPECT_EQ(r.text, "ffofoo");
    // A dangling single character is an error and yields nothing.
    r = ground(transfer_encoding::base64, "Zm9vY");
    EXPECT_EQ(r.text, "foo");
    EXPECT_TRUE(r.errors);
    EXPECT_EQ(base64_decode("Z\x80m\xFF"
                            "9v"),
              "foo");
}

TEST(Base64, RoundTripRandom) {
    std::mt19937 rng(12345);
    for (std::size_t n : {0u, 1u, 2u, 3u, 56u, 57u, 58u, 1000u, 4099u}) {
        const std::string data = random_bytes(rng, n);
        const std::string enc = base64_encode(data);
        expect_conforming(enc, 76);
        EXPECT_EQ(base64_decode(enc), data);
        for (std::size_t chunk : {1u, 2u, 7u, 57u, 100u})
            EXPECT_EQ(encode_chunks(transfer_encoding::base64, data, chunk), enc);
        EXPECT_EQ(decode_chunks(transfer_encoding::base64, {enc}).text, data);
    }
    EXPECT_EQ(base64_encode(std::string(100, 'a'), 0).find('\r'), std::string::npos);
    const std::string data = random_bytes(rng, 300);
    EXPECT_EQ(ground(transfer_encoding::base64, base64_encode(data, 64)).text, data);
}

TEST(QuotedPrintable, Rfc2045Rules) {
    // Soft breaks, escapes, trailing whitespace removal (RFC 2045 §6.7).
    auto r =
        ground(transfer_encoding::quoted_printable, "Now's the time =\r\nfor all folk to come=\r\n to the aid=3D.\r\n");
    EXPECT_EQ(r.text, "Now's the time for all folk to come to the aid=.\r\n");
    EXPECT_FALSE(r.errors);
    r = ground(transfer_encoding::quoted_printable, "trailing   \r\nblanks\t \r\n");
    EXPECT_EQ(r.text, "trailing\r\nblanks\r\n");
    r = ground(transfer_encoding::quoted_printable, "soft break with blanks=  \t\r\nafter\n");
    EXPECT_EQ(r.text, "soft break with blanksafter\n");
    r = ground(transfer_encoding::quoted_printable, "caf=C3=A9 lower =c3=a9");
    EXPECT_EQ(r.text, "caf\xC3\xA9 lower \xC3\xA9");
    EXPECT_FALSE(r.errors);
}

TEST(QuotedPrintable, Malformed) {
    auto r = ground(transfer_encoding::quoted_printable, "bad =G1 escape");
    EXPECT_EQ(r.text, "bad =G1 escape");
    EXPECT_TRUE(r.errors);
    r = ground(transfer_encoding::quoted_printable, "ends with =");
    EXPECT_EQ(r.text, "ends with ");
    r = ground(transfer_encoding::quoted_printable, "ends with =4");
    EXPECT_EQ(r.text, "ends with =4");
    EXPECT_TRUE(r.errors);
    r = ground(transfer_encoding::quoted_printable, "line =4\r\nnext ==41\r\n");
    EXPECT_EQ(r.text, "line =4\r\nnext =A\r\n");
    r = ground(transfer_encoding::quoted_printable, "bare\rCR and 8bit \xE9 kept\n\n");
    EXPECT_EQ(r.text, "bare\rCR and 8bit \xE9 kept\n\n");
    r = ground(transfer_encoding::quoted_printable, "=\r\n=\r\n\r\n   ");
    EXPECT_EQ(r.text, "\r\n");
    EXPECT_EQ(qp_decode("a_b=5Fc=3f", true), "a b_c?");
}

TEST(QuotedPrintable, LongBlankRunFedByteByByte) {
    // Blanks are held back until the line end decides whether they are trailing; a long run fed
    // one byte at a time must neither be lost nor take quadratic time.
    const std::string blanks(200000, ' ');
    for (const std::string& tail : {std::string("b\r\n"), std::string("\r\n")}) {
        const std::string in = "a" + blanks + tail;
        auto d = make_decoder(transfer_encoding::quoted_printable);
        std::string out;
        for (char c : in) d->decode(std::string_view(&c, 1), out);
        d->finish(out);
        EXPECT_EQ(out, tail == "\r\n" ? "a\r\n" : in);
    }
}

TEST(QuotedPrintable, EncodeConformsAndRoundTrips) {
    const std::string text = "A line with trailing space \nand a tab\t\r\n" + std::string(200, 'x') +
                             "\n.leading dot\nFrom here\n"
                             "caf\xC3\xA9 = equals\r\nbare\rCR\nend with space ";
    const std::string enc = qp_encode(text);
    expect_conforming(enc, 76);
    for (std::size_t chunk : {1u, 3u, 50u})
        EXPECT_EQ(encode_chunks(transfer_encoding::quoted_printable, text, chunk), enc);
    std::string canonical;  // LF → CRLF
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) canonical += '\r';
        canonical += text[i];
    }
    EXPECT_EQ(ground(transfer_encoding::quoted_printable, enc).text, canonical);
    EXPECT_NE(enc.find("space=20\r\n"), std::string::npos) << enc;
    EXPECT_NE(enc.find("tab=09\r\n"), std::string::npos) << enc;
    EXPECT_NE(enc.find("\r\n=2Eleading"), std::string::npos) << enc;
    EXPECT_NE(enc.find("\r\n=46rom"), std::string::npos) << enc;
    EXPECT_NE(enc.find("bare=0DCR"), std::string::npos) << enc;
    EXPECT_EQ(enc.substr(enc.size() - 3), "=20");
    // Random bytes without line ends (a line end is canonicalised, so exclude CR/LF).
    std::mt19937 rng(777);
    for (int round = 0; round < 20; ++round) {
        std::string data = random_bytes(rng, 1 + rng() % 700);
        for (auto& c : data)
            if (c == '\n' || c == '\r') c = 'x';
        const std::string e = qp_encode(data);
        expect_conforming(e, 76);
        EXPECT_EQ(qp_decode(e), data);
    }
    // Random text: the encoding does not depend on how the input is fed.
    const char* bits[] = {"a", "b", " ", "\t", "\r\n", "\n", "\r", "=", ".", "F", "\xC3\xA9", "word", "  "};
    for (int round = 0; round < 100; ++round) {
        std::string t;
        const int n = static_cast<int>(rng() % 200);
        for (int i = 0; i < n; ++i) t += bits[rng() % std::size(bits)];
        const std::string whole = qp_encode(t);
        for (std::size_t chunk : {1u, 2u, 5u, 64u})
            EXPECT_EQ(encode_chunks(transfer_encoding::quoted_printable, t, chunk), whole);
        expect_conforming(whole, 76);
    }
    EXPECT_EQ(qp_encode("a b=c?\xC3\xA9", true), "a_b=3Dc=3F=C3=A9");
}

TEST(Uuencode, DecodeWithBeginEnd) {
    // "Cat" and a short second line.
    const std::string in = "preamble\r\nbegin 644 cat.txt\r\n#0V%T\r\n`\r\nend\r\ntrailing junk\r\n";
    auto r = ground(transfer_encoding::uuencode, in);
    EXPECT_EQ(r.text, "Cat");
    EXPECT_FALSE(r.errors);
}

TEST(Uuencode, RoundTripAndShortLines) {
    std::mt19937 rng(99);
    const std::string data = random_bytes(rng, 200);
    const std::string enc = encode_chunks(transfer_encoding::uuencode, data, 17);
    EXPECT_TRUE(enc.starts_with("begin 644 "));
    EXPECT_TRUE(enc.ends_with("\r\nend"));
    auto r = ground(transfer_encoding::uuencode, enc);
    EXPECT_EQ(r.text, data);
    EXPECT_FALSE(r.errors);
    // Trailing spaces stripped by a transport: the short line is padded with zero bits.
    r = ground(transfer_encoding::uuencode, "begin 600 z\n#`   \n`\nend\n");
    const std::string stripped = "begin 600 z\n#`\n`\nend\n";
    EXPECT_EQ(ground(transfer_encoding::uuencode, stripped).text, r.text);
    EXPECT_EQ(r.text, std::string(3, '\0'));
    // Missing "end" is reported.
    EXPECT_TRUE(ground(transfer_encoding::uuencode, "begin 644 x\n#0V%T\n").errors);
    // No begin line, but data lines that look right.
    EXPECT_EQ(ground(transfer_encoding::uuencode, "#0V%T\nend\n").text, "Cat");
}

TEST(Identity, PassesThrough) {
    const std::string s = "any\0bytes\r\n\xFF";
    for (auto e : {transfer_encoding::seven_bit, transfer_encoding::eight_bit, transfer_encoding::binary,
                   transfer_encoding::unknown}) {
        EXPECT_EQ(ground(e, s).text, s);
        EXPECT_EQ(encode_chunks(e, s, 2), s);
    }
}

TEST(ChooseEncoding, Cases) {
    EXPECT_EQ(choose_encoding("Hello\r\nworld\r\n", true), transfer_encoding::seven_bit);
    EXPECT_EQ(choose_encoding("Hello\nworld\n", true), transfer_encoding::seven_bit);
    EXPECT_EQ(choose_encoding("Hello\nworld\n", false), transfer_encoding::base64);
    EXPECT_EQ(choose_encoding("caf\xC3\xA9 au lait, a mostly ASCII sentence\r\n", true),
              transfer_encoding::quoted_printable);
    EXPECT_EQ(choose_encoding("\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82", true), transfer_encoding::base64);
    EXPECT_EQ(choose_encoding(std::string(1200, 'a'), true), transfer_encoding::quoted_printable);
    EXPECT_EQ(choose_encoding(std::string("a\0b", 3), true), transfer_encoding::base64);
    EXPECT_EQ(choose_encoding("bare\rcr", true), transfer_encoding::quoted_printable);
    EXPECT_EQ(choose_encoding("\x89PNG\r\n\x1A\n", false), transfer_encoding::base64);
}

// Prints decode throughput; asserts nothing about speed.
TEST(Throughput, PrintsDecodeSpeed) {
    std::mt19937 rng(1);
    const std::string data = random_bytes(rng, 8 << 20);
    const std::string b64 = base64_encode(data);
    std::string text;
    while (text.size() < (8u << 20))
        text += "Le caf\xC3\xA9 est tr\xC3\xA8s bon, and this line is plain ASCII text of a mail body.\n";
    const std::string qp = qp_encode(text);
    auto measure = [](const char* name, transfer_encoding e, const std::string& in) {
        std::string out;
        out.reserve(in.size());
        const auto t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < 3; ++i) {
            out.clear();
            auto d = make_decoder(e);
            for (std::size_t off = 0; off < in.size(); off += 65536)
                d->decode(std::string_view(in).substr(off, 65536), out);
            d->finish(out);
        }
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::printf("[ speed    ] %s decode: %.0f MB/s of encoded input\n", name, 3.0 * in.size() / s / 1e6);
        return out.size();
    };
    EXPECT_EQ(measure("base64", transfer_encoding::base64, b64), data.size());
    EXPECT_GT(measure("quoted-printable", transfer_encoding::quoted_printable, qp), 0u);
}

// Random inputs over each encoding's interesting alphabet: every split gives the same result.
TEST(Streaming, RandomInputsSplitAnywhere) {
    std::mt19937 rng(4242);
    const std::pair<transfer_encoding, std::string_view> cases[] = {
        {transfer_encoding::base64, "QUJDZm9v+/= \r\n!*-"},
        {transfer_encoding::quoted_printable, "=3Da9Fg_ \t\r\nxy\xC3"},
        {transfer_encoding::uuencode, "begin 644\nend`#0V%T M!\r\n"},
    };
    for (const auto& [enc, alphabet] : cases) {
        for (int round = 0; round < 150; ++round) {
            std::string s(rng() % 48, ' ');
            for (auto& c : s) c = alphabet[rng() % alphabet.size()];
            EXPECT_NO_THROW(ground(enc, s)) << static_cast<int>(enc) << " input: " << s;
        }
    }
}
