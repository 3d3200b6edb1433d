#pragma once

// Cluster roles: a worker node that runs its part of the crawls a
// coordinator starts on it, and the connections between them (TLS with the
// cluster's certificates, or plaintext when the cluster is insecure).

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "caf/actor_system.hpp"
#include "caf/expected.hpp"

#include "arachne/actor_types.hpp"
#include "arachne/config.hpp"
#include "arachne/page.hpp"

namespace arachne {

/// HOST:PORT split; nothing if it is not one (PORT 0 only with `zero_ok`).
std::optional<std::pair<std::string, uint16_t>> parse_endpoint(const std::string& text,
                                                               bool zero_ok = false);

/// Connects to the node at HOST:PORT over the cluster's transport.
caf::expected<node_actor> connect_node(caf::actor_system& sys, const cluster_options& c,
                                       const std::string& endpoint);

/// Serves `node` on HOST:PORT over the cluster's transport; the bound port.
caf::expected<uint16_t> publish_node(caf::actor_system& sys, const node_actor& node,
                                     const cluster_options& c, const std::string& host,
                                     uint16_t port);

/// How a worker node runs its part of a crawl.
struct node_options {
  cluster_options cluster; // how to reach the other nodes
  double weight = 1.0;   // share of hosts relative to other nodes
  uint32_t shards = 0;   // frontier shards; 0 = one per scheduler thread
  /// The node's own sinks, for --cluster-sinks=local (opened per crawl).
  std::function<caf::expected<std::vector<sink_actor>>()> open_sinks;
  std::shared_ptr<const page_handler> handler; // the crawler's page handler; may be null
  /// The node's own settings over the crawl's: those of one process
  /// (parsers, IO threads, source address).
  std::function<void(settings&)> adapt;
};

/// A worker node: for each crawl a coordinator starts, it spawns shards,
/// fetchers, parsers and a proxy manager with the crawl's options, and tears
/// them down at the end or when the coordinator goes away.
node_actor spawn_node(caf::actor_system& sys, node_options opts);

/// Adds `more` into `into` (statuses, error kinds and hosts merged by key).
void merge_tally(crawl_tally& into, const crawl_tally& more);

} // namespace arachne
