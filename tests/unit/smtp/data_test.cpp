#include "mailwire/smtp/data.hpp"

#include <gtest/gtest.h>

#include <random>

#include "support/grind.hpp"

namespace mailwire::smtp {
namespace {

// The obvious, slow definition: canonical line endings, then dot-stuff line by line.
std::string reference(std::string_view in, bool stuff) {
    std::vector<std::string> lines{""};
    bool open_line = false;
    for (std::size_t i = 0; i < in.size(); ++i) {
        char c = in[i];
        if (c == '\r' || c == '\n') {
            if (c == '\r' && i + 1 < in.size() && in[i + 1] == '\n') ++i;
            lines.emplace_back();
            open_line = false;
        } else {
            lines.back() += c;
            open_line = true;
        }
    }
    if (!open_line) lines.pop_back();  // input ended with a line break (or was empty)
    std::string out;
    for (auto& l : lines) {
        if (stuff && l.starts_with('.')) out += '.';
        out += l;
        out += "\r\n";
    }
    if (stuff) out += ".\r\n";
    return out;
}

std::string encode(const std::vector<std::string_view>& chunks, bool stuff) {
    data_encoder e(stuff);
    std::string out;
    for (auto c : chunks) e.encode(c, out);
    e.finish(out);
    return out;
}

TEST(smtp_data, stuffing_and_line_endings) {
    EXPECT_EQ(encode({"Subject: x\r\n\r\n.hidden\r\n..two\r\nend"}, true),
              "Subject: x\r\n\r\n..hidden\r\n...two\r\nend\r\n.\r\n");
    EXPECT_EQ(encode({"a\nb\rc\r\n.\n"}, true), "a\r\nb\r\nc\r\n..\r\n.\r\n");
    EXPECT_EQ(encode({""}, true), ".\r\n");
    EXPECT_EQ(encode({"x\r\n"}, false), "x\r\n");
    EXPECT_EQ(encode({".x"}, false), ".x\r\n");
}

TEST(smtp_data, split_anywhere_gives_the_same_bytes) {
    const std::string_view body = ".start\r\nline\r\n.\r\nbare\nlf\rcr\r\n\r\n..\r\nlast\r";
    test::grind(body, [](const auto& chunks) { return encode(chunks, true); });
    EXPECT_EQ(encode({body}, true), reference(body, true));
}

TEST(smtp_data, random_bodies_match_the_reference) {
    std::mt19937 rng(20261129);
    const std::string alphabet = "ab.\r\n \t.x\r\n";
    for (int round = 0; round < 2000; ++round) {
        std::string body(rng() % 200, ' ');
        for (auto& c : body) c = alphabet[rng() % alphabet.size()];
        for (bool stuff : {true, false}) {
            // Random chunking too.
            std::vector<std::string_view> chunks;
            std::string_view rest = body;
            while (!rest.empty()) {
                auto n = std::min<std::size_t>(rest.size(), 1 + rng() % 17);
                chunks.push_back(rest.substr(0, n));
                rest.remove_prefix(n);
            }
            ASSERT_EQ(encode(chunks, stuff), reference(body, stuff)) << "round " << round;
        }
    }
}

TEST(smtp_data, xtext) {
    EXPECT_EQ(xtext("user+tag=x@example.com"), "user+2Btag+3Dx@example.com");
    EXPECT_EQ(xtext("a b"), "a+20b");
    EXPECT_EQ(xtext("\xc3\xa9"), "+C3+A9");
    // Nothing that could end or split a command line survives (RFC 3461 §4: xchar is 0x21-0x7E).
    EXPECT_EQ(xtext(std::string_view("a\r\nRSET\0 x", 10)), "a+0D+0ARSET+00+20x");
}

}  // namespace
}  // namespace mailwire::smtp
