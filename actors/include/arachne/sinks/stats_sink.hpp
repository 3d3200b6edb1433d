#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>

#include "caf/stateful_actor.hpp"
#include "caf/typed_event_based_actor.hpp"

#include "arachne/actor_types.hpp"

namespace arachne {

/// A stats sink's counters.
struct stats_sink_state {
  crawl_tally tally;
  std::map<uint16_t, uint64_t> statuses;
  std::map<std::string, uint64_t> errors;
  std::unordered_map<std::string, uint64_t> hosts;
  static inline const char* name = "stats_sink";
};

/// Counts records (statuses, error kinds, hosts, bytes) and stores nothing:
/// the crawl's report, and the baseline sink for benchmarks.
stats_sink_actor::behavior_type stats_sink(stats_sink_actor::stateful_pointer<stats_sink_state> self);

} // namespace arachne
