#include "frontier/frontier.hpp"

#include "arachne/http_semantics.hpp"

#include <algorithm>
#include <chrono>
#include <ctime>

#include "caf/actor_cast.hpp"
#include "caf/actor_ostream.hpp"

#include "parser/parser.hpp"

namespace arachne {

namespace {

using pointer = frontier_impl::stateful_pointer<frontier_state>;
using namespace std::chrono_literals;

uint64_t mix(uint64_t x) noexcept {
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

caf::timespan retry_after(const fetch_result& res) {
  return parse_retry_after(header_value(res.headers, "retry-after"), caf::make_timestamp());
}

std::string_view target_of(std::string_view u) {
  auto scheme = u.find("://");
  if (scheme == std::string_view::npos)
    return "/";
  auto slash = u.find('/', scheme + 3);
  return slash == std::string_view::npos ? std::string_view{"/"} : u.substr(slash);
}

std::string origin_of(std::string_view u) {
  auto scheme = u.find("://");
  auto slash = scheme == std::string_view::npos ? u.size() : u.find('/', scheme + 3);
  return std::string{u.substr(0, slash)};
}

// -- records -------------------------------------------------------------------

void flush_records(pointer self);
void schedule_tick(pointer self);
void route(pointer self, crawl_request req);
void flush_guard(pointer self, std::function<void(bool)> then);
void feed_starved(pointer self);
void send_batch(pointer self, std::size_t i, std::shared_ptr<const record_batch> batch);
void drop_unacked(frontier_state& st, std::size_t i);

using url_state = frontier_journal::url_state;

// The store stopped working (a full disk, say): the shard stops taking up
// URLs and sends no record whose URL the store could not note as taken (it
// is fetched again on resume). What was committed stays intact.
void state_failed(pointer self) {
  auto& st = self->state;
  if (st.state_error.empty())
    st.state_error = st.journal->error();
  st.stopping = true;
  st.pending_records.clear();
  st.pending_ids.clear();
}

// URLs are tracked until done: in the state store, or by a guardian.
bool tracking(const frontier_state& st) {
  return st.journal != nullptr || st.guarding || st.view.cluster;
}

// Adds a URL to the seen set; false if it was there. In a cluster its
// fingerprint is kept by host too, to move with the host if a node joins.
bool note_seen(frontier_state& st, std::string_view url) {
  auto fp = fingerprint(url);
  if (!st.seen_urls.insert(fp))
    return false;
  if (st.view.cluster) {
    // (Only for its own hosts: one it decided about for another owner, a
    // redirect target, say, does not move with that owner's hosts.)
    auto hash = partition_hash(url_host(url));
    if (st.partition.owner_index_of_hash(hash) == st.index)
      st.seen_by_host[hash].push_back(fp);
  }
  return true;
}

// True if the host of `origin` is no longer this shard's: a shard of a node
// that joined owns it now.
bool moved(const frontier_state& st, std::string_view origin) {
  return st.view.cluster && st.partition.owner(url_host(origin)) != st.id;
}

// A URL is done: every sink stored its record and the owners of its page's
// links have them. `id` is its row in the store, or its guard id.
void mark_done(pointer self, uint64_t id) {
  auto& st = self->state;
  if (id == 0)
    return;
  if (st.journal)
    st.journal->mark(static_cast<int64_t>(id), url_state::done);
  if (st.view.cluster && st.live.erase(id) > 0 && st.guarding)
    st.guard_out.done.push_back(id);
}

// `id` is the record's URL row in the state store (or guard id), 0 for none.
void add_record(pointer self, record r, uint64_t id = 0) {
  auto& st = self->state;
  ++st.recorded;
  if (r.kind != record::kind_t::item) {
    if (r.error == crawl_errc::none)
      ++st.pages;
    else
      ++st.failures;
  }
  st.pending_records.push_back(std::move(r));
  st.pending_ids.push_back(id);
  if (st.pending_records.size() >= st.cfg.record_batch)
    flush_records(self);
  else
    schedule_tick(self);
}

record make_failure(const crawl_request& req, crawl_errc kind, std::string message) {
  record r;
  r.kind = record::kind_t::failure;
  r.url = req.url;
  r.final_url = req.url;
  r.error = kind;
  r.error_message = std::move(message);
  r.depth = req.depth;
  r.fetched_at = caf::make_timestamp();
  r.resumed = req.resumed;
  return r;
}

record make_record(const sink_needs& needs, const crawl_request& req, const fetch_result& res,
                   std::string title) {
  record r;
  r.kind = res.error == crawl_errc::none ? record::kind_t::page : record::kind_t::failure;
  r.url = req.url;
  r.final_url = res.final_url.empty() ? req.url : res.final_url;
  r.status = res.status;
  r.error = res.error;
  r.error_message = res.error_message;
  r.depth = req.depth;
  r.fetched_at = res.fetched_at;
  r.content_type = res.content_type;
  r.bytes = res.body.size();
  r.elapsed = res.timings.total;
  r.proxy = res.proxy;
  r.title = std::move(title);
  r.resumed = req.resumed;
  // What only some sinks want travels only if one of them asked.
  if (needs.bodies)
    r.body = res.body;
  if (needs.http) {
    r.headers = res.headers;
    r.request = res.request;
    r.remote_address = res.remote_address;
  }
  return r;
}

void schedule_tick(pointer self);

// Sends pending records to every sink while each has credit; the rest wait
// for acks (a slow sink slows the crawl, it does not grow memory).
void flush_records(pointer self) {
  auto& st = self->state;
  while (!st.pending_records.empty()) {
    if (st.sinks.empty()) {
      st.pending_records.clear();
      st.pending_ids.clear();
      return;
    }
    for (std::size_t i = 0; i < st.unacked.size(); ++i) {
      if (st.sink_errors[i].empty() && st.unacked[i].size() >= st.cfg.sink_credit)
        return;
      // A failed sink about to be restarted: everything waits for it.
      if (!st.sink_errors[i].empty() && st.cfg.hold_for_restart && !st.sink_given_up[i])
        return;
    }
    // A record reaches the sinks only once the store knows its URL was taken up.
    if (st.journal && !st.journal->commit())
      return state_failed(self);
    auto batch = std::make_shared<record_batch>();
    batch->seq = ++st.record_seq;
    auto n = std::min(st.pending_records.size(), st.cfg.record_batch);
    // In a cluster a record goes out only once the guardian has its URL: if
    // this node dies after the sinks stored it, the guardian knows the URL.
    if (st.guarding) {
      std::size_t ready = 0;
      while (ready < n && st.pending_ids[ready] <= st.guard_acked)
        ++ready;
      n = ready;
      if (n == 0)
        return;
    }
    frontier_state::batch_marks marks;
    if (tracking(st))
      for (std::size_t k = 0; k < n; ++k)
        if (st.pending_ids[k] != 0)
          marks.ids.push_back(st.pending_ids[k]);
    st.pending_ids.erase(st.pending_ids.begin(), st.pending_ids.begin() + static_cast<std::ptrdiff_t>(n));
    batch->records.assign(std::make_move_iterator(st.pending_records.begin()),
                          std::make_move_iterator(st.pending_records.begin() + static_cast<std::ptrdiff_t>(n)));
    st.pending_records.erase(st.pending_records.begin(),
                             st.pending_records.begin() + static_cast<std::ptrdiff_t>(n));
    for (std::size_t i = 0; i < st.sinks.size(); ++i)
      if (st.sink_errors[i].empty())
        ++marks.sinks_left;
    if (!marks.ids.empty() && marks.sinks_left > 0)
      st.marks.emplace(batch->seq, std::move(marks));
    for (std::size_t i = 0; i < st.sinks.size(); ++i) {
      // A failed sink gets nothing more; what it misses is counted.
      if (!st.sink_errors[i].empty()) {
        st.sink_skipped[i] += n;
        continue;
      }
      send_batch(self, i, batch);
    }
  }
}

// -- the state store's done marks ----------------------------------------------

void flush_outbox(pointer self, std::size_t peer);

// Pages waiting for link batches that went to an owner that went away:
// they wait until those links are sent again.
constexpr uint64_t parked = static_cast<uint64_t>(-1);

// Marks done the waiting pages whose link batches are all acknowledged.
void mark_waiting(pointer self) {
  auto& st = self->state;
  auto& waiting = st.done_after_links;
  bool marked = false;
  while (!waiting.empty() && waiting.front().first != parked
         && (st.links_unacked.empty() || *st.links_unacked.begin() > waiting.front().first)) {
    for (auto id : waiting.front().second)
      mark_done(self, id);
    waiting.pop_front();
    marked = true;
  }
  if (marked)
    schedule_tick(self); // commits, tells the guardian
}

// URLs whose records every sink has: done once the links their pages gave
// (sent by now) are journalled or guarded by the shards that own them.
void done_after_links(pointer self, std::vector<uint64_t> ids) {
  auto& st = self->state;
  for (std::size_t i = 0; i < st.outbox.size(); ++i)
    flush_outbox(self, i);
  if (st.links_unacked.empty()) {
    for (auto id : ids)
      mark_done(self, id);
    schedule_tick(self); // commits
    return;
  }
  st.done_after_links.emplace_back(st.link_seq, std::move(ids));
}

void on_links_journalled(pointer self, uint64_t seq, bool ok) {
  auto& st = self->state;
  st.links_unacked.erase(seq);
  auto& waiting = st.done_after_links;
  if (!ok) // an owner could not journal them: the pages that gave them stay taken
    while (!waiting.empty() && waiting.back().first != parked && waiting.back().first >= seq)
      waiting.pop_back();
  mark_waiting(self);
}

// Orphaned links have an owner again and went out: the pages that gave
// them wait for those batches now.
void unpark(pointer self) {
  auto& st = self->state;
  if (!st.orphans.empty())
    return;
  for (std::size_t i = 0; i < st.outbox.size(); ++i)
    flush_outbox(self, i);
  for (auto& w : st.done_after_links)
    if (w.first == parked)
      w.first = st.link_seq;
  mark_waiting(self);
}

// A link batch did not reach its owner for good: the owner's node died
// (the links go to the hosts' new owners once the cluster view says who
// they are), or the owner's guardian did (the owner is asked again).
void links_lost(pointer self, uint64_t seq, shard_id to, const link_batch& batch,
                bool owner_answered) {
  auto& st = self->state;
  auto& ids = st.partition.shards();
  bool owner_gone = std::find(ids.begin(), ids.end(), to) == ids.end();
  for (auto req : batch.links) {
    // Its owner may have fetched and recorded it before it died.
    req.resumed = req.resumed || !owner_answered;
    if (owner_gone || owner_answered)
      route(self, std::move(req));
    else
      st.orphans.push_back(std::move(req));
  }
  for (auto& w : st.done_after_links)
    if (w.first >= seq)
      w.first = parked;
  st.links_unacked.erase(seq);
  if (owner_gone || owner_answered)
    unpark(self);
}

// -- guarding ------------------------------------------------------------------

void guard_answered(pointer self, uint64_t n, bool ok) {
  auto& st = self->state;
  auto i = st.guards_unacked.find(n);
  if (i == st.guards_unacked.end())
    return; // from a former guardian
  auto then = std::move(i->second);
  st.guards_unacked.erase(i);
  if (then)
    then(ok);
}

// Sends what the guardian should know; `then` (if given) runs once it has
// it, or with false if it went away (the next view brings a new one).
void flush_guard(pointer self, std::function<void(bool)> then) {
  auto& st = self->state;
  if (!st.guarding || !st.guardian) {
    if (then)
      then(true);
    return;
  }
  if (!then && st.guard_out.add.empty() && st.guard_out.done.empty())
    return;
  auto n = ++st.guard_req;
  auto upto = st.guard_seq; // every URL admitted so far is in this batch or before
  st.guards_unacked.emplace(n, std::move(then));
  self->request(st.guardian, caf::infinite, guard_atom::value, uint64_t{st.id}, std::move(st.guard_out))
    .then(
      [=](const ack&) {
        auto& s = self->state;
        if (s.guards_unacked.count(n) > 0 && upto > s.guard_acked)
          s.guard_acked = upto;
        guard_answered(self, n, true);
        flush_records(self);
      },
      [=](caf::error&) { guard_answered(self, n, false); });
  st.guard_out = guard_batch{};
}

// The guardian of shard `owner` in `view`: a shard on another node, chosen
// by rendezvous hashing (stable while both live); `owner` if there is none.
shard_id guardian_of(const cluster_view& view, shard_id owner) {
  auto me = std::find(view.shards.begin(), view.shards.end(), owner);
  if (me == view.shards.end() || view.nodes.size() != view.shards.size())
    return owner;
  auto node = view.nodes[static_cast<std::size_t>(me - view.shards.begin())];
  shard_id best = owner;
  uint64_t best_score = 0;
  for (std::size_t i = 0; i < view.shards.size(); ++i) {
    if (view.nodes[i] == node)
      continue;
    auto score = mix(mix(owner) ^ view.shards[i]);
    if (best == owner || score > best_score) {
      best = view.shards[i];
      best_score = score;
    }
  }
  return best;
}

// A new view: as a guardian, hand the URLs of shards that are gone to their
// hosts' new owners; as an owner, give a new guardian the whole set.
// Hands what this shard guarded for `dead` to the new owners of its hosts:
// to every shard, so that each knows the takeover is complete.
void send_takeover(pointer self, shard_id dead, frontier_state::guarded_shard g) {
  auto& st = self->state;
  std::vector<takeover_batch> out(st.peers.size());
  auto send = [&](std::size_t k, bool last) {
    auto b = std::move(out[k]);
    out[k] = takeover_batch{};
    b.last = last;
    self->send(st.peers[k], takeover_atom::value, uint64_t{dead}, std::move(b));
  };
  for (auto& [hash, fp] : g.done) {
    auto k = st.partition.owner_index_of_hash(hash);
    out[k].seen.push_back({hash, fp.hi, fp.lo});
    if (out[k].seen.size() >= 65536)
      send(k, false);
  }
  for (auto& [gid, req] : g.live) {
    auto r = req;
    r.id = 0;
    r.resumed = true; // it may have been recorded before its node died
    ++st.reowned;
    auto k = st.partition.owner_index(url_host(r.url));
    out[k].urls.push_back(std::move(r));
    if (out[k].urls.size() >= 4096)
      send(k, false);
  }
  for (std::size_t k = 0; k < out.size(); ++k)
    send(k, true);
}

// True if `url`'s host belonged to a dead shard whose takeover has not arrived.
bool awaits_takeover(const frontier_state& st, std::string_view url) {
  auto hash = partition_hash(url_host(url));
  for (auto& [dead, before] : st.awaiting_takeover)
    if (before.shards()[before.owner_index_of_hash(hash)] == dead)
      return true;
  return false;
}

void apply_guarding(pointer self, const cluster_view& before, const cluster_view& view) {
  auto& st = self->state;
  auto gone = [&](shard_id id) {
    return std::find(view.shards.begin(), view.shards.end(), id) == view.shards.end();
  };
  // Shards that are gone: their guardian hands their URLs on; the others
  // hold URLs for their hosts until it has.
  for (auto dead : before.shards) {
    if (!gone(dead) || before.epoch == 0)
      continue;
    auto g = guardian_of(before, dead);
    if (g == st.id) {
      auto i = st.guarded.find(dead);
      frontier_state::guarded_shard urls;
      if (i != st.guarded.end()) {
        st.guarded_count -= i->second.live.size();
        urls = std::move(i->second);
        st.guarded.erase(i);
      }
      send_takeover(self, dead, std::move(urls));
    }
    if (g != dead && !gone(g) && st.taken_over.count(dead) == 0)
      st.awaiting_takeover.emplace(dead, partition_map{before.shards, before.weights});
  }
  // What this shard no longer guards (another shard does now) it drops.
  for (auto i = st.guarded.begin(); i != st.guarded.end();) {
    if (!gone(i->first) && guardian_of(view, i->first) == st.id) {
      ++i;
      continue;
    }
    st.guarded_count -= i->second.live.size();
    i = st.guarded.erase(i);
  }
  auto g = guardian_of(view, st.id);
  auto pending = std::move(st.guards_unacked);
  st.guards_unacked.clear();
  if (g == st.id) { // no other node: nothing to guard against
    st.guarding = false;
    st.guardian = frontier_actor{};
    st.guardian_id = 0;
    st.guard_out = guard_batch{}; // (`live` stays: a node that joins brings a guardian)
    for (auto& [n, then] : pending)
      if (then)
        then(true);
    return;
  }
  st.guarding = true;
  if (g == st.guardian_id && st.guardian) {
    st.guards_unacked = std::move(pending);
    return;
  }
  st.guardian_id = g;
  auto at = std::find(view.shards.begin(), view.shards.end(), g) - view.shards.begin();
  st.guardian = view.actors[static_cast<std::size_t>(at)];
  // The new guardian gets every URL not done, in batches.
  st.guard_out = guard_batch{};
  st.guard_out.full = true;
  for (auto& [gid, req] : st.live) {
    st.guard_out.add.push_back(req);
    if (st.guard_out.add.size() >= 4096)
      flush_guard(self, nullptr);
  }
  flush_guard(self, st.guard_out.full ? std::function<void(bool)>{[](bool) {}} : nullptr);
  // Link batches acknowledged only once guarded: their senders send them again.
  for (auto& [n, then] : pending)
    if (then)
      then(false);
}

// -- nodes that join ------------------------------------------------------------

// Adds URLs another shard had seen to the seen set.
void add_seen(frontier_state& st, const std::vector<seen_url>& seen) {
  for (auto& u : seen) {
    url_fingerprint fp{u.hi, u.lo};
    if (!st.seen_urls.insert(fp))
      continue;
    ++st.seen;
    if (st.view.cluster)
      st.seen_by_host[u.host_hash].push_back(fp);
  }
}

// Sends one part of a handoff to peer `k`. Once it has the URLs (and its
// guardian too) they are done here; if it goes away first they are sent
// on by the next view.
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

// Moves the hosts that joined shards own now: their queues, page budgets
// and seen URLs, in parts; the last part to each joined shard says so.
void send_handoff(pointer self) {
  auto& st = self->state;
  std::vector<handoff_batch> out(st.peers.size());
  auto send = [&](std::size_t k, bool last) {
    auto b = std::move(out[k]);
    out[k] = handoff_batch{};
    b.last = last;
    hand_over(self, k, std::move(b));
  };
  for (auto i = st.hosts.begin(); i != st.hosts.end();) {
    if (!moved(st, i->first)) {
      ++i;
      continue;
    }
    auto& h = i->second;
    auto k = st.partition.owner_index(url_host(i->first));
    out[k].sites.push_back({i->first, h.admitted});
    st.queued -= std::min<uint64_t>(st.queued, h.queue.size());
    st.memory_queued -= std::min<uint64_t>(st.memory_queued, h.queue.size());
    ++st.moved_hosts;
    st.moved_urls += h.queue.size();
    for (auto& req : h.queue) {
      out[k].urls.push_back(std::move(req));
      if (out[k].urls.size() >= 4096)
        send(k, false);
    }
    if (h.starved)
      st.starved.erase(std::remove(st.starved.begin(), st.starved.end(), i->first), st.starved.end());
    i = st.hosts.erase(i);
  }
  for (auto i = st.seen_by_host.begin(); i != st.seen_by_host.end();) {
    auto k = st.partition.owner_index_of_hash(i->first);
    if (k == st.index) {
      ++i;
      continue;
    }
    for (auto& fp : i->second) {
      out[k].seen.push_back({i->first, fp.hi, fp.lo});
      if (out[k].seen.size() >= 65536)
        send(k, false);
    }
    i = st.seen_by_host.erase(i);
  }
  auto& ids = st.partition.shards();
  for (std::size_t k = 0; k < out.size(); ++k) {
    bool joined = st.handoff_to.count(ids[k]) > 0;
    if (joined || !out[k].urls.empty() || !out[k].seen.empty() || !out[k].sites.empty())
      send(k, joined);
  }
  st.handoff_to.clear();
}

// Hands the hosts that moved to joined shards over once no request to them
// is under way here (none starts: pump skips them), after one more of their
// delays: the new owner's first request keeps the host's pace.
void try_handoff(pointer self) {
  auto& st = self->state;
  if (st.handoff_to.empty() || st.handoff_waiting || !st.awaiting_handoff.empty())
    return;
  auto wait = st.cfg.politeness.delay;
  for (auto& [origin, h] : st.hosts) {
    if (!moved(st, origin))
      continue;
    if (h.acquiring > 0 || h.granted > 0)
      return; // (its release tries again)
    if (auto cd = h.rules.crawl_delay())
      wait = std::max(wait, std::min(*cd, st.cfg.politeness.max_crawl_delay));
  }
  wait = caf::timespan{static_cast<int64_t>(static_cast<double>(wait.count())
                                            * (1.0 + st.cfg.politeness.jitter))};
  st.handoff_waiting = true;
  self->delayed_send(self, wait, handoff_tick_atom::value, uint64_t{st.epoch});
}

// Gives a slot back to the rate limiter.
void release(pointer self, const std::string& origin, const slot_grant& grant,
             fetch_feedback fb) {
  auto& st = self->state;
  self->send(st.limiter, release_atom::value, grant, std::move(fb));
  if (auto i = st.hosts.find(origin); i != st.hosts.end() && i->second.granted > 0)
    --i->second.granted;
  if (!st.handoff_to.empty())
    try_handoff(self);
}

// Sink `i` acknowledged batch `seq`.
void on_batch_stored(pointer self, uint64_t seq) {
  auto& st = self->state;
  auto m = st.marks.find(seq);
  if (m == st.marks.end() || --m->second.sinks_left > 0)
    return;
  auto ids = std::move(m->second.ids);
  st.marks.erase(m);
  done_after_links(self, std::move(ids));
}

// A failed sink will not get back what it did not acknowledge: count it as lost to it.
void drop_unacked(frontier_state& st, std::size_t i) {
  for (auto& [seq, batch] : st.unacked[i])
    st.sink_skipped[i] += batch->records.size();
  st.unacked[i].clear();
}

// Sends one batch to sink `i` and keeps it until the sink acknowledges it.
void send_batch(pointer self, std::size_t i, std::shared_ptr<const record_batch> batch) {
  auto& st = self->state;
  st.unacked[i].emplace(batch->seq, batch);
  auto seq = batch->seq;
  auto sink = st.sinks[i];
  self->request(sink, caf::infinite, *batch)
    .then(
      [=](const ack&) {
        auto& s = self->state;
        if (s.sinks[i] == sink)
          s.unacked[i].erase(seq);
        on_batch_stored(self, seq);
        flush_records(self);
        feed_starved(self);
      },
      [=](caf::error& err) {
        // The sink failed (crashed, or refused the batch): the batch stays
        // unacknowledged, nothing more goes to it, and the crawl decides
        // (stop, go on without it, or restart it and send the batch again).
        auto& s = self->state;
        if (s.sinks[i] != sink)
          return; // an answer from a sink that has been replaced
        s.marks.erase(seq); // not in every sink: its URLs stay taken (fetched again on resume)
        // (A request that found the sink gone says only that: its DOWN
        // message, which follows, says why.)
        if (s.sink_errors[i].empty() && err != caf::sec::request_receiver_down)
          s.sink_errors[i] = self->system().render(err);
        if (!s.cfg.hold_for_restart || s.sink_given_up[i]) {
          // (Given up meanwhile: the batch was counted then.)
          if (auto held = s.unacked[i].find(seq); held != s.unacked[i].end()) {
            s.sink_skipped[i] += held->second->records.size();
            s.unacked[i].erase(held);
          }
        }
        flush_records(self);
        feed_starved(self);
      });
}

// -- links ---------------------------------------------------------------------

void flush_outbox(pointer self, std::size_t peer) {
  auto& st = self->state;
  auto& box = st.outbox[peer];
  if (box.links.empty())
    return;
  ++st.batches_sent;
  box.epoch = st.epoch;
  auto seq = ++st.link_seq;
  st.links_unacked.insert(seq);
  // While guarding, a batch is kept until its owner has it: if the owner's
  // node dies, its links go to the hosts' new owners.
  std::shared_ptr<const link_batch> kept;
  if (st.guarding) {
    kept = std::make_shared<const link_batch>(box);
    st.links_in_transit.emplace(seq, frontier_state::sent_links{st.partition.shards()[peer], kept});
  }
  self->request(st.peers[peer], caf::infinite, std::move(box))
    .then(
      [=](const ack&) {
        if (kept && self->state.links_in_transit.erase(seq) == 0)
          return; // taken for lost at a view change
        on_links_journalled(self, seq, true);
      },
      [=](caf::error& err) {
        auto& s = self->state;
        if (kept) {
          auto i = s.links_in_transit.find(seq);
          if (i == s.links_in_transit.end())
            return;
          auto to = i->second.to;
          s.links_in_transit.erase(i);
          // (An owner that answers with an error lost its guardian.)
          links_lost(self, seq, to, *kept, err == caf::sec::runtime_error);
          return;
        }
        on_links_journalled(self, seq, false);
      });
  box = link_batch{};
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

void schedule_tick(pointer self) {
  auto& st = self->state;
  if (st.tick_set)
    return;
  st.tick_set = true;
  self->delayed_send(self, std::chrono::milliseconds(10), flush_tick_atom::value);
}

// Why a URL is out of scope, or empty.
std::string out_of_scope(frontier_state& st, const crawl_request& req) {
  auto& scope = st.cfg.scope;
  if (scope.max_depth >= 0 && req.depth > static_cast<uint64_t>(scope.max_depth))
    return "deeper than --max-depth";
  if (!scope.allowed_domains.empty()) {
    auto host = url_host(req.url);
    bool ok = false;
    for (auto& d : scope.allowed_domains) {
      if (host == d || (host.size() > d.size() && host.substr(host.size() - d.size()) == d
                        && host[host.size() - d.size() - 1] == '.')) {
        ok = true;
        break;
      }
    }
    if (!ok)
      return "host not in --allowed-domains";
  }
  if (!st.allow.empty()
      && std::none_of(st.allow.begin(), st.allow.end(),
                      [&](const std::regex& re) { return std::regex_search(req.url, re); }))
    return "matches no --allow pattern";
  for (auto& re : st.deny)
    if (std::regex_search(req.url, re))
      return "matches a --deny pattern";
  return {};
}

void pump(pointer self, const std::string& host);

// A URL that ends without a fetch, recorded with why (out of scope, say).
// In the store it is a taken row of no host, recorded again on resume if
// the crash came before its record was in every sink.
void record_decision(pointer self, const crawl_request& req, crawl_errc kind, std::string why) {
  auto& st = self->state;
  uint64_t id = 0;
  if (st.journal)
    id = static_cast<uint64_t>(st.journal->add_url(0, req, url_state::taken, kind, why));
  add_record(self, make_failure(req, kind, std::move(why)), id);
}

// A URL arrives: seed, link or redirect target. Decisions on seeds and
// redirect targets are recorded; links out of scope are only counted.
void admit_new(pointer self, crawl_request req, bool seed, bool handed = false);

void admit(pointer self, crawl_request req, bool seed) {
  auto& st = self->state;
  // In a cluster, a URL for a host this shard does not own comes from a
  // shard with a newer view (a node was lost): it waits for that view. One
  // for a host of a lost shard waits for the lost shard's takeover.
  // A shard that joined holds every URL until the shards that owned its
  // hosts handed them over.
  if (st.view.cluster
      && (st.partition.owner(url_host(req.url)) != st.id || !st.awaiting_handoff.empty()
          || (!st.awaiting_takeover.empty() && awaits_takeover(st, req.url)))) {
    st.held.emplace_back(std::move(req), seed);
    return;
  }
  if (note_seen(st, req.url))
    admit_new(self, std::move(req), seed);
}

// A URL not seen before (the caller has added it to the seen set).
// A `handed` one was admitted by the shard that owned its host before (a
// node joined): scope and budgets were applied there.
void admit_new(pointer self, crawl_request req, bool seed, bool handed) {
  auto& st = self->state;
  ++st.seen;
  bool recorded_decision = seed || req.hops > 0;
  if (auto why = handed ? std::string{} : out_of_scope(st, req); !why.empty()) {
    if (recorded_decision)
      record_decision(self, req, crawl_errc::out_of_scope, std::move(why));
    else
      ++st.dropped;
    return;
  }
  auto host = origin_of(req.url);
  auto& h = st.hosts[host];
  auto& scope = st.cfg.scope;
  auto shards = std::max<std::size_t>(1, st.peers.size());
  auto budget = scope.max_pages == 0 ? 0 : (scope.max_pages + shards - 1) / shards;
  if (!handed
      && ((budget != 0 && st.admitted >= budget)
          || (scope.max_pages_per_host != 0 && h.admitted >= scope.max_pages_per_host))) {
    if (recorded_decision)
      record_decision(self, req, crawl_errc::out_of_scope, "over the page budget");
    else
      ++st.dropped;
    return;
  }
  if (h.origin.empty())
    h.origin = origin_of(req.url);
  if (!handed) { // (a handed one's host brings its count)
    ++h.admitted;
    ++st.admitted;
  }
  ++st.queued;
  if (st.journal) {
    if (h.db_id == 0)
      h.db_id = st.journal->add_host(h.origin);
    req.id = static_cast<uint64_t>(st.journal->add_url(h.db_id, req, url_state::queued));
    // Over the memory bound, a host's new URLs wait in the store only.
    if (h.spilled > 0 || st.memory_queued >= st.cfg.queue_memory) {
      ++h.spilled;
      return pump(self, host);
    }
    h.spill_cursor = static_cast<int64_t>(req.id);
  }
  if (st.view.cluster) {
    req.id = ++st.guard_seq;
    auto copy = req;
    copy.referrer.clear();
    if (st.guarding)
      st.guard_out.add.push_back(copy);
    st.live.emplace(req.id, std::move(copy));
  }
  ++st.memory_queued;
  h.queue.push_back(std::move(req));
  pump(self, host);
}

// Brings a host's next URLs from the store into memory.
void refill(pointer self, host_entry& h) {
  auto& st = self->state;
  auto want = std::max<std::size_t>(16, 2 * st.cfg.politeness.concurrency);
  auto rows = st.journal->pending(h.db_id, h.spill_cursor, std::min<uint64_t>(h.spilled, want));
  if (rows.empty()) { // (only if the store failed)
    st.queued -= std::min(st.queued, h.spilled);
    h.spilled = 0;
    return;
  }
  for (auto& row : rows) {
    h.spill_cursor = static_cast<int64_t>(row.req.id);
    --h.spilled;
    if (row.req.resumed)
      ++st.resumed;
    ++st.memory_queued;
    h.queue.push_back(std::move(row.req));
  }
}

// -- fetching ------------------------------------------------------------------

fetch_feedback feedback_of(const fetch_result& res) {
  fetch_feedback fb;
  fb.status = res.status;
  fb.error = res.error;
  fb.latency = res.timings.ttfb;
  auto& t = res.timings;
  if (t.total > t.dns + t.connect + t.tls)
    fb.busy = t.total - t.dns - t.connect - t.tls;
  if (res.status == 429 || res.status == 503)
    fb.retry_after = retry_after(res);
  return fb;
}

// A parsed page: its record (made when the fetch ended) gets the title and
// links; the links go to their shards.
void on_parsed(pointer self, record page, uint64_t id, parse_result& pr) {
  auto& st = self->state;
  page.title = std::move(pr.title);
  if (st.cfg.needs.links)
    page.links = pr.links.strings();
  auto depth = page.depth;
  auto from = page.url;
  add_record(self, std::move(page), id);
  for (auto& item : pr.items)
    add_record(self, std::move(item));
  auto& scope = st.cfg.scope;
  if (scope.max_depth < 0 || depth < static_cast<uint64_t>(scope.max_depth))
    for (std::size_t i = 0; i < pr.links.size(); ++i) {
      auto link = pr.links[i];
      // Links to this shard's own hosts are checked against the seen set
      // right here, before a request is built: most links were seen before.
      if (st.partition.owner_index(url_host(link)) == st.index) {
        // (A host of a lost shard: wait for what that shard had done.)
        if (!st.awaiting_handoff.empty()
            || (!st.awaiting_takeover.empty() && awaits_takeover(st, link))) {
          st.held.emplace_back(crawl_request{std::string{link}, depth + 1u, from, 0, 0, 0}, false);
          continue;
        }
        if (note_seen(st, link))
          admit_new(self, crawl_request{std::string{link}, depth + 1u, from, 0, 0, 0}, false);
        continue;
      }
      route(self, crawl_request{std::string{link}, depth + 1u, from, 0, 0, 0});
    }
  --st.in_flight;
  pump(self, origin_of(from));
}

// Records the outcome of a redirect and routes its target, unless the
// chain from the seed or link is too long; an unusable Location ends there.
void follow_redirect(pointer self, const crawl_request& req, const fetch_result& res) {
  auto& st = self->state;
  add_record(self, make_record(st.cfg.needs, req, res, {}), req.id);
  auto location = header_value(res.headers, "location");
  auto base = parse_url(res.final_url.empty() ? req.url : res.final_url, st.cfg.urls);
  if (!base)
    return;
  auto target = resolve_url(*base, location, st.cfg.urls);
  if (!target)
    return;
  crawl_request next{target->str(), req.depth, req.url, 0, req.hops + 1, 0};
  if (next.hops <= st.cfg.max_redirects)
    return route(self, std::move(next));
  if (note_seen(st, next.url)) {
    ++st.seen;
    record_decision(self, next, crawl_errc::too_many_redirects,
                    "more than " + std::to_string(st.cfg.max_redirects)
                      + " redirects from a seed or link");
  }
}

// Hands an HTML page to a parser; its record (made now) is sent with the
// links the parser finds.
void parse(pointer self, crawl_request req, fetch_result& res) {
  auto& st = self->state;
  auto host = origin_of(req.url);
  auto& p = st.parsers[st.next_parser++ % st.parsers.size()];
  // The record is made now; the request and result move to the parser.
  auto page = std::make_shared<record>(make_record(st.cfg.needs, req, res, {}));
  auto id = req.id;
  self->request(p, caf::infinite, parse_atom::value, std::move(req), std::move(res))
    .then([=](parse_result& pr) { on_parsed(self, std::move(*page), id, pr); },
          [=](caf::error& err) {
            auto r = std::move(*page);
            r.error_message = "parser failed: " + self->system().render(err);
            add_record(self, std::move(r), id);
            --self->state.in_flight;
            pump(self, host);
          });
}

void on_fetched(pointer self, crawl_request req, const slot_grant& grant, fetch_result& res) {
  auto& st = self->state;
  auto host = origin_of(req.url);
  release(self, host, grant, feedback_of(res));
  st.bytes += res.body.size();
  auto& site = st.hosts[host];
  bool unreachable = is_unreachable(res);
  if (!unreachable)
    site.unreachable = 0;
  bool parsable = is_html(res) && !st.parsers.empty();
  auto action = st.policy.decide(req, res, st.stopping, site.dead != crawl_errc::none, parsable);
  // A site that fails to connect or resolve too often in a row is dead: its
  // other URLs end with that failure, unfetched (retries wait and count later).
  if (unreachable && action != fetch_action::retry && site.dead == crawl_errc::none
      && ++site.unreachable >= unreachable_limit)
    site.dead = res.error;
  switch (action) {
    case fetch_action::requeue_throttled:
      ++req.throttled;
      --st.in_flight;
      ++st.queued;
      ++st.memory_queued;
      site.queue.push_back(std::move(req));
      return pump(self, host);
    case fetch_action::retry: {
      ++req.attempt;
      std::uniform_real_distribution<double> jitter{1.0, 1.5};
      auto wait = st.policy.retry_wait(req.attempt, jitter(st.rng));
      --st.in_flight;
      ++st.waiting_retry;
      self->delayed_send(self, wait, retry_atom::value, std::move(req));
      return;
    }
    case fetch_action::parse:
      return parse(self, std::move(req), res);
    case fetch_action::retries_exhausted: {
      auto r = make_record(st.cfg.needs, req, res, {});
      r.error = crawl_errc::retries_exhausted;
      r.error_message = retries_exhausted_message(res, req.attempt);
      add_record(self, std::move(r), req.id);
      break;
    }
    case fetch_action::follow_redirect:
      follow_redirect(self, req, res);
      break;
    case fetch_action::record:
      add_record(self, make_record(st.cfg.needs, req, res, {}), req.id);
      break;
  }
  --st.in_flight;
  pump(self, host);
}

void fetch(pointer self, crawl_request req, slot_grant grant) {
  auto& st = self->state;
  ++st.in_flight;
  fetch_request fr;
  fr.id = ++st.next_fetch_id;
  fr.url = req.url;
  fr.follow_redirects = false; // redirect targets go back through the frontier
  fr.keep_request = st.cfg.needs.http;
  auto& f = st.fetchers[st.next_fetcher++ % st.fetchers.size()];
  self->request(f, caf::infinite, fetch_atom::value, std::move(fr))
    .then([=](fetch_result& res) mutable { on_fetched(self, std::move(req), grant, res); },
          [=](caf::error& err) {
            // The fetcher itself failed (it never answers with an error):
            // the URL still gets its record.
            auto& s = self->state;
            release(self, origin_of(req.url), grant, fetch_feedback{});
            add_record(self,
                       make_failure(req, crawl_errc::cancelled,
                                    "fetcher failed: " + self->system().render(err)),
                       req.id);
            --s.in_flight;
            pump(self, origin_of(req.url));
          });
}

void on_robots(pointer self, const std::string& host, const slot_grant& grant, fetch_result& res) {
  auto& st = self->state;
  auto fb = feedback_of(res);
  fb.latency = {}; // (robots.txt says nothing of how the host copes with pages)
  release(self, host, grant, std::move(fb));
  --st.in_flight;
  auto& h = st.hosts[host];
  auto outcome = classify_robots_fetch(res.status, res.error);
  if (outcome == robots_status::parsed) {
    h.rules = robots_rules::parse(res.body.view(), st.cfg.user_agent);
    if (auto delay = h.rules.crawl_delay())
      self->send(st.limiter, caf::put_atom::value, std::string{url_host(host)},
                 host_policy{*delay, 0});
    h.robots_problem.clear();
  } else if (outcome == robots_status::unavailable) {
    h.rules = robots_rules::allow_all(); // RFC 9309: unavailable means allowed
    h.robots_problem.clear();
  } else {
    // Unreachable (5xx, 429, network): assume complete disallow until retried.
    // Retries back off like a page's; the host's URLs wait meanwhile (the
    // fetch still counts as under way, so the shard is not idle).
    auto why = res.error != crawl_errc::none ? to_string(res.error) + ": " + res.error_message
                                             : "status " + std::to_string(res.status);
    if (h.robots_failures < st.cfg.scope.retries && !st.stopping) {
      auto wait = st.cfg.scope.retry_delay * (1u << std::min(h.robots_failures, 10u));
      ++h.robots_failures;
      self->delayed_send(self, wait, robots_retry_atom::value, host);
      return feed_starved(self); // (its unit of the budget is free)
    }
    h.rules = robots_rules::disallow_all();
    h.robots_problem = "robots.txt unavailable after " + std::to_string(h.robots_failures + 1)
                       + " tries (" + why + "): everything disallowed";
  }
  h.robots_failures = 0;
  h.robots_expires = self->clock().now() + st.cfg.politeness.robots_ttl;
  h.robots = host_entry::robots_t::ready;
  --st.robots_fetching;
  pump(self, host);
}

void fetch_robots(pointer self, const std::string& host) {
  auto& st = self->state;
  auto& h = st.hosts[host];
  h.robots = host_entry::robots_t::fetching;
  ++st.robots_fetching;
  ++h.acquiring;
  ++st.acquiring;
  self->request(st.limiter, caf::infinite, acquire_atom::value, std::string{url_host(host)})
    .then([=](const slot_grant& grant) {
      auto& s = self->state;
      --s.hosts[host].acquiring;
      ++s.hosts[host].granted;
      --s.acquiring;
      ++s.in_flight; // (robots.txt counts against --concurrency like any request)
      fetch_request fr;
      fr.id = ++s.next_fetch_id;
      fr.url = s.hosts[host].origin + "/robots.txt";
      fr.follow_redirects = true; // RFC 9309: follow up to five
      fr.max_body_bytes = robots_max_bytes; // and read the first 500 KiB of a larger file
      auto& f = s.fetchers[s.next_fetcher++ % s.fetchers.size()];
      self->request(f, caf::infinite, fetch_atom::value, std::move(fr))
        .then([=](fetch_result& res) { on_robots(self, host, grant, res); },
              [=](caf::error&) {
                fetch_result failed; // treated as unreachable: disallow
                failed.error = crawl_errc::cancelled;
                on_robots(self, host, grant, failed);
              });
    });
}

void on_grant(pointer self, const std::string& host, const slot_grant& grant) {
  auto& st = self->state;
  auto& h = st.hosts[host];
  ++h.granted;
  --h.acquiring;
  --st.acquiring;
  if (h.queue.empty() && h.spilled > 0 && !st.stopping)
    refill(self, h);
  if (h.queue.empty() || st.stopping || moved(st, host)) {
    release(self, host, grant, fetch_feedback{});
    return;
  }
  auto req = std::move(h.queue.front());
  h.queue.pop_front();
  --st.queued;
  --st.memory_queued;
  if (st.journal && !req.resumed && req.attempt == 0 && req.throttled == 0)
    st.journal->mark(static_cast<int64_t>(req.id), url_state::taken);
  if (h.dead != crawl_errc::none) {
    release(self, host, grant, fetch_feedback{});
    add_record(self,
               make_failure(req, h.dead,
                            "not fetched: the last " + std::to_string(unreachable_limit)
                              + " fetches from " + h.origin + " could not be reached"),
               req.id);
    return pump(self, host);
  }
  if (st.cfg.politeness.obey_robots && !h.rules.allowed(target_of(req.url))) {
    release(self, host, grant, fetch_feedback{});
    add_record(self,
               make_failure(req, crawl_errc::robots_denied,
                            h.robots_problem.empty() ? "disallowed by robots.txt" : h.robots_problem),
               req.id);
    return pump(self, host);
  }
  fetch(self, std::move(req), grant);
  pump(self, host); // the site's next slot
}

// The requests this shard may have under way: the units it holds, but no
// more than its share while others need the rest.
uint64_t busy(const frontier_state& st) {
  return st.in_flight + st.acquiring;
}

// Asks the rate limiter for the site's next slot, within its per-host
// concurrency, the shard's share of --concurrency and while the sinks keep
// up. One request for a slot at a time per site (its grant asks for the
// next): a request the limiter holds back (the site's delay) keeps at most
// one unit of the budget from sites that could go now. Sites take the
// budget in turn: with others in line for it, a site goes behind them.
void pump_site(pointer self, const std::string& host) {
  auto& st = self->state;
  if (st.stopping || moved(st, host)) // (a moved host waits for its handoff)
    return;
  auto& h = st.hosts[host];
  if (h.queue.empty() && h.spilled == 0)
    return;
  // A robots.txt older than --robots-ttl is fetched again before more requests.
  if (h.robots == host_entry::robots_t::ready && st.cfg.politeness.robots_ttl.count() > 0
      && self->clock().now() >= h.robots_expires)
    h.robots = host_entry::robots_t::unknown;
  bool robots = st.cfg.politeness.obey_robots && h.robots != host_entry::robots_t::ready;
  if (robots ? h.robots == host_entry::robots_t::fetching
             : h.acquiring > 0 || h.granted >= st.cfg.politeness.concurrency)
    return; // (robots.txt, the grant or a release pumps again)
  bool held_back = busy(st) >= st.budget.usable()
                   || st.pending_records.size() >= st.cfg.max_pending_records
                   || (!st.starved.empty() && !st.feeding_starved);
  if (held_back) {
    if (!h.starved) {
      h.starved = true;
      st.starved.push_back(host);
    }
    return; // (pump feeds the sites in line next)
  }
  if (robots)
    return fetch_robots(self, host);
  ++h.acquiring;
  ++st.acquiring;
  self->request(st.limiter, caf::infinite, acquire_atom::value, std::string{url_host(host)})
    .then([=](const slot_grant& grant) { on_grant(self, host, grant); });
}

// Lends units of --concurrency this shard does not use to shards that wait
// for them (concurrency_budget decides; the units only move).
void rebalance(pointer self) {
  auto& st = self->state;
  auto out = st.budget.rebalance(busy(st), st.starved.size());
  for (auto& l : out.to_send)
    self->send(st.peers[l.to], lend_atom::value, st.epoch, l.units);
  if (out.tick)
    schedule_tick(self);
}

// Tells the other shards this shard's demand if it changed much (at the
// next tick), or lends what it no longer uses.
void note_demand(pointer self) {
  auto& st = self->state;
  if (st.peers.size() > 1 && st.budget.note(busy(st), st.starved.size()))
    schedule_tick(self);
}

// Another shard's demand and budget, as it said them under this view.
void take_demand(pointer self, uint64_t shard, uint32_t demand, uint64_t budget) {
  if (!self->state.budget.take_demand(shard, demand, budget))
    return;
  rebalance(self);
  feed_starved(self); // (its share may have grown)
}

// Units another shard lent this one under this view.
void take_lend(pointer self, uint64_t units) {
  self->state.budget.take_lend(units);
  schedule_tick(self);
  feed_starved(self);
}

// At a tick: says this shard's demand and budget if either changed, and
// lends what it has beyond its share.
void say_demand(pointer self) {
  auto& st = self->state;
  if (st.peers.size() <= 1)
    return;
  rebalance(self);
  auto demand = st.budget.say(busy(st), st.starved.size());
  if (!demand)
    return;
  for (std::size_t k = 0; k < st.peers.size(); ++k)
    if (k != st.index)
      self->send(st.peers[k], demand_atom::value,
                 concurrency_demand{st.epoch, st.id, *demand, st.budget.held()});
}

// After any change to a site or to what is under way: the site's next slot,
// a freed unit of the budget to the sites in line, the demand to the others.
void pump(pointer self, const std::string& host) {
  pump_site(self, host);
  feed_starved(self);
  note_demand(self);
}

// A slot may have come free, or the sinks caught up: the sites in line take
// it in turn, one slot each.
void feed_starved(pointer self) {
  auto& st = self->state;
  if (st.feeding_starved || st.stopping)
    return;
  st.feeding_starved = true;
  while (!st.starved.empty() && busy(st) < st.budget.usable()
         && st.pending_records.size() < st.cfg.max_pending_records) {
    auto next = std::move(st.starved.front());
    st.starved.pop_front();
    st.hosts[next].starved = false;
    pump(self, next);
  }
  st.feeding_starved = false;
}

// Hosts may wait for a shard-wide budget: give each a chance again.
void pump_all(pointer self) {
  for (auto& [host, h] : self->state.hosts)
    if ((!h.queue.empty() || h.spilled > 0) && h.acquiring == 0)
      pump(self, host);
}

frontier_stats stats_of(frontier_state& st) {
  frontier_stats s;
  s.shard = st.id;
  s.hosts = st.hosts.size();
  s.seen = st.seen;
  s.queued = st.queued;
  s.in_flight = st.in_flight;
  s.recorded = st.recorded;
  s.pages = st.pages;
  s.failures = st.failures;
  s.bytes = st.bytes;
  s.dropped = st.dropped;
  s.batches_sent = st.batches_sent;
  s.batches_received = st.batches_received;
  bool unacked = std::any_of(st.unacked.begin(), st.unacked.end(),
                             [](auto& m) { return !m.empty(); });
  s.sink_errors = st.sink_errors;
  // Lost to a sink: what it missed since it failed and what it never acked.
  s.sink_lost = st.sink_skipped;
  for (std::size_t i = 0; i < st.unacked.size(); ++i)
    if (!st.sink_errors[i].empty())
      for (auto& [seq, b] : st.unacked[i])
        s.sink_lost[i] += b->records.size();
  bool outgoing = std::any_of(st.outbox.begin(), st.outbox.end(),
                              [](auto& b) { return !b.links.empty(); });
  s.state_error = st.state_error;
  s.resumed = st.resumed;
  s.reowned = st.reowned;
  s.guarded = st.guarded_count;
  s.guard_batches = st.guard_req;
  s.moved_hosts = st.moved_hosts;
  s.moved_urls = st.moved_urls;
  s.budget = st.budget.held();
  bool journalling = tracking(st)
                     && ((st.journal && st.journal->dirty()) || !st.marks.empty()
                         || !st.done_after_links.empty());
  bool guarding = !st.guard_out.add.empty() || !st.guard_out.done.empty()
                  || !st.guards_unacked.empty();
  s.idle = (st.queued == 0 || st.stopping) && st.in_flight == 0 && st.acquiring == 0
           && st.waiting_retry == 0 && st.robots_fetching == 0 && !outgoing
           && st.links_unacked.empty() && st.orphans.empty() && !guarding
           && st.awaiting_takeover.empty() && st.held.empty() && st.handoff_to.empty()
           && !st.handoff_waiting && st.handoffs_in_transit.empty() && st.awaiting_handoff.empty()
           && st.pending_records.empty() && !unacked && (!journalling || !st.state_error.empty());
  return s;
}

// Reads the store at start: hosts with their budgets and pending counts
// (their URLs stay in the store until needed), and the seen set.
void restore(pointer self) {
  auto& st = self->state;
  for (auto& row : st.journal->hosts()) {
    auto& h = st.hosts[row.origin];
    h.origin = row.origin;
    h.db_id = row.id;
    h.admitted = row.admitted;
    h.spilled = row.pending;
    st.admitted += row.admitted;
    st.queued += row.pending;
  }
  st.journal->each_url([&](std::string_view u) {
    st.seen_urls.insert(fingerprint(u));
    ++st.seen;
  });
  if (!st.journal->error().empty())
    state_failed(self);
}

// Takes up what the store holds: decisions made again, hosts pumped.
void resume(pointer self) {
  auto& st = self->state;
  int64_t after = 0;
  for (;;) {
    auto rows = st.journal->pending(0, after, 1024);
    if (rows.empty())
      break;
    for (auto& row : rows) {
      after = static_cast<int64_t>(row.req.id);
      row.req.resumed = true;
      ++st.resumed;
      add_record(self, make_failure(row.req, row.decided, std::move(row.why)), row.req.id);
    }
  }
  pump_all(self);
}

} // namespace

bool fingerprint_set::insert(url_fingerprint f) {
  if (f.hi == 0 && f.lo == 0)
    f.lo = 1; // {0, 0} marks empty slots
  if ((size_ + 1) * 10 > slots_.size() * 7)
    grow();
  auto mask = slots_.size() - 1;
  for (auto i = static_cast<std::size_t>(f.lo) & mask;; i = (i + 1) & mask) {
    auto& slot = slots_[i];
    if (slot == f)
      return false;
    if (slot.hi == 0 && slot.lo == 0) {
      slot = f;
      ++size_;
      return true;
    }
  }
}

void fingerprint_set::grow() {
  std::vector<url_fingerprint> old(std::max<std::size_t>(1024, slots_.size() * 2));
  old.swap(slots_);
  auto mask = slots_.size() - 1;
  for (auto& f : old) {
    if (f.hi == 0 && f.lo == 0)
      continue;
    auto i = static_cast<std::size_t>(f.lo) & mask;
    while (slots_[i].hi != 0 || slots_[i].lo != 0)
      i = (i + 1) & mask;
    slots_[i] = f;
  }
}

url_fingerprint fingerprint(std::string_view u) noexcept {
  uint64_t a = 0xCBF29CE484222325ull;
  uint64_t b = 0x84222325CBF29CE4ull;
  for (auto c : u) {
    a = (a ^ static_cast<unsigned char>(c)) * 0x100000001B3ull;
    b = (b + static_cast<unsigned char>(c)) * 0x9E3779B97F4A7C15ull;
    b ^= b >> 29;
  }
  return {mix(a), mix(b ^ u.size())};
}

frontier_impl::behavior_type frontier(frontier_impl::stateful_pointer<frontier_state> self,
                                      frontier_config cfg, shard_id id,
                                      std::vector<fetcher_actor> fetchers,
                                      std::vector<parser_actor> parsers,
                                      std::vector<sink_actor> sinks) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.policy.retries = st.cfg.scope.retries;
  st.policy.retry_delay = st.cfg.scope.retry_delay;
  st.id = id;
  st.fetchers = std::move(fetchers);
  st.parsers = std::move(parsers);
  st.sinks = std::move(sinks);
  // A sink that goes away (a crash, a lost connection to a remote one) may
  // leave requests unanswered: its DOWN message counts as its failure.
  for (auto& s : st.sinks)
    self->monitor(s);
  self->set_down_handler([=](caf::down_msg& dm) {
    auto& s = self->state;
    for (std::size_t i = 0; i < s.sinks.size(); ++i) {
      if (s.sinks[i].address() != dm.source)
        continue;
      if (s.sink_errors[i].empty())
        s.sink_errors[i] = "the sink went away: " + self->system().render(dm.reason);
      if (!s.cfg.hold_for_restart || s.sink_given_up[i])
        drop_unacked(s, i);
    }
    flush_records(self);
    feed_starved(self);
  });
  st.unacked.assign(st.sinks.size(), {});
  st.sink_errors.assign(st.sinks.size(), std::string{});
  st.sink_skipped.assign(st.sinks.size(), 0);
  st.sink_given_up.assign(st.sinks.size(), false);
  st.rng.seed(static_cast<std::minstd_rand::result_type>((st.cfg.seed + id) % 2147483646 + 1));
  for (auto& re : st.cfg.scope.allow)
    st.allow.emplace_back(re, std::regex::ECMAScript | std::regex::optimize);
  for (auto& re : st.cfg.scope.deny)
    st.deny.emplace_back(re, std::regex::ECMAScript | std::regex::optimize);
  st.limiter = self->spawn<caf::linked>(rate_limiter, st.cfg.politeness, st.cfg.seed * 31 + id);
  st.budget = concurrency_budget{st.cfg.scope.concurrency, st.cfg.politeness.concurrency};
  st.journal = std::move(st.cfg.journal);
  if (st.journal)
    restore(self);
  return {
    [=](seed_atom, link_batch& batch) {
      for (auto& req : batch.links)
        admit(self, std::move(req), true);
      if (self->state.journal && !self->state.journal->commit())
        state_failed(self);
      flush_guard(self, nullptr);
    },
    [=](link_batch& batch) -> caf::typed_response_promise<ack> {
      auto& s = self->state;
      auto rp = self->make_response_promise<ack>();
      ++s.batches_received;
      // From a shard with an older view (a node joined since): links for
      // hosts that moved go on to their owners.
      std::map<std::size_t, link_batch> onward;
      for (auto& req : batch.links) {
        if (s.view.cluster && batch.epoch < s.epoch) {
          auto k = s.partition.owner_index(url_host(req.url));
          if (k != s.index) {
            onward[k].links.push_back(std::move(req));
            continue;
          }
        }
        admit(self, std::move(req), false);
      }
      // The sender marks the pages these came from done only after this.
      if (s.journal && !s.journal->commit()) {
        state_failed(self);
        rp.deliver(caf::make_error(caf::sec::runtime_error, "state store failed: " + s.state_error));
        return rp;
      }
      // ... and, in a cluster, once the guardian has them (and the owners
      // of those that went on have them).
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
        b.epoch = s.epoch;
        ++s.batches_sent; // (the coordinator's count of batches in transit)
        // (Bounded: a new owner whose node died never answers; the sender
        // then sends them again by its view.)
        self->request(s.peers[k], std::chrono::seconds(60), std::move(b))
          .then([=](const ack&) mutable { answer(nullptr); },
                [=](caf::error&) mutable { answer("the hosts' new owner did not take them"); });
      }
      flush_guard(self, [=](bool ok) mutable { answer(ok ? nullptr : "the guardian went away"); });
      return rp;
    },
    [=](handoff_atom, uint64_t from, handoff_batch& batch) -> caf::typed_response_promise<ack> {
      // Hosts of a live shard that this one (on a node that joined) owns now.
      auto& s = self->state;
      auto rp = self->make_response_promise<ack>();
      add_seen(s, batch.seen);
      for (auto& req : batch.urls) {
        // Seen where it was (its fingerprint came along), never fetched.
        if (!note_seen(s, req.url))
          --s.seen; // (counted once more below)
        admit_new(self, std::move(req), false, true);
      }
      for (auto& site : batch.sites) {
        auto& h = s.hosts[site.origin];
        if (h.origin.empty())
          h.origin = site.origin;
        h.admitted = std::max(h.admitted, site.admitted);
      }
      if (batch.last && s.awaiting_handoff.erase(from) > 0 && s.awaiting_handoff.empty()) {
        auto held = std::move(s.held);
        s.held.clear();
        for (auto& [req, seed] : held)
          admit(self, std::move(req), seed);
        try_handoff(self); // (hosts that moved on to a node that joined later)
      }
      schedule_tick(self);
      flush_guard(self, [rp](bool ok) mutable {
        if (ok)
          rp.deliver(ack{});
        else
          rp.deliver(caf::make_error(caf::sec::runtime_error, "the guardian went away"));
      });
      return rp;
    },
    [=](handoff_tick_atom, uint64_t epoch) {
      auto& s = self->state;
      s.handoff_waiting = false;
      if (epoch != s.epoch || s.handoff_to.empty()) {
        try_handoff(self); // more moved since: wait for those too
        return;
      }
      for (auto& [origin, h] : s.hosts)
        if (moved(s, origin) && (h.acquiring > 0 || h.granted > 0))
          return; // (its release tries again)
      send_handoff(self);
    },
    [=](guard_atom, uint64_t owner, guard_batch& batch) -> ack {
      auto& s = self->state;
      auto& urls = s.guarded[owner];
      if (batch.full) {
        s.guarded_count -= urls.live.size();
        urls.live.clear();
      }
      for (auto& req : batch.add) {
        auto gid = req.id;
        if (urls.live.emplace(gid, std::move(req)).second)
          ++s.guarded_count;
      }
      // Done: kept as host and fingerprint, so that a new owner of the
      // host does not fetch it again.
      for (auto gid : batch.done) {
        auto i = urls.live.find(gid);
        if (i == urls.live.end())
          continue;
        urls.done.emplace_back(partition_hash(url_host(i->second.url)), fingerprint(i->second.url));
        urls.live.erase(i);
        --s.guarded_count;
      }
      return ack{};
    },
    [=](takeover_atom, uint64_t dead, takeover_batch& batch) {
      auto& s = self->state;
      add_seen(s, batch.seen);
      if (batch.last) {
        s.awaiting_takeover.erase(dead);
        s.taken_over.insert(dead);
      }
      for (auto& req : batch.urls)
        admit(self, std::move(req), false);
      if (batch.last) {
        auto held = std::move(s.held);
        s.held.clear();
        for (auto& [req, seed] : held)
          admit(self, std::move(req), seed);
      }
      if (s.journal && !s.journal->commit())
        state_failed(self);
      schedule_tick(self);
    },
    [=](caf::put_atom, cluster_view& view) -> caf::result<caf::ok_atom> {
      auto& s = self->state;
      auto me = std::find(view.shards.begin(), view.shards.end(), s.id);
      if (me == view.shards.end() || view.actors.size() != view.shards.size())
        return caf::make_error(caf::sec::invalid_argument, "a cluster view without this shard");
      if (view.epoch <= s.epoch)
        return caf::ok_atom::value; // an old view
      auto first = s.epoch == 0;
      // Links waiting in the outbox go where the new partition says.
      std::vector<crawl_request> waiting;
      for (auto& box : s.outbox)
        for (auto& req : box.links)
          waiting.push_back(std::move(req));
      s.epoch = view.epoch;
      s.index = static_cast<uint32_t>(me - view.shards.begin());
      s.partition = partition_map{view.shards, view.weights};
      s.peers = view.actors;
      s.peer_nodes = view.nodes;
      s.outbox.assign(s.peers.size(), link_batch{});
      for (auto& req : waiting)
        route(self, std::move(req));
      // Batches to shards that are gone will not be answered: their links
      // go to the new owners, like those whose sending failed.
      for (auto i = s.links_in_transit.begin(); i != s.links_in_transit.end();) {
        if (std::find(view.shards.begin(), view.shards.end(), i->second.to) != view.shards.end()) {
          ++i;
          continue;
        }
        auto seq = i->first;
        auto lost = std::move(i->second);
        i = s.links_in_transit.erase(i);
        links_lost(self, seq, lost.to, *lost.batch, false);
      }
      // Handoffs to shards that are gone will not be answered: their URLs
      // go to the hosts' new owners.
      for (auto i = s.handoffs_in_transit.begin(); i != s.handoffs_in_transit.end();) {
        if (std::find(view.shards.begin(), view.shards.end(), i->second.to) != view.shards.end()) {
          ++i;
          continue;
        }
        for (auto& req : i->second.urls) {
          mark_done(self, req.id);
          auto r = req;
          r.id = 0;
          s.orphans.push_back(std::move(r));
        }
        i = s.handoffs_in_transit.erase(i);
      }
      auto before = std::move(s.view);
      s.view = view;
      apply_guarding(self, before, s.view);
      // Each shard starts with an equal share; until the others say what
      // they could use, they are taken to want all of it.
      s.budget.reset(view.shards, s.index);
      schedule_tick(self);
      if (view.cluster) {
        auto in_view = [&](shard_id x) {
          return std::find(view.shards.begin(), view.shards.end(), x) != view.shards.end();
        };
        if (first && view.epoch > 1) {
          // This shard's node joined a running crawl: its hosts come from
          // the shards of the other nodes.
          for (std::size_t i = 0; i < view.shards.size(); ++i)
            if (view.nodes[i] != view.nodes[s.index])
              s.awaiting_handoff.insert(view.shards[i]);
        } else if (!first) {
          for (auto x : view.shards)
            if (std::find(before.shards.begin(), before.shards.end(), x) == before.shards.end())
              s.handoff_to.insert(x);
        }
        // A shard that left hands nothing over: its guardian's takeover does.
        for (auto* set : {&s.awaiting_handoff, &s.handoff_to})
          for (auto i = set->begin(); i != set->end();)
            i = in_view(*i) ? std::next(i) : set->erase(i);
      }
      auto orphans = std::move(s.orphans);
      s.orphans.clear();
      for (auto& req : orphans)
        route(self, std::move(req));
      unpark(self);
      auto held = std::move(s.held);
      s.held.clear();
      for (auto& [req, seed] : held)
        admit(self, std::move(req), seed);
      if (first && s.journal)
        resume(self); // the shard is wired up: take up what the store holds
      try_handoff(self);
      // Demands and lends the others sent under this view before it came.
      for (auto& m : s.budget.take_early(s.epoch)) {
        if (m.lend)
          take_lend(self, m.units);
        else
          take_demand(self, m.shard, m.demand, m.units);
      }
      return caf::ok_atom::value;
    },
    [=](demand_atom, const concurrency_demand& d) {
      auto& s = self->state;
      if (d.epoch > s.epoch) // (sent under a view that is on its way here)
        s.budget.hold({d.epoch, d.shard, d.demand, d.budget, false});
      else if (d.epoch == s.epoch) // (an older view's is void: the new one shares anew)
        take_demand(self, d.shard, d.demand, d.budget);
    },
    [=](lend_atom, uint64_t epoch, uint64_t units) {
      auto& s = self->state;
      if (epoch > s.epoch) // (units of a view on its way here: not to be lost)
        s.budget.hold({epoch, 0, 0, units, true});
      else if (epoch == s.epoch)
        take_lend(self, units);
    },
    [=](caf::put_atom, uint32_t i, sink_actor& sink) {
      // The restarted sink gets what the failed one did not acknowledge, in order.
      auto& s = self->state;
      if (i >= s.sinks.size())
        return;
      if (!sink) {
        // No restart after all: what it held is lost to it; the rest moves on.
        s.sink_given_up[i] = true;
        if (s.sink_errors[i].empty())
          s.sink_errors[i] = "given up";
        drop_unacked(s, i);
        flush_records(self);
        feed_starved(self);
        return;
      }
      s.sinks[i] = std::move(sink);
      self->monitor(s.sinks[i]);
      s.sink_errors[i].clear();
      auto held = std::move(s.unacked[i]);
      s.unacked[i].clear();
      for (auto& [seq, batch] : held)
        send_batch(self, i, batch);
      flush_records(self);
      feed_starved(self);
    },
    [=](stats_atom) { return stats_of(self->state); },
    [=](stop_atom) {
      auto& s = self->state;
      s.stopping = true;
      flush_records(self);
      if (s.journal && !s.journal->commit())
        state_failed(self);
    },
    [=](retry_atom, crawl_request& req) {
      auto& s = self->state;
      --s.waiting_retry;
      auto host = origin_of(req.url);
      if (s.stopping) {
        // With a state store it stays taken and is fetched on resume.
        if (!s.journal)
          add_record(self, make_failure(req, crawl_errc::cancelled, "the crawl stopped"));
        return;
      }
      if (moved(s, host) && s.hosts.count(host) == 0) {
        // Its host went to a node that joined meanwhile.
        handoff_batch b;
        b.urls.push_back(std::move(req));
        hand_over(self, s.partition.owner_index(url_host(host)), std::move(b));
        return;
      }
      ++s.queued;
      ++s.memory_queued;
      s.hosts[host].queue.push_back(std::move(req));
      pump(self, host);
    },
    [=](robots_retry_atom, const std::string& host) {
      auto& s = self->state;
      --s.robots_fetching;
      if (auto h = s.hosts.find(host); h != s.hosts.end()) {
        h->second.robots = host_entry::robots_t::unknown;
        pump(self, host); // fetches robots.txt again if the host has work
      }
    },
    [=](flush_tick_atom) {
      auto& s = self->state;
      s.tick_set = false;
      say_demand(self);
      for (std::size_t i = 0; i < s.outbox.size(); ++i)
        flush_outbox(self, i);
      flush_records(self);
      if (s.journal && !s.journal->commit())
        state_failed(self);
      flush_guard(self, nullptr);
      pump_all(self);
    },
  };
}

} // namespace arachne
