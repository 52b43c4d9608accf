// Dates: RFC 5322 §3.3 date-time, the obsolete forms of §4.3 and what real mail contains.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "mailwire/export.hpp"

namespace mailwire::mime {

/// A point in time and the zone offset it was written with.
struct date_time {
    std::chrono::sys_seconds utc;  ///< the instant, UTC
    int offset_minutes = 0;        ///< the writer's zone: +120 for "+0200"; 0 for "-0000"/unknown

    /// Field-by-field equality (the same instant written in another zone differs).
    friend bool operator==(const date_time&, const date_time&) = default;
};

/// Parses a Date-like header value. Accepts RFC 5322 dates and common broken forms: missing or
/// wrong day name, 2-digit (and 3-digit) years (§4.3), named zones (UT, GMT, UTC, Z, EST..PDT,
/// a few others like CET/CEST/BST/JST/IST/MSK; military letters count as unknown, i.e. +0000),
/// missing seconds, extra or missing spaces and commas, comments ("+0000 (UTC)"), single-digit
/// day and hour, any letter case and full month names, "-" or "/" between date fields
/// ("01-Jul-2003"), AM/PM, ctime order ("Tue Jul  1 10:52:37 2003"), ISO 8601 ("2003-07-01T10:52:37Z",
/// "2003-07-01 10:52:37 +02:00") and zones written "+02", "+02:00", "GMT+0200".
/// Returns nullopt when no plausible date is found (never throws). A missing zone means UTC.
MAILWIRE_API std::optional<date_time> parse_date(std::string_view value);

/// RFC 5322 form in the stored zone: "Tue, 01 Jul 2003 10:52:37 +0200".
MAILWIRE_API std::string format_date(const date_time& d);

/// The current time (UTC, offset 0), for Date headers.
MAILWIRE_API date_time now_utc();

}  // namespace mailwire::mime
