#include "frontier/budget.hpp"

#include <catch2/catch.hpp>

using namespace arachne;

TEST_CASE("water_fill gives a shard what it wants up to an equal share, the rest to others",
          "[frontier][budget]") {
  CHECK(water_fill({10, 10}, 10) == std::vector<uint64_t>{5, 5});
  CHECK(water_fill({2, 100}, 10) == std::vector<uint64_t>{2, 8});
  CHECK(water_fill({0, 0, 100}, 12) == std::vector<uint64_t>{0, 0, 12});
  CHECK(water_fill({1, 1}, 10) == std::vector<uint64_t>{5, 5}); // what nobody wants: evenly
  CHECK(water_fill({3, 5, 100}, 12) == std::vector<uint64_t>{3, 4, 5});
}

TEST_CASE("concurrency_budget alone holds all of --concurrency", "[frontier][budget]") {
  concurrency_budget b{8, 2};
  CHECK(b.usable() == 8);
  CHECK(b.held() == 8);
  CHECK(b.demand(3, 2) == 7);  // 3 under way, 2 sites waiting for 2 each
  CHECK(b.demand(3, 10) == 8); // never more than --concurrency
  CHECK(b.rebalance(0, 0).to_send.empty());
  CHECK(!b.note(0, 0));
}

TEST_CASE("concurrency_budget splits evenly under a view, then lends what it does not want",
          "[frontier][budget]") {
  concurrency_budget b{10, 1};
  b.reset({7, 8}, 0);
  CHECK(b.held() == 5);
  CHECK(b.usable() == 5);
  // The other shard says it wants 10 and holds 5; this one wants 1 (busy 1).
  REQUIRE(b.take_demand(8, 10, 5));
  auto out = b.rebalance(1, 0);
  REQUIRE(out.to_send.size() == 1);
  CHECK(out.to_send[0] == concurrency_budget::lend{1, 4});
  CHECK(out.tick);
  CHECK(b.held() == 1);
  // Units only move: what was lent is no longer here.
  CHECK(b.usable() == 1);
  // Told at the next tick: its demand, once.
  CHECK(b.say(1, 0) == std::optional<uint32_t>{1});
  CHECK(b.say(1, 0) == std::nullopt);
  // A shard not in the view is ignored.
  CHECK(!b.take_demand(99, 1, 1));
}

TEST_CASE("concurrency_budget keeps what it uses and lends nothing it needs", "[frontier][budget]") {
  concurrency_budget b{10, 1};
  b.reset({7, 8}, 1);
  CHECK(b.held() == 5);
  REQUIRE(b.take_demand(7, 10, 5));
  // Busy with all 5 it holds: nothing to lend, though the other wants more.
  CHECK(b.rebalance(5, 3).to_send.empty());
  CHECK(b.held() == 5);
}

TEST_CASE("concurrency_budget tells a demand that moved by more than an eighth", "[frontier][budget]") {
  concurrency_budget b{100, 1};
  b.reset({1, 2}, 0);
  REQUIRE(b.say(50, 0)); // said 50
  CHECK(!b.note(50, 2));  // 52: within an eighth and two
  CHECK(b.note(70, 0));   // 70: news
  CHECK(b.stale());
  CHECK(b.say(70, 0) == std::optional<uint32_t>{70});
}

TEST_CASE("concurrency_budget holds shares of a view not here yet, and drops those of old views",
          "[frontier][budget]") {
  concurrency_budget b{10, 1};
  b.reset({1, 2}, 0);
  b.hold({3, 2, 4, 5, false});
  b.hold({2, 0, 0, 3, true});
  b.hold({1, 2, 9, 5, false});
  auto now = b.take_early(2);
  REQUIRE(now.size() == 1);
  CHECK(now[0].lend);
  CHECK(now[0].units == 3);
  auto later = b.take_early(3);
  REQUIRE(later.size() == 1);
  CHECK(later[0].demand == 4);
  CHECK(b.take_early(3).empty());
  // A lend adds units.
  b.take_lend(3);
  CHECK(b.held() == 8);
}

TEST_CASE("concurrency_budget asks for a tick to lend only when another shard wants the units",
          "[frontier][budget]") {
  concurrency_budget b{10, 1};
  b.reset({1, 2}, 0);
  REQUIRE(b.take_demand(2, 1, 5)); // the other wants 1 and holds 5
  b.rebalance(1, 1);
  REQUIRE(b.say(1, 1)); // said 2
  REQUIRE(!b.stale());
  // Holding 5, using 1, wanting 2: units to spare, but nobody wants them.
  // (A tick here would find nothing to do and ask for the next: a crawl
  // whose hosts all wait would tick on for ever.)
  CHECK(!b.note(1, 1));
  // Now the other wants 9: the spare units go to it at the next tick.
  REQUIRE(b.take_demand(2, 9, 5));
  CHECK(b.note(1, 1));
  auto out = b.rebalance(1, 1);
  REQUIRE(out.to_send.size() == 1);
  CHECK(out.to_send[0] == concurrency_budget::lend{1, 3});
}

TEST_CASE("concurrency_budget asks for a tick when its own share grew past what it may use",
          "[frontier][budget]") {
  concurrency_budget b{10, 1};
  b.reset({1, 2}, 0);
  REQUIRE(b.take_demand(2, 6, 5));
  auto out = b.rebalance(2, 0); // wants 2: a share of 3, one unit lent to the other
  REQUIRE(out.to_send.size() == 1);
  CHECK(out.to_send[0] == concurrency_budget::lend{1, 1});
  REQUIRE(b.say(2, 0)); // said 2
  CHECK(b.usable() == 3);
  // 3 under way and a site waiting: it wants 4, which is no news to the
  // others (within two of 2), but its share is 4 now: a tick takes it up.
  CHECK(b.note(3, 1));
  b.rebalance(3, 1);
  CHECK(b.usable() == 4);
  CHECK(!b.note(3, 1));
}
