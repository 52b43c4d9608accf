// RFC 5322 §3.3 / §4.3 dates, read leniently.
#include "mailwire/mime/date.hpp"

#include <cstdio>
#include <vector>

#include "mime/detail_text.hpp"

namespace mailwire::mime {
namespace {

using namespace std::chrono;

struct tok {
    enum kind { num, word, sym } k;
    std::string text;  // lower-case for words
    long value = 0;    // numbers (saturated)
    std::size_t digits = 0;
    char ch = 0;  // symbols
};

std::vector<tok> tokenize(std::string_view s) {
    std::vector<tok> out;
    std::size_t i = 0;
    while (i < s.size() && out.size() < 64) {
        const char c = s[i];
        if (c == '(') {
            i = detail::skip_comment(s, i);
        } else if (c >= '0' && c <= '9') {
            tok t{};
            t.k = tok::num;
            while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
                if (t.value < 100000000) t.value = t.value * 10 + (s[i] - '0');
                ++t.digits;
                ++i;
            }
            out.push_back(t);
        } else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
            tok t{};
            t.k = tok::word;
            while (i < s.size() && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
                t.text.push_back(detail::ascii_lower(s[i++]));
            out.push_back(std::move(t));
        } else if (c == ':' || c == '+' || c == '-' || c == '/' || c == '.') {
            tok t{};
            t.k = tok::sym;
            t.ch = c;
            out.push_back(t);
            ++i;
        } else {
            ++i;  // blanks, commas, junk
        }
    }
    return out;
}

int month_of(std::string_view w) {
    static constexpr std::string_view full[] = {"january", "february", "march",     "april",   "may",      "june",
                                                "july",    "august",   "september", "october", "november", "december"};
    if (w.size() < 3) return 0;
    for (int m = 0; m < 12; ++m) {
        if (w.substr(0, 3) != full[m].substr(0, 3)) continue;
        if (w.size() == 3 || full[m] == w || (m == 8 && w == "sept")) return m + 1;
    }
    return 0;
}

bool is_day_name(std::string_view w) {
    static constexpr std::string_view full[] = {"monday", "tuesday",  "wednesday", "thursday",
                                                "friday", "saturday", "sunday"};
    if (w.size() < 3) return false;
    for (auto d : full)
        if (w.substr(0, 3) == d.substr(0, 3) && (w.size() == 3 || w == d || w.size() == 4))
            return true;  // "tues", "thur"
    return false;
}

// Named zones: RFC 5322 §4.3 plus ones that appear in practice. Minutes east of UTC.
bool zone_of(std::string_view w, int& minutes) {
    struct z {
        std::string_view name;
        int min;
    };
    static constexpr z zones[] = {
        {"ut", 0},     {"gmt", 0},    {"utc", 0},    {"z", 0},      {"est", -300},  {"edt", -240},  {"cst", -360},
        {"cdt", -300}, {"mst", -420}, {"mdt", -360}, {"pst", -480}, {"pdt", -420},  {"wet", 0},     {"west", 60},
        {"bst", 60},   {"cet", 60},   {"cest", 120}, {"met", 60},   {"mest", 120},  {"eet", 120},   {"eest", 180},
        {"msk", 180},  {"ist", 330},  {"sgt", 480},  {"hkt", 480},  {"jst", 540},   {"kst", 540},   {"aest", 600},
        {"aedt", 660}, {"nzst", 720}, {"nzdt", 780}, {"hst", -600}, {"akst", -540}, {"akdt", -480}, {"ast", -240},
        {"adt", -180}, {"nst", -210}, {"ndt", -150},
    };
    for (const auto& e : zones)
        if (e.name == w) {
            minutes = e.min;
            return true;
        }
    // §4.3: military single letters are unreliable and mean "-0000".
    if (w.size() == 1 && w[0] != 'j') {
        minutes = 0;
        return true;
    }
    return false;
}

struct fields {
    int year = -1, month = 0, day = 0, hour = 0, minute = 0, second = 0;
    std::size_t year_digits = 4;
    bool have_time = false, have_zone = false;
    int zone = 0;
    int ampm = 0;  // 1 am, 2 pm
};

std::optional<date_time> finish(fields f) {
    if (f.year < 0 || f.month < 1 || f.month > 12 || f.day < 1 || f.day > 31) return std::nullopt;
    int y = f.year;
    if (f.year_digits <= 2) y += y < 50 ? 2000 : 1900;  // RFC 5322 §4.3
    else if (f.year_digits == 3) y += 1900;
    if (y < 1000 || y > 9999) return std::nullopt;
    if (f.ampm == 1 && f.hour == 12) f.hour = 0;
    if (f.ampm == 2 && f.hour < 12) f.hour += 12;
    if (f.hour > 23 || f.minute > 59 || f.second > 60) return std::nullopt;
    const year_month_day ymd{year{y}, month{static_cast<unsigned>(f.month)}, day{static_cast<unsigned>(f.day)}};
    if (!ymd.ok()) return std::nullopt;
    date_time d;
    d.offset_minutes = f.zone;
    d.utc = sys_seconds{sys_days{ymd}} + hours{f.hour} + minutes{f.minute} + seconds{f.second} - minutes{f.zone};
    return d;
}

// "+hhmm", "+hh", "+hh:mm", "+h"; `sign` is +1/-1; t[i] is the number. Returns false if not a zone.
bool read_offset(const std::vector<tok>& t, std::size_t& i, int sign, int& out) {
    const tok& n = t[i];
    int h = 0, m = 0;
    if (n.digits == 4 || n.digits == 3) {
        h = static_cast<int>(n.value / 100);
        m = static_cast<int>(n.value % 100);
    } else if (n.digits <= 2) {
        h = static_cast<int>(n.value);
        if (i + 2 < t.size() && t[i + 1].k == tok::sym && t[i + 1].ch == ':' && t[i + 2].k == tok::num &&
            t[i + 2].digits == 2) {
            m = static_cast<int>(t[i + 2].value);
            i += 2;
        }
    } else {
        return false;
    }
    if (h > 23 || m > 59) {
        out = 0;  // nonsense offset: the time is still usable, read as UTC
        return true;
    }
    out = sign * (h * 60 + m);
    return true;
}

std::optional<date_time> parse_iso(const std::vector<tok>& t) {
    // yyyy-mm-dd[(T| )hh:mm[:ss[.frac]]][Z|±hh[:mm]|name]
    if (t.size() < 5 || t[0].k != tok::num || t[0].digits != 4 || t[1].k != tok::sym || t[1].ch != '-' ||
        t[2].k != tok::num || t[3].k != tok::sym || t[3].ch != '-' || t[4].k != tok::num)
        return std::nullopt;
    fields f;
    f.year = static_cast<int>(t[0].value);
    f.month = static_cast<int>(t[2].value);
    f.day = static_cast<int>(t[4].value);
    std::size_t i = 5;
    if (i < t.size() && t[i].k == tok::word && t[i].text == "t") ++i;
    if (i + 2 < t.size() && t[i].k == tok::num && t[i + 1].k == tok::sym && t[i + 1].ch == ':' &&
        t[i + 2].k == tok::num) {
        f.hour = static_cast<int>(t[i].value);
        f.minute = static_cast<int>(t[i + 2].value);
        i += 3;
        if (i + 1 < t.size() && t[i].k == tok::sym && t[i].ch == ':' && t[i + 1].k == tok::num) {
            f.second = static_cast<int>(t[i + 1].value);
            i += 2;
        }
        if (i + 1 < t.size() && t[i].k == tok::sym && t[i].ch == '.' && t[i + 1].k == tok::num) i += 2;
    }
    for (; i < t.size(); ++i) {
        if (t[i].k == tok::word) {
            int z = 0;
            if (zone_of(t[i].text, z)) f.zone = z;
        } else if (t[i].k == tok::sym && (t[i].ch == '+' || t[i].ch == '-') && i + 1 < t.size() &&
                   t[i + 1].k == tok::num) {
            const int sign = t[i].ch == '-' ? -1 : 1;
            ++i;
            int z = 0;
            if (read_offset(t, i, sign, z)) f.zone = z;
        }
    }
    return finish(f);
}

}  // namespace

