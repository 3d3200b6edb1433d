#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace arachne {

/// Identifies one frontier shard across the whole crawl (all nodes).
using shard_id = uint64_t;

/// Maps partition keys (hosts or registrable domains) to the shard that owns
/// them by rendezvous hashing: removing a shard moves only that shard's keys,
/// adding one takes a fair share from every other shard.
class partition_map {
public:
  partition_map() = default;

  /// A map over `shards`; weights default to 1 (a node's cores, say).
  explicit partition_map(std::vector<shard_id> shards, std::vector<double> weights = {});

  /// The shard that owns `key`; the map must not be empty.
  shard_id owner(std::string_view key) const noexcept;

  /// The position of `owner(key)` in `shards()`.
  std::size_t owner_index(std::string_view key) const noexcept;

  /// The position of the owner of a key with `partition_hash(key) == hash`.
  std::size_t owner_index_of_hash(uint64_t hash) const noexcept;

  /// The shards of this map, in the order given.
  const std::vector<shard_id>& shards() const noexcept { return shards_; }

  /// True if the map has no shards.
  bool empty() const noexcept { return shards_.empty(); }

private:
  std::vector<shard_id> shards_;
  std::vector<double> weights_;
};

/// A 64-bit hash of a partition key, stable across processes, builds and hosts.
uint64_t partition_hash(std::string_view key) noexcept;

} // namespace arachne
