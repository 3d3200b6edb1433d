// The frontier shard's actor: its state set up, and each message turned
// into a call to the shard's functions (frontier/shard.hpp).

#include "frontier/shard.hpp"

#include <algorithm>
#include <limits>

namespace arachne {

namespace shard {

namespace {

// A sink that goes away (a crash, a lost connection to a remote one) may
// leave requests unanswered: its DOWN message counts as its failure.
void on_down(pointer self, const caf::down_msg& dm) {
  auto& st = self->state;
  for (std::size_t i = 0; i < st.sinks.size(); ++i)
    if (st.sinks[i].address() == dm.source)
      st.delivery.went_away(i, "the sink went away: " + self->system().render(dm.reason));
  flush_records(self);
  feed_starved(self);
}

// A failed sink restarted (the restarted sink gets what the failed one did
// not acknowledge, in order), or given up (an invalid handle).
void on_sink_restarted(pointer self, uint32_t i, sink_actor& sink) {
  auto& st = self->state;
  if (i >= st.sinks.size())
    return;
  if (!sink) {
    // No restart after all: what it held is lost to it; the rest moves on.
    st.delivery.give_up(i);
  } else {
    st.sinks[i] = std::move(sink);
    self->monitor(st.sinks[i]);
    for (auto& batch : st.delivery.restarted(i))
      send_batch(self, i, batch);
  }
  flush_records(self);
  feed_starved(self);
}

void on_seeds(pointer self, link_batch& batch) {
  for (auto& req : batch.links)
    admit(self, std::move(req), true);
  commit(self);
  flush_guard(self, nullptr);
}

void on_stop(pointer self) {
  self->state.stopping = true;
  flush_records(self);
  commit(self);
}

// Every 10 ms while something waits: the demand said, links and records
// sent, the store committed, the guardian told, waiting sites pumped.
void on_tick(pointer self) {
  self->state.tick_set = false;
  self->state.last_tick = self->clock().now();
  say_demand(self);
  flush_outboxes(self);
  flush_records(self);
  commit(self);
  flush_guard(self, nullptr);
  pump_all(self);
}

// True while hosts are handed to or from the shard.
bool moving(const frontier_state& st) {
  return !st.handoff_to.empty() || st.handoff_waiting || !st.handoffs_in_transit.empty()
         || !st.awaiting_handoff.empty();
}

// True if nothing is under way or waiting in the shard (its part of the
// end-of-crawl test).
bool idle(const frontier_state& st) {
  bool outgoing = std::any_of(st.outbox.begin(), st.outbox.end(),
                              [](auto& b) { return !b.links.empty(); });
  bool journalling = tracking(st)
                     && ((st.journal && st.journal->dirty()) || st.delivery.tracking_batches()
                         || st.done.waiting());
  bool replicating = st.guard.busy() || !st.orphans.empty() || !st.awaiting_takeover.empty()
                     || !st.held.empty();
  bool handing_off = moving(st);
  // In continuous mode the crawl goes on until stopped.
  if (st.cfg.run.continuous() && st.journal && !st.stopping)
    return false;
  // Stopping, it waits for no slot and no retry's back-off (those URLs stay
  // queued, as the others): only for what is under way.
  return (st.sites.queued() == 0 || st.stopping) && st.in_flight == 0
         && (st.stopping || (st.acquiring == 0 && st.waiting_retry == 0))
         && st.robots_fetching == 0 && !outgoing
         && !st.done.links_out() && !replicating && !handing_off && st.delivery.pending() == 0
         && !st.delivery.unacknowledged() && (!journalling || !st.state_error.empty());
}

namespace {

// In a cluster of several nodes: the hosts with most URLs queued here that
// never moved (the coordinator may move one to a node out of work).
std::vector<host_load> busiest_hosts(const frontier_state& st) {
  constexpr std::size_t most = 4;
  std::vector<host_load> out;
  if (!st.view.cluster || st.view.nodes.empty()
      || std::all_of(st.view.nodes.begin(), st.view.nodes.end(),
                     [&](uint32_t n) { return n == st.view.nodes.front(); }))
    return out;
  std::unordered_map<uint64_t, uint64_t> by_host; // (a host's sites count together)
  for (auto& [origin, h] : st.sites.all())
    if (h.has_work())
      by_host[partition_hash(url_host(origin))] += h.queue().size() + h.spilled();
  for (auto& [hash, queued] : by_host)
    if (!st.partition.placed(hash))
      out.push_back({hash, queued});
  auto top = std::min(most, out.size());
  std::partial_sort(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(top), out.end(),
                    [](auto& a, auto& b) { return a.queued > b.queued; });
  out.resize(top);
  return out;
}

} // namespace

frontier_stats stats_of(const frontier_state& st) {
  frontier_stats s;
  s.shard = st.id;
  s.hosts = st.sites.size();
  s.seen = st.seen;
  s.queued = st.sites.queued();
  s.in_flight = st.in_flight;
  s.recorded = st.recorded;
  s.pages = st.pages;
  s.failures = st.failures;
  s.bytes = st.bytes;
  s.cut = st.cut;
  s.items_dropped = st.items_dropped;
  s.batches_sent = st.batches_sent;
  s.batches_received = st.batches_received;
  s.sink_errors = st.delivery.errors();
  s.sink_lost = st.delivery.lost();
  s.state_error = st.state_error;
  s.resumed = st.resumed;
  s.reowned = st.reowned;
  s.guarded = st.guarded.live();
  s.guard_batches = st.guard.requests;
  s.moved_hosts = st.moved_hosts;
  s.moved_urls = st.moved_urls;
  s.budget = st.budget.held();
  s.revisits = st.revisits;
  s.changed = st.changed;
  s.unchanged = st.unchanged;
  s.not_modified = st.not_modified;
  s.gone = st.gone;
  s.due = st.due;
  s.idle = idle(st);
  s.moving = moving(st);
  s.busiest = busiest_hosts(st);
  s.records = st.metrics;
  s.site_states = st.site_states;
  s.longest_queues = st.longest_queues;
  s.sink_unacked = st.delivery.unacked();
  return s;
}

// Its sites by what they do or wait for (/metrics): one pass over them, at
// most once a second.
void count_site_states(frontier_state& st, caf::actor_clock::time_point now) {
  if (now - st.site_states_at < std::chrono::seconds(1) && st.site_states_at != caf::actor_clock::time_point{})
    return;
  st.site_states_at = now;
  host_states n;
  // The sites with most URLs queued: a min-heap of the ten longest so far.
  constexpr std::size_t longest = 10;
  auto shorter = [](auto& x, auto& y) { return x.second > y.second; };
  std::vector<std::pair<std::string, uint64_t>> top;
  for (auto& [origin, h] : st.sites.all()) {
    if (auto q = h.queue().size() + h.spilled(); q > 0
        && (top.size() < longest || q > top.front().second)) {
      if (top.size() == longest) {
        std::pop_heap(top.begin(), top.end(), shorter);
        top.pop_back();
      }
      top.emplace_back(origin, q);
      std::push_heap(top.begin(), top.end(), shorter);
    }
    if (h.granted > 0)
      ++n.fetching;
    else if (!h.has_work())
      ++n.idle;
    else if (h.robots != host_entry::robots_t::ready)
      ++n.robots;
    else if (h.resolving)
      ++n.dns;
    else if (h.waiting_for_budget())
      ++n.budget;
    else if (h.acquiring > 0)
      ++n.politeness;
    else
      ++n.ready;
  }
  st.site_states = n;
  std::sort_heap(top.begin(), top.end(), shorter);
  st.longest_queues = std::move(top);
}

void init(pointer self, frontier_config cfg, shard_id id, std::vector<fetcher_actor> fetchers,
          std::vector<parser_actor> parsers, std::vector<sink_actor> sinks) {
  auto& st = self->state;
  st.cfg = std::move(cfg);
  st.policy.retries = st.cfg.run.retries;
  st.policy.retry_delay = st.cfg.run.retry_delay;
  st.id = id;
  st.fetchers = std::move(fetchers);
  st.parsers = std::move(parsers);
  st.sinks = std::move(sinks);
  for (auto& s : st.sinks)
    self->monitor(s);
  self->set_down_handler([=](caf::down_msg& dm) { on_down(self, dm); });
  st.delivery = record_delivery{{st.cfg.record_batch, st.cfg.sink_credit, st.cfg.hold_for_restart},
                                st.sinks.size()};
  st.rng.seed(static_cast<std::minstd_rand::result_type>((st.cfg.seed + id) % 2147483646 + 1));
  for (auto& re : st.cfg.scope.allow)
    st.allow.emplace_back(re, std::regex::ECMAScript | std::regex::optimize);
  for (auto& re : st.cfg.scope.deny)
    st.deny.emplace_back(re, std::regex::ECMAScript | std::regex::optimize);
  st.limiter = self->spawn<caf::linked>(rate_limiter, st.cfg.politeness, st.cfg.seed * 31 + id);
  if (per_ip(st)) {
    // The addresses this shard owns are paced as hosts are, with the
    // per-IP settings: no jitter, no robots.txt, no throttling of their own.
    politeness_options ip;
    ip.delay = st.cfg.politeness.per_ip_delay;
    ip.jitter = 0;
    ip.concurrency = st.cfg.politeness.per_ip_concurrency != 0
                       ? st.cfg.politeness.per_ip_concurrency
                       : std::numeric_limits<uint32_t>::max();
    ip.auto_throttle = false;
    st.ip_limiter = self->spawn<caf::linked>(rate_limiter, ip, st.cfg.seed * 37 + id);
  }
  st.budget = concurrency_budget{st.cfg.run.concurrency, st.cfg.politeness.concurrency};
  st.journal = std::move(st.cfg.journal);
  if (st.journal)
    restore(self);
}

} // namespace

} // namespace shard

frontier_impl::behavior_type frontier(frontier_impl::stateful_pointer<frontier_state> self,
                                      frontier_config cfg, shard_id id,
                                      std::vector<fetcher_actor> fetchers,
                                      std::vector<parser_actor> parsers,
                                      std::vector<sink_actor> sinks) {
  using namespace shard;
  init(self, std::move(cfg), id, std::move(fetchers), std::move(parsers), std::move(sinks));
  return {
    [=](seed_atom, link_batch& batch) { on_seeds(self, batch); },
    [=](link_batch& batch) { return on_link_batch(self, batch); },
    [=](handoff_atom, uint64_t from, handoff_batch& batch) { return on_handoff(self, from, batch); },
    [=](handoff_tick_atom, uint64_t epoch) { on_handoff_tick(self, epoch); },
    [=](guard_atom, uint64_t owner, guard_batch& batch) { return on_guard(self, owner, batch); },
    [=](takeover_atom, uint64_t dead, takeover_batch& batch) { on_takeover(self, dead, batch); },
    [=](caf::put_atom, cluster_view& view) { return on_view(self, view); },
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
    [=](caf::put_atom, uint32_t i, sink_actor& sink) { on_sink_restarted(self, i, sink); },
    [=](ip_acq_atom, const std::string& ip) -> caf::result<slot_grant> {
      // An address this shard owns: its limiter grants the slot, and the
      // shard notes whom to, to give it back if that shard is lost.
      if (!self->state.ip_limiter)
        return slot_grant{ip, 0}; // (no per-IP pacing here)
      // (The sender first: making the promise takes it from the message.)
      auto from = self->current_sender();
      auto rp = self->make_response_promise<slot_grant>();
      self->request(self->state.ip_limiter, caf::infinite, acquire_atom::value, ip)
        .then([=](const slot_grant& grant) mutable {
          auto& s = self->state;
          auto addr = caf::actor_cast<caf::actor_addr>(from);
          // (A shard that left the view meanwhile will never give it back.)
          auto here = std::any_of(s.view.actors.begin(), s.view.actors.end(), [&](const auto& a) {
            return caf::actor_cast<caf::actor_addr>(a) == addr;
          });
          if (here || s.view.actors.empty())
            s.ip_lent.emplace(addr, grant);
          else
            self->send(s.ip_limiter, release_atom::value, grant, fetch_feedback{});
          rp.deliver(grant);
        });
      return rp;
    },
    [=](ip_rel_atom, const slot_grant& grant) {
      auto& s = self->state;
      if (!s.ip_limiter || grant.token == 0)
        return;
      for (auto i = s.ip_lent.begin(); i != s.ip_lent.end(); ++i)
        if (i->second.token == grant.token) {
          s.ip_lent.erase(i);
          self->send(s.ip_limiter, release_atom::value, grant, fetch_feedback{});
          return;
        }
    },
    [=](stats_atom) {
      auto now = self->clock().now();
      if (auto& from = self->current_sender(); from && from->node() != self->node())
        self->state.polled_at = now;
      count_site_states(self->state, now);
      return stats_of(self->state);
    },
    [=](contact_atom) -> caf::timespan {
      auto& st = self->state;
      if (st.polled_at == caf::actor_clock::time_point{})
        st.polled_at = self->clock().now(); // (counted from the first question)
      return self->clock().now() - st.polled_at;
    },
    [=](stop_atom) { on_stop(self); },
    [=](pause_atom, bool on) {
      // Paused, requests already granted finish and no new one starts.
      auto was = self->state.paused;
      self->state.paused = on;
      if (was && !on)
        shard::pump_all(self);
    },
    [=](retry_atom, crawl_request& req) { retry(self, std::move(req)); },
    [=](robots_retry_atom, const std::string& origin) { retry_robots(self, origin); },
    [=](flush_tick_atom) { on_tick(self); },
    [=](due_tick_atom) { on_due_tick(self); },
  };
}

} // namespace arachne
