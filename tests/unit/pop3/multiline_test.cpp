#include "mailwire/pop3/multiline.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "../../support/grind.hpp"

namespace mailwire::pop3 {
namespace {

struct decoded {
    std::string body;
    bool done = false;
    std::string rest;  // input after the terminating line
    std::uint64_t bytes = 0;
    bool operator==(const decoded&) const = default;
};

decoded decode_chunks(const std::vector<std::string_view>& chunks) {
    multiline_decoder d;
    decoded out;
    for (auto c : chunks) {
        if (d.done()) {
            out.rest.append(c);
            continue;
        }
        auto r = d.feed(c, [&](std::string_view b) {
            EXPECT_FALSE(b.empty());
            out.body.append(b);
        });
        EXPECT_LE(r.used, c.size());
        if (r.done) {
            out.done = true;
            out.rest.append(c.substr(r.used));
        } else {
            EXPECT_EQ(r.used, c.size());
        }
    }
    out.bytes = d.body_bytes();
    return out;
}

decoded ground(std::string_view input) {
    decoded expected;
    test::grind(input, [&](const std::vector<std::string_view>& chunks) {
        expected = decode_chunks(chunks);
        return expected;
    });
    return expected;
}

// Reference: line-by-line unstuffing of a CRLF body, as RFC 1939 §3 describes it.
std::string stuff(std::string_view body) {
    std::string out;
    bool bol = true;
    for (char ch : body) {
        if (bol && ch == '.') out += '.';
        out += ch;
        bol = ch == '\n';
    }
    if (!body.empty() && !body.ends_with("\r\n")) out += "\r\n";
    return out + ".\r\n";
}

TEST(pop3_multiline_decoder, unstuffs_and_stops_at_the_terminator) {
    auto r = ground("Subject: x\r\n\r\n..leading dot\r\n...two\r\n.\r\n+OK next\r\n");
    EXPECT_TRUE(r.done);
    EXPECT_EQ(r.body, "Subject: x\r\n\r\n.leading dot\r\n..two\r\n");
    EXPECT_EQ(r.rest, "+OK next\r\n");
    EXPECT_EQ(r.bytes, r.body.size());
}

TEST(pop3_multiline_decoder, empty_body) {
    auto r = ground(".\r\n");
    EXPECT_TRUE(r.done);
    EXPECT_EQ(r.body, "");
    EXPECT_EQ(r.rest, "");
}

TEST(pop3_multiline_decoder, lines_that_merely_look_like_the_end) {
    // ". " and ".x" and ".\r" not followed by LF are data lines; "\r\n.\r\n" only at a line start.
    auto r = ground("a.\r\n. \r\n.x\r\n.\rX\r\nend .\r\n\r\n.\r\n");
    EXPECT_TRUE(r.done);
    EXPECT_EQ(r.body, "a.\r\n \r\nx\r\n\rX\r\nend .\r\n\r\n");
}

TEST(pop3_multiline_decoder, bare_lf_lines) {
    auto r = ground("one\n..two\n.\nafter");
    EXPECT_TRUE(r.done);
    EXPECT_EQ(r.body, "one\n.two\n");
    EXPECT_EQ(r.rest, "after");
}

TEST(pop3_multiline_decoder, unterminated_input_is_all_used_and_not_done) {
    auto r = ground("line\r\n..\r\n.\r");
    EXPECT_FALSE(r.done);
    EXPECT_EQ(r.body, "line\r\n.\r\n");  // the final ".\r" is held back until the next byte
    multiline_decoder d;
    std::string out;
    d.feed("x\r\n.\r", [&](std::string_view b) { out.append(b); });
    d.feed("y\r\n.\r\n", [&](std::string_view b) { out.append(b); });
    EXPECT_TRUE(d.done());
    EXPECT_EQ(out, "x\r\n\ry\r\n");
}

TEST(pop3_multiline_decoder, binary_bytes_pass) {
    std::string body("\0\x01\xff\r\n\0.\r\n", 9);
    auto r = ground(body + ".\r\n");
    EXPECT_TRUE(r.done);
    EXPECT_EQ(r.body, body);
}

TEST(pop3_multiline_decoder, done_decoder_consumes_nothing_until_reset) {
    multiline_decoder d;
    auto sink = [](std::string_view) {};
    EXPECT_EQ(d.feed(".\r\n+OK", sink), (multiline_decoder::result{3, true}));
    EXPECT_EQ(d.feed("+OK", sink), (multiline_decoder::result{0, true}));
    d.reset();
    EXPECT_FALSE(d.done());
    EXPECT_EQ(d.feed("x\r\n.\r\n", sink), (multiline_decoder::result{6, true}));
    EXPECT_EQ(d.body_bytes(), 3u);
}

TEST(pop3_multiline_decoder, one_output_chunk_per_feed_without_stuffing) {
    multiline_decoder d;
    int calls = 0;
    std::string big;
    for (int i = 0; i < 1000; ++i) big += "a line of text that is not stuffed\r\n";
    d.feed(big, [&](std::string_view) { ++calls; });
    EXPECT_EQ(calls, 1);
}

TEST(pop3_multiline_decoder, random_bodies_round_trip_at_random_splits) {
    std::mt19937 rng(1939);
    const std::string alphabet = ".\r\nab .";
    for (int round = 0; round < 300; ++round) {
        std::string body;
        const int len = static_cast<int>(rng() % 200);
        for (int i = 0; i < len; ++i) body += alphabet[rng() % alphabet.size()];
        // A server only sends CRLF lines; make every LF a CRLF and every CR part of one.
        std::string norm;
        for (char ch : body) {
            if (ch == '\r') continue;
            if (ch == '\n') norm += "\r\n";
            else norm += ch;
        }
        if (!norm.empty() && !norm.ends_with("\r\n")) norm += "\r\n";
        const std::string wire = stuff(norm) + "+OK";
        std::vector<std::string_view> chunks;
        std::string_view rest = wire;
        while (!rest.empty()) {
            auto n = std::min<std::size_t>(rest.size(), 1 + rng() % 17);
            chunks.push_back(rest.substr(0, n));
            rest.remove_prefix(n);
        }
        auto r = decode_chunks(chunks);
        ASSERT_TRUE(r.done) << wire;
        EXPECT_EQ(r.body, norm);
        EXPECT_EQ(r.rest, "+OK");
    }
}

}  // namespace
}  // namespace mailwire::pop3
