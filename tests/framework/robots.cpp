#include "arachne/robots.hpp"

#include <catch2/catch.hpp>

#include <chrono>

using namespace arachne;
using namespace std::chrono_literals;

TEST_CASE("robots patterns match as RFC 9309 says", "[robots]") {
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

TEST_CASE("robots percent-encoding compares in one form", "[robots]") {
  auto r = robots_rules::parse("User-agent: *\nDisallow: /%7ejoe/\nDisallow: /caf\xC3\xA9\n", "x");
  CHECK(!r.allowed("/%7Ejoe/index.html"));
  CHECK(!r.allowed("/caf%C3%A9"));
  CHECK(r.allowed("/cafe"));
}

TEST_CASE("robots allow_all, disallow_all and the size limit", "[robots]") {
  CHECK(robots_rules::allow_all().allowed("/x"));
  CHECK(!robots_rules::disallow_all().allowed("/x"));
  CHECK(robots_rules::disallow_all().allowed("/robots.txt"));
  std::string big = "User-agent: *\n" + std::string(600 * 1024, '#') + "\nDisallow: /\n";
  CHECK(robots_rules::parse(big, "arachne").allowed("/x")); // rule past 500 KiB is not read
}
