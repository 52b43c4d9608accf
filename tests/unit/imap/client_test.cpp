// imap::client pieces that need no server: quoting, command building, mailbox-name wire form.
// Includes client.hpp first, so the header is checked to compile on its own.
#include "mailwire/imap/client.hpp"

#include <gtest/gtest.h>

namespace mailwire::imap {
namespace {

TEST(imap_client, quoting_and_commands) {
    EXPECT_EQ(client::quote("a\"b\\c"), "\"a\\\"b\\\\c\"");
    EXPECT_EQ(client::quote(""), "\"\"");
    client::command c;
    c.text("LOGIN ").string("user").text(" ").string("p\xc3\xa4ss");
    ASSERT_EQ(c.parts.size(), 3u);  // 8-bit password: a literal between two text parts
    EXPECT_EQ(c.parts[0], "LOGIN \"user\" ");
    EXPECT_EQ(c.parts[1], "p\xc3\xa4ss");
    EXPECT_EQ(c.parts[2], "");
    client::command crlf;
    crlf.string("two\r\nlines");
    EXPECT_EQ(crlf.parts.size(), 3u);
}

TEST(imap_client, fresh_client_state) {
    client c;
    EXPECT_FALSE(c.is_connected());
    EXPECT_TRUE(c.capabilities().empty());
    EXPECT_FALSE(c.mailbox().selected);
    EXPECT_EQ(c.wire_mailbox("Entw\xc3\xbcrfe"), "Entw&APw-rfe");  // UTF8=ACCEPT not enabled
    EXPECT_THROW(c.noop(), error);
}

}  // namespace
}  // namespace mailwire::imap
