#include <gtest/gtest.h>

#include "mailwire/net/stream.hpp"

namespace mailwire::net {
namespace {

TEST(first_bytes, plaintext_greetings) {
    for (std::string_view g : {"* OK [CAPABILITY IMAP4rev1] ready\r\n", "+OK Dovecot ready.\r\n", "220 mx ESMTP\r\n"}) {
        auto f = classify_first_bytes(g);
        EXPECT_EQ(f.kind, first_bytes_kind::plaintext_line) << g;
        EXPECT_EQ(f.first_line, g.substr(0, g.find('\r')));
    }
    EXPECT_EQ(classify_first_bytes("220 partial").first_line, "220 partial");
    EXPECT_EQ(classify_first_bytes(std::string(300, 'x')).first_line.size(), 120u);
}

TEST(first_bytes, tls_records_and_binary) {
    EXPECT_EQ(classify_first_bytes(std::string("\x16\x03\x01\x02\x00", 5)).kind, first_bytes_kind::tls_record);
    EXPECT_EQ(classify_first_bytes(std::string("\x15\x03\x03\x00\x02\x02\x46", 7)).kind, first_bytes_kind::tls_record);
    EXPECT_EQ(classify_first_bytes(std::string("\x16", 1)).kind, first_bytes_kind::tls_record);
    EXPECT_EQ(classify_first_bytes(std::string("\x00\x01\x02", 3)).kind, first_bytes_kind::binary);
    EXPECT_EQ(classify_first_bytes(std::string("\x16\x10", 2)).kind, first_bytes_kind::binary);
    EXPECT_EQ(classify_first_bytes("").kind, first_bytes_kind::empty);
}

}  // namespace
}  // namespace mailwire::net
