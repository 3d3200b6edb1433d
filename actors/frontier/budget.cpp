#include "frontier/budget.hpp"

#include <algorithm>
#include <numeric>

namespace arachne {

std::vector<uint64_t> water_fill(const std::vector<uint64_t>& demands, uint64_t total) {
  auto n = demands.size();
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::sort(order.begin(), order.end(),
            [&](std::size_t x, std::size_t y) { return demands[x] < demands[y]; });
  std::vector<uint64_t> shares(n, 0);
  uint64_t left = total;
  for (std::size_t k = 0; k < n; ++k) {
    auto fair = left / (n - k);
    shares[order[k]] = std::min(demands[order[k]], fair);
    left -= shares[order[k]];
  }
  for (auto& x : shares)
    x += left / n;
  return shares;
}

concurrency_budget::concurrency_budget(uint64_t total, uint32_t per_site)
  : cap_(total),
    total_(std::max<uint64_t>(1, total)),
    per_site_(per_site),
    budget_(total_),
    share_(total_) {
}

void concurrency_budget::reset(const std::vector<shard_id>& shards, std::size_t index) {
  auto n = shards.size();
  shards_ = shards;
  index_ = index;
  demands_.assign(n, static_cast<uint32_t>(std::min<uint64_t>(total_, UINT32_MAX)));
  budgets_.assign(n, total_ / n);
  budgets_[0] += total_ % n;
  budget_ = budgets_[index_];
  share_ = budget_;
  demand_said_ = demands_[index_];
  stale_ = true;
}

uint32_t concurrency_budget::demand(uint64_t busy, std::size_t waiting) const noexcept {
  auto d = busy + waiting * std::max<uint64_t>(1, per_site_);
  return static_cast<uint32_t>(std::min<uint64_t>(d, cap_));
}

concurrency_budget::plan concurrency_budget::plan_lends(uint64_t busy,
                                                        std::size_t waiting) const {
  plan p;
  p.share = share_;
  auto n = demands_.size();
  if (n <= 1)
    return p;
  std::vector<uint64_t> wants(demands_.begin(), demands_.end());
  wants[index_] = demand(busy, waiting);
  auto shares = water_fill(wants, total_);
  p.share = std::max<uint64_t>(1, shares[index_]);
  // An idle shard holds none back from a shard that waits for units (what
  // nobody wants stays where it is).
  auto keep = std::max<uint64_t>(std::min(shares[index_], wants[index_]), busy);
  if (budget_ <= keep)
    return p;
  auto spare = budget_ - keep;
  for (std::size_t k = 0; k < n && spare > 0; ++k) {
    auto wanted = std::min(shares[k], wants[k]);
    if (k == index_ || budgets_[k] >= wanted)
      continue;
    auto give = std::min<uint64_t>(spare, wanted - budgets_[k]);
    p.to_send.push_back({k, give});
    spare -= give;
  }
  return p;
}

concurrency_budget::lends concurrency_budget::rebalance(uint64_t busy, std::size_t waiting) {
  lends out;
  if (demands_.size() <= 1)
    return out;
  auto p = plan_lends(busy, waiting);
  share_ = p.share;
  for (auto& l : p.to_send) {
    budgets_[l.to] += l.units;
    budget_ -= l.units;
    stale_ = true; // (the others learn the new budget at the next tick)
  }
  out.to_send = std::move(p.to_send);
  out.tick = stale_;
  return out;
}

bool concurrency_budget::note(uint64_t busy, std::size_t waiting) {
  if (demands_.size() <= 1 || stale_)
    return false;
  auto d = demand(busy, waiting);
  // Units held beyond what the shard wants and no longer used: a tick if a
  // shard wants them, or if its own share grew past them (share_ is
  // refreshed at a tick); else none, or a waiting crawl would tick on for
  // nothing.
  bool tick = false;
  if (budget_ > std::max<uint64_t>(std::min<uint64_t>(share_, d), busy)) {
    auto p = plan_lends(busy, waiting);
    tick = !p.to_send.empty() || (p.share > share_ && budget_ > share_);
  }
  auto said = demand_said_;
  if ((d == 0) != (said == 0) || d > said + said / 8 + 2 || d + said / 8 + 2 < said) {
    stale_ = true;
    tick = true;
  }
  return tick;
}

std::optional<uint32_t> concurrency_budget::say(uint64_t busy, std::size_t waiting) {
  if (!stale_)
    return std::nullopt;
  stale_ = false;
  demand_said_ = demand(busy, waiting);
  return demand_said_;
}

bool concurrency_budget::take_demand(shard_id shard, uint32_t demand, uint64_t budget) {
  auto i = std::find(shards_.begin(), shards_.end(), shard);
  auto k = static_cast<std::size_t>(i - shards_.begin());
  if (i == shards_.end() || k >= demands_.size())
    return false;
  demands_[k] = demand;
  budgets_[k] = budget;
  return true;
}

void concurrency_budget::take_lend(uint64_t units) {
  budget_ += units;
  if (index_ < budgets_.size())
    budgets_[index_] = budget_;
  stale_ = true;
}

std::vector<concurrency_budget::early_share> concurrency_budget::take_early(uint64_t epoch) {
  std::vector<early_share> now;
  std::vector<early_share> later;
  for (auto& m : early_) {
    if (m.epoch > epoch)
      later.push_back(m);
    else if (m.epoch == epoch)
      now.push_back(m);
  }
  early_ = std::move(later);
  return now;
}

} // namespace arachne
