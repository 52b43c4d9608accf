// Memory safety across buffer refills (issue #12 item 5): a server that sends part of a line and
// then closes (or resets) made read_line() build its error text from a pointer into the read buffer
// taken before the refill, which may have moved it. In sanitizer builds (and with
// MAILWIRE_DEBUG_REFILL) every refill moves the buffer, so any view kept across one is reported by
// ASan here and in every other scripted test.
#include <gtest/gtest.h>

#include <string>

#include "mailwire/imap/client.hpp"
#include "mailwire/pop3/client.hpp"
#include "mailwire/smtp/client.hpp"
#include "support/scripted_server.hpp"

namespace mailwire {
namespace {

using namespace std::chrono_literals;
using test::script;
using test::scripted_server;

template <class Client>
void quick(Client& c) {
    c.timeouts().connect = 2000ms;
    c.timeouts().greeting = 3000ms;
    c.timeouts().io = 3000ms;
}

// The client must report the connection closed, quoting (up to 200 bytes of) the partial line.
template <class Client>
void expect_closed_with_partial(const std::string& partial, script s, std::size_t quoted = 200) {
    scripted_server srv(std::move(s));
    Client c;
    quick(c);
    try {
        c.connect(srv.host(), srv.port(), security::none);
        FAIL() << "connected on a partial greeting";
    } catch (const protocol_error& e) {
        EXPECT_EQ(e.code(), errc::connection_closed) << e.what();
        EXPECT_EQ(e.stage(), stage::greeting);
        EXPECT_EQ(e.server_text(), partial.substr(0, quoted));
    }
    EXPECT_FALSE(c.is_connected());
    srv.stop();
}

TEST(refill, smtp_partial_line_then_close) {
    const std::string partial = "220 mx.example ESMTP but the line never ends";
    expect_closed_with_partial<smtp::client>(partial, script{}.send(partial).close());
}

TEST(refill, smtp_partial_line_split_across_reads_then_close) {
    const std::string partial = "220-first line\r\n220 second line that never ends";
    scripted_server srv(script{}.send_split({"220-first line\r\n", "220 second ", "line that never ends"}).close());
    smtp::client c;
    quick(c);
    try {
        c.connect(srv.host(), srv.port(), security::none);
        FAIL();
    } catch (const protocol_error& e) {
        EXPECT_EQ(e.code(), errc::connection_closed);
        EXPECT_EQ(e.server_text(), "220 second line that never ends");
    }
    srv.stop();
}

TEST(refill, smtp_partial_line_larger_than_a_read_chunk_then_close) {
    // 16 KiB is the refill chunk: these lines span several refills, each of which may move the buffer.
    for (std::size_t size : {16u * 1024 + 1, 40u * 1024, 300u * 1024}) {
        std::string partial = "220 ";
        for (std::size_t i = 0; partial.size() < size; ++i) partial += static_cast<char>('a' + i % 26);
        expect_closed_with_partial<smtp::client>(partial, script{}.send(partial).close());
    }
}

TEST(refill, smtp_partial_line_then_reset) {
    // After an RST the kernel may drop the unread bytes: the quoted text is a prefix of the line.
    const std::string partial = "220 mx.example ESMTP reset follows";
    scripted_server srv(script{}.send(partial).stall(100ms).reset());
    smtp::client c;
    quick(c);
    try {
        c.connect(srv.host(), srv.port(), security::none);
        FAIL();
    } catch (const protocol_error& e) {
        EXPECT_EQ(e.code(), errc::connection_closed) << e.what();
        EXPECT_TRUE(partial.starts_with(e.server_text())) << e.server_text();
    }
    EXPECT_FALSE(c.is_connected());
    srv.stop();
}

TEST(refill, imap_partial_line_then_close) {
    const std::string partial = "* OK [CAPABILITY IMAP4rev1] " + std::string(20000, 'i');
    scripted_server srv(script{}.send(partial).close());
    imap::client c;
    quick(c);
    EXPECT_THROW(c.connect(srv.host(), srv.port(), security::none), protocol_error);
    EXPECT_FALSE(c.is_connected());
    srv.stop();
}

TEST(refill, pop3_partial_line_then_close) {
    const std::string partial = "+OK ready " + std::string(20000, 'p');
    scripted_server srv(script{}.send(partial).close());
    pop3::client c;
    quick(c);
    EXPECT_THROW(c.connect(srv.host(), srv.port(), security::none), protocol_error);
    EXPECT_FALSE(c.is_connected());
    srv.stop();
}

TEST(refill, smtp_partial_reply_after_a_command_then_close) {
    const std::string partial = "250 noop ok but " + std::string(30000, 'n');
    scripted_server srv(script{}
                            .send("220 mx.example ESMTP\r\n")
                            .expect_line_matching("^EHLO ")
                            .send("250 mx.example\r\n")
                            .expect_line("NOOP")
                            .send(partial)
                            .close());
    smtp::client c;
    quick(c);
    c.connect(srv.host(), srv.port(), security::none);
    try {
        c.noop();
        FAIL();
    } catch (const protocol_error& e) {
        EXPECT_EQ(e.code(), errc::connection_closed);
        EXPECT_EQ(e.server_text(), partial.substr(0, 200));
    }
    srv.stop();
}

}  // namespace
}  // namespace mailwire
