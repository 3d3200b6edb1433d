#include "arachne/cookies.hpp"

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <optional>

#include "caf/sec.hpp"

#include "text.hpp"
#include "url/host.hpp"

// The algorithms of RFC 6265 §5, step by step, with the later rules of
// RFC 6265bis that browsers follow (marked "6265bis").

namespace arachne {

namespace {

using clock = cookie_jar::clock;
using std::chrono::seconds;

// 6265bis §5.5: no cookie lives longer than 400 days.
constexpr auto max_lifetime = seconds{400LL * 24 * 3600};

// 6265bis §5.6: attribute values longer than this are ignored.
constexpr std::size_t max_attribute_bytes = 1024;

// Seconds since the epoch that a system_clock time point can hold (±285 years).
constexpr int64_t min_seconds = -9'000'000'000LL;
constexpr int64_t max_seconds = 9'000'000'000LL;

clock::time_point from_seconds(int64_t s) {
  s = std::clamp(s, min_seconds, max_seconds);
  return clock::time_point{std::chrono::duration_cast<clock::duration>(seconds{s})};
}

int64_t to_seconds(clock::time_point t) {
  return std::chrono::duration_cast<seconds>(t.time_since_epoch()).count();
}

bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

// §5.1.1 delimiter: %x09 / %x20-2F / %x3B-40 / %x5B-60 / %x7B-7E.
bool is_date_delimiter(unsigned char c) noexcept {
  return c == 0x09 || (c >= 0x20 && c <= 0x2F) || (c >= 0x3B && c <= 0x40)
         || (c >= 0x5B && c <= 0x60) || (c >= 0x7B && c <= 0x7E);
}

// Reads 1*max DIGIT at the start of `s` (at least `min`) followed by a
// non-digit or the end; the value, or -1.
int leading_number(std::string_view s, std::size_t min, std::size_t max, std::size_t* used = nullptr) {
  std::size_t n = 0;
  int value = 0;
  while (n < s.size() && is_digit(s[n])) {
    if (n == max)
      return -1; // more digits than the production allows
    value = value * 10 + (s[n] - '0');
    ++n;
  }
  if (n < min)
    return -1;
  if (used)
    *used = n;
  return value;
}

// §5.1.1 time = hms-time ( non-digit *OCTET ).
bool parse_time(std::string_view token, int& h, int& m, int& s) {
  std::size_t used = 0;
  h = leading_number(token, 1, 2, &used);
  if (h < 0 || used >= token.size() || token[used] != ':')
    return false;
  token.remove_prefix(used + 1);
  m = leading_number(token, 1, 2, &used);
  if (m < 0 || used >= token.size() || token[used] != ':')
    return false;
  token.remove_prefix(used + 1);
  s = leading_number(token, 1, 2, &used);
  return s >= 0;
}

int parse_month(std::string_view token) {
  static constexpr const char* months[]
    = {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"};
  if (token.size() < 3)
    return 0;
  for (int i = 0; i < 12; ++i)
    if (text::iequals(token.substr(0, 3), months[i]))
      return i + 1;
  return 0;
}

// Days from 1970-01-01 to a date of the proleptic Gregorian calendar.
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  auto era = (y >= 0 ? y : y - 399) / 400;
  auto yoe = static_cast<unsigned>(y - era * 400);
  auto doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  auto doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

int days_in_month(int y, int m) {
  static constexpr int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  auto leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : days[m - 1];
}

caf::error invalid(std::string what) {
  return caf::make_error(caf::sec::invalid_argument, std::move(what));
}

bool has_ctl(std::string_view s) {
  // 6265bis §5.6: a name or value with a control character is no cookie.
  // (It lets HTAB through; here a tab is refused too: the Netscape cookie
  // file the jar is kept in separates its fields with tabs.)
  return std::any_of(s.begin(), s.end(), [](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return c < 0x20 || c == 0x7F;
  });
}

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && text::iequals(s.substr(0, prefix.size()), prefix);
}

// A Domain attribute's value in the form hosts take: lower case, IDNA-encoded.
// Empty if it is no host name (spaces, ';', ...: the URL Standard's host parser says).
std::string canonical_domain(std::string_view value) {
  auto plain = std::all_of(value.begin(), value.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '.' || c == '-'
           || c == '_';
  });
  if (plain)
    return text::lower(value);
  auto parsed = parse_url("http://" + std::string{value} + "/");
  if (!parsed && value.find(':') != std::string_view::npos) // an IPv6 address, as hosts hold it
    parsed = parse_url("http://[" + std::string{value} + "]/");
  if (!parsed)
    return {};
  auto ascii = std::all_of(value.begin(), value.end(),
                           [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  // (ASCII as written; IDNA-encoded otherwise, where a full stop such as
  // U+3002 becomes a '.' that may lead, as it cannot in a domain.)
  auto domain = ascii ? text::lower(value) : std::string{parsed->hostname()};
  return domain.empty() || domain.front() == '.' ? std::string{} : domain;
}

/// A Set-Cookie header taken apart (§5.2), before the storage model.
struct parsed_cookie {
  std::string name;
  std::string value;
  std::optional<clock::time_point> expires; // from Max-Age, else Expires
  std::optional<std::string> domain;
  bool domain_given = false; // a Domain naming something (not "Domain=.")
  std::optional<std::string> path;
  bool secure = false;
  bool http_only = false;
};

enum class parse_failure { none, malformed, too_large };

parse_failure parse_set_cookie(std::string_view header, clock::time_point now,
                               std::size_t max_bytes, parsed_cookie& out) {
  // 6265bis §5.6 step 1: a control character other than HTAB anywhere
  // ignores the whole header.
  if (std::any_of(header.begin(), header.end(), [](char ch) {
        auto c = static_cast<unsigned char>(ch);
        return (c < 0x20 && c != '\t') || c == 0x7F;
      }))
    return parse_failure::malformed;
  // 1-3: the name-value-pair is everything up to the first ';'.
  auto semi = header.find(';');
  auto pair = header.substr(0, semi);
  auto attrs = semi == std::string_view::npos ? std::string_view{} : header.substr(semi);
  auto eq = pair.find('=');
  if (eq == std::string_view::npos)
    return parse_failure::malformed; // RFC 6265 ignores a pair without '='
  // 4-5: trimmed; an empty name is no cookie.
  auto name = text::trim(pair.substr(0, eq));
  auto value = text::trim(pair.substr(eq + 1));
  if (name.empty() || has_ctl(name) || has_ctl(value))
    return parse_failure::malformed;
  if (name.size() + value.size() > max_bytes)
    return parse_failure::too_large;
  out.name = std::string{name};
  out.value = std::string{value};
  std::optional<clock::time_point> max_age, expires;
  // §5.2 attributes, each up to the next ';'; unknown ones are ignored.
  while (!attrs.empty()) {
    attrs.remove_prefix(1); // the ';'
    auto next = attrs.find(';');
    auto av = attrs.substr(0, next);
    attrs = next == std::string_view::npos ? std::string_view{} : attrs.substr(next);
    auto aeq = av.find('=');
    auto aname = text::trim(av.substr(0, aeq));
    auto avalue = aeq == std::string_view::npos ? std::string_view{} : text::trim(av.substr(aeq + 1));
    if (avalue.size() > max_attribute_bytes)
      continue;
    if (text::iequals(aname, "expires")) {
      // §5.2.1: a date that does not parse leaves the attribute out.
      if (auto t = parse_cookie_date(avalue))
        expires = *t;
    } else if (text::iequals(aname, "max-age")) {
      // §5.2.2: DIGIT or '-' first, then DIGITs only.
      if (avalue.empty() || !(is_digit(avalue[0]) || avalue[0] == '-'))
        continue;
      auto digits = avalue[0] == '-' ? avalue.substr(1) : avalue;
      if (digits.empty() || !std::all_of(digits.begin(), digits.end(), is_digit))
        continue;
      if (avalue[0] == '-' || std::all_of(digits.begin(), digits.end(), [](char c) { return c == '0'; })) {
        max_age = clock::time_point::min(); // the earliest representable time
      } else {
        // Long values saturate: the 400-day cap applies anyway.
        digits.remove_prefix(std::min(digits.find_first_not_of('0'), digits.size()));
        auto delta = digits.size() > 12 ? int64_t{999'999'999'999}
                                        : std::strtoll(std::string{digits}.c_str(), nullptr, 10);
        max_age = now + std::chrono::duration_cast<clock::duration>(std::min(seconds{delta}, max_lifetime));
      }
    } else if (text::iequals(aname, "domain")) {
      // §5.2.3: an empty value is ignored; a leading dot is dropped.
      if (avalue.empty())
        continue;
      if (avalue.front() == '.')
        avalue.remove_prefix(1);
      // (An empty cookie-domain, "Domain=.", makes a host-only cookie: §5.3 step 6.)
      out.domain = avalue.empty() ? std::string{} : canonical_domain(avalue);
      out.domain_given = !avalue.empty();
    } else if (text::iequals(aname, "path")) {
      // (A tab inside would split the path in the cookie file: no cookie,
      // as for a name or value with one.)
      if (has_ctl(avalue))
        return parse_failure::malformed;
      // §5.2.4: anything not starting with '/' means the default-path.
      if (avalue.empty() || avalue.front() != '/')
        out.path.reset();
      else
        out.path = std::string{avalue};
    } else if (text::iequals(aname, "secure")) {
      out.secure = true;
    } else if (text::iequals(aname, "httponly")) {
      out.http_only = true;
    }
  }
  // §5.3 step 3: Max-Age wins over Expires.
  out.expires = max_age ? max_age : expires;
  if (out.expires && *out.expires != clock::time_point::min())
    out.expires = std::min(*out.expires, now + max_lifetime); // 6265bis §5.5
  return parse_failure::none;
}

bool expired(const cookie& c, clock::time_point now) {
  return c.persistent && c.expires <= now;
}

} // namespace

// -- RFC 6265 §5.1 ---------------------------------------------------------------

caf::expected<clock::time_point> parse_cookie_date(std::string_view text) {
  // §5.1.1: split into date-tokens at delimiters; each token is tried as a
  // time, a day of month, a month and a year, in that order, first found wins.
  bool found_time = false, found_day = false, found_month = false, found_year = false;
  int hour = 0, minute = 0, second = 0, day = 0, month = 0, year = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_date_delimiter(static_cast<unsigned char>(text[i])))
      ++i;
    auto start = i;
    while (i < text.size() && !is_date_delimiter(static_cast<unsigned char>(text[i])))
      ++i;
    auto token = text.substr(start, i - start);
    if (token.empty())
      continue;
    int h, m, s;
    if (!found_time && parse_time(token, h, m, s)) {
      found_time = true;
      hour = h;
      minute = m;
      second = s;
    } else if (int d; !found_day && (d = leading_number(token, 1, 2)) >= 0) {
      found_day = true;
      day = d;
    } else if (int mo; !found_month && (mo = parse_month(token)) > 0) {
      found_month = true;
      month = mo;
    } else if (int y; !found_year && (y = leading_number(token, 2, 4)) >= 0) {
      found_year = true;
      year = y;
    }
  }
  // Two-digit years: 70-99 are 1970-1999, 00-69 are 2000-2069.
  if (year >= 70 && year <= 99)
    year += 1900;
  else if (year >= 0 && year <= 69)
    year += 2000;
  if (!found_time || !found_day || !found_month || !found_year)
    return invalid("cookie-date lacks a time, day, month or year");
  if (day < 1 || day > 31 || year < 1601 || hour > 23 || minute > 59 || second > 59)
    return invalid("cookie-date out of range");
  if (day > days_in_month(year, month))
    return invalid("cookie-date names a day the month does not have");
  auto days = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  return from_seconds(days * 86400 + hour * 3600 + minute * 60 + second);
}

bool cookie_domain_match(std::string_view host, std::string_view domain) {
  if (host == domain)
    return true;
  // A suffix after a dot, of a host name (never of an IP address).
  return !domain.empty() && host.size() > domain.size()
         && host.substr(host.size() - domain.size()) == domain
         && host[host.size() - domain.size() - 1] == '.'
         && !url_detail::is_ipv4_literal(host) && host.find(':') == std::string_view::npos;
}

std::string cookie_default_path(std::string_view path) {
  if (path.empty() || path.front() != '/')
    return "/";
  auto last = path.rfind('/');
  if (last == 0)
    return "/";
  return std::string{path.substr(0, last)};
}

bool cookie_path_match(std::string_view request_path, std::string_view cookie_path) {
  if (request_path == cookie_path)
    return true;
  if (request_path.size() <= cookie_path.size()
      || request_path.substr(0, cookie_path.size()) != cookie_path)
    return false;
  return cookie_path.back() == '/' || request_path[cookie_path.size()] == '/';
}

// -- the jar -----------------------------------------------------------------------

cookie_verdict cookie_jar::set(const url& request, std::string_view set_cookie,
                               clock::time_point now) {
  std::string why;
  return set(request, set_cookie, now, why);
}

cookie_verdict cookie_jar::set(const url& request, std::string_view set_cookie,
                               clock::time_point now, std::string& why) {
  parsed_cookie p;
  switch (parse_set_cookie(set_cookie, now, limits_.max_bytes, p)) {
    case parse_failure::malformed:
      ++stats_.malformed;
      why = "not a cookie (no name=value)";
      return cookie_verdict::malformed;
    case parse_failure::too_large:
      ++stats_.rejected;
      why = "name and value longer than " + std::to_string(limits_.max_bytes) + " bytes";
      return cookie_verdict::rejected;
    case parse_failure::none:
      break;
  }
  auto reject = [&](std::string reason) {
    ++stats_.rejected;
    why = std::move(reason);
    return cookie_verdict::rejected;
  };
  std::string host{request.hostname()};
  auto secure_origin = request.is_https();
  cookie c;
  c.name = std::move(p.name);
  c.value = std::move(p.value);
  // Step 3: the expiry.
  if (p.expires) {
    c.persistent = true;
    c.expires = *p.expires;
  }
  // Steps 4-6: the domain. A public suffix is refused unless it is the
  // request's host itself, which then gets a host-only cookie.
  if (p.domain_given && p.domain->empty())
    return reject("Domain= names no host");
  auto domain = p.domain.value_or(std::string{});
  if (!domain.empty() && is_public_suffix(domain)) {
    if (domain != host)
      return reject("Domain=" + domain + " is a public suffix");
    domain.clear();
  }
  if (!domain.empty()) {
    if (!cookie_domain_match(host, domain))
      return reject("Domain=" + domain + " does not cover " + host);
    c.host_only = false;
    c.domain = std::move(domain);
  } else {
    c.host_only = true;
    c.domain = host;
  }
  // Step 7: the path.
  c.path = p.path ? *p.path : cookie_default_path(request.path());
  // Steps 8-9.
  c.secure = p.secure;
  c.http_only = p.http_only;
  // 6265bis §5.7 steps 14-15: only a secure origin sets Secure cookies, and
  // an insecure one cannot shadow a Secure cookie of the same name.
  if (c.secure && !secure_origin)
    return reject("Secure cookie from a non-https response");
  if (!c.secure && !secure_origin && shadows_secure(c))
    return reject("would overwrite a Secure cookie from a non-https response");
  // 6265bis §4.1.3: the name prefixes.
  if (starts_with_ci(c.name, "__Secure-") && !c.secure)
    return reject("__Secure- cookie without Secure");
  if (starts_with_ci(c.name, "__Host-") && !(c.secure && c.host_only && p.path && *p.path == "/"))
    return reject("__Host- cookie needs Secure, no Domain and Path=/");
  auto verdict = insert(std::move(c), now);
  ++(verdict == cookie_verdict::stored ? stats_.stored : stats_.removed);
  return verdict;
}

bool cookie_jar::shadows_secure(const cookie& c) const {
  for (auto& [key, entry] : by_domain_) {
    if (!cookie_domain_match(key, c.domain) && !cookie_domain_match(c.domain, key))
      continue;
    for (auto& old : entry.cookies)
      if (old.secure && old.name == c.name && cookie_path_match(c.path, old.path))
        return true;
  }
  return false;
}

cookie_verdict cookie_jar::insert(cookie c, clock::time_point now) {
  auto& entry = by_domain_[c.domain];
  if (entry.site.empty())
    entry.site = registrable_domain(c.domain);
  auto& list = entry.cookies;
  // Step 11: the same name, domain and path replace the old cookie, which
  // passes on its creation time.
  auto same = std::find_if(list.begin(), list.end(), [&](const cookie& old) {
    return old.name == c.name && old.path == c.path;
  });
  c.created = same != list.end() ? same->created : ++serial_;
  c.accessed = ++serial_;
  // (The version moves only when the jar really changes: a site that sends
  // the same cookie again changes nothing, to save or to a redirect chain.)
  if (expired(c, now)) {
    // An expiry in the past removes the cookie (step 12 stores it expired,
    // and it is gone at once).
    if (same != list.end())
      drop(entry, static_cast<std::size_t>(same - list.begin()));
    if (list.empty())
      by_domain_.erase(c.domain);
    return cookie_verdict::removed;
  }
  if (same != list.end()) {
    auto identical = same->value == c.value && same->persistent == c.persistent
                     && (!c.persistent || same->expires == c.expires) && same->secure == c.secure
                     && same->http_only == c.http_only && same->host_only == c.host_only;
    if (!identical)
      ++version_;
    *same = std::move(c);
    return cookie_verdict::stored;
  }
  ++version_;
  auto site = entry.site;
  list.push_back(std::move(c));
  ++per_site_[site];
  ++size_;
  if (per_site_[site] > limits_.per_domain)
    evict(&site, now);
  if (size_ > limits_.total)
    evict(nullptr, now);
  return cookie_verdict::stored;
}

void cookie_jar::drop(domain_entry& entry, std::size_t i) {
  auto s = per_site_.find(entry.site);
  if (s != per_site_.end() && --s->second == 0)
    per_site_.erase(s);
  entry.cookies.erase(entry.cookies.begin() + static_cast<std::ptrdiff_t>(i));
  --size_;
  ++version_;
}

void cookie_jar::evict(const std::string* site, clock::time_point now) {
  // §5.3: expired cookies go first, then the least recently used ones, until
  // the site (or the jar) is within its limit.
  auto over = [&] {
    if (site) {
      auto s = per_site_.find(*site);
      return s != per_site_.end() && s->second > limits_.per_domain;
    }
    return size_ > limits_.total;
  };
  for (auto i = by_domain_.begin(); i != by_domain_.end() && over();) {
    auto& entry = i->second;
    if (!site || entry.site == *site)
      for (std::size_t k = entry.cookies.size(); k-- > 0;)
        if (expired(entry.cookies[k], now)) {
          drop(entry, k);
          ++stats_.removed;
        }
    i = entry.cookies.empty() ? by_domain_.erase(i) : std::next(i);
  }
  while (over()) {
    domain_entry* oldest_entry = nullptr;
    std::size_t oldest = 0;
    for (auto& [key, entry] : by_domain_) {
      if (site && entry.site != *site)
        continue;
      for (std::size_t k = 0; k < entry.cookies.size(); ++k)
        if (!oldest_entry || entry.cookies[k].accessed < oldest_entry->cookies[oldest].accessed) {
          oldest_entry = &entry;
          oldest = k;
        }
    }
    if (!oldest_entry)
      break;
    auto key = oldest_entry->cookies[oldest].domain;
    drop(*oldest_entry, oldest);
    ++stats_.evicted;
    if (oldest_entry->cookies.empty())
      by_domain_.erase(key);
  }
}

std::string cookie_jar::header(const url& request, clock::time_point now) {
  if (size_ == 0)
    return {};
  std::string host{request.hostname()};
  auto path = request.path();
  auto secure = request.is_https();
  std::vector<cookie*> found;
  // The host and each parent domain: host-only cookies only on the host itself.
  auto look = [&](const std::string& key, bool exact) {
    auto i = by_domain_.find(key);
    if (i == by_domain_.end())
      return;
    auto& entry = i->second;
    for (std::size_t k = entry.cookies.size(); k-- > 0;)
      if (expired(entry.cookies[k], now)) {
        drop(entry, k);
        ++stats_.removed;
      }
    if (entry.cookies.empty()) {
      // Pointers into other entries stay valid: only this one goes.
      by_domain_.erase(i);
      return;
    }
    for (auto& c : entry.cookies)
      if (!(c.host_only && !exact) && !(c.secure && !secure) && cookie_path_match(path, c.path))
        found.push_back(&c);
  };
  look(host, true);
  auto is_name = !url_detail::is_ipv4_literal(host) && host.find(':') == std::string::npos;
  for (auto dot = host.find('.'); is_name && dot != std::string::npos; dot = host.find('.', dot + 1))
    look(host.substr(dot + 1), false);
  if (found.empty())
    return {};
  // §5.4 step 2: longer paths first, then earlier creation.
  std::sort(found.begin(), found.end(), [](const cookie* a, const cookie* b) {
    if (a->path.size() != b->path.size())
      return a->path.size() > b->path.size();
    return a->created < b->created;
  });
  std::string out;
  for (auto* c : found) {
    c->accessed = ++serial_;
    if (!out.empty())
      out += "; ";
    out += c->name;
    out += '=';
    out += c->value;
  }
  return out;
}

caf::error cookie_jar::seed(std::string_view entry, clock::time_point now) {
  // HOST:NAME=VALUE[; attributes], the host possibly an IPv6 literal in brackets.
  std::size_t colon;
  if (!entry.empty() && entry.front() == '[') {
    auto close = entry.find(']');
    colon = close == std::string_view::npos ? close : entry.find(':', close);
  } else {
    colon = entry.find(':');
  }
  if (colon == std::string_view::npos || colon == 0)
    return invalid("cookie '" + std::string{entry} + "' is not HOST:NAME=VALUE");
  auto host = entry.substr(0, colon);
  auto rest = text::trim(entry.substr(colon + 1));
  // An https origin, so that Secure cookies may be seeded too.
  auto origin = parse_url("https://" + std::string{host} + "/");
  if (!origin)
    return invalid("cookie '" + std::string{entry} + "': '" + std::string{host}
                   + "' is not a host name");
  std::string set_cookie{rest};
  parsed_cookie probe;
  // (A __Host- cookie is host-only by definition: no Domain for it.)
  if (parse_set_cookie(rest, now, limits_.max_bytes, probe) == parse_failure::none && !probe.domain
      && !starts_with_ci(probe.name, "__Host-"))
    set_cookie += "; Domain=" + std::string{origin->hostname()};
  std::string why;
  auto verdict = set(*origin, set_cookie, now, why);
  if (verdict == cookie_verdict::stored)
    return caf::none;
  if (verdict == cookie_verdict::removed)
    return invalid("cookie '" + std::string{entry} + "' has already expired");
  return invalid("cookie '" + std::string{entry} + "': " + why);
}

caf::expected<std::size_t> cookie_jar::load_netscape(std::string_view text, clock::time_point now) {
  std::size_t added = 0;
  std::size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    auto nl = text.find('\n');
    auto line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (!line.empty() && line.back() == '\r')
      line.remove_suffix(1);
    // "#HttpOnly_" marks an HttpOnly cookie (curl's extension); other '#'
    // lines are comments.
    bool http_only = false;
    if (starts_with_ci(line, "#HttpOnly_")) {
      http_only = true;
      line.remove_prefix(10);
    } else if (text::trim(line).empty() || line.front() == '#') {
      continue;
    }
    std::vector<std::string_view> fields;
    for (std::size_t start = 0;;) {
      auto tab = line.find('\t', start);
      fields.push_back(line.substr(start, tab - start));
      if (tab == std::string_view::npos)
        break;
      start = tab + 1;
    }
    auto bad = [&](const std::string& why) {
      return invalid("line " + std::to_string(line_no) + ": " + why);
    };
    if (fields.size() == 6)
      fields.emplace_back(); // an empty value
    if (fields.size() != 7)
      return bad("expected 7 tab-separated fields (domain, subdomains, path, secure, expiry, name, "
                 "value), found "
                 + std::to_string(fields.size()));
    auto flag = [](std::string_view f) -> std::optional<bool> {
      if (text::iequals(f, "TRUE"))
        return true;
      if (text::iequals(f, "FALSE"))
        return false;
      return std::nullopt;
    };
    auto subdomains = flag(fields[1]);
    auto secure = flag(fields[3]);
    if (!subdomains || !secure)
      return bad("the subdomains and secure fields are TRUE or FALSE");
    auto domain = fields[0];
    if (!domain.empty() && domain.front() == '.')
      domain.remove_prefix(1);
    if (domain.empty() || domain.front() == '.')
      return bad("no domain");
    if (fields[2].empty() || fields[2].front() != '/' || has_ctl(fields[2]))
      return bad("the path must start with '/' and hold no control characters");
    auto expiry = fields[4];
    if (expiry.empty() || !std::all_of(expiry.begin(), expiry.end(), is_digit) || expiry.size() > 12)
      return bad("the expiry is seconds since 1970 (0: a session cookie)");
    if (fields[5].empty() || has_ctl(fields[5]) || has_ctl(fields[6]))
      return bad("no cookie name, or control characters");
    cookie c;
    c.domain = canonical_domain(domain);
    if (c.domain.empty())
      return bad("'" + std::string{domain} + "' is not a domain");
    c.host_only = !*subdomains;
    c.path = std::string{fields[2]};
    c.secure = *secure;
    c.http_only = http_only;
    auto seconds_since = std::strtoll(std::string{expiry}.c_str(), nullptr, 10);
    if (seconds_since != 0) {
      c.persistent = true;
      c.expires = from_seconds(seconds_since);
      if (expired(c, now))
        continue;
    }
    c.name = std::string{fields[5]};
    c.value = std::string{fields[6]};
    if (c.name.size() + c.value.size() > limits_.max_bytes)
      return bad("cookie larger than " + std::to_string(limits_.max_bytes) + " bytes");
    insert(std::move(c), now);
    ++added;
  }
  return added;
}

