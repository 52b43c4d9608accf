// RFC 5322 §3.3 dates and the broken forms found in real mail.
#include "mailwire/mime/date.hpp"

#include <gtest/gtest.h>

using namespace mailwire::mime;
using namespace std::chrono;

namespace {
// 2003-07-01 08:52:37 UTC, i.e. "Tue, 01 Jul 2003 10:52:37 +0200".
const sys_seconds ref = sys_days{2003y / July / 1} + 8h + 52min + 37s;

void expect_date(std::string_view in, sys_seconds utc, int offset) {
    auto d = parse_date(in);
    ASSERT_TRUE(d.has_value()) << in;
    EXPECT_EQ(d->utc, utc) << in;
    EXPECT_EQ(d->offset_minutes, offset) << in;
}
}  // namespace

TEST(Date, Rfc5322) {
    expect_date("Tue, 01 Jul 2003 10:52:37 +0200", ref, 120);
    expect_date("Fri, 21 Nov 1997 09:55:06 -0600", sys_days{1997y / November / 21} + 15h + 55min + 6s, -360);
    expect_date("Thu, 13 Feb 1969 23:32:54 -0330", sys_days{1969y / February / 14} + 3h + 2min + 54s, -210);
    expect_date("1 Jan 2000 00:00:00 -0000", sys_days{2000y / January / 1}, 0);
}

TEST(Date, BrokenForms) {
    const int o = 120;
    expect_date("01 Jul 2003 10:52:37 +0200", ref, o);                 // 1 missing day name
    expect_date("Tue, 1 Jul 2003 10:52:37 +0200", ref, o);             // 2 single-digit day
    expect_date("Tue, 01 Jul 03 10:52:37 +0200", ref, o);              // 3 two-digit year
    expect_date("Tue, 01 jul 2003 10:52:37 +0200", ref, o);            // 4 lower-case month
    expect_date("tue,01 JUL 2003 10:52:37 +0200", ref, o);             // 5 case, no space after comma
    expect_date("Tue,  01   Jul  2003   10:52:37   +0200  ", ref, o);  // 6 extra spaces
    expect_date("Tue, 01 Jul 2003 08:52:37 +0000 (UTC)", ref, 0);      // 7 comment after the zone
    expect_date("Tue, 01 Jul 2003 08:52:37 GMT", ref, 0);              // 8 named zones
    expect_date("Tue, 01 Jul 2003 08:52:37 UT", ref, 0);
    expect_date("Tue, 01 Jul 2003 08:52:37 Z", ref, 0);
    expect_date("Tue, 01 Jul 2003 01:52:37 PDT", ref, -420);
    expect_date("Tue, 01 Jul 2003 03:52:37 EST", ref, -300);
    expect_date("Tue, 01 Jul 2003 10:52 +0200", ref - 37s, o);    // 9 missing seconds
    expect_date("Tue, 01 Jul 2003 10:52:37", ref + 2h, 0);        // 10 missing zone → UTC
    expect_date("Tue, 01-Jul-2003 10:52:37 +0200", ref, o);       // 11 dashes (IMAP style)
    expect_date("Tue Jul  1 10:52:37 2003", ref + 2h, 0);         // 12 ctime order
    expect_date("2003-07-01T08:52:37Z", ref, 0);                  // 13 ISO 8601
    expect_date("2003-07-01 10:52:37 +02:00", ref, o);            // 14 ISO with colon zone
    expect_date("2003-07-01T10:52:37.123+0200", ref, o);          // 15 fractional seconds
    expect_date("Tue, 01 Jul 2003 10:52:37 GMT+0200", ref, o);    // 16 GMT+hhmm
    expect_date("Tuesday, 01 July 2003 10:52:37 +0200", ref, o);  // 17 full names
    expect_date("Tue, 01 Jul 2003 10:52:37 +02", ref, o);         // 18 short offset
    expect_date("Tue, 01 Jul 2003 10:52:37 AM +0200", ref, o);    // 19 AM/PM
    expect_date("Tue, 01 Jul 2003 03:52:37 PM -0500", ref + 12h, -300);
    expect_date("Tue, 01 Jul 103 08:52:37 +0000", ref, 0);          // 20 three-digit year
    expect_date("Jul 1, 2003 10:52:37 +0200", ref, o);              // 21 month first
    expect_date("Tue, 01 Jul 2003 8:52:37 +0000", ref, 0);          // 22 single-digit hour
    expect_date("Wed, 01 Jul 2003 10:52:37 +0200", ref, o);         // 23 wrong day name
    expect_date("2003/07/01 08:52:37", ref, 0);                     // 24 numeric y/m/d
    expect_date("Tue, 01 Jul 2003 10:52:37 +0200 (CEST)", ref, o);  // 25 comment with zone name
    expect_date("Tue, 01 Jul 49 08:52:37 +0000", sys_days{2049y / July / 1} + 8h + 52min + 37s, 0);
    expect_date("Tue, 01 Jul 50 08:52:37 +0000", sys_days{1950y / July / 1} + 8h + 52min + 37s, 0);
}

TEST(Date, Rejects) {
    EXPECT_FALSE(parse_date(""));
    EXPECT_FALSE(parse_date("yesterday"));
    EXPECT_FALSE(parse_date("Tue, 32 Jul 2003 10:52:37 +0200"));
    EXPECT_FALSE(parse_date("Tue, 29 Feb 2003 10:52:37 +0200"));
    EXPECT_TRUE(parse_date("Sun, 29 Feb 2004 10:52:37 +0200"));
    EXPECT_FALSE(parse_date("Tue, 01 Jul 2003 25:52:37 +0200"));
    EXPECT_FALSE(parse_date("Tue, 01 Foo 2003 10:52:37 +0200"));
    EXPECT_FALSE(parse_date("12:00:00"));
}

TEST(Date, Format) {
    EXPECT_EQ(format_date({ref, 120}), "Tue, 01 Jul 2003 10:52:37 +0200");
    EXPECT_EQ(format_date({ref, -330}), "Tue, 01 Jul 2003 03:22:37 -0530");
    EXPECT_EQ(format_date({ref, 0}), "Tue, 01 Jul 2003 08:52:37 +0000");
    for (int off : {-720, -90, 0, 60, 345, 840}) {
        const date_time d{ref + hours{off}, off};
        auto back = parse_date(format_date(d));
        ASSERT_TRUE(back);
        EXPECT_EQ(*back, d);
    }
    auto now = now_utc();
    EXPECT_EQ(parse_date(format_date(now)), now);
}
