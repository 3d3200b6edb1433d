#include "frontier/done_marks.hpp"

#include <catch2/catch.hpp>

using namespace arachne;

using ids = std::vector<uint64_t>;

TEST_CASE("done_marks: with no link batch out, stored records are done at once",
          "[frontier][done]") {
  done_marks d;
  CHECK(d.records_stored({1, 2}) == ids{1, 2});
  CHECK(d.idle());
}

TEST_CASE("done_marks: a page is done only once the link batches sent before are journalled",
          "[frontier][done]") {
  done_marks d;
  auto l1 = d.link_sent();
  CHECK(d.records_stored({10}).empty()); // waits for l1
  auto l2 = d.link_sent();
  CHECK(d.records_stored({20}).empty()); // waits for l1 and l2
  CHECK(!d.idle());
  // l2 journalled first: 10 still waits for l1, 20 waits for l1 too.
  CHECK(d.links_journalled(l2, true).empty());
  CHECK(d.links_journalled(l1, true) == ids{10, 20});
  CHECK(d.idle());
}

TEST_CASE("done_marks: a link batch its owner could not journal keeps the pages before it taken",
          "[frontier][done]") {
  done_marks d;
  auto l1 = d.link_sent();
  CHECK(d.records_stored({10}).empty());
  auto l2 = d.link_sent();
  CHECK(d.records_stored({20}).empty());
  // The owner failed to journal l2: page 20 (which waited for it) is never
  // marked done (it is fetched again on resume); page 10 waits for l1 only.
  CHECK(d.links_journalled(l2, false).empty());
  CHECK(d.links_journalled(l1, true) == ids{10});
  CHECK(d.idle());
}

TEST_CASE("done_marks: pages waiting for lost links wait until those links are sent again",
          "[frontier][done]") {
  done_marks d;
  auto l1 = d.link_sent();
  CHECK(d.records_stored({10}).empty());
  d.links_lost(l1); // the owner's node died
  CHECK(!d.links_out());
  CHECK(d.waiting());
  // The links went out again (to the hosts' new owners): 10 waits for them.
  auto l2 = d.link_sent();
  CHECK(d.unpark().empty());
  CHECK(d.links_journalled(l2, true) == ids{10});
  CHECK(d.idle());
}
