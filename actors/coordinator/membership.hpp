#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "caf/actor_addr.hpp"

#include "arachne/actor_types.hpp"
#include "arachne/crawl.hpp"
#include "arachne/partition.hpp"
#include "cluster/cluster.hpp"

namespace arachne {

/// The coordinator's view of who takes part in a crawl: the nodes (live or
/// lost), their shards in the cluster view, and the generation of every
/// node name used (a node that comes back gets new shard ids). A plain
/// value; the coordinator's actor tells it what happened and sends the
/// views it makes. A crawl in one process is a cluster of one node.
class membership {
public:
  /// One node: its handle (invalid once lost) and what it said at start.
  struct member {
    node_actor handle;
    node_info info;
    uint32_t generation = 0; // node_start::generation
    bool joined = false;     // it joined the running crawl
  };

  /// `distributed`: nodes may join and leave (the view says so).
  explicit membership(bool distributed = false);

  /// The current cluster view.
  const cluster_view& view() const noexcept { return view_; }

  /// Every node ever taken in, lost ones included, in order.
  const std::vector<member>& nodes() const noexcept { return nodes_; }

  /// Sets the view's epoch (a resumed coordinator continues its saved one).
  void set_epoch(uint64_t epoch) { view_.epoch = epoch; }

  /// Takes the generations of node names a saved crawl used.
  void set_generations(std::map<std::string, uint32_t> g) { generations_ = std::move(g); }

  /// The generation a node named `name` starts with now: one more than the
  /// last used, 0 for a new name.
  uint32_t next_generation(const std::string& name) const;

  /// Takes a node in: its shards join the view (a shard's weight is its
  /// node's share of the node's weight). Does not change the epoch.
  void add(node_actor handle, node_info info, uint32_t generation, bool joined);

  /// The shards of one process (a crawl without nodes): node 0, weight 1.
  void add_local(const std::vector<shard_id>& ids, const std::vector<frontier_actor>& shards);

  /// The next epoch's view for a node that joins (call before `add`).
  void next_epoch() { ++view_.epoch; }

  /// Node `i` is lost: its shards leave the view, in a new epoch.
  void lose(std::size_t i);

  /// Hosts move to other shards (load-aware placement), in a new epoch.
  void place(const std::vector<placement>& moves);

  /// The placements a saved crawl had (before its first view).
  void set_placed(std::vector<placement> placed) { view_.placed = std::move(placed); }

  /// The index of the live node with handle address `addr`, if any.
  std::optional<std::size_t> find(const caf::actor_addr& addr) const;

  /// True if a live node is named `name`.
  bool has_live(const std::string& name) const;

  /// Nodes still live.
  std::size_t live() const;

  /// The index (in `nodes()`) of the node that runs the shard at `k` in the view.
  std::size_t node_of_shard(std::size_t k) const { return view_.nodes[k]; }

  /// What --state keeps of it (docs/distributed.md).
  coordinator_state saved(const std::string& crawl_id, bool finished) const;

  /// Each node's share of the crawl, from the last stats of every shard.
  std::vector<crawl_report::node_share>
  shares(const std::map<shard_id, frontier_stats>& last_known) const;

private:
  cluster_view view_;
  std::vector<member> nodes_;
  std::map<std::string, uint32_t> generations_;
};

} // namespace arachne
