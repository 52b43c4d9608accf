// SASLprep (RFC 4013): the RFC's §3 examples plus the cases passwords actually hit.
#include <gtest/gtest.h>

#include "mailwire/error.hpp"
#include "mailwire/sasl/mechanism.hpp"

namespace mailwire::sasl {
namespace {

using namespace std::string_literals;

TEST(sasl_saslprep, rfc4013_examples) {
    EXPECT_EQ(saslprep("I\xc2\xadX"), "IX");     // 1: SOFT HYPHEN mapped to nothing
    EXPECT_EQ(saslprep("user"), "user");         // 2: no transformation
    EXPECT_EQ(saslprep("USER"), "USER");         // 3: case preserved
    EXPECT_EQ(saslprep("\xc2\xaa"), "a");        // 4: output is NFKC, input in ISO 8859-1
    EXPECT_EQ(saslprep("\xe2\x85\xa8"), "IX");   // 5: output is NFKC, will match 1
    EXPECT_THROW(saslprep("\x07"), auth_error);  // 6: prohibited character
    EXPECT_THROW(saslprep("\xd8\xa7"
                          "1"),
                 auth_error);  // 7: bidi check (U+0627 then "1")
}

TEST(sasl_saslprep, passwords) {
    EXPECT_EQ(saslprep("p\xc3\xa4ssw\xc3\xb6rd-\xc3\xa7"), "p\xc3\xa4ssw\xc3\xb6rd-\xc3\xa7");  // already NFKC
    EXPECT_EQ(saslprep("pa\xcc\x88ssword"), "p\xc3\xa4ssword");                                 // composed
    EXPECT_EQ(saslprep("pass\xc2\xa0word"), "pass word");                                       // U+00A0 → space
    EXPECT_EQ(saslprep("pass\xe3\x80\x80word"), "pass word");                                   // U+3000 → space
    EXPECT_EQ(saslprep("pass\xc2\xadword"), "password");                                        // U+00AD → nothing
    EXPECT_EQ(saslprep("pass\xe2\x81\xa0word"), "password");                                    // U+2060 → nothing
    // U+200B is listed both in C.1.2 (space) and B.1 (nothing); ICU applies the space mapping.
    EXPECT_EQ(saslprep("pass\xe2\x80\x8bword"), "pass word");
    EXPECT_EQ(saslprep("\xef\xac\x81"), "fi");                    // U+FB01 ligature
    EXPECT_EQ(saslprep("\xd7\x90\xd7\x91"), "\xd7\x90\xd7\x91");  // RTL-only is fine
    EXPECT_EQ(saslprep(""), "");
    // An unassigned code point (U+0378) is allowed: SCRAM prepares "query" strings.
    EXPECT_EQ(saslprep("a\xcd\xb8"), "a\xcd\xb8");
    // Expansion beyond the first guess (U+FDFA becomes 18 code points).
    EXPECT_EQ(saslprep("\xef\xb7\xba").size(), 33u);
}

TEST(sasl_saslprep, refusals_never_echo_the_input) {
    for (const std::string& bad : {"pass\x07word"s, "pass\0word"s, "tab\there"s, "del\x7f"s,
                                   "\xff\xfe"s,           // invalid UTF-8
                                   "a\xed\xa0\x80"s,      // encoded surrogate
                                   "priv\xee\x80\x80"s,   // U+E000 private use
                                   "nc\xef\xb7\x90"s,     // U+FDD0 non-character
                                   "\xd8\xa7x\xd8\xa7"s,  // RandAL mixed with L
                                   "\xe2\x80\x8e"
                                   "ltr mark"s})  // U+200E prohibited
    {
        try {
            saslprep(bad);
            ADD_FAILURE() << "accepted";
        } catch (const auth_error& e) {
            EXPECT_EQ(e.code(), make_error_code(errc::invalid_argument));
            EXPECT_EQ(std::string(e.what()).find(bad), std::string::npos);
            EXPECT_TRUE(e.server_text().empty());
        }
    }
}

}  // namespace
}  // namespace mailwire::sasl
