// The shard's side of a crawl over several shards and nodes: links routed
// to the shards that own their hosts, URLs guarded by a shard on another
// node, a dead shard's URLs taken over, hosts handed to the shards of a
// node that joined, and new cluster views (docs/distributed.md).

#include "frontier/shard.hpp"

#include <algorithm>

namespace arachne::shard {

namespace {

bool in(const std::vector<shard_id>& ids, shard_id x) {
  return std::find(ids.begin(), ids.end(), x) != ids.end();
}

// Orphaned links have an owner again and went out: the pages that gave
// them wait for those batches now.
void unpark(pointer self) {
  auto& st = self->state;
  if (!st.orphans.empty())
    return;
  flush_outboxes(self);
  mark_all_done(self, st.done.unpark());
}

// A link batch did not reach its owner for good: the owner's node died
// (the links go to the hosts' new owners once the cluster view says who
// they are), or the owner's guardian did (the owner is asked again).
void links_lost(pointer self, uint64_t seq, shard_id to, const link_batch& batch,
                bool owner_answered) {
  auto& st = self->state;
  bool owner_gone = !in(st.partition.shards(), to);
  for (auto req : batch.links) {
    // Its owner may have fetched and recorded it before it died.
    req.resumed = req.resumed || !owner_answered;
    if (owner_gone || owner_answered)
      route(self, std::move(req));
    else
      st.orphans.push_back(std::move(req));
  }
  st.done.links_lost(seq);
  if (owner_gone || owner_answered)
    unpark(self);
}

void on_links_answered(pointer self, uint64_t seq, const std::shared_ptr<const link_batch>& kept,
                       const caf::error* err) {
  auto& st = self->state;
  if (!kept)
    return mark_all_done(self, st.done.links_journalled(seq, err == nullptr));
  auto i = st.links_in_transit.find(seq);
  if (i == st.links_in_transit.end())
    return; // taken for lost at a view change
  auto to = i->second.to;
  st.links_in_transit.erase(i);
  if (err == nullptr)
    return mark_all_done(self, st.done.links_journalled(seq, true));
  // (An owner that answers with an error lost its guardian.)
  links_lost(self, seq, to, *kept, *err == caf::sec::runtime_error);
}

} // namespace

// -- links -----------------------------------------------------------------------

void flush_outbox(pointer self, std::size_t peer) {
  auto& st = self->state;
  auto& box = st.outbox[peer];
  if (box.links.empty())
    return;
  ++st.batches_sent;
  box.epoch = st.epoch;
  auto seq = st.done.link_sent();
  // While guarding, a batch is kept until its owner has it: if the owner's
  // node dies, its links go to the hosts' new owners.
  std::shared_ptr<const link_batch> kept;
  if (st.guard.active) {
    kept = std::make_shared<const link_batch>(box);
    st.links_in_transit.emplace(seq, frontier_state::sent_links{st.partition.shards()[peer], kept});
  }
  self->request(st.peers[peer], caf::infinite, std::move(box))
    .then([=](const ack&) { on_links_answered(self, seq, kept, nullptr); },
          [=](caf::error& err) { on_links_answered(self, seq, kept, &err); });
  box = link_batch{};
}

void flush_outboxes(pointer self) {
  for (std::size_t i = 0; i < self->state.outbox.size(); ++i)
    flush_outbox(self, i);
}

void route(pointer self, crawl_request req) {
  auto& st = self->state;
  auto peer = st.partition.owner_index(url_host(req.url));
  st.outbox[peer].links.push_back(std::move(req));
  if (st.outbox[peer].links.size() >= st.cfg.link_batch)
    flush_outbox(self, peer);
  else
    schedule_tick(self);
}

bool moved(const frontier_state& st, std::string_view origin) {
  return st.view.cluster && st.partition.owner(url_host(origin)) != st.id;
}

bool awaits_takeover(const frontier_state& st, std::string_view url) {
  auto hash = partition_hash(url_host(url));
  for (auto& [dead, before] : st.awaiting_takeover)
    if (before.shards()[before.owner_index_of_hash(hash)] == dead)
      return true;
  return false;
}

void admit_held(pointer self) {
  auto held = std::move(self->state.held);
  self->state.held.clear();
  for (auto& [req, seed] : held)
    admit(self, std::move(req), seed);
}

caf::typed_response_promise<ack> on_link_batch(pointer self, link_batch& batch) {
  auto& st = self->state;
  auto rp = self->make_response_promise<ack>();
  ++st.batches_received;
  // From a shard with an older view (a node joined since): links for hosts
  // that moved go on to their owners.
  std::map<std::size_t, link_batch> onward;
  for (auto& req : batch.links) {
    if (st.view.cluster && batch.epoch < st.epoch) {
      auto k = st.partition.owner_index(url_host(req.url));
      if (k != st.index) {
        onward[k].links.push_back(std::move(req));
        continue;
      }
    }
    admit(self, std::move(req), false);
  }
  // The sender marks the pages these came from done only after this.
  if (st.journal && !st.journal->commit()) {
    state_failed(self);
    rp.deliver(caf::make_error(caf::sec::runtime_error, "state store failed: " + st.state_error));
    return rp;
  }
  // ... and, in a cluster, once the guardian has them (and the owners of
  // those that went on have them).
  auto left = std::make_shared<std::size_t>(onward.size() + 1);
  auto failed = std::make_shared<std::string>();
  auto answer = [rp, left, failed](const char* why) mutable {
    if (why != nullptr && failed->empty())
      *failed = why;
    if (--*left > 0)
      return;
    if (failed->empty())
      rp.deliver(ack{});
    else
      rp.deliver(caf::make_error(caf::sec::runtime_error, *failed));
  };
  for (auto& [k, b] : onward) {
    b.epoch = st.epoch;
    ++st.batches_sent; // (the coordinator's count of batches in transit)
    // (Bounded: a new owner whose node died never answers; the sender then
    // sends them again by its view.)
    self->request(st.peers[k], std::chrono::seconds(60), std::move(b))
      .then([=](const ack&) mutable { answer(nullptr); },
            [=](caf::error&) mutable { answer("the hosts' new owner did not take them"); });
  }
  once_guarded(self, [=](bool ok) mutable { answer(ok ? nullptr : "the guardian went away"); });
  return rp;
}

// -- guarding --------------------------------------------------------------------

namespace {

void guard_answered(pointer self, uint64_t n, bool ok) {
  auto& st = self->state;
  auto i = st.guard.unacked.find(n);
  if (i == st.guard.unacked.end())
    return; // from a former guardian
  auto then = std::move(i->second);
  st.guard.unacked.erase(i);
  if (then)
    then(ok);
}

// Hands what this shard guarded for `dead` to the new owners of its hosts:
// to every shard, so that each knows the takeover is complete.
void send_takeover(pointer self, shard_id dead) {
  auto& st = self->state;
  auto urls = st.guarded.take(dead);
  st.reowned += urls.live.size();
  split_takeover(std::move(urls), st.partition, [&](std::size_t k, takeover_batch b) {
    self->send(st.peers[k], takeover_atom::value, uint64_t{dead}, std::move(b));
  });
}

// A new guardian: it gets every URL not done, in batches.
void new_guardian(pointer self, const cluster_view& view, shard_id g) {
  auto& g_link = self->state.guard;
  g_link.guardian_id = g;
  auto at = std::find(view.shards.begin(), view.shards.end(), g) - view.shards.begin();
  g_link.guardian = view.actors[static_cast<std::size_t>(at)];
  g_link.out = guard_batch{};
  g_link.out.full = true;
  // (What waits for the guardian waits for the last part: it has every URL then.)
  auto waiting = std::move(g_link.waiting);
  g_link.waiting.clear();
  for (auto& [gid, req] : g_link.live) {
    g_link.out.add.push_back(req);
    if (g_link.out.add.size() >= 4096)
      flush_guard(self, nullptr);
  }
  g_link.waiting = std::move(waiting);
  flush_guard(self, g_link.out.full ? std::function<void(bool)>{[](bool) {}} : nullptr);
}

// A new view: as a guardian, hand the URLs of shards that are gone to their
// hosts' new owners; as an owner, give a new guardian the whole set.
void apply_guarding(pointer self, const cluster_view& before, const cluster_view& view) {
  auto& st = self->state;
  // Shards that are gone: their guardian hands their URLs on; the others
  // hold URLs for their hosts until it has.
  for (auto dead : before.shards) {
    if (in(view.shards, dead) || before.epoch == 0)
      continue;
    auto g = guardian_of(before, dead);
    if (g == st.id)
      send_takeover(self, dead);
    // (A shard that waited for the dead one's handoff holds every URL until
    // the takeover: what the dead shard did of the hosts it was handing over
    // comes with it.)
    if (g != dead && in(view.shards, g) && st.taken_over.count(dead) == 0)
      st.awaiting_takeover.emplace(dead, st.awaiting_handoff.count(dead) > 0
                                           ? partition_map{std::vector<shard_id>{dead}}
                                           : partition_of(before));
  }
  // What this shard no longer guards (another shard does now) it drops.
  st.guarded.keep_only(view, st.id);
  auto g = guardian_of(view, st.id);
  auto pending = std::move(st.guard.unacked);
  st.guard.unacked.clear();
  if (g == st.id) { // no other node: nothing to guard against
    st.guard.active = false;
    st.guard.guardian = frontier_actor{};
    st.guard.guardian_id = 0;
    st.guard.out = guard_batch{}; // (`live` stays: a node that joins brings a guardian)
    for (auto& [n, then] : pending)
      if (then)
        then(true);
    return;
  }
  st.guard.active = true;
  if (g == st.guard.guardian_id && st.guard.guardian) {
    st.guard.unacked = std::move(pending);
    return;
  }
  new_guardian(self, view, g);
  // Link batches acknowledged only once guarded: their senders send them again.
  for (auto& [n, then] : pending)
    if (then)
      then(false);
}

} // namespace

void once_guarded(pointer self, std::function<void(bool)> then) {
  auto& g = self->state.guard;
  if (!g.active || !g.guardian)
    return then(true);
  g.waiting.push_back(std::move(then));
  schedule_tick(self);
}

void flush_guard(pointer self, std::function<void(bool)> then) {
  auto& st = self->state;
  auto& g = st.guard;
  if (!g.waiting.empty()) {
    auto waiting = std::move(g.waiting);
    g.waiting.clear();
    if (then)
      waiting.push_back(std::move(then));
    then = [waiting](bool ok) {
      for (auto& w : waiting)
        w(ok);
    };
  }
  if (!g.active || !g.guardian) {
    if (then)
      then(true);
    return;
  }
  if (!then && g.out.add.empty() && g.out.done.empty())
    return;
  auto n = ++g.requests;
  auto upto = g.seq; // every URL admitted so far is in this batch or before
  g.unacked.emplace(n, std::move(then));
  self->request(g.guardian, caf::infinite, guard_atom::value, uint64_t{st.id}, std::move(g.out))
    .then(
      [=](const ack&) {
        auto& s = self->state;
        if (s.guard.unacked.count(n) > 0 && upto > s.guard.acked)
          s.guard.acked = upto;
        guard_answered(self, n, true);
        flush_records(self);
      },
      [=](caf::error&) { guard_answered(self, n, false); });
  g.out = guard_batch{};
}

ack on_guard(pointer self, uint64_t owner, guard_batch& batch) {
  self->state.guarded.apply(owner, batch);
  return ack{};
}

void on_takeover(pointer self, uint64_t dead, takeover_batch& batch) {
  auto& st = self->state;
  add_seen(st, batch.seen);
  if (batch.last) {
    st.awaiting_takeover.erase(dead);
    st.taken_over.insert(dead);
  }
  for (auto& req : batch.urls)
    admit(self, std::move(req), false);
  if (batch.last)
    admit_held(self);
  commit(self);
  schedule_tick(self);
}

// -- nodes that join ---------------------------------------------------------------

namespace {

// One part of a handoff was answered. Once its shard has the URLs (and its
// guardian too) they are done here; if it goes away first they are sent on
// by the next view.
void handoff_answered(pointer self, uint64_t seq, bool taken) {
  auto& st = self->state;
  auto i = st.handoffs_in_transit.find(seq);
  if (i == st.handoffs_in_transit.end())
    return; // (its shard left the view: handled there)
  auto part = std::move(i->second);
  st.handoffs_in_transit.erase(i);
  for (auto& req : part.urls) {
    mark_done(self, req.id);
    if (!taken) {
      req.id = 0;
      st.orphans.push_back(std::move(req)); // (routed by the next view)
    }
  }
  schedule_tick(self);
}

// Moves the hosts that joined shards own now: their queues, page budgets
// and seen URLs, in parts; the last part to each joined shard says so.
void send_handoff(pointer self) {
  auto& st = self->state;
  auto moved = split_handoff(st.sites, st.seen_by_host, st.seen_urls, st.partition, st.id, st.index,
                             st.handoff_to, [&](std::size_t k, handoff_batch b) {
                               hand_over(self, k, std::move(b));
                             });
  st.moved_hosts += moved.sites;
  st.moved_urls += moved.urls;
  st.handoff_to.clear();
}

// True if a request to a host that moved is under way here.
bool moved_busy(const frontier_state& st) {
  for (auto& [origin, h] : st.sites.all())
    if (moved(st, origin) && (h.acquiring > 0 || h.granted > 0))
      return true;
  return false;
}

} // namespace

void hand_over(pointer self, std::size_t k, handoff_batch batch) {
  auto& st = self->state;
  auto seq = ++st.handoff_seq;
  st.handoffs_in_transit.emplace(seq, frontier_state::handoff_part{st.partition.shards()[k], batch.urls});
  for (auto& req : batch.urls)
    req.id = 0;
  self->request(st.peers[k], caf::infinite, handoff_atom::value, uint64_t{st.id}, std::move(batch))
    .then([=](const ack&) { handoff_answered(self, seq, true); },
          // An error answer comes after the URLs were admitted there (its
          // guardian went away); no answer at all is seen at the next view.
          [=](caf::error& err) { handoff_answered(self, seq, err == caf::sec::runtime_error); });
}

// Hands the hosts that moved to joined shards over once no request to them
// is under way here (none starts: pump skips them), after one more of their
// delays: the new owner's first request keeps the host's pace.
void try_handoff(pointer self) {
  auto& st = self->state;
  if (st.handoff_to.empty() || st.handoff_waiting || !st.awaiting_handoff.empty())
    return;
  if (moved_busy(st))
    return; // (its release tries again)
  auto wait = st.cfg.politeness.delay;
  for (auto& [origin, h] : st.sites.all())
    if (auto cd = h.rules.crawl_delay(); cd && moved(st, origin))
      wait = std::max(wait, std::min(*cd, st.cfg.politeness.max_crawl_delay));
  wait = caf::timespan{static_cast<int64_t>(static_cast<double>(wait.count())
                                            * (1.0 + st.cfg.politeness.jitter))};
  st.handoff_waiting = true;
  self->delayed_send(self, wait, handoff_tick_atom::value, uint64_t{st.epoch});
}

void on_handoff_tick(pointer self, uint64_t epoch) {
  auto& st = self->state;
  st.handoff_waiting = false;
  if (epoch != st.epoch || st.handoff_to.empty())
    return try_handoff(self); // more moved since: wait for those too
  if (!moved_busy(st)) // (else its release tries again)
    send_handoff(self);
}

caf::typed_response_promise<ack> on_handoff(pointer self, uint64_t from, handoff_batch& batch) {
  // Hosts of a live shard that this one (on a node that joined) owns now.
  auto& st = self->state;
  auto rp = self->make_response_promise<ack>();
  add_seen(st, batch.seen);
  for (auto& req : batch.urls) {
    // Seen where it was (its fingerprint came along), never fetched.
    if (!note_seen(st, req))
      --st.seen; // (counted once more below)
    admit_new(self, std::move(req), false, true);
  }
  for (auto& site : batch.sites) {
    auto& h = st.sites[site.origin];
    h.admitted = std::max(h.admitted, site.admitted);
  }
  if (batch.last && st.awaiting_handoff.erase(from) == 0) {
    // Before the view that makes this shard wait for it (a restarted
    // coordinator sends its first view in shard order): that view must not wait.
    st.handed_early.insert(from);
  } else if (batch.last && st.awaiting_handoff.empty()) {
    admit_held(self);
    try_handoff(self); // (hosts that moved on to a node that joined later)
  }
  schedule_tick(self);
  once_guarded(self, [rp](bool ok) mutable {
    if (ok)
      rp.deliver(ack{});
    else
      rp.deliver(caf::make_error(caf::sec::runtime_error, "the guardian went away"));
  });
  return rp;
}

// -- cluster views -------------------------------------------------------------------

namespace {

// Links and handoffs sent to shards that are gone will not be answered:
// their URLs go to the hosts' new owners.
void resend_to_gone(pointer self, const cluster_view& view) {
  auto& st = self->state;
  for (auto i = st.links_in_transit.begin(); i != st.links_in_transit.end();) {
    if (in(view.shards, i->second.to)) {
      ++i;
      continue;
    }
    auto seq = i->first;
    auto lost = std::move(i->second);
    i = st.links_in_transit.erase(i);
    links_lost(self, seq, lost.to, *lost.batch, false);
  }
  for (auto i = st.handoffs_in_transit.begin(); i != st.handoffs_in_transit.end();) {
    if (in(view.shards, i->second.to)) {
      ++i;
      continue;
    }
    for (auto& req : i->second.urls) {
      mark_done(self, req.id);
      auto r = req;
      r.id = 0;
      st.orphans.push_back(std::move(r));
    }
    i = st.handoffs_in_transit.erase(i);
  }
}

// Who hands hosts to whom after a view change: a shard of a node that
// joined a running crawl waits for the shards of the other nodes; the
// others hand hosts to shards that are new. A host placed on another live
// shard (to balance the load) goes from its owner before to its owner now,
// which waits for it. A shard that left hands nothing over (its guardian's
// takeover does).
void note_joins(frontier_state& st, const cluster_view& before, const cluster_view& view,
                bool first) {
  auto await = [&](shard_id from) {
    if (st.handed_early.erase(from) == 0)
      st.awaiting_handoff.insert(from);
  };
  if (first && view.epoch > 1) {
    for (std::size_t i = 0; i < view.shards.size(); ++i)
      if (view.nodes[i] != view.nodes[st.index])
        await(view.shards[i]);
  } else if (!first) {
    for (auto x : view.shards)
      if (!in(before.shards, x))
        st.handoff_to.insert(x);
    if (!before.placed.empty() || !view.placed.empty()) {
      auto was = partition_of(before);
      for (auto* placed : {&before.placed, &view.placed})
        for (auto& [hash, shard] : *placed) {
          auto from = was.shards()[was.owner_index_of_hash(hash)];
          auto to = st.partition.shards()[st.partition.owner_index_of_hash(hash)];
          if (from == to || !in(view.shards, from) || !in(before.shards, to))
            continue; // (a shard that left or joined: its takeover or handoff covers it)
          if (from == st.id)
            st.handoff_to.insert(to);
          else if (to == st.id)
            await(from);
        }
    }
  }
  for (auto* set : {&st.awaiting_handoff, &st.handoff_to})
    for (auto i = set->begin(); i != set->end();)
      i = in(view.shards, *i) ? std::next(i) : set->erase(i);
}

// Takes a new view's wiring: position, partition, peers; links waiting in
// the outbox go where the new partition says.
void rewire(pointer self, const cluster_view& view, std::size_t index) {
  auto& st = self->state;
  std::vector<crawl_request> waiting;
  for (auto& box : st.outbox)
    for (auto& req : box.links)
      waiting.push_back(std::move(req));
  st.epoch = view.epoch;
  st.index = static_cast<uint32_t>(index);
  st.partition = partition_of(view);
  st.peers = view.actors;
  st.outbox.assign(st.peers.size(), link_batch{});
  for (auto& req : waiting)
    route(self, std::move(req));
}

} // namespace

caf::result<caf::ok_atom> on_view(pointer self, cluster_view& view) {
  auto& st = self->state;
  auto me = std::find(view.shards.begin(), view.shards.end(), st.id);
  if (me == view.shards.end() || view.actors.size() != view.shards.size())
    return caf::make_error(caf::sec::invalid_argument, "a cluster view without this shard");
  if (view.epoch <= st.epoch)
    return caf::ok_atom::value; // an old view
  auto first = st.epoch == 0;
  rewire(self, view, static_cast<std::size_t>(me - view.shards.begin()));
  resend_to_gone(self, view);
  auto before = std::move(st.view);
  st.view = view;
  apply_guarding(self, before, st.view);
  // Each shard starts with an equal share; until the others say what they
  // could use, they are taken to want all of it.
  st.budget.reset(view.shards, st.index);
  schedule_tick(self);
  if (view.cluster)
    note_joins(st, before, view, first);
  auto orphans = std::move(st.orphans);
  st.orphans.clear();
  for (auto& req : orphans)
    route(self, std::move(req));
  unpark(self);
  admit_held(self);
  if (first && st.journal)
    resume(self); // the shard is wired up: take up what the store holds
  try_handoff(self);
  if (per_ip(st))
    on_ip_owners_gone(self, view);
  // Demands and lends the others sent under this view before it came.
  for (auto& m : st.budget.take_early(st.epoch)) {
    if (m.lend)
      take_lend(self, m.units);
    else
      take_demand(self, m.shard, m.demand, m.units);
  }
  return caf::ok_atom::value;
}

} // namespace arachne::shard
