#include "arachne/robots.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <string>

#include "arachne/url.hpp"

using namespace arachne;
using namespace std::chrono_literals;

TEST_CASE("robots patterns match as RFC 9309 says", "[robots]") {
  // RFC 9309 section 2.2.2 (paths are prefixes, case-sensitive) and 2.2.3
  // ('*' any characters, a final '$' the end), with its examples.
  struct row {
    const char* pattern;
    const char* target;
    bool match;
  };
  const row rows[] = {
    {"/", "/anything", true},
    {"/fish", "/fish", true},
    {"/fish", "/fish.html", true},
    {"/fish", "/Fish.asp", false},
    {"/fish", "/catfish", false},
    {"/fish*", "/fishheads/yummy.html", true},
    {"/fish/", "/fish", false},
    {"/*.php", "/folder/filename.php?parameters", true},
    {"/*.php", "/windows.PHP", false},
    {"/*.php$", "/filename.php", true},
    {"/*.php$", "/filename.php?parameters", false},
    {"/fish*.php", "/fishheads/catfish.php?parameters", true},
    {"/fish*.php", "/Fish.PHP", false},
    {"/docs/*7/$", "/docs/17/", true},
    {"/docs/*7/$", "/docs/17/x", false},
    {"/docs/*7/$", "/docs/71/", false},
    {"/a*b*c", "/aXbYc", true},
    {"/a*b*c", "/aXcYb", false},
    {"*", "/x", true},
    {"/$", "/", true},
    {"/$", "/x", false},
  };
  for (auto& r : rows) {
    INFO(r.pattern << " vs " << r.target);
    CHECK(robots_pattern_matches(r.pattern, r.target) == r.match);
  }
}

