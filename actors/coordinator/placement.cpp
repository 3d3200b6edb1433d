#include "coordinator/placement.hpp"

#include <algorithm>
#include <cstdlib>
#include <map>

namespace arachne {

std::vector<placement> plan_placement(const cluster_view& view,
                                      const std::vector<frontier_stats>& now,
                                      placement_limits limits) {
  if (!view.cluster || now.size() != view.shards.size() || view.nodes.size() != now.size())
    return {};
  struct load {
    uint64_t queued = 0;
    uint64_t in_flight = 0;
  };
  std::map<uint32_t, load> nodes;
  for (std::size_t i = 0; i < now.size(); ++i) {
    if (now[i].moving || now[i].shard != view.shards[i])
      return {};
    auto& n = nodes[view.nodes[i]];
    n.queued += now[i].queued;
    n.in_flight += now[i].in_flight;
  }
  if (nodes.size() < 2)
    return {};
  auto by_queued = [](auto& a, auto& b) { return a.second.queued < b.second.queued; };
  auto idle = std::min_element(nodes.begin(), nodes.end(), by_queued);
  auto busy = std::max_element(nodes.begin(), nodes.end(), by_queued);
  auto& lo = idle->second;
  auto& hi = busy->second;
  if (lo.queued > lo.in_flight || hi.queued < limits.min_queued
      || hi.queued < 4 * (lo.queued + 1))
    return {};
  // From the busy node's busiest shard to the idle node's least busy one.
  std::size_t from = now.size();
  std::size_t to = now.size();
  for (std::size_t i = 0; i < now.size(); ++i) {
    if (view.nodes[i] == busy->first && (from == now.size() || now[i].queued > now[from].queued))
      from = i;
    if (view.nodes[i] == idle->first && (to == now.size() || now[i].queued < now[to].queued))
      to = i;
  }
  // Hosts that leave the busy node ahead still, largest first; if none
  // does, the smallest that narrows the gap all the same.
  auto gap = static_cast<int64_t>(hi.queued - lo.queued);
  std::vector<placement> out;
  auto hosts = now[from].busiest;
  std::sort(hosts.begin(), hosts.end(), [](auto& a, auto& b) { return a.queued > b.queued; });
  for (auto& h : hosts) {
    auto q = static_cast<int64_t>(h.queued);
    if (out.size() >= limits.most_hosts || q == 0 || 2 * q > gap)
      continue;
    gap -= 2 * q;
    out.emplace_back(h.hash, view.shards[to]);
  }
  if (out.empty())
    for (auto h = hosts.rbegin(); h != hosts.rend(); ++h)
      if (auto q = static_cast<int64_t>(h->queued); q > 0 && std::abs(gap - 2 * q) < gap) {
        out.emplace_back(h->hash, view.shards[to]);
        break;
      }
  return out;
}

} // namespace arachne
