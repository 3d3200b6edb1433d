// The coordinator's plain parts: membership and the end of a crawl.

#include "coordinator/end_of_crawl.hpp"
#include "coordinator/membership.hpp"
#include "coordinator/placement.hpp"

#include <filesystem>

#include <unistd.h>

#include <catch2/catch.hpp>

using namespace arachne;

namespace {

node_info node(std::string name, std::vector<shard_id> ids, double weight = 1.0) {
  node_info ni;
  ni.name = std::move(name);
  ni.weight = weight;
  ni.shard_ids = ids;
  ni.shards.resize(ids.size());
  return ni;
}

frontier_stats shard(uint64_t sent, uint64_t received, uint64_t recorded, bool idle) {
  frontier_stats s;
  s.batches_sent = sent;
  s.batches_received = received;
  s.recorded = recorded;
  s.idle = idle;
  return s;
}

// Two nodes: a (shards 10, 11) and b (shard 20).
membership two_nodes() {
  membership m{true};
  m.add(node_actor{}, node("a:1", {10, 11}), 0, false);
  m.add(node_actor{}, node("b:1", {20}), 0, false);
  return m;
}

frontier_stats load(shard_id id, uint64_t queued, uint64_t in_flight,
                    std::vector<host_load> busiest = {}) {
  frontier_stats s;
  s.shard = id;
  s.queued = queued;
  s.in_flight = in_flight;
  s.busiest = std::move(busiest);
  return s;
}

bool observe(end_detector& e, const std::vector<frontier_stats>& now, bool lost = false) {
  return e.observe(now, stats_round::of(now, now.size()), lost);
}

} // namespace

TEST_CASE("membership: a node's shards join the view with its weight shared among them",
          "[coordinator][membership]") {
  membership m{true};
  m.add(node_actor{}, node("a:1", {10, 11}, 2.0), 0, false);
  m.add(node_actor{}, node("b:1", {20}), 0, false);
  auto& v = m.view();
  CHECK(v.epoch == 1);
  CHECK(v.cluster);
  CHECK(v.shards == std::vector<uint64_t>{10, 11, 20});
  CHECK(v.weights == std::vector<double>{1.0, 1.0, 1.0});
  CHECK(v.nodes == std::vector<uint32_t>{0, 0, 1});
  CHECK(m.node_of_shard(2) == 1);
}

TEST_CASE("membership: a lost node's shards leave the view in a new epoch",
          "[coordinator][membership]") {
  membership m{true};
  m.add(node_actor{}, node("a:1", {10}), 0, false);
  m.add(node_actor{}, node("b:1", {20, 21}), 0, false);
  m.lose(1);
  auto& v = m.view();
  CHECK(v.epoch == 2);
  CHECK(v.shards == std::vector<uint64_t>{10});
  CHECK(v.nodes == std::vector<uint32_t>{0});
  CHECK(m.nodes().size() == 2); // (kept, for the report)
  CHECK(!m.nodes()[1].handle);
}

TEST_CASE("membership: a name used before comes back with the next generation",
          "[coordinator][membership]") {
  membership m{true};
  CHECK(m.next_generation("a:1") == 0);
  m.add(node_actor{}, node("a:1", {10}), 0, false);
  CHECK(m.next_generation("a:1") == 1);
  m.set_generations({{"b:1", 4}});
  CHECK(m.next_generation("b:1") == 5);
}

TEST_CASE("membership: what --state keeps names the live nodes and every generation",
          "[coordinator][membership]") {
  membership m{true};
  m.set_epoch(7);
  m.add(node_actor{}, node("a:1", {10}), 2, true);
  auto cs = m.saved("c0ffee", false);
  CHECK(cs.crawl_id == "c0ffee");
  CHECK(cs.epoch == 7);
  CHECK(!cs.finished);
  CHECK(cs.generations.at("a:1") == 2);
  // (Invalid handles here: no node is live.)
  CHECK(cs.nodes.empty());
}

TEST_CASE("membership: each node's share sums its shards' last stats", "[coordinator][membership]") {
  membership m{true};
  m.add(node_actor{}, node("a:1", {10, 11}), 0, false);
  m.add(node_actor{}, node("b:1", {20}), 0, true);
  std::map<shard_id, frontier_stats> last;
  last[10].pages = 3;
  last[10].hosts = 1;
  last[11].pages = 4;
  last[11].recorded = 9;
  last[20].pages = 5;
  auto shares = m.shares(last);
  REQUIRE(shares.size() == 2);
  CHECK(shares[0].name == "a:1");
  CHECK(shares[0].shards == 2);
  CHECK(shares[0].pages == 7);
  CHECK(shares[0].hosts == 1);
  CHECK(shares[0].records == 9);
  CHECK(shares[1].pages == 5);
  CHECK(shares[1].joined);
}