namespace {

// One decision: may `user_agent` fetch `url` under `robots`? The URL goes
// through parse_url first, as every URL of a crawl does.
struct decision {
  const char* section; // of RFC 9309, or robots.md for a documented choice
  const char* robots;
  const char* user_agent;
  const char* url;
  bool allowed;
};

const decision decisions[] = {
  // -- 2.1: lines, groups, records outside groups --
  {"2.1 rules outside groups are ignored", "Disallow: /x\nUser-agent: a\nDisallow: /y\n", "b", "http://h/x", true},
  {"2.1 a group is its user-agent lines", "User-agent: a\nUser-agent: b\nDisallow: /x\n", "b", "http://h/x", false},
  {"2.1 a rule ends the user-agent lines", "User-agent: a\nDisallow: /x\nUser-agent: b\nDisallow: /y\n", "b", "http://h/x", true},
  {"2.1 sitemap lines close no group", "User-agent: b\nSitemap: http://h/s.xml\nUser-agent: *\nDisallow: /\n", "b", "http://h/", false},
  {"2.1 unknown lines close no group", "User-agent: b\nUnknown: x\nUser-agent: *\nDisallow: /\n", "b", "http://h/", false},
  {"2.1 crawl-delay closes no group", "User-agent: b\nCrawl-delay: 1\nUser-agent: *\nDisallow: /\n", "b", "http://h/", false},
  {"2.1 directive names are case-insensitive", "USER-AGENT: a\nDISALLOW: /x\n", "a", "http://h/x", false},
  {"2.1 line ends: LF", "User-agent: a\nDisallow: /x\n", "a", "http://h/x", false},
  {"2.1 line ends: CR LF", "User-agent: a\r\nDisallow: /x\r\n", "a", "http://h/x", false},
  {"2.1 line ends: CR", "User-agent: a\rDisallow: /x\r", "a", "http://h/x", false},
  {"2.1 no final line end", "User-agent: a\nDisallow: /x", "a", "http://h/x", false},
  {"2.1 a UTF-8 byte order mark is skipped", "\xEF\xBB\xBFUser-agent: a\nDisallow: /x\n", "a", "http://h/x", false},
  {"2.1 a byte order mark elsewhere is garbage", "User-agent: a\n\xEF\xBB\xBF" "Disallow: /x\n", "a", "http://h/x", true},
  {"2.1 '#' starts a comment", "User-agent: a # us\nDisallow: /x#y\n", "a", "http://h/x", false},
  {"2.1 a comment line", "User-agent: a\n# Disallow: /\nDisallow: /x\n", "a", "http://h/y", true},
  // -- 2.2.1: which group applies --
  {"2.2.1 product token matched without case", "User-agent: ARACHNE\nDisallow: /x\n", "arachne/0.1", "http://h/x", false},
  {"2.2.1 the token of a user-agent line ends at '/'", "User-agent: arachne/2.0\nDisallow: /x\n", "arachne", "http://h/x", false},
  {"2.2.1 groups naming the token are merged", "User-agent: a\nDisallow: /x\n\nUser-agent: b\nDisallow: /\n\nUser-agent: A\nDisallow: /y\n", "a", "http://h/y", false},
  {"2.2.1 groups naming the token are merged (first)", "User-agent: a\nDisallow: /x\n\nUser-agent: A\nDisallow: /y\n", "a", "http://h/x", false},
  {"2.2.1 '*' when no group names the token", "User-agent: *\nDisallow: /x\nUser-agent: b\nDisallow: /\n", "a", "http://h/x", false},
  {"2.2.1 '*' not when a group names the token", "User-agent: *\nDisallow: /x\nUser-agent: a\nDisallow: /y\n", "a", "http://h/x", true},
  {"2.2.1 no group, no rule", "User-agent: b\nDisallow: /\n", "a", "http://h/x", true},
  {"2.2.1 an invalid product token obeys '*'", "User-agent: *\nDisallow: /\nUser-agent: a*b\nAllow: /\n", "a*b/1.0", "http://h/x", false},
  // -- 2.2.2: longest match, Allow on ties, percent-encoding --
  {"2.2.2 the longest match wins", "User-agent: a\nDisallow: /x/page.html\nAllow: /x/\n", "a", "http://h/x/page.html", false},
  {"2.2.2 the longest match wins (allow)", "User-agent: a\nAllow: /x/page.html\nDisallow: /x/\n", "a", "http://h/x/page.html", true},
  {"2.2.2 Allow wins a tie", "User-agent: a\nDisallow: /x\nAllow: /x\n", "a", "http://h/x", true},
  {"2.2.2 an empty Disallow allows", "User-agent: a\nDisallow:\n", "a", "http://h/x", true},
  {"2.2.2 paths are case-sensitive", "User-agent: a\nDisallow: /X\n", "a", "http://h/x", true},
  {"2.2.2 a pattern's unreserved escape is the character", "User-agent: a\nDisallow: /%7Euser/\n", "a", "http://h/~user/x", false},
  {"2.2.2 a path's unreserved escape is the character", "User-agent: a\nDisallow: /~user/\n", "a", "http://h/%7euser/x", false},
  {"2.2.2 %62%61%7A is baz", "User-agent: a\nDisallow: /\nAllow: /foo/bar/%62%61%7A\n", "a", "http://h/foo/bar/baz", true},
  {"2.2.2 %2F is not /", "User-agent: a\nDisallow: /a%2Fb\n", "a", "http://h/a/b", true},
  {"2.2.2 / is not %2F", "User-agent: a\nDisallow: /a/b\n", "a", "http://h/a%2Fb", true},
  {"2.2.2 %2F matches %2f", "User-agent: a\nDisallow: /a%2fb\n", "a", "http://h/a%2Fb", false},
  {"2.2.2 non-ASCII in a pattern is encoded", "User-agent: a\nDisallow: /caf\xC3\xA9\n", "a", "http://h/caf%C3%A9", false},
  {"2.2.2 non-ASCII in a URL is encoded", "User-agent: a\nDisallow: /caf%c3%a9\n", "a", "http://h/caf\xC3\xA9", false},
  {"2.2.2 equivalent encodings tie (Allow wins)", "User-agent: a\nDisallow: /~a\nAllow: /%7Ea\n", "a", "http://h/~a", true},
  {"2.2.2 length counts after decoding", "User-agent: a\nAllow: /~ab\nDisallow: /%7Ea\n", "a", "http://h/~ab", true},
  {"2.2.2 the query is part of the path", "User-agent: a\nDisallow: /q?id=1\n", "a", "http://h/q?id=12", false},
  {"2.2.2 /robots.txt is always allowed", "User-agent: *\nDisallow: /\n", "a", "http://h/robots.txt", true},
  // -- 2.2.3: special characters --
  {"2.2.3 '*' matches any characters", "User-agent: a\nDisallow: /foo/*/qux\n", "a", "http://h/foo/bar/qux", false},
  {"2.2.3 '$' anchors the end", "User-agent: a\nDisallow: /foo$\n", "a", "http://h/foo/", true},
  {"2.2.3 '$' anchors the end (match)", "User-agent: a\nDisallow: /foo$\n", "a", "http://h/foo", false},
  {"2.2.3 the longest pattern, '*' counted", "User-agent: a\nAllow: /page\nDisallow: /*.html\n", "a", "http://h/page.html", false},
  // -- robots.md: misspellings and a forgotten colon are read --
  {"robots.md 'useragent'", "Useragent: a\nDisallow: /x\n", "a", "http://h/x", false},
  {"robots.md 'user agent'", "User agent: a\nDisallow: /x\n", "a", "http://h/x", false},
  {"robots.md 'disalow'", "User-agent: a\nDisalow: /x\n", "a", "http://h/x", false},
  {"robots.md 'dissallow'", "User-agent: a\nDissallow: /x\n", "a", "http://h/x", false},
  {"robots.md no colon", "user-agent a\ndisallow /x\n", "a", "http://h/x", false},
  {"robots.md no colon, two words", "user-agent a\ndisallow /x /y\n", "a", "http://h/x", true},
  {"robots.md no colon, unknown key", "user-agent: a\nbar /x\n", "a", "http://h/x", true},
};

} // namespace

