#include "frontier/fingerprint.hpp"

#include <algorithm>

#include "arachne/detail/hash.hpp"

namespace arachne {

namespace {

constexpr url_fingerprint storable(url_fingerprint f) noexcept {
  if (f.hi == 0 && f.lo == 0)
    f.lo = 1; // {0, 0} marks empty slots
  return f;
}

constexpr bool empty_slot(const url_fingerprint& f) noexcept {
  return f.hi == 0 && f.lo == 0;
}

} // namespace

bool fingerprint_set::insert(url_fingerprint f) {
  f = storable(f);
  if ((size_ + 1) * 10 > slots_.size() * 7)
    grow();
  auto mask = slots_.size() - 1;
  for (auto i = static_cast<std::size_t>(f.lo) & mask;; i = (i + 1) & mask) {
    auto& slot = slots_[i];
    if (slot == f)
      return false;
    if (empty_slot(slot)) {
      slot = f;
      ++size_;
      return true;
    }
  }
}

std::size_t fingerprint_set::find(url_fingerprint f) const {
  auto mask = slots_.size() - 1;
  auto i = static_cast<std::size_t>(f.lo) & mask;
  while (!(slots_[i] == f) && !empty_slot(slots_[i]))
    i = (i + 1) & mask;
  return i;
}

bool fingerprint_set::contains(url_fingerprint f) const {
  f = storable(f);
  return !slots_.empty() && slots_[find(f)] == f;
}

bool fingerprint_set::erase(url_fingerprint f) {
  f = storable(f);
  if (slots_.empty())
    return false;
  auto i = find(f);
  if (!(slots_[i] == f))
    return false;
  // Backward shift: later entries of the probe run move up into the hole
  // unless their home slot lies after it (no tombstones).
  auto mask = slots_.size() - 1;
  slots_[i] = url_fingerprint{};
  for (auto j = (i + 1) & mask; !empty_slot(slots_[j]); j = (j + 1) & mask) {
    auto home = static_cast<std::size_t>(slots_[j].lo) & mask;
    bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
    if (stays)
      continue;
    slots_[i] = slots_[j];
    slots_[j] = url_fingerprint{};
    i = j;
  }
  --size_;
  return true;
}

void fingerprint_set::grow() {
  std::vector<url_fingerprint> old(std::max<std::size_t>(1024, slots_.size() * 2));
  old.swap(slots_);
  auto mask = slots_.size() - 1;
  for (auto& f : old) {
    if (empty_slot(f))
      continue;
    auto i = static_cast<std::size_t>(f.lo) & mask;
    while (!empty_slot(slots_[i]))
      i = (i + 1) & mask;
    slots_[i] = f;
  }
}

url_fingerprint fingerprint(std::string_view u) noexcept {
  uint64_t a = 0xCBF29CE484222325ull;
  uint64_t b = 0x84222325CBF29CE4ull;
  for (auto c : u) {
    a = (a ^ static_cast<unsigned char>(c)) * 0x100000001B3ull;
    b = (b + static_cast<unsigned char>(c)) * 0x9E3779B97F4A7C15ull;
    b ^= b >> 29;
  }
  return {detail::mix64(a), detail::mix64(b ^ u.size())};
}

} // namespace arachne
