// The demo site's validators: entity tags of its bodies and the HTTP-dates
// of Last-Modified and If-Modified-Since (RFC 9110 sections 8.8 and 5.6.7).

#include "site_model.hpp"

#include <chrono>

namespace arachne::site {

namespace {

// -- HTTP dates (RFC 9110 section 5.6.7): UTC, proleptic Gregorian ---------

constexpr int64_t seconds_per_day = 86400;
constexpr std::string_view month_names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
constexpr std::string_view day_names[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
constexpr std::string_view long_day_names[] = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                               "Thursday", "Friday", "Saturday"};

bool is_leap(int64_t y) {
  return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

unsigned days_in_month(int64_t y, unsigned m) {
  constexpr unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return days[m - 1] + (m == 2 && is_leap(y) ? 1 : 0);
}

// Days from 1970-01-01 to y-m-d (y >= 1).
int64_t days_from_date(int64_t y, unsigned m, unsigned d) {
  auto before_year = [](int64_t year) { // days from 0001-01-01 to year-01-01
    auto p = year - 1;
    return 365 * p + p / 4 - p / 100 + p / 400;
  };
  auto days = before_year(y) - before_year(1970);
  for (unsigned i = 1; i < m; ++i)
    days += days_in_month(y, i);
  return days + d - 1;
}

struct civil_date {
  int64_t year;
  unsigned month; // 1-12
  unsigned day;   // 1-31
};

// The date `days` days after 1970-01-01.
civil_date date_from_days(int64_t days) {
  auto y = 1970 + days / 366; // close to the year; step to it
  while (days_from_date(y, 1, 1) > days)
    --y;
  while (days_from_date(y + 1, 1, 1) <= days)
    ++y;
  auto rest = days - days_from_date(y, 1, 1);
  unsigned m = 1;
  while (rest >= days_in_month(y, m))
    rest -= days_in_month(y, m++);
  return {y, m, static_cast<unsigned>(rest) + 1};
}

// `x` in decimal, zero-padded to `width` digits.
std::string padded(int64_t x, std::size_t width) {
  auto s = std::to_string(x);
  return s.size() < width ? std::string(width - s.size(), '0') + s : s;
}

// Reads the parts of an HTTP-date off the front of `rest`; once a step
// fails, `ok` stays false and the values read are meaningless.
struct date_reader {
  std::string_view rest;
  bool ok = true;

  void literal(std::string_view x) {
    ok = ok && rest.substr(0, x.size()) == x;
    if (ok)
      rest.remove_prefix(x.size());
  }

  // Exactly `n` digits.
  unsigned number(std::size_t n) {
    unsigned x = 0;
    for (std::size_t i = 0; ok && i < n; ++i) {
      ok = i < rest.size() && rest[i] >= '0' && rest[i] <= '9';
      if (ok)
        x = x * 10 + static_cast<unsigned>(rest[i] - '0');
    }
    if (ok)
      rest.remove_prefix(n);
    return x;
  }

  // One of `names` (case-sensitive, as the grammar says); its index.
  template <std::size_t N>
  unsigned name(const std::string_view (&names)[N]) {
    for (unsigned i = 0; ok && i < N; ++i) {
      if (rest.substr(0, names[i].size()) == names[i]) {
        rest.remove_prefix(names[i].size());
        return i;
      }
    }
    ok = false;
    return 0;
  }

  // The whole input was read, and well.
  bool done() const {
    return ok && rest.empty();
  }
};

struct date_parts {
  int64_t year = 0;
  unsigned month = 0, day = 0, hour = 0, minute = 0, second = 0;

  // hour ":" minute ":" second
  void read_time(date_reader& r) {
    hour = r.number(2);
    r.literal(":");
    minute = r.number(2);
    r.literal(":");
    second = r.number(2);
  }
};

// The year a two-digit rfc850 year means: RFC 9110 section 5.6.7 takes one
// more than 50 years in the future as the last such year in the past.
int64_t full_year(unsigned yy) {
  using namespace std::chrono;
  auto now = duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
  auto this_year = date_from_days(now / seconds_per_day).year;
  auto y = this_year - this_year % 100 + yy;
  if (y > this_year + 50)
    y -= 100;
  else if (y <= this_year - 50)
    y += 100;
  return y;
}

} // namespace

std::string entity_tag(std::string_view body) {
  uint64_t hash = 0xcbf29ce484222325ull; // FNV-1a, 64 bits: offset basis, then xor and multiply
  for (auto c : body) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ull;
  }
  std::string out(18, '"');
  for (std::size_t i = 16; i >= 1; --i, hash >>= 4)
    out[i] = "0123456789abcdef"[hash & 15];
  return out;
}

std::string http_date(int64_t t) {
  auto days = t / seconds_per_day;
  auto secs = t % seconds_per_day;
  if (secs < 0) {
    secs += seconds_per_day;
    --days;
  }
  auto d = date_from_days(days);
  std::string out{day_names[(days % 7 + 11) % 7]}; // 1970-01-01 was a Thursday
  out += ", " + padded(d.day, 2) + " ";
  out += month_names[d.month - 1];
  out += " " + padded(d.year, 4) + " " + padded(secs / 3600, 2) + ":" + padded(secs / 60 % 60, 2)
         + ":" + padded(secs % 60, 2) + " GMT";
  return out;
}

std::optional<int64_t> parse_http_date(std::string_view s) {
  std::optional<date_parts> got;
  {
    // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
    date_reader r{s};
    date_parts p;
    r.name(day_names);
    r.literal(", ");
    p.day = r.number(2);
    r.literal(" ");
    p.month = r.name(month_names) + 1;
    r.literal(" ");
    p.year = r.number(4);
    r.literal(" ");
    p.read_time(r);
    r.literal(" GMT");
    if (r.done())
      got = p;
  }
  if (!got) {
    // rfc850-date (obsolete): Sunday, 06-Nov-94 08:49:37 GMT
    date_reader r{s};
    date_parts p;
    r.name(long_day_names);
    r.literal(", ");
    p.day = r.number(2);
    r.literal("-");
    p.month = r.name(month_names) + 1;
    r.literal("-");
    auto yy = r.number(2);
    r.literal(" ");
    p.read_time(r);
    r.literal(" GMT");
    if (r.done()) {
      p.year = full_year(yy);
      got = p;
    }
  }
  if (!got) {
    // asctime-date (obsolete): Sun Nov  6 08:49:37 1994
    date_reader r{s};
    date_parts p;
    r.name(day_names);
    r.literal(" ");
    p.month = r.name(month_names) + 1;
    r.literal(" ");
    if (r.rest.substr(0, 1) == " ") {
      r.literal(" ");
      p.day = r.number(1);
    } else {
      p.day = r.number(2);
    }
    r.literal(" ");
    p.read_time(r);
    r.literal(" ");
    p.year = r.number(4);
    if (r.done())
      got = p;
  }
  // The grammar's ranges (a second of 60 is a leap second).
  if (!got || got->year < 1 || got->day < 1 || got->day > days_in_month(got->year, got->month)
      || got->hour > 23 || got->minute > 59 || got->second > 60)
    return std::nullopt;
  return days_from_date(got->year, got->month, got->day) * seconds_per_day + got->hour * 3600
         + got->minute * 60 + got->second;
}

} // namespace arachne::site
