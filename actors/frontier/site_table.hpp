#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "caf/actor_clock.hpp"

#include "arachne/errors.hpp"
#include "arachne/messages.hpp"
#include "arachne/robots.hpp"

namespace arachne {

/// One site's (scheme://host:port) queue and robots.txt state inside its
/// shard. Pacing is per host name, across its sites, in the rate limiter.
/// Its queue is changed only through `site_table`, which keeps the counts.
struct host_entry {
  std::string origin; // scheme://authority, where its robots.txt lives
  enum class robots_t : uint8_t { unknown, fetching, ready } robots = robots_t::unknown;
  robots_rules rules;
  uint32_t robots_failures = 0;   // fetches of robots.txt in a row that failed (5xx, unreachable)
  std::string robots_problem;     // why everything is disallowed, if robots.txt stayed unavailable
  crawl_errc robots_cause = crawl_errc::none; // the network failure behind it, if one (not a 5xx)
  caf::actor_clock::time_point robots_expires{}; // fetch robots.txt again after this
  std::string ip;                          // its first address, for --per-ip-*; empty: unknown
  caf::actor_clock::time_point ip_expires{}; // look it up again after this
  bool resolving = false;                  // a lookup is under way
  uint32_t acquiring = 0; // slot requests outstanding
  uint32_t granted = 0;   // slots held: requests to the site under way
  uint64_t admitted = 0;  // URLs admitted (the per-host budget)
  uint32_t unreachable = 0; // fetches in a row that failed to connect or resolve
  crawl_errc dead = crawl_errc::none; // set once `unreachable` hits the limit
  int64_t db_id = 0;        // its row in the state store
  int64_t spill_cursor = 0; // the last of its URLs (by row) brought into memory

  /// URLs waiting in memory, first to fetch first.
  const std::deque<crawl_request>& queue() const noexcept { return queue_; }

  /// Queued URLs only in the state store, not in `queue()`.
  uint64_t spilled() const noexcept { return spilled_; }

  /// True if it has URLs to fetch, in memory or in the store.
  bool has_work() const noexcept { return !queue_.empty() || spilled_ > 0; }

  /// True while it waits in the shard's line for the concurrency budget.
  bool waiting_for_budget() const noexcept { return starved_; }

private:
  friend class site_table;
  std::deque<crawl_request> queue_;
  uint64_t spilled_ = 0;
  bool starved_ = false;
};

/// The sites of a shard by origin, their queues and the counts over all of
/// them (queued URLs, those held in memory) and the line of sites waiting
/// for the shard's share of --concurrency. Every change to a queue goes
/// through here, so the counts cannot drift from the queues.
class site_table {
public:
  using map_type = std::unordered_map<std::string, host_entry>;

  /// The site of `origin`, made if new (its `origin` field set).
  host_entry& operator[](const std::string& origin);

  /// The site of `origin`, or null.
  host_entry* find(const std::string& origin);

  /// Every site, by origin.
  const map_type& all() const noexcept { return sites_; }
  map_type::iterator begin() noexcept { return sites_.begin(); }
  map_type::iterator end() noexcept { return sites_.end(); }
  std::size_t size() const noexcept { return sites_.size(); }

  /// Adds `req` to the end of `h`'s queue in memory.
  void push(host_entry& h, crawl_request req);

  /// Takes the first URL of `h`'s queue (which must not be empty).
  crawl_request pop(host_entry& h);

  /// Counts one more URL of `h` that waits in the state store only.
  void spill(host_entry& h);

  /// Counts `n` URLs of `h` that wait in the state store (read at start).
  void restore(host_entry& h, uint64_t n);

  /// Brings one of `h`'s stored URLs into memory.
  void refill(host_entry& h, crawl_request req);

  /// Forgets `h`'s stored URLs (the store could not give them).
  void forget_spilled(host_entry& h);

  /// Removes the site at `i` (it moved to another shard) and returns its
  /// queued URLs; its place in the budget's line goes with it.
  std::deque<crawl_request> remove(map_type::iterator i);

  /// Puts `h` in the line for the budget, unless it is in it.
  void wait_for_budget(host_entry& h);

  /// Takes the first site of the line, or nothing if the line is empty.
  std::optional<std::string> next_waiting();

  /// Sites in the line for the budget.
  std::size_t waiting() const noexcept { return line_.size(); }

  /// URLs queued, in memory and in the store.
  uint64_t queued() const noexcept { return queued_; }

  /// URLs queued in memory.
  uint64_t in_memory() const noexcept { return in_memory_; }

private:
  map_type sites_;
  std::deque<std::string> line_; // sites waiting for the budget, in turn
  uint64_t queued_ = 0;
  uint64_t in_memory_ = 0;
};

} // namespace arachne
