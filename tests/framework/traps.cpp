// Crawler-trap heuristics on URLs: repeated path segments and same-shaped
// URLs (the chain the frontier counts against --trap-chain).

#include "arachne/traps.hpp"

#include <catch2/catch.hpp>

using namespace arachne;

TEST_CASE("repeats_segments finds a run of segments repeated in a row", "[traps]") {
  CHECK(repeats_segments("http://a.test/a/a/a/", 3));
  CHECK(repeats_segments("http://a.test/x/a/a/a", 3));
  CHECK(repeats_segments("http://a.test/x/y/x/y/x/y/z", 3));
  CHECK(repeats_segments("http://a.test/docs/x/y/x/y/x/y/?q=1", 3));
  CHECK(repeats_segments("http://a.test/a/a/", 2));
  // Fewer repeats than asked, repeats not in a row, repeats in the query.
  CHECK_FALSE(repeats_segments("http://a.test/a/a/", 3));
  CHECK_FALSE(repeats_segments("http://a.test/a/b/a/c/a/", 3));
  CHECK_FALSE(repeats_segments("http://a.test/p?x=/a/a/a/", 3));
  CHECK_FALSE(repeats_segments("http://a.test/", 3));
  CHECK_FALSE(repeats_segments("http://a.test", 3));
  // A date whose month and day agree is no trap.
  CHECK_FALSE(repeats_segments("http://a.test/2026/12/12/", 3));
  // Off below 2.
  CHECK_FALSE(repeats_segments("http://a.test/a/a/a/", 1));
  CHECK_FALSE(repeats_segments("http://a.test/a/a/a/", 0));
}

TEST_CASE("repeats_segments looks at the last 64 segments of a long path", "[traps]") {
  std::string url = "http://a.test";
  for (int i = 0; i < 500; ++i)
    url += "/s" + std::to_string(i);
  CHECK_FALSE(repeats_segments(url, 3));
  CHECK(repeats_segments(url + "/r/r/r", 3));
  std::string early = "http://a.test/r/r/r";
  for (int i = 0; i < 100; ++i)
    early += "/s" + std::to_string(i);
  CHECK_FALSE(repeats_segments(early, 3)); // (beyond the last 64)
}

TEST_CASE("same_shape: one origin, paths and queries that differ only in their numbers",
          "[traps]") {
  CHECK(same_shape("http://a.test/calendar/2026/12/", "http://a.test/calendar/2027/1/"));
  CHECK(same_shape("http://a.test/list?page=3", "http://a.test/list?page=14"));
  CHECK(same_shape("http://a.test/p/7", "http://a.test/p/7000"));
  // Text differs, another origin (the digits of an address or a port are
  // not a number of the path), no number at all, one number more.
  CHECK_FALSE(same_shape("http://a.test/p/7", "http://a.test/q/7"));
  CHECK_FALSE(same_shape("http://127.0.1.1/p/7", "http://127.0.1.2/p/8"));
  CHECK_FALSE(same_shape("http://a.test:80/p/7", "http://a.test:81/p/8"));
  CHECK_FALSE(same_shape("http://a.test/about", "http://a.test/about"));
  CHECK_FALSE(same_shape("http://a.test/p/7", "http://a.test/p/7/8"));
  CHECK_FALSE(same_shape("http://a.test/p/7", "http://a.test/p/7x"));
  CHECK_FALSE(same_shape("http://a.test/", "http://a.test/1"));
}
