#pragma once

#include <cstdint>
#include <vector>

#include "arachne/actor_types.hpp"
#include "arachne/messages.hpp"
#include "arachne/partition.hpp"

namespace arachne {

/// When load-aware placement moves hosts (docs/distributed.md).
struct placement_limits {
  uint64_t min_queued = 64;    // the busiest node has at least this many URLs queued
  std::size_t most_hosts = 4;  // hosts moved at once, at most
};

/// Load-aware placement, decided on one round of stats (`now`, in the order
/// of `view`'s shards): if a node is out of work (fewer URLs queued than it
/// has in flight) while another has many times more queued, some hosts of
/// that node's busiest shard move to the idle node's least busy shard:
/// of its busiest hosts, largest first, those that leave the busy node
/// ahead still (none overshoots), or if none does, the smallest that
/// narrows the gap between the two nodes all the same. Nothing moves while
/// hosts are moving (a shard says so), and a host moves once at most (`frontier_stats::busiest` leaves placed
/// hosts out). Returns the placements to add to the view, or none.
std::vector<placement> plan_placement(const cluster_view& view,
                                      const std::vector<frontier_stats>& now,
                                      placement_limits limits = {});

} // namespace arachne
