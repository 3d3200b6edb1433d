#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "arachne/partition.hpp"

namespace arachne {

/// Shares of `total` water-filled by `demands`: a shard that wants less than
/// an equal share gets what it wants, the rest is split among the others the
/// same way, and what no shard wants is split evenly.
std::vector<uint64_t> water_fill(const std::vector<uint64_t>& demands, uint64_t total);

/// One shard's part of --concurrency, a plain value the shard's actor asks
/// and tells (docs/user-guide.md, "sharing --concurrency"). The shards hold
/// --concurrency in units: each starts with an equal share, tells the others
/// what it could use (its demand) when that changes much, and lends units it
/// does not use to shards whose water-filled share is above what they hold.
/// Units only move, so together the shards never start more requests than
/// --concurrency. `busy` is always what the shard has under way or asked
/// for, `waiting` the number of its sites in line for the budget.
class concurrency_budget {
public:
  /// Units lent to the shard at `to` (its index in the view).
  struct lend {
    std::size_t to = 0;
    uint64_t units = 0;
    friend bool operator==(const lend& x, const lend& y) noexcept {
      return x.to == y.to && x.units == y.units;
    }
  };

  /// What a rebalance gives away, and whether the others should hear of it.
  struct lends {
    std::vector<lend> to_send;
    bool tick = false; // tell the others the new budget at the next tick
  };

  /// A demand or lend sent under a view that has not arrived yet.
  struct early_share {
    uint64_t epoch = 0;
    shard_id shard = 0;  // the sayer (a demand)
    uint32_t demand = 0;
    uint64_t units = 0;  // its budget (a demand), the units (a lend)
    bool lend = false;
  };

  /// `total`: --concurrency; `per_site`: --per-host-concurrency. Alone
  /// (before any view), the shard holds all of `total`.
  concurrency_budget(uint64_t total, uint32_t per_site);

  /// A new view of `shards`, this shard at `index`: equal shares, and the
  /// others taken to want all of it until they say otherwise.
  void reset(const std::vector<shard_id>& shards, std::size_t index);

  /// Requests that may be under way or asked for now.
  uint64_t usable() const noexcept { return budget_ < share_ ? budget_ : share_; }

  /// The units this shard holds.
  uint64_t held() const noexcept { return budget_; }

  /// The requests the shard could keep in flight: those under way, and for
  /// every waiting site as many as a site may have (at most --concurrency).
  uint32_t demand(uint64_t busy, std::size_t waiting) const noexcept;

  /// Water-fills the demands known; gives units beyond what the shard wants
  /// (or uses) to shards that want more than they hold, up to their shares.
  lends rebalance(uint64_t busy, std::size_t waiting);

  /// After a change at the shard: true if the next tick should tell the
  /// others (its demand moved by more than an eighth, or to or from nothing)
  /// or lend units it no longer uses to a shard that wants them.
  bool note(uint64_t busy, std::size_t waiting);

  /// At a tick: the demand to tell the others (with `held()`), if it is
  /// news to them.
  std::optional<uint32_t> say(uint64_t busy, std::size_t waiting);

  /// Another shard's demand and budget, said under the current view; false
  /// if that shard is not in it.
  bool take_demand(shard_id shard, uint32_t demand, uint64_t budget);

  /// Units another shard lent this one under the current view.
  void take_lend(uint64_t units);

  /// Keeps a demand or lend of a view not here yet.
  void hold(early_share share) { early_.push_back(share); }

  /// The held demands and lends of view `epoch`, in the order they came;
  /// those of later views stay held, those of earlier ones are void.
  std::vector<early_share> take_early(uint64_t epoch);

  /// True while the others have not heard the latest demand or budget.
  bool stale() const noexcept { return stale_; }

private:
  /// What a rebalance would do: this shard's water-filled share, the lends.
  struct plan {
    uint64_t share = 0;
    std::vector<lend> to_send;
  };
  plan plan_lends(uint64_t busy, std::size_t waiting) const;

  uint64_t cap_;   // --concurrency as given: the most a demand says
  uint64_t total_; // the units shared (at least one)
  uint32_t per_site_;
  std::vector<shard_id> shards_;
  std::size_t index_ = 0;
  std::vector<uint32_t> demands_; // per shard of the view, as it last said
  std::vector<uint64_t> budgets_; // per shard of the view, as last known
  std::vector<early_share> early_;
  uint32_t demand_said_ = 0;
  bool stale_ = true;
  uint64_t budget_;
  uint64_t share_;
};

} // namespace arachne
