// pop3/client.hpp compiles on its own (included first); pop3_error classifies response codes.
#include "mailwire/pop3/client.hpp"

#include <gtest/gtest.h>

namespace mailwire::pop3 {
namespace {

pop3_error make(std::string code, std::string text = "text") {
    return pop3_error("refused", error_context{"host", 110, "pop3", stage::command, text, {}},
                      status{false, code, text});
}

TEST(pop3_error, is_a_command_error_with_the_reply) {
    const auto e = make("IN-USE", "Mailbox locked");
    const command_error& base = e;
    EXPECT_EQ(base.code(), errc::command_failed);
    EXPECT_EQ(e.status(), (status{false, "IN-USE", "Mailbox locked"}));
    EXPECT_EQ(e.response_code(), "IN-USE");
    EXPECT_EQ(e.server_text(), "Mailbox locked");
}

TEST(pop3_error, transient_and_permanent_codes) {
    EXPECT_TRUE(make("IN-USE").transient());
    EXPECT_TRUE(make("LOGIN-DELAY").transient());
    EXPECT_TRUE(make("SYS/TEMP").transient());
    EXPECT_FALSE(make("SYS/PERM").transient());
    EXPECT_FALSE(make("AUTH").transient());
    EXPECT_FALSE(make("").transient());
    EXPECT_EQ(make("").kind(), response_code::none);
    EXPECT_EQ(make("X-VENDOR").kind(), response_code::other);
}

TEST(pop3_client, defaults_before_connecting) {
    client c;
    EXPECT_FALSE(c.is_connected());
    EXPECT_FALSE(c.pipelining());  // nothing known until CAPA says PIPELINING
    EXPECT_EQ(c.pipeline_window(), 64u);
    c.pipeline_window(0);
    EXPECT_EQ(c.pipeline_window(), 1u);
    EXPECT_EQ(c.max_message_bytes(), std::uint64_t{1} << 32);
    EXPECT_FALSE(c.utf8_enabled());
    EXPECT_THROW(c.quit(), error);
}

}  // namespace
}  // namespace mailwire::pop3
