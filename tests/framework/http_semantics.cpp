#include "arachne/http_semantics.hpp"

#include <catch2/catch.hpp>

#include <chrono>

using namespace arachne;
using namespace std::chrono_literals;

TEST_CASE("Retry-After reads seconds and HTTP-dates", "[http]") {
  // RFC 9110 section 10.2.3.
  auto now = caf::timestamp{std::chrono::seconds(784111777)}; // Sun, 06 Nov 1994 08:49:37 GMT
  CHECK(parse_retry_after("120", now) == caf::timespan{120s});
  CHECK(parse_retry_after(" 120 ", now) == caf::timespan{120s});
  CHECK(parse_retry_after("", now) == caf::timespan{0});
  CHECK(parse_retry_after("0", now) == caf::timespan{0});
  CHECK(parse_retry_after("-5", now) == caf::timespan{0});
  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:50:37 GMT", now) == caf::timespan{60s});
  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now) == caf::timespan{0});
  CHECK(parse_retry_after("soon", now) == caf::timespan{60s});
}

TEST_CASE("Retry-After never overflows: at most a year", "[http]") {
  // Seconds past ~9.2e9 overflow a nanosecond duration; dates far ahead too.
  auto now = caf::timestamp{std::chrono::seconds(784111777)};
  auto year = caf::timespan{std::chrono::hours(24 * 365)};
  CHECK(parse_retry_after("31536001", now) == year);
  CHECK(parse_retry_after("9300000000", now) == year);
  CHECK(parse_retry_after("99999999999999999999999", now) == year);
  CHECK(parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now) == year);
}

TEST_CASE("redirect statuses and header lookup", "[http]") {
  for (unsigned s : {301u, 302u, 303u, 307u, 308u})
    CHECK(is_redirect(s));
  for (unsigned s : {200u, 300u, 304u, 305u, 306u, 404u})
    CHECK(!is_redirect(s));
  std::vector<header_field> headers{{"Content-Type", "text/html"}, {"LOCATION", "/a"},
                                    {"location", "/b"}};
  CHECK(header_value(headers, "location") == "/a");
  CHECK(header_value(headers, "content-type") == "text/html");
  CHECK(header_value(headers, "retry-after").empty());
}