std::optional<date_time> parse_date(std::string_view value) {
    const auto t = tokenize(value);
    if (auto iso = parse_iso(t)) return iso;
    fields f;
    for (std::size_t i = 0; i < t.size(); ++i) {
        const tok& x = t[i];
        const bool after_sign = i > 0 && t[i - 1].k == tok::sym && (t[i - 1].ch == '+' || t[i - 1].ch == '-');
        if (x.k == tok::word) {
            int z = 0;
            if (const int m = month_of(x.text); m && f.month == 0) {
                f.month = m;
            } else if (x.text == "am" || x.text == "pm") {
                f.ampm = x.text == "am" ? 1 : 2;
            } else if (!is_day_name(x.text) && zone_of(x.text, z) && (f.have_time || x.text.size() > 1)) {
                if (!f.have_zone) f.zone = z;
                f.have_zone = true;
            }
            continue;
        }
        if (x.k != tok::num) continue;
        const bool date_done = f.day && f.month && f.year >= 0;
        if (after_sign && (t[i - 1].ch == '+' || f.have_time || date_done) && (f.have_time || date_done)) {
            // A numeric zone (after a named one too: "GMT+0200" means +0200).
            int z = 0;
            std::size_t j = i;
            if (read_offset(t, j, t[i - 1].ch == '-' ? -1 : 1, z)) {
                f.zone = z;
                f.have_zone = true;
                i = j;
                continue;
            }
        }
        if (!f.have_time && i + 2 < t.size() && t[i + 1].k == tok::sym && t[i + 1].ch == ':' &&
            t[i + 2].k == tok::num) {
            f.have_time = true;
            f.hour = static_cast<int>(x.value);
            f.minute = static_cast<int>(t[i + 2].value);
            i += 2;
            if (i + 2 < t.size() && t[i + 1].k == tok::sym && t[i + 1].ch == ':' && t[i + 2].k == tok::num) {
                f.second = static_cast<int>(t[i + 2].value);
                i += 2;
            }
            if (i + 2 < t.size() && t[i + 1].k == tok::sym && t[i + 1].ch == '.' && t[i + 2].k == tok::num) i += 2;
            continue;
        }
        // Numeric dates: yyyy/mm/dd, dd/mm/yyyy when the first is > 12, else mm/dd/yyyy.
        if (f.month == 0 && i + 4 < t.size() && t[i + 1].k == tok::sym && (t[i + 1].ch == '/' || t[i + 1].ch == '.') &&
            t[i + 2].k == tok::num && t[i + 3].k == tok::sym && t[i + 3].ch == t[i + 1].ch && t[i + 4].k == tok::num) {
            const long a = x.value, b = t[i + 2].value, c = t[i + 4].value;
            if (x.digits == 4) {
                f.year = static_cast<int>(a);
                f.month = static_cast<int>(b);
                f.day = static_cast<int>(c);
            } else {
                f.year = static_cast<int>(c);
                f.year_digits = t[i + 4].digits;
                const bool dmy = a > 12 || t[i + 1].ch == '.';
                f.day = static_cast<int>(dmy ? a : b);
                f.month = static_cast<int>(dmy ? b : a);
            }
            i += 4;
            continue;
        }
        if (x.digits >= 3 || x.value > 31) {
            if (f.year < 0) {
                f.year = static_cast<int>(std::min<long>(x.value, 100000));
                f.year_digits = x.digits;
            }
        } else if (f.day == 0) {
            f.day = static_cast<int>(x.value);
        } else if (f.year < 0) {
            f.year = static_cast<int>(x.value);
            f.year_digits = x.digits;
        }
    }
    return finish(f);
}

std::string format_date(const date_time& d) {
    static constexpr const char* day_names[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr const char* month_names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    const auto local = d.utc + minutes{d.offset_minutes};
    const auto dp = floor<days>(local);
    const year_month_day ymd{dp};
    const hh_mm_ss<seconds> tod{local - dp};
    const weekday wd{dp};
    const int off = d.offset_minutes < 0 ? -d.offset_minutes : d.offset_minutes;
    char buf[64];
    std::snprintf(buf, sizeof buf, "%s, %02u %s %04d %02d:%02d:%02d %c%02d%02d", day_names[wd.c_encoding()],
                  static_cast<unsigned>(ymd.day()), month_names[static_cast<unsigned>(ymd.month()) - 1],
                  static_cast<int>(ymd.year()), static_cast<int>(tod.hours().count()),
                  static_cast<int>(tod.minutes().count()), static_cast<int>(tod.seconds().count()),
                  d.offset_minutes < 0 ? '-' : '+', off / 60, off % 60);
    return buf;
}

date_time now_utc() { return {time_point_cast<seconds>(system_clock::now()), 0}; }

}  // namespace mailwire::mime
