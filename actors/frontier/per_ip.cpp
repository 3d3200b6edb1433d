// Per-IP politeness (--per-ip-concurrency, --per-ip-delay): a site's
// address looked up, the address's slot asked of its owner beside the
// host's, and slots waiting on or lent to shards that left the view.

#include "frontier/shard.hpp"

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

namespace arachne::shard {

// -- per-IP politeness -------------------------------------------------------------
//
// Hosts whose names lead to one address share --per-ip-concurrency and
// --per-ip-delay. An address has exactly one owner, as a host has: the shard
// the partition function maps the address to (on whichever node, in a
// cluster), whose IP limiter paces it. A site's shard looks its address up
// (through a fetcher: the HTTP client's resolver and cache), holds the
// host's slot first, then asks the address's owner for its slot, and gives
// both back together.

// How long a site's address is used before it is asked for again (the
// client's cache answers within the name's time to live).
constexpr auto ip_recheck = std::chrono::seconds(30);

namespace {

// Goes on without the address's slot asked under `key` (its owner failed
// or left), if that is still waiting.
void go_without_ip(pointer self, uint64_t key) {
  auto& st = self->state;
  auto i = st.ip_waits.find(key);
  if (i == st.ip_waits.end())
    return;
  auto go = std::move(i->second.go);
  st.ip_waits.erase(i);
  go();
}

void on_address(pointer self, const std::string& origin, const std::vector<std::string>& found) {
  auto& st = self->state;
  auto* h = st.sites.find(origin);
  if (h == nullptr)
    return;
  h->resolving = false;
  // The first address, the one a connection tries first. A name that does
  // not resolve has none: its fetch fails as dns_failed, unpaced by address.
  h->ip = found.empty() ? std::string{} : found.front();
  h->ip_expires = self->clock().now() + ip_recheck;
  pump(self, origin);
}

} // namespace

// True if the site's address must be known before its next request (a
// lookup is then under way; it pumps the site when it is over).
bool needs_address(pointer self, const std::string& origin, host_entry& h) {
  auto& st = self->state;
  if (!per_ip(st) || self->clock().now() < h.ip_expires)
    return false;
  if (h.resolving)
    return true;
  auto u = parse_url(origin + "/");
  if (!u) {
    h.ip.clear();
    h.ip_expires = self->clock().now() + ip_recheck;
    return false;
  }
  h.resolving = true;
  self->request(next_fetcher(st), caf::infinite, resolve_atom::value, std::string{u->host()},
                u->port())
    .then([=](std::vector<std::string>& found) { on_address(self, origin, found); },
          [=](caf::error&) { on_address(self, origin, {}); });
  return true;
}

// The site's next slot: its host's, then (per IP) its address's from the
// address's owner; `then` gets the host's grant.
void acquire(pointer self, const std::string& origin,
             std::function<void(const slot_grant&)> then) {
  auto& st = self->state;
  self->request(st.limiter, caf::infinite, acquire_atom::value, std::string{url_host(origin)})
    .then([=](const slot_grant& grant) {
      auto& s = self->state;
      auto* h = s.sites.find(origin);
      if (!per_ip(s) || h == nullptr || h->ip.empty() || s.peers.empty())
        return then(grant);
      auto index = s.partition.rendezvous_index(h->ip) % s.peers.size();
      auto owner = s.peers[index];
      auto key = ++s.next_ip_wait;
      s.ip_waits.emplace(key, frontier_state::ip_wait{s.view.shards.at(index), [=] { then(grant); }});
      // (Whichever comes first: the answer, an error, or the owner leaving
      // the view, which goes on without the address's slot.)
      self->request(owner, caf::infinite, ip_acq_atom::value, h->ip)
        .then(
          [=](const slot_grant& ip) {
            auto& s2 = self->state;
            auto i = s2.ip_waits.find(key);
            if (i == s2.ip_waits.end()) {
              self->send(owner, ip_rel_atom::value, ip); // (given up on: back it goes)
              return;
            }
            auto go = std::move(i->second.go);
            s2.ip_waits.erase(i);
            s2.ip_grants.emplace(grant.token, std::make_pair(owner, ip));
            go();
          },
          [=](caf::error&) { go_without_ip(self, key); });
    });
}

void on_ip_owners_gone(pointer self, const cluster_view& view) {
  auto& st = self->state;
  // Slots asked of shards that left: nobody will answer.
  std::vector<uint64_t> gone;
  for (auto& [key, w] : st.ip_waits)
    if (std::find(view.shards.begin(), view.shards.end(), w.owner) == view.shards.end())
      gone.push_back(key);
  for (auto key : gone)
    go_without_ip(self, key);
  // Slots lent to shards that left: nobody will give them back.
  std::vector<caf::actor_addr> present;
  for (auto& a : view.actors)
    present.push_back(caf::actor_cast<caf::actor_addr>(a));
  for (auto i = st.ip_lent.begin(); i != st.ip_lent.end();) {
    if (std::find(present.begin(), present.end(), i->first) != present.end()) {
      ++i;
      continue;
    }
    self->send(st.ip_limiter, release_atom::value, i->second, fetch_feedback{});
    i = st.ip_lent.erase(i);
  }
}

bool per_ip(const frontier_state& st) {
  return st.cfg.politeness.per_ip_concurrency > 0 || st.cfg.politeness.per_ip_delay.count() > 0;
}

} // namespace arachne::shard
