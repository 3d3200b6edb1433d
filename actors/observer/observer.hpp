#pragma once

// The observer of a process (--metrics=HOST:PORT): an actor that keeps what
// /metrics shows, fed by the coordinator's rounds (a crawl), the node's own
// polls (a node) or the records it is sent as a sink (a sink-node), and the
// HTTP server that serves it with the control API (--control-token=FILE).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "caf/actor.hpp"
#include "caf/expected.hpp"
#include "caf/fwd.hpp"

#include "arachne/actor_types.hpp"
#include "arachne/prometheus.hpp"

namespace arachne {

/// Atom of the observer's updates: (observe_atom, std::vector<node_metrics>).
using observe_atom = caf::atom_constant<caf::atom("observe")>;

struct observer_options {
  std::string host = "127.0.0.1"; // where /metrics is served
  uint16_t port = 0;              // 0: any free port
  std::string role;               // crawl, node or sink-node (arachne_info)
  std::string token;              // the control API's token; empty: the API is off
  proxy_manager_actor proxies;    // reported in /metrics and /status; invalid: none
  /// The crawl's coordinator: (pause_atom, bool) pauses and resumes it,
  /// (seed_atom, std::vector<std::string>) adds seeds, answered with their
  /// count or an error. Invalid outside a crawl: the API answers 409.
  caf::actor coordinator;
  /// Stops the crawl gracefully (as Ctrl-C); null outside a crawl.
  std::function<void()> stop;
};

/// A running observer: its actor (gets observe_atom updates; as a sink it
/// counts the records it is sent) and its server. Destroying it stops both.
class observer {
public:
  /// Starts serving; fails if the address cannot be listened on.
  static caf::expected<std::unique_ptr<observer>> start(caf::actor_system& sys,
                                                        observer_options opts);
  ~observer();

  const caf::actor& actor() const noexcept { return actor_; }

  /// Where it listens: HOST:PORT.
  std::string endpoint() const;

  struct server;

private:
  observer() = default;
  caf::actor actor_;
  std::string host_;
  std::unique_ptr<server> server_;
};

/// Every shard's stats of a round as /metrics shows them: one entry per
/// node (`node_of[i]` names shard i's; empty names in one process).
std::vector<node_metrics> metrics_by_node(const std::vector<frontier_stats>& stats,
                                          const std::vector<std::string>& node_of);

/// True if `given` is `expected` (compared in time independent of where they differ).
bool same_token(const std::string& given, const std::string& expected) noexcept;

} // namespace arachne
