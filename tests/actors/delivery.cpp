#include "frontier/delivery.hpp"

#include <catch2/catch.hpp>

using namespace arachne;

namespace {

record page(std::string url) {
  record r;
  r.url = std::move(url);
  return r;
}

using ids = std::vector<uint64_t>;
using sinks = std::vector<std::size_t>;

} // namespace

TEST_CASE("record_delivery sends whole batches to every working sink", "[frontier][delivery]") {
  record_delivery d{{2, 4, false}, 2};
  d.add(page("a"), 1);
  CHECK(!d.batch_ready());
  d.add(page("b"), 2);
  d.add(page("c"), 3);
  CHECK(d.batch_ready());
  auto out = d.take(d.pending(), false);
  REQUIRE(out);
  CHECK(out->to == sinks{0, 1});
  REQUIRE(out->batch->records.size() == 2);
  CHECK(out->batch->records[0].url == "a");
  CHECK(out->batch->seq == 1);
  CHECK(d.pending() == 1);
  auto rest = d.take(d.pending(), false);
  REQUIRE(rest);
  CHECK(rest->batch->seq == 2);
  CHECK(!d.take(d.pending(), false));
}

TEST_CASE("record_delivery holds records back while a sink has no credit", "[frontier][delivery]") {
  record_delivery d{{1, 2, false}, 1};
  for (auto u : {"a", "b", "c"})
    d.add(page(u), 0);
  auto b1 = d.take(1, false);
  d.sent(0, b1->batch);
  CHECK(!d.held_back());
  auto b2 = d.take(1, false);
  d.sent(0, b2->batch);
  CHECK(d.held_back()); // two unacknowledged batches: the credit
  CHECK(d.unacknowledged());
  d.stored(0, d.generation(0), b1->batch->seq);
  CHECK(!d.held_back());
}

TEST_CASE("record_delivery: in a cluster only records whose URLs the guardian has go out",
          "[frontier][delivery]") {
  record_delivery d{{64, 4, false}, 1};
  d.add(page("a"), 3);
  d.add(page("item"), 0); // an item has no URL of its own
  d.add(page("b"), 7);
  CHECK(d.ready_upto(2) == 0);
  CHECK(d.ready_upto(5) == 2);
  CHECK(d.ready_upto(7) == 3);
  record_delivery small{{2, 4, false}, 1};
  small.add(page("a"), 1);
  small.add(page("b"), 2);
  small.add(page("c"), 3);
  CHECK(small.ready_upto(9) == 2); // (a batch at most)
}

TEST_CASE("record_delivery: a tracked batch's URLs are done once every sink acknowledged it",
          "[frontier][delivery]") {
  record_delivery d{{64, 4, false}, 2};
  d.add(page("a"), 3);
  d.add(page("item"), 0);
  auto out = d.take(2, true);
  for (auto i : out->to)
    d.sent(i, out->batch);
  CHECK(d.tracking_batches());
  CHECK(d.stored(0, d.generation(0), out->batch->seq).empty());
  CHECK(d.stored(1, d.generation(1), out->batch->seq) == ids{3});
  CHECK(!d.tracking_batches());
  CHECK(!d.unacknowledged());
}

TEST_CASE("record_delivery: a sink that failed gets nothing more and what it missed is counted",
          "[frontier][delivery]") {
  record_delivery d{{1, 4, false}, 2};
  d.add(page("a"), 1);
  d.add(page("b"), 2);
  auto b1 = d.take(1, true);
  for (auto i : b1->to)
    d.sent(i, b1->batch);
  d.failed(1, d.generation(1), b1->batch->seq, "disk full");
  CHECK(!d.works(1));
  CHECK(d.errors() == std::vector<std::string>{"", "disk full"});
  // Not in every sink: its URL is not done, even once sink 0 has it.
  CHECK(d.stored(0, d.generation(0), b1->batch->seq).empty());
  auto b2 = d.take(1, true);
  CHECK(b2->to == sinks{0});
  // Nor is a URL whose record the failed sink never got, once the others
  // stored it: a resumed crawl fetches it again.
  for (auto i : b2->to)
    d.sent(i, b2->batch);
  CHECK(d.stored(0, d.generation(0), b2->batch->seq).empty());
  CHECK(d.lost() == std::vector<uint64_t>{0, 2}); // the failed batch and the one it missed
  CHECK(!d.held_back());
}

TEST_CASE("record_delivery: a sink about to be restarted holds everything, then gets its "
          "unacknowledged batches again, in order",
          "[frontier][delivery]") {
  record_delivery d{{1, 4, true}, 1};
  for (auto u : {"a", "b", "c"})
    d.add(page(u), 0);
  auto gen = d.generation(0);
  auto b1 = d.take(1, false);
  d.sent(0, b1->batch);
  auto b2 = d.take(1, false);
  d.sent(0, b2->batch);
  d.failed(0, gen, b1->batch->seq, "crashed");
  CHECK(d.held_back()); // waits for the restart
  auto again = d.restarted(0);
  REQUIRE(again.size() == 2);
  CHECK(again[0]->seq == b1->batch->seq);
  CHECK(again[1]->seq == b2->batch->seq);
  CHECK(d.works(0));
  CHECK(d.generation(0) != gen);
  // A late answer from the failed sink changes nothing of the new one's.
  for (auto& b : again)
    d.sent(0, b);
  d.failed(0, gen, b2->batch->seq, "late");
  CHECK(d.works(0));
  CHECK(d.unacknowledged());
}

TEST_CASE("record_delivery: a sink given up loses what it held, and the rest moves on",
          "[frontier][delivery]") {
  record_delivery d{{1, 4, true}, 1};
  d.add(page("a"), 0);
  d.add(page("b"), 0);
  auto b1 = d.take(1, false);
  d.sent(0, b1->batch);
  d.went_away(0, "the sink went away");
  CHECK(d.held_back());
  d.give_up(0);
  CHECK(!d.held_back());
  CHECK(d.lost() == std::vector<uint64_t>{1});
  CHECK(d.take(1, false)->to.empty());
  CHECK(d.lost() == std::vector<uint64_t>{2});
}
