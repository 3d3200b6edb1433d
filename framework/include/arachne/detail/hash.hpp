#pragma once

// Hashing helpers shared by the partition function and the seen set. Their
// values are part of what a crawl stores and what nodes agree on (which
// shard owns a host, a URL's fingerprint): they never change.

#include <cstdint>

namespace arachne::detail {

/// splitmix64's finaliser: spreads every input bit over every output bit.
inline uint64_t mix64(uint64_t x) noexcept {
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

} // namespace arachne::detail