TEST_CASE("robots decisions follow RFC 9309, rule by rule", "[robots]") {
  for (auto& d : decisions) {
    INFO(d.section << "\n" << d.robots << "\n" << d.user_agent << " " << d.url);
    auto u = parse_url(d.url);
    REQUIRE(u);
    CHECK(robots_rules::parse(d.robots, d.user_agent).allowed(u->target()) == d.allowed);
  }
}

TEST_CASE("robots only reads whole lines within the size limit", "[robots]") {
  // RFC 9309 section 2.5 allows a limit of 500 KiB or more; a line cut by the
  // limit could say less than it does ("Allow: /a" of "Allow: /ab"), so it is
  // not read.
  std::string text = "User-agent: *\nDisallow: /\n";
  text += std::string(100, '#') + "\n";
  auto limit = text.size() + 9;
  text += "Allow: /abcdef\n";
  CHECK(!robots_rules::parse(text, "a", limit).allowed("/abc"));
  CHECK(robots_rules::parse(text, "a", text.size()).allowed("/abcdef"));
}

TEST_CASE("robots fetch outcomes mean what RFC 9309 says", "[robots]") {
  struct row {
    const char* section;
    uint16_t status;
    crawl_errc error;
    robots_status expected;
  };
  const row rows[] = {
    {"2.3.1.1 success", 200, crawl_errc::none, robots_status::parsed},
    {"2.3.1.1 success", 203, crawl_errc::none, robots_status::parsed},
    {"2.3.1.2 more than five redirects", 0, crawl_errc::too_many_redirects, robots_status::unavailable},
    {"2.3.1.2 a redirect loop", 0, crawl_errc::redirect_loop, robots_status::unavailable},
    {"2.3.1.2 a redirect not followed", 301, crawl_errc::none, robots_status::unavailable},
    {"2.3.1.3 unavailable", 404, crawl_errc::none, robots_status::unavailable},
    {"2.3.1.3 unavailable", 403, crawl_errc::none, robots_status::unavailable},
    {"2.3.1.3 unavailable", 401, crawl_errc::none, robots_status::unavailable},
    {"2.3.1.3 unavailable", 410, crawl_errc::none, robots_status::unavailable},
    {"robots.md 429 is not unavailable", 429, crawl_errc::none, robots_status::unreachable},
    {"2.3.1.4 unreachable", 500, crawl_errc::none, robots_status::unreachable},
    {"2.3.1.4 unreachable", 503, crawl_errc::none, robots_status::unreachable},
    {"2.3.1.4 unreachable", 0, crawl_errc::connect_failed, robots_status::unreachable},
    {"2.3.1.4 unreachable", 0, crawl_errc::dns_failed, robots_status::unreachable},
    {"2.3.1.4 unreachable", 0, crawl_errc::timeout, robots_status::unreachable},
    {"2.3.1.4 unreachable", 0, crawl_errc::tls_failed, robots_status::unreachable},
  };
  for (auto& r : rows) {
    INFO(r.section << ": " << r.status << " " << to_string(r.error));
    CHECK(classify_robots_fetch(r.status, r.error) == r.expected);
  }
}

TEST_CASE("robots collects Sitemap lines anywhere in the file", "[robots]") {
  // RFC 9309 section 2.2.4 (other records): before, inside and after groups.
  auto r = robots_rules::parse("Sitemap: http://h/a.xml\nUser-agent: x\nSitemap: http://h/b.xml\n"
                               "Disallow: /\n\nsitemap: http://h/c.xml\n",
                               "arachne");
  CHECK(r.sitemaps() == std::vector<std::string>{"http://h/a.xml", "http://h/b.xml", "http://h/c.xml"});
}