std::vector<cookie> cookie_jar::all() const {
  std::vector<cookie> out;
  out.reserve(size_);
  for (auto& [key, entry] : by_domain_)
    out.insert(out.end(), entry.cookies.begin(), entry.cookies.end());
  std::sort(out.begin(), out.end(),
            [](const cookie& a, const cookie& b) { return a.created < b.created; });
  return out;
}

std::string cookie_jar::to_netscape(clock::time_point now) const {
  std::string out = "# Netscape HTTP Cookie File\n"
                    "# The cookies of an Arachne crawl (domain, subdomains, path, secure, expiry, "
                    "name, value).\n";
  for (auto& c : all()) {
    if (expired(c, now))
      continue;
    if (c.http_only)
      out += "#HttpOnly_";
    out += c.host_only ? c.domain : "." + c.domain;
    out += c.host_only ? "\tFALSE\t" : "\tTRUE\t";
    out += c.path;
    out += c.secure ? "\tTRUE\t" : "\tFALSE\t";
    out += c.persistent ? std::to_string(std::max<int64_t>(1, to_seconds(c.expires))) : "0";
    out += '\t';
    out += c.name;
    out += '\t';
    out += c.value;
    out += '\n';
  }
  return out;
}

void cookie_jar::clear() {
  if (size_ > 0)
    ++version_;
  by_domain_.clear();
  per_site_.clear();
  size_ = 0;
}

} // namespace arachne
