#include "mailwire/smtp/reply.hpp"

#include <gtest/gtest.h>

#include <chrono>

#include "mailwire/error.hpp"
#include "support/grind.hpp"

namespace mailwire::smtp {
namespace {

// Splits a byte stream into lines the way the client base does, then feeds the parser.
std::vector<reply> parse_stream(const std::vector<std::string_view>& chunks) {
    std::vector<reply> out;
    reply_parser p;
    std::string pending;
    for (auto c : chunks) {
        pending.append(c);
        std::size_t nl;
        while ((nl = pending.find('\n')) != std::string::npos) {
            std::string line = pending.substr(0, nl);
            if (!line.empty() && line.back() == '\r') line.pop_back();
            pending.erase(0, nl + 1);
            if (p.feed_line(line)) out.push_back(p.take());
        }
    }
    return out;
}

TEST(smtp_reply, single_and_multi_line) {
    const std::string_view wire =
        "220 mx.example.com ESMTP ready\r\n"
        "250-mx.example.com Hello\r\n250-SIZE 52428800\r\n250-PIPELINING\r\n250 STARTTLS\r\n"
        "550 5.1.1 <nobody@example.com>: Recipient address rejected\r\n";
    test::grind(wire, [](const auto& chunks) { return parse_stream(chunks); });
    auto replies = parse_stream({wire});
    ASSERT_EQ(replies.size(), 3u);
    EXPECT_EQ(replies[0].code, 220);
    EXPECT_EQ(replies[1].lines.size(), 4u);
    EXPECT_EQ(replies[2].code, 550);
    EXPECT_EQ(replies[2].enhanced_code, "5.1.1");
    EXPECT_EQ(replies[2].text(), "<nobody@example.com>: Recipient address rejected");
    EXPECT_TRUE(replies[2].permanent());
    EXPECT_FALSE(replies[2].transient());
}

TEST(smtp_reply, bare_code_and_enhanced_code_must_match_class) {
    reply_parser p;
    ASSERT_TRUE(p.feed_line("354"));
    EXPECT_EQ(p.take().code, 354);
    ASSERT_TRUE(p.feed_line("250 2.0.0 Ok: queued as ABC"));
    EXPECT_EQ(p.take().enhanced_code, "2.0.0");
    ASSERT_TRUE(p.feed_line("250 5.0.0 wrong class is not an enhanced code"));
    EXPECT_EQ(p.take().enhanced_code, "");
    ASSERT_TRUE(p.feed_line("421 4.7.0 try again later"));
    auto r = p.take();
    EXPECT_TRUE(r.transient());
    EXPECT_EQ(r.enhanced_code, "4.7.0");
}

TEST(smtp_reply, malformed_lines_are_protocol_errors) {
    for (std::string_view bad : {"", "22", "abc def", "2200 x", "220x", "199 too low", "600 too high", "+OK pop3"}) {
        reply_parser p;
        EXPECT_THROW(p.feed_line(bad), protocol_error) << bad;
    }
    reply_parser p;
    EXPECT_FALSE(p.feed_line("250-first"));
    EXPECT_THROW(p.feed_line("251 code changed"), protocol_error);
}

TEST(smtp_reply, line_limit) {
    reply_parser p;
    p.set_max_lines(3);
    EXPECT_FALSE(p.feed_line("250-a"));
    EXPECT_FALSE(p.feed_line("250-b"));
    EXPECT_FALSE(p.feed_line("250-c"));
    EXPECT_THROW(p.feed_line("250 d"), protocol_error);
}

TEST(smtp_ehlo, keywords_parsed_into_typed_capabilities) {
    reply r{250,
            "",
            {"mail.example.org Hello [127.0.0.1]", "PIPELINING", "SIZE 10240000", "VRFY", "ETRN", "STARTTLS",
             "AUTH PLAIN LOGIN SCRAM-SHA-256", "AUTH=LOGIN", "ENHANCEDSTATUSCODES", "8BITMIME", "DSN", "SMTPUTF8",
             "CHUNKING", "BINARYMIME", "REQUIRETLS"}};
    auto c = parse_ehlo(r);
    EXPECT_EQ(c.domain, "mail.example.org");
    EXPECT_TRUE(c.pipelining && c.starttls && c.enhanced_status_codes && c.eight_bit_mime && c.dsn && c.smtputf8 &&
                c.chunking && c.binary_mime && c.requiretls);
    EXPECT_TRUE(c.has_size);
    EXPECT_EQ(c.size, 10240000u);
    EXPECT_EQ(c.auth, (std::vector<std::string>{"PLAIN", "LOGIN", "SCRAM-SHA-256"}));
    EXPECT_TRUE(c.has("etrn"));
    EXPECT_FALSE(c.has("XCLIENT"));
}

TEST(smtp_ehlo, minimal_and_odd_servers) {
    auto c = parse_ehlo(reply{250, "", {"tiny"}});
    EXPECT_EQ(c.domain, "tiny");
    EXPECT_FALSE(c.starttls);
    EXPECT_TRUE(c.auth.empty());
    auto d = parse_ehlo(reply{250, "", {"x", "SIZE", "SIZE 99999999999999999999999999", "auth plain"}});
    EXPECT_TRUE(d.has_size);
    EXPECT_EQ(d.auth, std::vector<std::string>{"PLAIN"});
}

TEST(smtp_reply, byte_limit_counts_the_whole_reply) {
    reply_parser p;
    p.set_max_bytes(20);  // wire bytes, CRLF included: "250-abcdefgh\r\n" is 14
    EXPECT_FALSE(p.feed_line("250-abcdefgh"));
    EXPECT_EQ(p.bytes(), 14u);
    try {
        p.feed_line("250 ijklmnop");
        FAIL();
    } catch (const protocol_error& e) {
        EXPECT_EQ(e.code(), errc::limit_exceeded);
    }
    reply_parser q;
    q.set_max_bytes(14);
    ASSERT_TRUE(q.feed_line("250 abcdefgh"));  // exactly the limit
    EXPECT_EQ(q.take().lines.front(), "abcdefgh");
    EXPECT_EQ(q.bytes(), 0u);  // take() starts the count afresh
    ASSERT_TRUE(q.feed_line("250 abcdefgh"));
}

TEST(smtp_ehlo, auth_mechanisms_are_deduplicated_and_bounded) {
    auto c = parse_ehlo(reply{250, "", {"x", "AUTH PLAIN LOGIN plain", "AUTH=LOGIN PLAIN"}}, 2);
    EXPECT_EQ(c.auth, (std::vector<std::string>{"PLAIN", "LOGIN"}));
    try {
        (void)parse_ehlo(reply{250, "", {"x", "AUTH A B C"}}, 2);
        FAIL();
    } catch (const protocol_error& e) {
        EXPECT_EQ(e.code(), errc::limit_exceeded);
    }
}

TEST(smtp_ehlo, a_long_auth_line_is_parsed_in_linear_time) {
    // One 1 MiB line (the default max_line_length) of distinct names: a linear search per name
    // to drop repeats took ~10^10 comparisons; a hash set takes one lookup each.
    std::string line = "AUTH";
    std::size_t n = 0;
    while (line.size() < (std::size_t{1} << 20) - 16) line += " M" + std::to_string(n++);
    const auto t0 = std::chrono::steady_clock::now();
    const auto c = parse_ehlo(reply{250, "", {"x", line}});
    const auto elapsed = std::chrono::steady_clock::now() - t0;
    EXPECT_EQ(c.auth.size(), n);
    EXPECT_LT(elapsed, std::chrono::seconds(5));  // ~0.1 s; generous for sanitizer builds
}

// ---- queue ids (issue #13 item 9) -----------------------------------------------------------------

reply one_reply(std::string_view wire) {
    auto r = parse_stream({wire});
    EXPECT_EQ(r.size(), 1u) << wire;
    return r.empty() ? reply{} : r.front();
}

TEST(smtp_queue_id, every_common_mta_wording) {
    const std::pair<std::string_view, std::string_view> cases[] = {
        {"250 2.0.0 Ok: queued as 8EA3AAB208A\r\n", "8EA3AAB208A"},                        // Postfix
        {"250 2.0.0 Ok: 637 bytes queued as 4Qx8Zt1xyzz9Q\r\n", "4Qx8Zt1xyzz9Q"},          // Postfix, long ids
        {"250 OK id=1rXabc-0001Ab-Cd\r\n", "1rXabc-0001Ab-Cd"},                            // Exim
        {"250 OK id=1rXabc-000000005Ab-Cd\r\n", "1rXabc-000000005Ab-Cd"},                  // Exim 4.97 ids
        {"250 2.0.0 4B6HxYzA012345 Message accepted for delivery\r\n", "4B6HxYzA012345"},  // Sendmail
        {"250 2.0.0: 1a2b3c4d Message accepted for delivery\r\n", "1a2b3c4d"},             // OpenSMTPD
        {"250 2.0.0 a1b2c3d4 Message accepted for delivery\r\n", "a1b2c3d4"},              // OpenSMTPD 7
        {"250 2.6.0 <AM0PR01MB1234.eurprd01.prod.example.com> [InternalId=12884901889, "
         "Hostname=AM0PR01MB1234.eurprd01.prod.example.com] 1234 bytes in 0.120, 10.2 KB/sec "
         "Queued mail for delivery\r\n",
         "12884901889"},  // Exchange
        {"250 2.0.0 OK  1700000000 x1-20020a17090a1b2c00b0028a1b2c3d4esi1234567pjb.12 - gsmtp\r\n",
         "x1-20020a17090a1b2c00b0028a1b2c3d4esi1234567pjb.12"},                                            // Gmail
        {"250 ok 1700000000 qp 12345\r\n", "12345"},                                                       // qmail
        {"250 Ok. 0000000A1B2C.000000005F3E4D2C.00001234\r\n", "0000000A1B2C.000000005F3E4D2C.00001234"},  // Courier
        {"250 Message Queued (4F2D1A2B-3C4D-4E5F-8A9B-0C1D2E3F4A5B.1.1)\r\n",
         "4F2D1A2B-3C4D-4E5F-8A9B-0C1D2E3F4A5B.1.1"},                                    // Haraka
        {"250 2.0.0 Message queued with id 18c9e4a2b1c00000.\r\n", "18c9e4a2b1c00000"},  // Stalwart
        {"250 Ok 0100018b1c2d3e4f-1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d-000000\r\n",
         "0100018b1c2d3e4f-1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d-000000"},    // Amazon SES
        {"250-first line\r\n250 2.0.0 Ok: queued as ABCDEF\r\n", "ABCDEF"},  // any line
    };
    for (const auto& [wire, id] : cases) EXPECT_EQ(queue_id(one_reply(wire)), id) << wire;
}

TEST(smtp_queue_id, nothing_rather_than_a_wrong_word) {
    for (std::string_view wire : {
             "250 2.6.0 Message received\r\n",                        // Apache James: no id
             "250 Queued (0.031 seconds)\r\n",                        // hMailServer: a time, not an id
             "250 2.0.0 Message accepted for delivery\r\n",           // no id before the phrase
             "250 Great success\r\n",                                 // Mailgun
             "250 2.0.0 Ok\r\n",                                      //
             "250 ok\r\n",                                            //
             "250 Ok queued for delivery\r\n",                        // "queued" alone
             "250 2.0.0 OK - gsmtp\r\n",                              // Gmail wording without an id
             "250 Ok: queued as \r\n",                                // nothing after the marker
             "250 Ok: queued as <X>\r\n",                             // not an id's characters
             "250 ok 1700000000 qp\r\n",                              //
             "550 5.7.1 Ok: queued as 8EA3AAB208A (not really)\r\n",  // a refusal has no queue id
         })
        EXPECT_EQ(queue_id(one_reply(wire)), "") << wire;
    // Bounded: an id longer than 128 characters, or past the first 1024 bytes of a line, is not taken.
    EXPECT_EQ(queue_id(one_reply("250 Ok: queued as " + std::string(129, 'A') + "\r\n")), "");
    EXPECT_EQ(queue_id(one_reply("250 Ok: queued as " + std::string(128, 'A') + "\r\n")), std::string(128, 'A'));
    EXPECT_EQ(queue_id(one_reply("250 " + std::string(1100, 'x') + " queued as ABC\r\n")), "");
}

}  // namespace
}  // namespace mailwire::smtp
