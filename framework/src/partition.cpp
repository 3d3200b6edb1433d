#include "arachne/partition.hpp"

#include <cmath>

#include "arachne/detail/hash.hpp"

namespace arachne {

namespace {

// splitmix64's step: the golden-ratio increment, then its finaliser.
uint64_t mix(uint64_t x) noexcept {
  return detail::mix64(x + 0x9E3779B97F4A7C15ull);
}

} // namespace

uint64_t partition_hash(std::string_view key) noexcept {
  // FNV-1a over the bytes, then mixed: stable and independent of std::hash.
  uint64_t h = 0xCBF29CE484222325ull;
  for (auto c : key) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001B3ull;
  }
  return mix(h);
}

partition_map::partition_map(std::vector<shard_id> shards, std::vector<double> weights,
                             const std::vector<placement>& placed)
  : shards_(std::move(shards)), weights_(std::move(weights)) {
  weights_.resize(shards_.size(), 1.0);
  for (auto& [hash, shard] : placed)
    for (std::size_t i = 0; i < shards_.size(); ++i)
      if (shards_[i] == shard)
        placed_[hash] = i;
}

std::size_t partition_map::owner_index(std::string_view key) const noexcept {
  return owner_index_of_hash(partition_hash(key));
}

std::size_t partition_map::rendezvous_index(std::string_view key) const noexcept {
  return rendezvous_of_hash(partition_hash(key));
}

std::size_t partition_map::owner_index_of_hash(uint64_t h) const noexcept {
  if (!placed_.empty())
    if (auto i = placed_.find(h); i != placed_.end())
      return i->second;
  return rendezvous_of_hash(h);
}

std::size_t partition_map::rendezvous_of_hash(uint64_t h) const noexcept {
  // Weighted rendezvous hashing: score = -w / ln(u), u uniform in (0, 1)
  // from hash(key, shard); the highest score wins.
  std::size_t best = 0;
  double best_score = -1.0;
  for (std::size_t i = 0; i < shards_.size(); ++i) {
    auto x = mix(h ^ mix(shards_[i]));
    double u = (static_cast<double>(x >> 11) + 0.5) / 9007199254740992.0; // (0, 1)
    double score = -weights_[i] / std::log(u);
    if (score > best_score) {
      best_score = score;
      best = i;
    }
  }
  return best;
}

shard_id partition_map::owner(std::string_view key) const noexcept {
  return shards_[owner_index(key)];
}

} // namespace arachne
