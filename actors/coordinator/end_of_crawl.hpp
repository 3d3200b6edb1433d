#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "arachne/crawl.hpp"
#include "arachne/messages.hpp"

#include "caf/timespan.hpp"

namespace arachne {

/// One round of every shard's stats, summed.
struct stats_round {
  crawl_progress progress;
  uint64_t sent = 0;      // link batches sent, over all shards
  uint64_t received = 0;  // link batches received
  link_cuts cut;          // links not followed, by why
  uint64_t items_dropped = 0; // by the item pipeline
  bool idle = false;      // every shard answered and is idle
  std::string state_error; // the first shard's whose state store failed

  /// True if `other` shows the same work done, queued and in transit: no
  /// URL seen, recorded, queued or handed out, no batch sent or received.
  bool same_work(const stats_round& other) const;

  /// Sums `stats`; `shards`: how many shards the view has.
  static stats_round of(const std::vector<frontier_stats>& stats, std::size_t shards);
};

/// Termination detection (docs/architecture.md): the crawl is over when
/// every shard is idle and no link batch is in transit, i.e. the sums of
/// batches sent and received agree — twice in a row with nothing changed
/// in between, so that a batch sent and received between two shards'
/// answers cannot hide work. A plain value the coordinator feeds rounds.
class end_detector {
public:
  /// Takes a round; true if the crawl is over. `nodes_lost`: batches a lost
  /// node sent or got no longer add up, so the sums are not compared.
  bool observe(const std::vector<frontier_stats>& stats, const stats_round& round,
               bool nodes_lost);

  /// Forgets the last round (the view changed: the next must stand alone).
  void reset() { last_.clear(); }

private:
  std::vector<frontier_stats> last_;
};

/// The coordinator's rounds of stats are `round_wait_min` apart while the
/// end of the crawl may be near, and at most `round_wait_max`.
constexpr caf::timespan round_wait_min = std::chrono::milliseconds(20);
constexpr caf::timespan round_wait_max = std::chrono::milliseconds(320);

/// The wait before the round after `now`, which came `since_last` after
/// `last` (none: the first round) and `last_wait` after it was asked for.
/// The crawl cannot end before its queued URLs are recorded: while that
/// takes long at the rate records come, rounds are up to an eighth of that
/// time apart; while rounds find no work changed (every host waiting for its
/// delay) the wait doubles. A waiting or polite crawl costs next to nothing
/// in rounds, and a change is seen within `round_wait_max`.
caf::timespan next_round_wait(const std::optional<stats_round>& last, const stats_round& now,
                              caf::timespan since_last, caf::timespan last_wait);

/// The first error the shards report for sink `i`, or empty.
std::string sink_error(const std::vector<frontier_stats>& stats, std::size_t i);

/// Records lost to sink `i` over all shards.
uint64_t sink_lost(const std::vector<frontier_stats>& stats, std::size_t i);

/// The report's entry for sink `i`, made if it has none.
crawl_report::sink_failure& failure_of(crawl_report& report, std::size_t i);

} // namespace arachne