TEST_CASE("robots product tokens are letters, '_' and '-'", "[robots]") {
  // RFC 9309 section 2.2.1.
  CHECK(product_token("arachne/0.1 (+https://example.test/bot)") == "arachne");
  CHECK(product_token("Foo_Bar-Bot") == "Foo_Bar-Bot");
  CHECK(is_product_token("Foobot"));
  CHECK(is_product_token("Foo_Bar-Bot"));
  CHECK(!is_product_token(""));
  CHECK(!is_product_token("Foobot*"));
  CHECK(!is_product_token("Foo Bot"));
  CHECK(!is_product_token("Foobot2"));
  CHECK(!is_product_token("\xE3\x83\x84"));
}

TEST_CASE("robots picks the group for its token, else *", "[robots]") {
  auto text = "User-agent: *\nDisallow: /\n\n"
              "User-agent: Arachne\nUser-agent: other\nAllow: /\nDisallow: /private/\n"
              "Crawl-delay: 2.5\n\nSitemap: http://h.test/sitemap.xml\n";
  auto ours = robots_rules::parse(text, "arachne/0.1");
  CHECK(ours.allowed("/page"));
  CHECK(!ours.allowed("/private/x"));
  CHECK(ours.crawl_delay() == caf::timespan{2500ms});
  REQUIRE(ours.sitemaps().size() == 1);
  CHECK(ours.sitemaps()[0] == "http://h.test/sitemap.xml");
  auto theirs = robots_rules::parse(text, "somebot/2.0");
  CHECK(!theirs.allowed("/page"));
  CHECK(!theirs.crawl_delay());
  CHECK(theirs.allowed("/robots.txt"));
}

TEST_CASE("robots: a Crawl-delay beyond a year is read as a year, not an overflow", "[robots]") {
  // Found by fuzz/robots (scripts/fuzz): 3.4e79 seconds overflowed the
  // nanoseconds (undefined behaviour, caught by UBSan).
  using days = std::chrono::duration<int64_t, std::ratio<86400>>;
  for (auto big : {"34444444444444444444444444444444444444444444444444444444444444444444444",
                   "1e300", "31536001"}) {
    INFO(big);
    auto r = robots_rules::parse(std::string{"User-agent: *\nCrawl-delay: "} + big + "\n", "arachne");
    REQUIRE(r.crawl_delay());
    CHECK(*r.crawl_delay() == caf::timespan{days{365}});
  }
}

TEST_CASE("robots: longest match wins, Allow wins ties", "[robots]") {
  auto r = robots_rules::parse("User-agent: *\nDisallow: /a\nAllow: /a/b\nDisallow: /a/b/c\n"
                               "Allow: /x\nDisallow: /x\nDisallow: /q?id=1\n",
                               "arachne");
  CHECK(!r.allowed("/a"));
  CHECK(r.allowed("/a/b"));
  CHECK(!r.allowed("/a/b/c/d"));
  CHECK(r.allowed("/x"));
  CHECK(!r.allowed("/q?id=12"));
  CHECK(r.allowed("/q?id=21"));
  CHECK(r.allowed("/elsewhere"));
}

TEST_CASE("robots groups merge and odd lines are ignored", "[robots]") {
  auto r = robots_rules::parse("Disallow: /before-any-group\n"
                               "user-agent: arachne\ndisallow: /one\n"
                               "nonsense line\n"
                               "USER-AGENT: ARACHNE\nDISALLOW: /two   # comment\n"
                               "Disallow:\n",
                               "arachne/0.1 (+contact)");
  CHECK(r.allowed("/before-any-group"));
  CHECK(!r.allowed("/one"));
  CHECK(!r.allowed("/two"));
  CHECK(r.allowed("/three"));
}

TEST_CASE("robots allow_all, disallow_all and the size limit", "[robots]") {
  CHECK(robots_rules::allow_all().allowed("/x"));
  CHECK(!robots_rules::disallow_all().allowed("/x"));
  CHECK(robots_rules::disallow_all().allowed("/robots.txt"));
  std::string big = "User-agent: *\n" + std::string(600 * 1024, '#') + "\nDisallow: /\n";
  CHECK(robots_rules::parse(big, "arachne").allowed("/x")); // rule past 500 KiB is not read
}
