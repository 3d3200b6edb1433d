#pragma once

// The actors that do a crawl's work in one process: fetchers on one HTTP
// client, parsers, the proxy manager and frontier shards. A single-node
// crawl spawns them in the facade; a cluster node spawns them per crawl.

#include <memory>
#include <vector>

#include "caf/actor.hpp"
#include "caf/actor_system.hpp"
#include "caf/expected.hpp"

#include "arachne/actor_types.hpp"
#include "arachne/config.hpp"
#include "arachne/http_client.hpp"
#include "arachne/page.hpp"
#include "arachne/partition.hpp"
#include "arachne/state/journal.hpp"

namespace arachne {

/// One process's share of a crawl.
struct crawl_workers {
  std::unique_ptr<http_client> client; // outlives every fetcher
  proxy_manager_actor proxies;         // invalid without proxies
  std::vector<shard_id> ids;           // per shard
  std::vector<frontier_actor> shards;
  std::vector<caf::actor> owned;       // every actor above, to stop at the end
};

/// What a process's shards are and where their records go.
struct worker_plan {
  std::vector<shard_id> ids;                               // one shard per id
  std::vector<std::shared_ptr<frontier_journal>> journals; // per shard, or empty (no --state)
  std::vector<sink_actor> sinks;                           // every record goes to each
  sink_needs needs;                                        // what the sinks asked for
  bool hold_records = false; // a sink that goes away is replaced: shards keep its records
};

/// Fits the crawl to the file descriptors the process may open: raises the
/// soft limit (ulimit -n) to the hard one, and if that is still short of
/// --concurrency plus --pool-size plus a reserve, lowers the pool, then
/// --concurrency, to fit. Returns a notice of what it lowered, or nothing.
std::string fit_descriptor_limit(settings& cfg);

/// Spawns the workers of `plan` for `cfg` on `sys`: one fetcher and (by
/// default) one parser per scheduler thread, the shards with their stores.
/// The shards do nothing until they get their cluster view.
caf::expected<crawl_workers> spawn_workers(caf::actor_system& sys, const settings& cfg,
                                           std::shared_ptr<const page_program> program,
                                           worker_plan plan);

/// The id of a node's `i`-th shard: stable for a node name, unique in a cluster.
shard_id node_shard_id(const std::string& node, uint32_t i);

} // namespace arachne
