#include "coordinator/membership.hpp"

#include <algorithm>

namespace arachne {

membership::membership(bool distributed) {
  view_.epoch = 1;
  view_.cluster = distributed;
}

uint32_t membership::next_generation(const std::string& name) const {
  auto used = generations_.find(name);
  return used == generations_.end() ? 0 : used->second + 1;
}

void membership::add(node_actor handle, node_info info, uint32_t generation, bool joined) {
  auto index = static_cast<uint32_t>(nodes_.size());
  for (std::size_t i = 0; i < info.shards.size() && i < info.shard_ids.size(); ++i) {
    view_.shards.push_back(info.shard_ids[i]);
    view_.weights.push_back(info.weight / static_cast<double>(info.shards.size()));
    view_.actors.push_back(info.shards[i]);
    view_.nodes.push_back(index);
  }
  generations_[info.name] = generation;
  nodes_.push_back({std::move(handle), std::move(info), generation, joined});
}

void membership::add_local(const std::vector<shard_id>& ids,
                           const std::vector<frontier_actor>& shards) {
  view_.shards = ids;
  view_.weights.assign(ids.size(), 1.0);
  view_.actors = shards;
  view_.nodes.assign(ids.size(), 0);
}

void membership::lose(std::size_t dead) {
  cluster_view next;
  next.epoch = view_.epoch + 1;
  next.cluster = view_.cluster;
  for (std::size_t i = 0; i < view_.shards.size(); ++i)
    if (view_.nodes[i] != dead) {
      next.shards.push_back(view_.shards[i]);
      next.weights.push_back(view_.weights[i]);
      next.actors.push_back(view_.actors[i]);
      next.nodes.push_back(view_.nodes[i]);
    }
  // Hosts placed on its shards go back to their rendezvous owners (by takeover).
  for (auto& p : view_.placed)
    if (std::find(next.shards.begin(), next.shards.end(), p.second) != next.shards.end())
      next.placed.push_back(p);
  view_ = std::move(next);
  nodes_[dead].handle = node_actor{};
}

std::optional<std::size_t> membership::find(const caf::actor_addr& addr) const {
  for (std::size_t i = 0; i < nodes_.size(); ++i)
    if (nodes_[i].handle && nodes_[i].handle.address() == addr)
      return i;
  return std::nullopt;
}

bool membership::has_live(const std::string& name) const {
  for (auto& n : nodes_)
    if (n.info.name == name && n.handle)
      return true;
  return false;
}

std::size_t membership::live() const {
  std::size_t n = 0;
  for (auto& m : nodes_)
    n += m.handle ? 1 : 0;
  return n;
}

void membership::place(const std::vector<placement>& moves) {
  ++view_.epoch;
  for (auto& m : moves) {
    auto i = std::find_if(view_.placed.begin(), view_.placed.end(),
                          [&](const placement& p) { return p.first == m.first; });
    if (i != view_.placed.end())
      i->second = m.second;
    else
      view_.placed.push_back(m);
  }
}

coordinator_state membership::saved(const std::string& crawl_id, bool finished) const {
  coordinator_state cs;
  cs.crawl_id = crawl_id;
  cs.epoch = view_.epoch;
  cs.finished = finished;
  for (auto& n : nodes_)
    if (n.handle)
      cs.nodes.push_back({n.info.name, n.generation, n.joined});
  cs.generations = generations_;
  cs.placed = view_.placed;
  return cs;
}

std::vector<crawl_report::node_share>
membership::shares(const std::map<shard_id, frontier_stats>& last_known) const {
  std::vector<crawl_report::node_share> out;
  for (auto& n : nodes_) {
    crawl_report::node_share share;
    share.name = n.info.name;
    share.weight = n.info.weight;
    share.shards = static_cast<uint32_t>(n.info.shards.size());
    for (auto id : n.info.shard_ids) {
      auto at = last_known.find(id);
      if (at == last_known.end())
        continue;
      share.hosts += at->second.hosts;
      share.pages += at->second.pages;
      share.records += at->second.recorded;
    }
    share.lost = !n.handle;
    share.joined = n.joined;
    out.push_back(std::move(share));
  }
  return out;
}

} // namespace arachne
