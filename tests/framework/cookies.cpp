// The cookie jar: RFC 6265 section 5 rule by rule (with the RFC 6265bis
// rules browsers follow, marked so), the jar's limits, seeds from the command
// line and the Netscape cookie file.

#include "arachne/cookies.hpp"

#include <catch2/catch.hpp>

#include <chrono>

#include "http/cookie_store.hpp"

using namespace arachne;
using namespace std::chrono_literals;

namespace {

using clock_type = cookie_jar::clock;

// 2026-12-07 00:00:00 UTC.
const clock_type::time_point now = clock_type::time_point{std::chrono::seconds{1796601600}};

url u(const std::string& text) {
  auto parsed = parse_url(text);
  REQUIRE(parsed);
  return *parsed;
}

int64_t epoch_seconds(clock_type::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

int64_t date(std::string_view text) {
  auto t = parse_cookie_date(text);
  REQUIRE(t);
  return epoch_seconds(*t);
}

} // namespace

// -- 5.1.1 dates -------------------------------------------------------------------

TEST_CASE("cookie dates: the three formats servers send parse alike (RFC 6265 5.1.1)", "[cookies]") {
  auto expect = int64_t{784111777}; // Sun, 06 Nov 1994 08:49:37 GMT
  CHECK(date("Sun, 06 Nov 1994 08:49:37 GMT") == expect);
  CHECK(date("Sunday, 06-Nov-94 08:49:37 GMT") == expect);
  CHECK(date("Sun Nov  6 08:49:37 1994") == expect);
  // Tokens in any order, odd delimiters, trailing junk after a field.
  CHECK(date("08:49:37 1994 Nov 6") == expect);
  CHECK(date("6 november 1994 08:49:37xyz") == expect);
}

TEST_CASE("cookie dates: two-digit years 70-99 are 19xx and 00-69 are 20xx (RFC 6265 5.1.1)", "[cookies]") {
  CHECK(date("01 Jan 70 00:00:00") == 0);
  CHECK(date("01 Jan 69 00:00:00") == date("01 Jan 2069 00:00:00"));
}

TEST_CASE("cookie dates: a missing or out-of-range field fails (RFC 6265 5.1.1)", "[cookies]") {
  CHECK_FALSE(parse_cookie_date("06 Nov 1994"));             // no time
  CHECK_FALSE(parse_cookie_date("Nov 1994 08:49:37"));       // no day
  CHECK_FALSE(parse_cookie_date("32 Nov 1994 08:49:37"));    // day > 31
  CHECK_FALSE(parse_cookie_date("06 Nov 1600 08:49:37"));    // year < 1601
  CHECK_FALSE(parse_cookie_date("06 Nov 1994 24:00:00"));    // hour > 23
  CHECK_FALSE(parse_cookie_date("06 Nov 1994 08:60:00"));    // minute > 59
  CHECK_FALSE(parse_cookie_date("31 Feb 2026 08:00:00"));    // no such day
  CHECK_FALSE(parse_cookie_date("006 Nov 1994 08:49:37"));   // three-digit day
}

// -- 5.1.3 and 5.1.4 matching --------------------------------------------------------

TEST_CASE("cookie domains match themselves and parents after a dot, never IP suffixes (RFC 6265 5.1.3)", "[cookies]") {
  CHECK(cookie_domain_match("example.com", "example.com"));
  CHECK(cookie_domain_match("www.example.com", "example.com"));
  CHECK_FALSE(cookie_domain_match("badexample.com", "example.com"));
  CHECK_FALSE(cookie_domain_match("example.com", "www.example.com"));
  CHECK(cookie_domain_match("10.0.0.1", "10.0.0.1"));
  CHECK_FALSE(cookie_domain_match("10.0.0.1", "0.0.1"));
}

TEST_CASE("cookie paths: default-path and path-match (RFC 6265 5.1.4)", "[cookies]") {
  CHECK(cookie_default_path("") == "/");
  CHECK(cookie_default_path("/") == "/");
  CHECK(cookie_default_path("/a") == "/");
  CHECK(cookie_default_path("/a/b") == "/a");
  CHECK(cookie_default_path("/a/b/") == "/a/b");
  CHECK(cookie_path_match("/a/b", "/a/b"));
  CHECK(cookie_path_match("/a/b/c", "/a/b"));
  CHECK(cookie_path_match("/a/b/c", "/a/b/"));
  CHECK_FALSE(cookie_path_match("/a/bc", "/a/b"));
  CHECK_FALSE(cookie_path_match("/a", "/a/b"));
}

// -- 5.2 parsing ----------------------------------------------------------------------

TEST_CASE("Set-Cookie: name and value are trimmed, attributes are case-insensitive (RFC 6265 5.2)", "[cookies]") {
  cookie_jar jar;
  auto page = u("http://example.com/");
  CHECK(jar.set(page, "  sid = abc 123 ; PATH=/ ; hTTpOnly", now) == cookie_verdict::stored);
  auto all = jar.all();
  REQUIRE(all.size() == 1);
  CHECK(all[0].name == "sid");
  CHECK(all[0].value == "abc 123");
  CHECK(all[0].http_only);
  CHECK(jar.header(page, now) == "sid=abc 123");
}

TEST_CASE("Set-Cookie without '=' or with an empty name is ignored and counted (RFC 6265 5.2 steps 2 and 5)", "[cookies]") {
  cookie_jar jar;
  auto page = u("http://example.com/");
  CHECK(jar.set(page, "justvalue", now) == cookie_verdict::malformed);
  CHECK(jar.set(page, "=value", now) == cookie_verdict::malformed);
  CHECK(jar.set(page, std::string{"a=b\x01"}, now) == cookie_verdict::malformed); // 6265bis: CTL
  CHECK(jar.size() == 0);
  CHECK(jar.stats().malformed == 3);
}

TEST_CASE("Set-Cookie: Max-Age wins over Expires, whatever their order (RFC 6265 5.3 step 3)", "[cookies]") {
  cookie_jar jar;
  auto page = u("http://example.com/");
  jar.set(page, "a=1; Max-Age=60; Expires=Sun, 06 Nov 1994 08:49:37 GMT", now);
  jar.set(page, "b=2; Expires=Sun, 06 Nov 1994 08:49:37 GMT; Max-Age=60", now);
  CHECK(jar.header(page, now) == "a=1; b=2");
  CHECK(jar.header(page, now + 59s) == "a=1; b=2");
  CHECK(jar.header(page, now + 61s).empty());
}

TEST_CASE("Set-Cookie: Max-Age zero or negative removes the cookie; a bad Max-Age is ignored (RFC 6265 5.2.2)", "[cookies]") {
  cookie_jar jar;
  auto page = u("http://example.com/");
  jar.set(page, "a=1", now);
  CHECK(jar.set(page, "a=gone; Max-Age=0", now) == cookie_verdict::removed);
  CHECK(jar.header(page, now).empty());
  jar.set(page, "b=1", now);
  CHECK(jar.set(page, "b=gone; Max-Age=-5", now) == cookie_verdict::removed);
  CHECK(jar.set(page, "c=1; Max-Age=1x", now) == cookie_verdict::stored); // ignored: a session cookie
  CHECK(jar.header(page, now + std::chrono::hours{24 * 300}) == "c=1");
}

TEST_CASE("Set-Cookie: an Expires in the past removes the cookie (RFC 6265 5.3 step 12)", "[cookies]") {
  cookie_jar jar;
  auto page = u("http://example.com/");
  jar.set(page, "a=1; Expires=Wed, 01 Jan 2031 00:00:00 GMT", now);
  CHECK(jar.header(page, now) == "a=1");
  CHECK(jar.set(page, "a=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT", now) == cookie_verdict::removed);
  CHECK(jar.size() == 0);
}

TEST_CASE("Set-Cookie: lifetimes are capped at 400 days (RFC 6265bis 5.5)", "[cookies]") {
  cookie_jar jar;
  auto page = u("http://example.com/");
  jar.set(page, "a=1; Max-Age=999999999999999999", now);
  jar.set(page, "b=1; Expires=Fri, 01 Jan 2100 00:00:00 GMT", now);
  CHECK(jar.header(page, now + std::chrono::hours{24 * 399}) == "a=1; b=1");
  CHECK(jar.header(page, now + std::chrono::hours{24 * 401}).empty());
}

// -- 5.3 storage ----------------------------------------------------------------------

TEST_CASE("without Domain a cookie is host-only; with it, it reaches subdomains (RFC 6265 5.3 step 6)", "[cookies]") {
  cookie_jar jar;
  jar.set(u("http://www.example.com/"), "host=1", now);
  jar.set(u("http://www.example.com/"), "dom=1; Domain=.Example.COM", now);
  CHECK(jar.header(u("http://www.example.com/"), now) == "host=1; dom=1");
  CHECK(jar.header(u("http://example.com/"), now) == "dom=1");
  CHECK(jar.header(u("http://shop.example.com/"), now) == "dom=1");
  CHECK(jar.header(u("http://a.www.example.com/"), now) == "dom=1");
  CHECK(jar.header(u("http://example.org/"), now).empty());
}

TEST_CASE("a Domain the request's host is not within is refused (RFC 6265 5.3 step 6)", "[cookies]") {
  cookie_jar jar;
  CHECK(jar.set(u("http://www.example.com/"), "a=1; Domain=example.org", now) == cookie_verdict::rejected);
  CHECK(jar.set(u("http://example.com/"), "a=1; Domain=www.example.com", now) == cookie_verdict::rejected);
  CHECK(jar.stats().rejected == 2);
  CHECK(jar.size() == 0);
}

TEST_CASE("a public suffix as Domain is refused, unless it is the host itself (RFC 6265 5.3 step 5)", "[cookies]") {
  cookie_jar jar;
  CHECK(jar.set(u("http://www.example.com/"), "a=1; Domain=com", now) == cookie_verdict::rejected);
  CHECK(jar.set(u("http://foo.co.uk/"), "a=1; Domain=co.uk", now) == cookie_verdict::rejected);
  // A host that is itself a public suffix gets a host-only cookie.
  CHECK(jar.set(u("http://co.uk/"), "b=1; Domain=co.uk", now) == cookie_verdict::stored);
  CHECK(jar.header(u("http://co.uk/"), now) == "b=1");
  CHECK(jar.header(u("http://foo.co.uk/"), now).empty());
}

TEST_CASE("cookies of IP-address hosts reach that address only (RFC 6265 5.1.3)", "[cookies]") {
  cookie_jar jar;
  CHECK(jar.set(u("http://127.0.0.1:8080/"), "a=1; Domain=127.0.0.1", now) == cookie_verdict::stored);
  CHECK(jar.set(u("http://127.0.0.1/"), "b=1; Domain=0.0.1", now) == cookie_verdict::rejected);
  // Ports do not separate cookies (RFC 6265 8.5).
  CHECK(jar.header(u("http://127.0.0.1:9090/"), now) == "a=1");
  CHECK(jar.header(u("http://127.0.0.2/"), now).empty());
}

TEST_CASE("a cookie's path defaults to the request's directory and limits where it goes (RFC 6265 5.3 step 7)", "[cookies]") {
  cookie_jar jar;
  jar.set(u("http://example.com/shop/cart"), "a=1", now);      // Path=/shop
  jar.set(u("http://example.com/shop/cart"), "b=1; Path=/", now);
  jar.set(u("http://example.com/"), "c=1; Path=relative", now); // not '/': the default
  CHECK(jar.header(u("http://example.com/shop/item/3"), now) == "a=1; b=1; c=1");
  CHECK(jar.header(u("http://example.com/shopping"), now) == "b=1; c=1");
}

TEST_CASE("the same name, domain and path replace a cookie and keep its creation order (RFC 6265 5.3 step 11)", "[cookies]") {
  cookie_jar jar;
  auto page = u("http://example.com/");
  jar.set(page, "a=1", now);
  jar.set(page, "b=1", now);
  jar.set(page, "a=2", now);
  CHECK(jar.header(page, now) == "a=2; b=1");
  CHECK(jar.size() == 2);
  // Another path is another cookie.
  jar.set(page, "a=3; Path=/x", now);
  CHECK(jar.size() == 3);
}

TEST_CASE("the Cookie header lists longer paths first, then older cookies (RFC 6265 5.4 step 2)", "[cookies]") {
  cookie_jar jar;
  jar.set(u("http://example.com/"), "short=1; Path=/", now);
  jar.set(u("http://example.com/"), "long=1; Path=/a/b", now);
  jar.set(u("http://example.com/"), "mid=1; Path=/a", now);
  jar.set(u("http://example.com/"), "short2=1; Path=/", now);
  CHECK(jar.header(u("http://example.com/a/b/c"), now) == "long=1; mid=1; short=1; short2=1");
}

TEST_CASE("Secure cookies go over https only (RFC 6265 5.4 step 1)", "[cookies]") {
  cookie_jar jar;
  CHECK(jar.set(u("https://example.com/"), "s=1; Secure", now) == cookie_verdict::stored);
  jar.set(u("https://example.com/"), "p=1", now);
  CHECK(jar.header(u("https://example.com/"), now) == "s=1; p=1");
  CHECK(jar.header(u("http://example.com/"), now) == "p=1");
}

TEST_CASE("http responses cannot set Secure cookies nor overwrite them (RFC 6265bis 5.7)", "[cookies]") {
  cookie_jar jar;
  CHECK(jar.set(u("http://example.com/"), "s=1; Secure", now) == cookie_verdict::rejected);
  jar.set(u("https://example.com/"), "s=1; Secure", now);
  CHECK(jar.set(u("http://example.com/"), "s=evil", now) == cookie_verdict::rejected);
  CHECK(jar.header(u("https://example.com/"), now) == "s=1");
}

TEST_CASE("__Secure- and __Host- cookies obey their prefixes (RFC 6265bis 4.1.3)", "[cookies]") {
  cookie_jar jar;
  auto page = u("https://www.example.com/");
  CHECK(jar.set(page, "__Secure-a=1", now) == cookie_verdict::rejected);
  CHECK(jar.set(page, "__Secure-a=1; Secure", now) == cookie_verdict::stored);
  CHECK(jar.set(page, "__Host-b=1; Secure; Path=/; Domain=example.com", now) == cookie_verdict::rejected);
  CHECK(jar.set(page, "__Host-b=1; Secure; Path=/x", now) == cookie_verdict::rejected);
  CHECK(jar.set(page, "__Host-b=1; Secure; Path=/", now) == cookie_verdict::stored);
}

// -- limits (RFC 6265 6.1) -------------------------------------------------------------

TEST_CASE("a cookie larger than the limit is refused (RFC 6265 6.1)", "[cookies]") {
  cookie_jar jar;
  auto page = u("http://example.com/");
  CHECK(jar.set(page, "a=" + std::string(4094, 'x'), now) == cookie_verdict::stored);
  CHECK(jar.set(page, "b=" + std::string(4096, 'x'), now) == cookie_verdict::rejected);
  cookie_jar small{cookie_limits{16, 50, 3000}};
  CHECK(small.set(page, "a=" + std::string(15, 'x'), now) == cookie_verdict::stored);
  CHECK(small.set(page, "a=" + std::string(16, 'x'), now) == cookie_verdict::rejected);
}

TEST_CASE("past the per-domain limit the least recently used cookie of that domain goes (RFC 6265 5.3, 6.1)", "[cookies]") {
  cookie_jar jar{cookie_limits{4096, 3, 3000}};
  jar.set(u("http://example.com/"), "a=1", now);
  jar.set(u("http://www.example.com/"), "b=1; Domain=example.com", now);
  jar.set(u("http://example.com/"), "c=1", now);
  jar.set(u("http://other.org/"), "o=1", now);
  CHECK(jar.header(u("http://example.com/"), now) == "a=1; b=1; c=1"); // all used now
  jar.header(u("http://www.example.com/"), now);                        // b used again: a is oldest
  jar.set(u("http://example.com/"), "d=1", now);
  CHECK(jar.header(u("http://example.com/"), now) == "b=1; c=1; d=1");
  CHECK(jar.header(u("http://other.org/"), now) == "o=1");
  CHECK(jar.stats().evicted == 1);
}

TEST_CASE("past the total limit expired cookies go first, then the least recently used (RFC 6265 5.3)", "[cookies]") {
  cookie_jar jar{cookie_limits{4096, 50, 3}};
  jar.set(u("http://a.org/"), "a=1", now);
  jar.set(u("http://b.org/"), "b=1; Max-Age=10", now);
  jar.set(u("http://c.org/"), "c=1", now);
  jar.set(u("http://d.org/"), "d=1", now + 20s); // b has expired: it goes, a stays
  CHECK(jar.size() == 3);
  CHECK(jar.header(u("http://a.org/"), now + 20s) == "a=1");
  jar.set(u("http://e.org/"), "e=1", now + 20s); // c is the least recently used
  CHECK(jar.header(u("http://c.org/"), now + 20s).empty());
  CHECK(jar.header(u("http://a.org/"), now + 20s) == "a=1");
}

// -- seeds and files --------------------------------------------------------------------

TEST_CASE("a seeded cookie reaches its host and subdomains only", "[cookies]") {
  cookie_jar jar;
  REQUIRE_FALSE(jar.seed("example.com:session=s3cr3t", now));
  REQUIRE_FALSE(jar.seed("[::1]:local=1; Path=/admin", now));
  CHECK(jar.header(u("https://example.com/"), now) == "session=s3cr3t");
  CHECK(jar.header(u("http://shop.example.com/x"), now) == "session=s3cr3t");
  CHECK(jar.header(u("http://example.org/"), now).empty());
  CHECK(jar.header(u("http://[::1]/admin/x"), now) == "local=1");
  CHECK(jar.header(u("http://[::1]/"), now).empty());
}

TEST_CASE("bad seeded cookies fail with a reason", "[cookies]") {
  cookie_jar jar;
  CHECK(jar.seed("session=abc", now));                   // no host
  CHECK(jar.seed("example.com:novalue", now));           // no '='
  CHECK(jar.seed("example.com:a=1; Domain=other.org", now));
  CHECK(jar.seed("example.com:a=1; Max-Age=0", now));
  CHECK(jar.size() == 0);
}

TEST_CASE("Netscape cookie files load and are written back as they were read", "[cookies]") {
  auto file = "# Netscape HTTP Cookie File\n"
              "\n"
              ".example.com\tTRUE\t/\tFALSE\t0\tsid\tabc\n"
              "shop.example.com\tFALSE\t/cart\tTRUE\t1900000000\tcart\t7\r\n"
              "#HttpOnly_example.org\tFALSE\t/\tFALSE\t1900000000\ttoken\t\n"
              "old.example.com\tFALSE\t/\tFALSE\t1000000000\texpired\t1\n";
  cookie_jar jar;
  auto added = jar.load_netscape(file, now);
  REQUIRE(added);
  CHECK(*added == 3);
  CHECK(jar.header(u("http://www.example.com/"), now) == "sid=abc");
  CHECK(jar.header(u("https://shop.example.com/cart/1"), now) == "cart=7; sid=abc");
  CHECK(jar.header(u("http://shop.example.com/cart/1"), now) == "sid=abc");
  CHECK(jar.header(u("http://example.org/"), now) == "token=");
  auto all = jar.all();
  REQUIRE(all.size() == 3);
  CHECK(all[2].http_only);
  CHECK_FALSE(all[0].persistent);
  CHECK(epoch_seconds(all[1].expires) == 1900000000);
  cookie_jar again;
  REQUIRE(again.load_netscape(jar.to_netscape(now), now));
  CHECK(again.to_netscape(now) == jar.to_netscape(now));
  CHECK(again.header(u("https://shop.example.com/cart/1"), now) == "cart=7; sid=abc");
}

TEST_CASE("a Netscape cookie file with a broken line names the line", "[cookies]") {
  cookie_jar jar;
  auto bad = jar.load_netscape("# c\nexample.com\tTRUE\t/\n", now);
  REQUIRE_FALSE(bad);
  CHECK(to_string(bad.error()).find("line 2") != std::string::npos);
  CHECK_FALSE(jar.load_netscape("example.com\tYES\t/\tFALSE\t0\ta\t1\n", now));
  CHECK_FALSE(jar.load_netscape("example.com\tTRUE\tnoslash\tFALSE\t0\ta\t1\n", now));
  CHECK_FALSE(jar.load_netscape("example.com\tTRUE\t/\tFALSE\tsoon\ta\t1\n", now));
}

// -- the HTTP client's store: the crawl's jar and the sessions -------------------------

TEST_CASE("each proxy session has its own jar, and a newer generation starts it empty", "[cookies]") {
  http_detail::cookie_store store{cookie_limits{}};
  auto page = u("http://example.com/");
  auto set = [&](const std::string& session, uint64_t generation, std::string_view value) {
    return store.receive(session, generation, page, {value});
  };
  CHECK(set("", 0, "shared=1"));
  CHECK(set("http://p1:8080", 1, "s=p1"));
  CHECK(set("http://p2:8080", 1, "s=p2"));
  CHECK(store.header("", 0, page) == "shared=1");
  CHECK(store.header("http://p1:8080", 1, page) == "s=p1");
  CHECK(store.header("http://p2:8080", 1, page) == "s=p2");
  // p1 was banned: its next generation has no cookies; p2 keeps its own.
  CHECK(store.header("http://p1:8080", 2, page).empty());
  CHECK(store.header("http://p2:8080", 1, page) == "s=p2");
  // A request still under way in the old generation does not bring it back.
  CHECK(store.header("http://p1:8080", 1, page).empty());
  CHECK(store.stats().stored == 3); // the retired session's count stays
  // Only the crawl's jar is saved.
  auto saved = store.save(nullptr);
  CHECK(saved.find("shared") != std::string::npos);
  CHECK(saved.find("p1") == std::string::npos);
}

TEST_CASE("restored cookies do not overwrite those given on the command line", "[cookies]") {
  http_detail::cookie_store store{cookie_limits{}};
  REQUIRE_FALSE(store.seed({"example.com:login=new"}));
  cookie_jar old;
  REQUIRE_FALSE(old.seed("example.com:login=old", now));
  REQUIRE_FALSE(old.seed("example.com:theme=dark", now));
  REQUIRE_FALSE(store.restore(old.to_netscape(now)));
  CHECK(store.header("", 0, u("http://example.com/")) == "login=new; theme=dark");
}

// -- edges: the cookie file's separator, fully qualified names, prefixes ---------------

TEST_CASE("a tab in a cookie's name or value is refused: the cookie file separates fields with tabs",
          "[cookies]") {
  cookie_jar jar;
  auto page = u("http://example.com/");
  CHECK(jar.set(page, "a=x\ty", now) == cookie_verdict::malformed);
  CHECK(jar.set(page, "a\tb=1", now) == cookie_verdict::malformed);
  CHECK(jar.size() == 0);
}

// Found by fuzz/cookies: a Path with a tab was stored, and the cookie file
// (--state keeps the jar in one) then read back as a different cookie.
TEST_CASE("a control character anywhere in Set-Cookie ignores it; a tab in its Path too "
          "(RFC 6265bis 5.6); a cookie file's domain must be a host name",
          "[cookies]") {
  cookie_jar jar;
  auto page = u("http://example.com/a/b");
  CHECK(jar.set(page, "a=1; Path=/x\ty", now) == cookie_verdict::malformed);
  CHECK(jar.set(page, "a=1; Path=/x\x02y", now) == cookie_verdict::malformed);
  CHECK(jar.set(page, "a=1; Foo=\x01", now) == cookie_verdict::malformed);
  CHECK(jar.set(page, "a=1; Domain=example.com\x7f", now) == cookie_verdict::malformed);
  CHECK(jar.size() == 0);
  // A tab between attributes is whitespace, as before.
  CHECK(jar.set(page, "a=1;\tPath=/a", now) == cookie_verdict::stored);
  auto file = jar.to_netscape(now);
  cookie_jar again;
  REQUIRE(again.load_netscape(file, now));
  CHECK(again.to_netscape(now) == file);
  CHECK_FALSE(again.load_netscape("example.com\tFALSE\t/a\x02\tFALSE\t0\tn\tv\n", now));
  // (Also found by fuzz/cookies: a file's domain that is no host name, or
  // starts with two dots, was kept and written back as another cookie.)
  CHECK_FALSE(again.load_netscape("..example.com\tTRUE\t/\tFALSE\t0\tn\tv\n", now));
  CHECK_FALSE(again.load_netscape("exa mple.com; x\tFALSE\t/\tFALSE\t0\tn\tv\n", now));
  CHECK_FALSE(again.load_netscape("\xe3\x80\x82_\tFALSE\t/\tFALSE\t0\tn\tv\n", now)); // (U+3002 then _)
  CHECK(jar.set(page, "b=2; Domain=exa mple.com", now) == cookie_verdict::rejected);
}

TEST_CASE("a fully qualified host cannot set a cookie for a public suffix with a final dot "
          "(RFC 6265 5.3 step 5)",
          "[cookies]") {
  cookie_jar jar;
  CHECK(jar.set(u("http://evil.co.uk./"), "a=1; Domain=co.uk.", now) == cookie_verdict::rejected);
  CHECK(jar.set(u("http://evil.github.io./"), "a=1; Domain=github.io.", now)
        == cookie_verdict::rejected);
  CHECK(jar.set(u("http://shop.example.com./"), "a=1; Domain=example.com.", now)
        == cookie_verdict::stored);
  CHECK(jar.header(u("http://www.example.com./"), now) == "a=1");
}

TEST_CASE("__Host- cookies need an explicit Path=/, and can be seeded host-only (RFC 6265bis 4.1.3)",
          "[cookies]") {
  cookie_jar jar;
  CHECK(jar.set(u("https://example.com/"), "__Host-a=1; Secure", now) == cookie_verdict::rejected);
  REQUIRE_FALSE(jar.seed("example.com:__Host-sid=x; Secure; Path=/", now));
  CHECK(jar.header(u("https://example.com/x"), now) == "__Host-sid=x");
  CHECK(jar.header(u("https://www.example.com/x"), now).empty());
}

TEST_CASE("Max-Age with leading zeros is its number, and Domain=. makes a host-only cookie "
          "(RFC 6265 5.2.2, 5.2.3)",
          "[cookies]") {
  cookie_jar jar;
  auto page = u("http://www.example.com/");
  CHECK(jar.set(page, "a=1; Max-Age=0000000000060", now) == cookie_verdict::stored);
  CHECK(jar.header(page, now + 59s) == "a=1");
  CHECK(jar.header(page, now + 61s).empty());
  CHECK(jar.set(page, "b=1; Domain=.", now) == cookie_verdict::stored);
  CHECK(jar.header(page, now) == "b=1");
  CHECK(jar.header(u("http://x.www.example.com/"), now).empty());
}

TEST_CASE("the same cookie sent again changes nothing; a retired session's answers store nothing",
          "[cookies]") {
  http_detail::cookie_store store{cookie_limits{}};
  auto page = u("http://example.com/");
  CHECK(store.receive("", 0, page, {"sid=abc; Path=/"}));
  CHECK_FALSE(store.receive("", 0, page, {"sid=abc; Path=/"})); // (no loop reset, nothing to save)
  CHECK(store.receive("", 0, page, {"sid=def; Path=/"}));
  CHECK(store.receive("http://p1:8080", 2, page, {"s=new"}));
  CHECK_FALSE(store.receive("http://p1:8080", 1, page, {"s=late"})); // banned meanwhile
  CHECK(store.header("http://p1:8080", 2, page) == "s=new");
}

TEST_CASE("saved cookies this run refuses are left out, the others restored", "[cookies]") {
  http_detail::cookie_store store{cookie_limits{8, 50, 3000}};
  auto saved = "# Netscape HTTP Cookie File\n"
               "example.com\tFALSE\t/\tFALSE\t0\tok\t1\n"
               "example.com\tFALSE\t/\tFALSE\t0\ttoolong\tvalue-over-the-limit\n"
               "not a cookie line\n";
  REQUIRE_FALSE(store.restore(saved));
  CHECK(store.header("", 0, u("http://example.com/")) == "ok=1");
}
