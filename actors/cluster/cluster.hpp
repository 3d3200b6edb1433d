#pragma once

// Cluster roles: a worker node that runs its part of the crawls a
// coordinator starts on it, and the connections between them (TLS with the
// cluster's certificates, or plaintext when the cluster is insecure).

#include <functional>
#include <map>
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

/// The coordinator's door for joining nodes: forwards each join to
/// `coordinator` as (join_atom, HOST:PORT).
join_actor spawn_join_desk(caf::actor_system& sys, caf::actor coordinator);

/// Serves `desk` on HOST:PORT over the cluster's transport; the bound port.
caf::expected<uint16_t> publish_join_desk(caf::actor_system& sys, const join_actor& desk,
                                          const cluster_options& c, const std::string& host,
                                          uint16_t port);

/// Asks the coordinator whose join desk is at `endpoint` to take the node
/// listening on `node` into its crawl.
caf::error join_crawl(caf::actor_system& sys, const cluster_options& c,
                      const std::string& endpoint, const std::string& node);

/// What a coordinator with --state keeps of its distributed crawl, so that
/// the same command run again takes the crawl up on the nodes still running
/// it (DIR/coordinator.state, rewritten at every membership change).
struct coordinator_state {
  std::string crawl_id;
  uint64_t epoch = 0; // of the last cluster view sent
  struct member {
    std::string name;        // HOST:PORT
    uint32_t generation = 0; // node_start::generation
    bool joined = false;     // it joined the running crawl
  };
  std::vector<member> nodes; // live when written
  std::map<std::string, uint32_t> generations; // the last generation of every name ever used
  std::vector<placement> placed; // hosts moved off their rendezvous owners (cluster_view::placed)
  bool finished = false;     // the crawl ended: nothing to resume
};

/// Reads DIR/coordinator.state: nothing if there is none, an error (one
/// line) if it cannot be read or is not one.
caf::expected<std::optional<coordinator_state>> read_coordinator_state(const std::string& dir);

/// Writes DIR/coordinator.state atomically (a new file synced and renamed
/// over the old).
caf::error write_coordinator_state(const std::string& dir, const coordinator_state& st);

/// How a worker node runs its part of a crawl.
struct node_options {
  cluster_options cluster; // how to reach the other nodes
  double weight = 1.0;   // share of hosts relative to other nodes
  uint32_t shards = 0;   // frontier shards; 0 = one per scheduler thread
  /// The node's own sinks, for --cluster-sinks=local (opened per crawl).
  std::function<caf::expected<std::vector<sink_actor>>()> open_sinks;
  std::shared_ptr<const page_program> program; // the crawler's handlers and pipeline; may be null
  /// The node's own settings over the crawl's: those of one process
  /// (parsers, IO threads, source address).
  std::function<void(settings&)> adapt;
  /// Gets the node's shards' stats once a second while a crawl runs
  /// (observe_atom, for --metrics); invalid: none.
  caf::actor observer;
};

/// A worker node: for each crawl a coordinator starts, it spawns shards,
/// fetchers, parsers and a proxy manager with the crawl's options, and tears
/// them down at the end or when the coordinator goes away.
node_actor spawn_node(caf::actor_system& sys, node_options opts);

/// Adds `more` into `into` (statuses, error kinds and hosts merged by key).
void merge_tally(crawl_tally& into, const crawl_tally& more);

} // namespace arachne
