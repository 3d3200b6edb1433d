#include "arachne/partition.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <string>

using namespace arachne;

namespace {

std::vector<std::string> keys(std::size_t n) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i)
    out.push_back("host-" + std::to_string(i) + ".example.test");
  return out;
}

} // namespace

TEST_CASE("partition_hash is stable across runs and builds", "[partition]") {
  // Fixed values: changing them re-maps every host of every persisted crawl.
  CHECK(partition_hash("") == partition_hash(""));
  CHECK(partition_hash("example.com") != partition_hash("example.org"));
  CHECK(partition_hash("example.com") == 0x559608F2BA07D7BFull);
}

TEST_CASE("partition_map spreads hosts evenly over shards", "[partition]") {
  partition_map map{{10, 11, 12, 13}};
  std::map<shard_id, int> count;
  for (auto& k : keys(8000))
    ++count[map.owner(k)];
  REQUIRE(count.size() == 4);
  for (auto& [shard, n] : count) {
    INFO("shard " << shard << " owns " << n);
    CHECK(n > 1700);
    CHECK(n < 2300);
  }
}

TEST_CASE("partition_map moves only the keys of a removed shard", "[partition]") {
  partition_map before{{1, 2, 3, 4, 5}};
  partition_map after{{1, 2, 4, 5}};
  int moved = 0;
  for (auto& k : keys(5000)) {
    auto old_owner = before.owner(k);
    auto new_owner = after.owner(k);
    if (old_owner != 3)
      CHECK(new_owner == old_owner);
    else
      ++moved;
  }
  CHECK(moved > 800);
  // Adding a shard takes keys only for itself.
  partition_map grown{{1, 2, 3, 4, 5, 6}};
  for (auto& k : keys(5000)) {
    auto owner = grown.owner(k);
    if (owner != 6)
      CHECK(owner == before.owner(k));
  }
}

TEST_CASE("partition_map honours weights", "[partition]") {
  partition_map map{{1, 2}, {1.0, 3.0}};
  int heavy = 0;
  for (auto& k : keys(8000))
    heavy += map.owner(k) == 2;
  CHECK(heavy > 5600);
  CHECK(heavy < 6400);
  CHECK(map.owner_index("x") < 2);
}

TEST_CASE("partition_map sends a placed key to its shard while that shard is in the map",
          "[partition]") {
  partition_map plain{{1, 2, 3}};
  auto key = keys(1).front();
  auto hash = partition_hash(key);
  auto home = plain.owner(key);
  shard_id away = home == 3 ? 1 : home + 1;
  partition_map placed{{1, 2, 3}, {}, {{hash, away}}};
  CHECK(placed.owner(key) == away);
  CHECK(placed.shards()[placed.owner_index_of_hash(hash)] == away);
  CHECK(placed.placed(hash));
  // Keys that are not hosts (IP addresses) keep their rendezvous owner.
  CHECK(placed.shards()[placed.rendezvous_index(key)] == home);
  // Every other key stays where rendezvous hashing puts it.
  for (auto& k : keys(2000))
    if (k != key)
      CHECK(placed.owner(k) == plain.owner(k));
  // A placement on a shard that left is ignored.
  partition_map gone{{1, 2, 3}, {}, {{hash, 9}}};
  CHECK(gone.owner(key) == home);
  CHECK_FALSE(gone.placed(hash));
}
