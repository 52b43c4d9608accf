#include "mailwire/imap/status.hpp"

#include <gtest/gtest.h>

#include "mailwire/error.hpp"

namespace mailwire::imap {
namespace {

using kind = response_line::kind;

TEST(imap_status, greeting_with_capability_code) {
    auto r = parse_response_line("* OK [CAPABILITY IMAP4rev1 SASL-IR STARTTLS AUTH=PLAIN] Dovecot ready.");
    EXPECT_EQ(r.type, kind::untagged);
    EXPECT_EQ(r.status, status::ok);
    EXPECT_EQ(r.code, "CAPABILITY");
    EXPECT_EQ(r.text, "Dovecot ready.");
    EXPECT_EQ(parse_capabilities(r.code_args),
              (std::vector<std::string>{"IMAP4REV1", "SASL-IR", "STARTTLS", "AUTH=PLAIN"}));
}

TEST(imap_status, tagged_untagged_continuation) {
    EXPECT_EQ(parse_response_line("A0001 NO [AUTHENTICATIONFAILED] Authentication failed."),
              (response_line{kind::tagged, "A0001", status::no, "AUTHENTICATIONFAILED", "", "Authentication failed."}));
    EXPECT_EQ(parse_response_line("a1 bad"), (response_line{kind::tagged, "a1", status::bad, "", "", ""}));
    EXPECT_EQ(parse_response_line("+ "), (response_line{kind::continuation, "", status::none, "", "", ""}));
    EXPECT_EQ(parse_response_line("+YWJj").text, "YWJj");
    EXPECT_EQ(parse_response_line("* PREAUTH welcome").status, status::preauth);
    EXPECT_EQ(parse_response_line("* BYE shutting down").status, status::bye);
    auto data = parse_response_line("* CAPABILITY IMAP4rev1 IDLE");
    EXPECT_EQ(data.status, status::none);
    EXPECT_EQ(data.text, "CAPABILITY IMAP4rev1 IDLE");
    EXPECT_EQ(parse_response_line("* 23 EXISTS").text, "23 EXISTS");
    auto uv = parse_response_line("* OK [UIDVALIDITY 3857529045] UIDs valid");
    EXPECT_EQ(uv.code, "UIDVALIDITY");
    EXPECT_EQ(uv.code_args, "3857529045");
}

TEST(imap_status, malformed) {
    for (std::string_view bad :
         {"", "A1", "A1 MAYBE", "A1 PREAUTH x", "(tag) OK", "* OK [ALERT unterminated", "*OK no space", "A+1 OK"})
        EXPECT_THROW(parse_response_line(bad), protocol_error) << bad;
}

TEST(imap_status, literals) {
    EXPECT_EQ(trailing_literal("* 1 FETCH (BODY[] {342}"), 342);
    EXPECT_EQ(trailing_literal("A1 LOGIN {5+}"), 5);
    EXPECT_EQ(trailing_literal("* 1 FETCH (BODY[] ~{0}"), 0);
    EXPECT_EQ(trailing_literal("* OK {x}"), -1);
    EXPECT_EQ(trailing_literal("* OK {}"), -1);
    EXPECT_EQ(trailing_literal("* OK {99999999999999999999}"), -1);
    EXPECT_EQ(trailing_literal("* OK done"), -1);
}

}  // namespace
}  // namespace mailwire::imap