TEST_CASE("membership: one process's shards are node 0 of a view that is not a cluster",
          "[coordinator][membership]") {
  membership m;
  m.add_local({0, 1, 2}, std::vector<frontier_actor>(3));
  CHECK(!m.view().cluster);
  CHECK(m.view().nodes == std::vector<uint32_t>{0, 0, 0});
  CHECK(m.nodes().empty()); // (no node in the report)
}

TEST_CASE("stats_round sums the shards and is idle only if every shard answered idle",
          "[coordinator][end]") {
  std::vector<frontier_stats> now{shard(2, 1, 5, true), shard(1, 2, 6, true)};
  now[0].cut.scope = 3;
  now[1].cut.traps = 2;
  now[1].state_error = "disk full";
  auto r = stats_round::of(now, 2);
  CHECK(r.sent == 3);
  CHECK(r.received == 3);
  CHECK(r.progress.recorded == 11);
  CHECK(r.cut.scope == 3);
  CHECK(r.cut.traps == 2);
  CHECK(r.state_error == "disk full");
  CHECK(r.idle);
  CHECK(!stats_round::of(now, 3).idle); // a shard did not answer
}

TEST_CASE("end_detector ends a crawl after two identical idle rounds with nothing in transit",
          "[coordinator][end]") {
  end_detector e;
  std::vector<frontier_stats> idle{shard(4, 4, 10, true), shard(4, 4, 12, true)};
  CHECK(!observe(e, idle)); // the first round alone proves nothing
  CHECK(observe(e, idle));
}

TEST_CASE("end_detector: a batch in transit, a busy shard or a change keeps the crawl going",
          "[coordinator][end]") {
  end_detector e;
  std::vector<frontier_stats> in_transit{shard(5, 4, 10, true), shard(4, 4, 12, true)};
  CHECK(!observe(e, in_transit));
  CHECK(!observe(e, in_transit)); // sent 9, received 8
  std::vector<frontier_stats> busy{shard(4, 4, 10, false), shard(4, 4, 12, true)};
  CHECK(!observe(e, busy));
  CHECK(!observe(e, busy));
  // Idle twice, but a batch went and came between the rounds: not the same.
  end_detector f;
  CHECK(!observe(f, {shard(4, 4, 10, true), shard(4, 4, 12, true)}));
  CHECK(!observe(f, {shard(5, 4, 10, true), shard(4, 5, 12, true)}));
  CHECK(observe(f, {shard(5, 4, 10, true), shard(4, 5, 12, true)}));
}

TEST_CASE("end_detector: after a node is lost the sums are not compared, and a reset starts anew",
          "[coordinator][end]") {
  end_detector e;
  std::vector<frontier_stats> uneven{shard(9, 4, 10, true)};
  CHECK(!observe(e, uneven, true));
  CHECK(observe(e, uneven, true));
  e.reset();
  CHECK(!observe(e, uneven, true));
}

TEST_CASE("rounds of stats spread out while the end cannot be near, and close in when it may be",
          "[coordinator][end]") {
  using namespace std::chrono_literals;
  auto round = [](uint64_t recorded, uint64_t queued, uint64_t in_flight = 1) {
    stats_round r;
    r.progress.recorded = recorded;
    r.progress.queued = queued;
    r.progress.in_flight = in_flight;
    return r;
  };
  // The first round: nothing to compare with.
  CHECK(next_round_wait(std::nullopt, round(0, 1), 0ms, 20ms) == round_wait_min);
  // 10 records in 20 ms with 10,000 queued: 20 s to drain; an eighth of it
  // is over the most.
  CHECK(next_round_wait(round(0, 10010), round(10, 10000), 20ms, 20ms) == round_wait_max);
  // 40 queued at that rate: 80 ms to drain, the next round in 10 -> 20 ms.
  CHECK(next_round_wait(round(0, 50), round(10, 40), 20ms, 20ms) == round_wait_min);
  // 400 queued: 800 ms, rounds 100 ms apart.
  CHECK(next_round_wait(round(0, 410), round(10, 400), 20ms, 20ms) == 100ms);
  // Nothing queued (the last requests in flight): the end may come any moment.
  CHECK(next_round_wait(round(0, 10), round(10, 0), 20ms, 320ms) == round_wait_min);
  // Nothing recorded but the work moved (a link batch came): no rate to go by.
  auto moved = round(10, 5);
  moved.received = 1;
  CHECK(next_round_wait(round(10, 5), moved, 20ms, 320ms) == round_wait_min);
  // Nothing changed at all (every host waiting): the wait doubles, up to the most.
  CHECK(next_round_wait(round(10, 5), round(10, 5), 20ms, 20ms) == 40ms);
  CHECK(next_round_wait(round(10, 5), round(10, 5), 200ms, 200ms) == round_wait_max);
}

