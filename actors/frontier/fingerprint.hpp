#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace arachne {

/// A 128-bit fingerprint of a normalised URL: two independent 64-bit hashes,
/// so that a collision (which would lose a URL) is practically impossible.
struct url_fingerprint {
  uint64_t hi = 0;
  uint64_t lo = 0;
  friend bool operator==(const url_fingerprint& x, const url_fingerprint& y) noexcept {
    return x.hi == y.hi && x.lo == y.lo;
  }
};

/// The fingerprint of a normalised URL.
url_fingerprint fingerprint(std::string_view normalised_url) noexcept;

/// An exact set of URL fingerprints: open addressing with linear probing over
/// 16-byte slots, grown at 70% load. No node per URL: a lookup touches one
/// cache line and an insert allocates nothing (a node-based set made the
/// seen-set the crawl's hottest spot; see docs/benchmarks.md).
class fingerprint_set {
public:
  /// Adds `f`; false if it was already there.
  bool insert(url_fingerprint f);

  /// Removes `f` (its host moved to another shard); false if it was not there.
  bool erase(url_fingerprint f);

  /// True if `f` is in the set.
  bool contains(url_fingerprint f) const;

  /// Fingerprints in the set.
  std::size_t size() const noexcept { return size_; }

  /// Bytes the slots take.
  std::size_t memory() const noexcept { return slots_.size() * sizeof(url_fingerprint); }

private:
  void grow();
  std::size_t find(url_fingerprint f) const; // its slot, or the empty slot where it would go

  std::vector<url_fingerprint> slots_; // {0, 0} marks an empty slot
  std::size_t size_ = 0;
};

} // namespace arachne
