// The observer's parts that need no server: the token check and the
// stats of a round by node.
#include "observer/observer.hpp"

#include <catch2/catch.hpp>

using namespace arachne;

TEST_CASE("the control token matches only itself, whatever its length", "[observer]") {
  std::string token = "0123456789abcdef";
  CHECK(same_token(token, token));
  CHECK_FALSE(same_token("0123456789abcdeF", token));
  CHECK_FALSE(same_token("0123456789abcde", token));
  CHECK_FALSE(same_token("0123456789abcdef0", token));
  CHECK_FALSE(same_token("", token));
  CHECK_FALSE(same_token("", "")); // (no token: nothing matches)
}

TEST_CASE("a round's shard stats sum per node, their longest queues merged", "[observer]") {
  std::vector<frontier_stats> stats(3);
  stats[0].queued = 5;
  stats[0].longest_queues = {{"http://a.test", 5}};
  stats[1].queued = 7;
  stats[1].longest_queues = {{"http://b.test", 4}, {"http://c.test", 3}};
  stats[2].queued = 1;
  stats[0].sink_unacked = {1, 0};
  stats[1].sink_unacked = {2, 1};
  stats[2].records.pages = 9;
  auto nodes = metrics_by_node(stats, {"n1:1", "n1:1", "n2:2"});
  REQUIRE(nodes.size() == 2);
  CHECK(nodes[0].node == "n1:1");
  CHECK(nodes[0].queued == 12);
  CHECK(nodes[0].sink_unacked == std::vector<uint64_t>{3, 1});
  REQUIRE(nodes[0].longest_queues.size() == 3);
  CHECK(nodes[0].longest_queues[0].first == "http://a.test");
  CHECK(nodes[0].longest_queues[2].first == "http://c.test");
  CHECK(nodes[1].records.pages == 9);
  CHECK(metrics_by_node(stats, {}).size() == 1); // (one process: one unnamed node)
}
