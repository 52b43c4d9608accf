#include "mailwire/sasl/base64.hpp"  // first: the header must compile on its own

#include <gtest/gtest.h>

#include "mailwire/error.hpp"

namespace mailwire::sasl {
namespace {

TEST(sasl_base64, rfc4648_vectors) {
    // RFC 4648 §10
    const std::pair<std::string_view, std::string_view> v[] = {
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
    };
    for (auto [plain, enc] : v) {
        EXPECT_EQ(base64_encode(plain), enc);
        EXPECT_EQ(base64_decode(enc), plain);
    }
}

TEST(sasl_base64, every_byte_round_trips) {
    std::string all;
    for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
    for (std::size_t n = 0; n <= all.size(); n += 7) {
        const auto part = all.substr(all.size() - n);
        EXPECT_EQ(base64_decode(base64_encode(part)), part) << n;
    }
    EXPECT_EQ(base64_encode(std::string("\0\xff\xfe", 3)), "AP/+");
}

TEST(sasl_base64, rejects_non_canonical_and_malformed_input) {
    for (std::string_view bad :
         std::initializer_list<std::string_view>{"Zg=", "Zg", "Z", "Z===", "====", "Zh==", "Zm9=", "Zm9v\r\n", " Zm9v",
                                                 "Zm9v ", "Zm=v", "Zg==Zg==", "Zm9v====", "-_8=", "Z\xc3\xa9==",
                                                 std::string_view("Zm9v\0\0\0\0", 8)}) {
        try {
            base64_decode(bad);
            ADD_FAILURE() << "accepted: " << bad;
        } catch (const auth_error& e) {
            EXPECT_EQ(e.code(), make_error_code(errc::protocol_violation)) << bad;
        }
    }
}

}  // namespace
}  // namespace mailwire::sasl