TEST_CASE("membership: hosts placed on other shards come in a new epoch, and go with a lost node",
          "[coordinator][membership]") {
  auto m = two_nodes();
  m.place({{7, 20}, {8, 11}});
  CHECK(m.view().epoch == 2);
  CHECK(m.view().placed == std::vector<placement>{{7, 20}, {8, 11}});
  m.place({{7, 10}}); // (a host placed again keeps one entry)
  CHECK(m.view().placed == std::vector<placement>{{7, 10}, {8, 11}});
  CHECK(m.saved("c", false).placed == m.view().placed);
  m.add(node_actor{}, node("c:1", {30}), 0, false);
  m.place({{9, 30}});
  m.lose(2);
  CHECK(m.view().placed == std::vector<placement>{{7, 10}, {8, 11}});
}

TEST_CASE("coordinator state: placements are saved and read back", "[coordinator][cluster]") {
  auto dir = std::filesystem::temp_directory_path()
             / ("arachne-placed-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  coordinator_state cs;
  cs.crawl_id = "c0ffee";
  cs.epoch = 4;
  cs.nodes.push_back({"a:1", 0, false});
  cs.placed = {{0xFFFFFFFFFFFFFFF0ull, 12}, {3, 4}};
  REQUIRE(!write_coordinator_state(dir.string(), cs));
  auto back = read_coordinator_state(dir.string());
  std::filesystem::remove_all(dir);
  REQUIRE(back);
  REQUIRE(*back);
  CHECK((*back)->placed == cs.placed);
}

TEST_CASE("placement: a node out of work takes the busiest shard's largest hosts that narrow "
          "the gap", "[coordinator][placement]") {
  auto m = two_nodes();
  // Node a: 1,000 queued (shard 11 the busiest); node b: none, 4 in flight.
  std::vector<frontier_stats> now{load(10, 100, 8), load(11, 900, 8, {{1, 700}, {2, 150}, {3, 30}}),
                                  load(20, 0, 4)};
  auto moves = plan_placement(m.view(), now);
  // The gap is 1,000: host 1 (700) would leave b ahead; 2 and 3 do not.
  CHECK(moves == std::vector<placement>{{2, 20}, {3, 20}});
  // At most `most_hosts` at once.
  CHECK(plan_placement(m.view(), now, {64, 1}) == std::vector<placement>{{2, 20}});
  // If every host would overshoot, the smallest that narrows the gap moves.
  now[1].busiest = {{1, 700}, {4, 600}};
  CHECK(plan_placement(m.view(), now) == std::vector<placement>{{4, 20}});
}

TEST_CASE("placement: nothing moves while hosts move, while the idle node has work, or for little",
          "[coordinator][placement]") {
  auto m = two_nodes();
  std::vector<frontier_stats> now{load(10, 0, 0), load(11, 900, 8, {{2, 150}}), load(20, 0, 4)};
  REQUIRE(!plan_placement(m.view(), now).empty());
  auto moving = now;
  moving[0].moving = true;
  CHECK(plan_placement(m.view(), moving).empty());
  auto working = now;
  working[2].queued = 5; // more than its 4 in flight: not out of work yet
  CHECK(plan_placement(m.view(), working).empty());
  auto little = now;
  little[1].queued = 40; // (below min_queued)
  CHECK(plan_placement(m.view(), little).empty());
  // A single host as large as the gap would only swap the nodes' roles.
  auto one = now;
  one[1].busiest = {{2, 900}};
  CHECK(plan_placement(m.view(), one).empty());
  // One node only: nothing to balance.
  membership single{true};
  single.add(node_actor{}, node("a:1", {10, 11}), 0, false);
  CHECK(plan_placement(single.view(), {now[0], now[1]}).empty());
  // Not a cluster (one process): never.
  membership local;
  local.add_local({10, 11}, {frontier_actor{}, frontier_actor{}});
  CHECK(plan_placement(local.view(), {now[0], now[1]}).empty());
}
