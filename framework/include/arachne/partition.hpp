#pragma once

#include <cstdint>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace arachne {

/// Identifies one frontier shard across the whole crawl (all nodes).
using shard_id = uint64_t;

/// A key placed on a shard other than its rendezvous owner: its partition
/// hash and the shard that owns it (load-aware placement in a cluster).
using placement = std::pair<uint64_t, shard_id>;

/// Maps partition keys (hosts or registrable domains) to the shard that owns
/// them by rendezvous hashing: removing a shard moves only that shard's keys,
/// adding one takes a fair share from every other shard. Placed keys go to
/// the shard they were placed on while it is in the map.
class partition_map {
public:
  partition_map() = default;

  /// A map over `shards`; weights default to 1 (a node's cores, say).
  /// Placements on shards not in `shards` are ignored.
  explicit partition_map(std::vector<shard_id> shards, std::vector<double> weights = {},
                         const std::vector<placement>& placed = {});

  /// The shard that owns `key`; the map must not be empty.
  shard_id owner(std::string_view key) const noexcept;

  /// The position of `owner(key)` in `shards()`.
  std::size_t owner_index(std::string_view key) const noexcept;

  /// The position of the owner of a key with `partition_hash(key) == hash`.
  std::size_t owner_index_of_hash(uint64_t hash) const noexcept;

  /// The position of the key's rendezvous owner, placements aside (for
  /// keys that are not hosts: IP addresses).
  std::size_t rendezvous_index(std::string_view key) const noexcept;

  /// True if the key with this hash is placed (owned away from its rendezvous owner).
  bool placed(uint64_t hash) const { return placed_.count(hash) > 0; }

  /// The shards of this map, in the order given.
  const std::vector<shard_id>& shards() const noexcept { return shards_; }

  /// True if the map has no shards.
  bool empty() const noexcept { return shards_.empty(); }

private:
  std::size_t rendezvous_of_hash(uint64_t hash) const noexcept;

  std::vector<shard_id> shards_;
  std::vector<double> weights_;
  std::unordered_map<uint64_t, std::size_t> placed_; // hash -> position
};

/// A 64-bit hash of a partition key, stable across processes, builds and hosts.
uint64_t partition_hash(std::string_view key) noexcept;

} // namespace arachne
