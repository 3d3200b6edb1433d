#include "coordinator/coordinator.hpp"

#include <algorithm>
#include <cstdio>
#include <iostream>

#include "caf/actor_cast.hpp"
#include "caf/actor_system.hpp"

#include "arachne/partition.hpp"
#include "coordinator/placement.hpp"
#include "arachne/url.hpp"
#include "frontier/frontier.hpp"
#include "observer/observer.hpp"

namespace arachne {

void coordination::save(caf::actor_system& sys, bool finished) const {
  if (!distributed || state_dir.empty())
    return;
  if (auto err = write_coordinator_state(state_dir, members.saved(info.crawl_id, finished)))
    std::cerr << "arachne: " << sys.render(err) << "\n";
}

namespace {

using pointer = caf::stateful_actor<coordinator_actor_state>*;
using namespace std::chrono_literals;

std::string seconds_since(std::chrono::steady_clock::time_point start) {
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  char when[32];
  std::snprintf(when, sizeof when, "%.1f", secs);
  return when;
}

void poll(pointer self);

// Schedules the next round (at once, or after `poll_wait`); a poll
// scheduled before is void.
void next_poll(pointer self, bool at_once) {
  auto token = ++self->state.poll_token;
  if (at_once)
    self->send(self, poll_atom::value, token);
  else
    self->delayed_send(self, self->state.poll_wait, poll_atom::value, token);
}

// The view changed: a round under way is void (a request to a lost node's
// shard is never answered: it would hold the round for --cluster-timeout),
// and the crawl's end must be seen anew under the new view.
void view_changed(pointer self) {
  auto& st = self->state;
  ++st.view_gen;
  st.end.reset();
  st.polling = false;
  next_poll(self, true);
}

// The crawl is over (or cannot go on): crawl::run takes it from here.
void finish(pointer self) {
  self->state.done.deliver(caf::ok_atom::value);
  self->quit();
}

// Runs `change` (a change of the view) now, or once the new shards of the
// last change have their view: one change at a time, so that no shard gets
// a view naming shards that have none yet.
void change_view(pointer self, std::function<void()> change) {
  auto& st = self->state;
  if (st.view_staged)
    return st.after_view.push_back(std::move(change));
  change();
}

// The staged view reached its new shards: the next change may go.
void view_settled(pointer self) {
  auto& st = self->state;
  st.view_staged = false;
  while (!st.view_staged && !st.after_view.empty()) {
    auto next = std::move(st.after_view.front());
    st.after_view.pop_front();
    next();
  }
}

// Sends the current view to every shard: first to the `first` shards from
// index `from` on (new ones), and to the others once those answered.
void send_view(pointer self, std::size_t from, std::size_t first) {
  auto& c = *self->state.c;
  auto view = c.members.view();
  auto n = view.actors.size();
  auto timeout = c.distributed ? c.cluster.timeout : caf::timespan{30s};
  if (c.paused) // (shards new to the crawl start paused too)
    for (auto& shard : view.actors)
      self->send(shard, pause_atom::value, true);
  auto rest = [self, view, from, first, n, timeout] {
    for (std::size_t k = first; k < n; ++k)
      self->request(view.actors[(from + k) % n], timeout, caf::put_atom::value, view)
        .then([](caf::ok_atom) {}, [](caf::error&) {}); // (a failure shows at the next poll)
    if (first > 0)
      view_settled(self);
  };
  if (first == 0)
    return rest();
  self->state.view_staged = true;
  auto left = std::make_shared<std::size_t>(first);
  for (std::size_t k = 0; k < first; ++k)
    self->request(view.actors[(from + k) % n], timeout, caf::put_atom::value, view)
      .then([=](caf::ok_atom) { if (--*left == 0) rest(); },
            [=](caf::error&) { if (--*left == 0) rest(); });
}

// -- membership ------------------------------------------------------------------

// Node `dead` died or cannot be reached: with other nodes left, its shards
// leave the view and their guardians hand its URLs to the hosts' new
// owners; its seeds start again there. Alone, the crawl cannot go on.
void lose_node_now(pointer self, std::size_t dead, const caf::error& why) {
  auto& st = self->state;
  auto& c = *st.c;
  auto& view = c.members.view();
  if (std::find(view.nodes.begin(), view.nodes.end(), dead) == view.nodes.end())
    return; // (already taken out of the view)
  auto& name = c.members.nodes()[dead].info.name;
  if (c.members.live() <= 1) {
    std::cerr << "arachne: a frontier shard failed on node " << name << ": "
              << self->system().render(why) << "\n";
    c.report.interrupted = true;
    c.report.node_failures.push_back("a frontier shard failed on node " + name + ": "
                                     + self->system().render(why));
    return finish(self);
  }
  c.report.nodes_lost.push_back(name + " after " + seconds_since(c.started) + "s: "
                                + self->system().render(why));
  std::cerr << "arachne: lost node " << name << " (" << self->system().render(why)
            << "); its hosts go to the other nodes\n";
  c.members.lose(dead);
  c.save(self->system(), false);
  send_view(self, 0, 0);
  // (Each shard gets the seeds after the view: one sender, one order.)
  auto partition = partition_of(view);
  std::vector<link_batch> again(view.actors.size());
  for (auto& req : c.seeds)
    again[partition.owner_index(url_host(req.url))].links.push_back(req);
  for (std::size_t i = 0; i < again.size(); ++i)
    if (!again[i].links.empty())
      self->send(view.actors[i], seed_atom::value, std::move(again[i]));
  view_changed(self);
}

void lose_node(pointer self, std::size_t dead, caf::error why) {
  change_view(self, [=] { lose_node_now(self, dead, why); });
}

// A node joined: its shards learn the view first (no URL reaches them
// before), then the others, whose hosts it now owns move to it.
void node_started(pointer self, node_actor n, node_info ni, uint32_t generation) {
  auto& st = self->state;
  auto& c = *st.c;
  auto where = ni.name;
  st.joining.erase(where);
  self->monitor(n);
  auto first_new = c.members.view().shards.size();
  auto added = ni.shards.size();
  c.members.next_epoch();
  c.members.add(std::move(n), std::move(ni), generation, true);
  c.save(self->system(), false); // (before any shard has the new view)
  send_view(self, first_new, added);
  // Stopping meanwhile: the new shards stop too (after their view).
  if (st.stop_sent)
    for (std::size_t k = first_new; k < c.members.view().actors.size(); ++k)
      self->send(c.members.view().actors[k], stop_atom::value);
  view_changed(self);
  c.report.nodes_joined.push_back(where + " after " + seconds_since(c.started) + "s");
  std::cerr << "arachne: node " << where << " joined; the hosts it owns now move to it\n";
}

void admit_node(pointer self, const std::string& where) {
  auto& st = self->state;
  auto& c = *st.c;
  auto fail = [&](const std::string& why) {
    std::cerr << "arachne: node " << where << " did not join: " << why << "\n";
  };
  if (c.members.has_live(where) || st.joining.count(where) > 0)
    return fail("it is part of the crawl already");
  if (c.stop_requested->load())
    return fail("the crawl is stopping");
  // (A node lost before that comes back gets new shard ids.)
  auto generation = c.members.next_generation(where);
  auto n = connect_node(self->system(), c.cluster, where); // (blocking: a detached actor)
  if (!n)
    return fail(self->system().render(caf::make_error(
      caf::sec::runtime_error, "cannot reach node " + where + ": " + self->system().render(n.error()))));
  auto ns = c.start;
  ns.name = where;
  ns.generation = generation;
  for (auto& m : c.members.nodes())
    if (m.handle)
      ns.peers.push_back(m.info.name);
  st.joining.insert(where);
  auto node = *n;
  self->request(node, 60s, start_atom::value, std::move(ns))
    .then(
      [=](node_info& ni) {
        change_view(self, [=]() mutable { node_started(self, node, std::move(ni), generation); });
      },
          [=](caf::error& err) {
            self->state.joining.erase(where);
            auto& sys = self->system();
            std::cerr << "arachne: node " << where << " did not join: "
                      << sys.render(caf::make_error(caf::sec::runtime_error,
                                                    "node " + where + " did not start: "
                                                      + sys.render(err)))
                      << "\n";
          });
}

// -- sinks -----------------------------------------------------------------------

// Sink `i` is not restarted (after all): the crawl stops if asked to, and
// the shards stop holding records for it.
void give_up_sink(pointer self, std::size_t i) {
  auto& st = self->state;
  auto& c = *st.c;
  bool restart = c.on_sink_failure == sink_failure_policy::restart;
  if (restart || c.on_sink_failure == sink_failure_policy::stop)
    c.stop_requested->store(true);
  if (restart || c.start.resume_wait.count() > 0) {
    st.given_up[i] = true;
    for (auto& s : c.members.view().actors)
      self->send(caf::actor_cast<frontier_impl>(s), caf::put_atom::value,
                 static_cast<uint32_t>(i), sink_actor{});
  }
}

// Restarts sink `i`: a fresh one opened, then the shards send it what the
// failed one did not acknowledge.
bool restart_sink(pointer self, std::size_t i, crawl_report::sink_failure& f) {
  auto& st = self->state;
  auto& c = *st.c;
  ++f.restarts;
  auto fresh = c.reopen[i]();
  if (!fresh) {
    f.error += "; restart failed: " + self->system().render(fresh.error());
    return false;
  }
  st.restarting[i] = true;
  auto sink = *fresh;
  self->request(sink, 30s, open_atom::value, c.info)
    .then(
      [=](const sink_needs&) {
        auto& s = self->state;
        s.restarting[i] = false;
        s.fresh_from[i] = s.rounds + 1;
        s.c->sinks[i] = sink;
        if (i < s.c->start.sinks.size()) // (a node that joins sends its records there too)
          s.c->start.sinks[i] = sink;
        for (auto& shard : s.c->members.view().actors)
          self->send(caf::actor_cast<frontier_impl>(shard), caf::put_atom::value,
                     static_cast<uint32_t>(i), sink);
      },
      [=](caf::error& err) {
        auto& s = self->state;
        s.restarting[i] = false;
        failure_of(s.c->report, i).error += "; restart failed: " + self->system().render(err);
        give_up_sink(self, i);
      });
  return true;
}

// A failed sink: restarted if asked and possible, else the crawl stops (or
// goes on without it); the report says which and what it lost.
void supervise_sinks(pointer self, const std::vector<frontier_stats>& now, uint64_t round) {
  auto& st = self->state;
  auto& c = *st.c;
  bool restart = c.on_sink_failure == sink_failure_policy::restart;
  for (std::size_t i = 0; i < c.sinks.size(); ++i) {
    auto err = sink_error(now, i);
    if (err.empty() || st.given_up[i] || st.restarting[i] || round < st.fresh_from[i])
      continue;
    auto& f = failure_of(c.report, i);
    f.error = err;
    if (restart && c.reopen[i] && f.restarts < 3 && restart_sink(self, i, f))
      continue;
    give_up_sink(self, i);
  }
}

// The nodes' own sinks (--cluster-sinks=local): a failure is the node's;
// the crawl stops unless told to go on.
void watch_node_sinks(pointer self, const std::vector<frontier_stats>& now) {
  auto& c = *self->state.c;
  auto& failures = c.report.node_failures;
  for (std::size_t i = 0; i < now.size(); ++i)
    for (auto& err : now[i].sink_errors) {
      auto what = "node " + c.members.nodes()[c.members.node_of_shard(i)].info.name
                  + ": a sink failed: " + err;
      if (err.empty() || std::find(failures.begin(), failures.end(), what) != failures.end())
        continue;
      failures.push_back(what);
      if (c.on_sink_failure != sink_failure_policy::continue_without)
        c.stop_requested->store(true);
    }
}

// -- rounds ----------------------------------------------------------------------

void report_progress(pointer self, crawl_progress p) {
  auto& st = self->state;
  auto& c = *st.c;
  auto now = std::chrono::steady_clock::now();
  if (!c.progress_to || now < st.next_progress)
    return;
  st.next_progress = now + c.progress_every;
  p.elapsed = now - c.started;
  auto tell = [self](const crawl_progress& x) {
    self->send(self->state.c->progress_to, progress_atom::value, x);
  };
  if (!c.proxies)
    return tell(p);
  self->request(c.proxies, 10s, stats_atom::value)
    .then(
      [=](std::vector<proxy_stats>& xs) mutable {
        for (auto& ps : xs) {
          ++p.proxies;
          p.proxies_usable += ps.state != "quarantined";
        }
        tell(p);
      },
      [=](caf::error&) { tell(p); });
}

// When the next round goes: see next_round_wait. A crawl that is stopping
// (the queued URLs end without being fetched) has rounds 20 ms apart, and
// progress is never due later than it was asked for (crawl::on_progress).
caf::timespan next_wait(coordinator_actor_state& st, const stats_round& sums) {
  auto& c = *st.c;
  auto now = std::chrono::steady_clock::now();
  auto wait = next_round_wait(st.last_round, sums, now - st.last_round_at, st.poll_wait);
  st.last_round = sums;
  st.last_round_at = now;
  if (c.stop_requested->load()) // (set for good once a stop is asked)
    return round_wait_min;
  if (c.progress_to)
    wait = std::max(std::min(wait, c.progress_every), round_wait_min);
  return wait;
}

// Load-aware placement: hosts with queued URLs move from the busiest node
// to one out of work, in a new view that the shard taking them learns
// first (it holds URLs until their owner handed them over). True if a view
// went out.
bool place_hosts(pointer self, const std::vector<frontier_stats>& now) {
  auto& st = self->state;
  auto& c = *st.c;
  if (!c.distributed || !c.cluster.rebalance || c.stop_requested->load())
    return false;
  auto moves = plan_placement(c.members.view(), now);
  if (moves.empty())
    return false;
  auto& shards = c.members.view().shards;
  auto to = static_cast<std::size_t>(std::find(shards.begin(), shards.end(), moves.front().second)
                                     - shards.begin());
  c.members.place(moves);
  c.report.placed_hosts += moves.size();
  c.save(self->system(), false); // (before any shard has the new view)
  send_view(self, to, 1);
  view_changed(self);
  return true;
}

// The round's stats by node, for /metrics (--metrics).
void observe(pointer self, const std::vector<frontier_stats>& now) {
  auto& c = *self->state.c;
  if (!c.observer)
    return;
  std::vector<std::string> node_of;
  if (c.distributed)
    for (std::size_t i = 0; i < now.size(); ++i)
      node_of.push_back(c.members.nodes()[c.members.node_of_shard(i)].info.name);
  self->send(c.observer, observe_atom::value, metrics_by_node(now, node_of));
}

// Seeds the control API adds: all of them to the shards that own their
// hosts, or none if one is not a URL.
caf::result<uint64_t> add_seeds(pointer self, const std::vector<std::string>& urls) {
  auto& c = *self->state.c;
  if (c.stop_requested->load())
    return caf::make_error(caf::sec::runtime_error, "the crawl is stopping");
  std::vector<crawl_request> reqs;
  for (auto& u : urls) {
    auto n = c.normalise ? c.normalise(u) : caf::expected<std::string>{u};
    if (!n) {
      auto why = n.error().context().match_elements<std::string>()
                   ? n.error().context().get_as<std::string>(0)
                   : std::string{"not a URL"};
      return caf::make_error(caf::sec::invalid_argument, "'" + u + "': " + why);
    }
    reqs.push_back(crawl_request{std::move(*n), 0, {}, 0, 0, 0});
  }
  auto& view = c.members.view();
  auto partition = partition_of(view);
  std::vector<link_batch> batches(view.actors.size());
  for (auto& req : reqs) {
    batches[partition.owner_index(url_host(req.url))].links.push_back(req);
    c.seeds.push_back(std::move(req));
  }
  for (std::size_t i = 0; i < view.actors.size(); ++i)
    if (!batches[i].links.empty())
      self->send(view.actors[i], seed_atom::value, std::move(batches[i]));
  return static_cast<uint64_t>(urls.size());
}

// Every shard answered round `round` (or failed to).
void on_round(pointer self, uint64_t round, uint64_t view_gen, std::vector<frontier_stats>& now,
              bool busy, std::optional<std::size_t> lost_shard, caf::error lost) {
  auto& st = self->state;
  auto& c = *st.c;
  if (view_gen != st.view_gen)
    return; // (the view changed meanwhile: a new round went out then)
  st.polling = false;
  if (lost_shard) {
    if (c.distributed)
      return lose_node(self, c.members.node_of_shard(*lost_shard), lost);
    // A shard is gone: its URLs cannot end in records any more, so the
    // crawl ends here, reported as interrupted.
    std::cerr << "arachne: a frontier shard failed: " << self->system().render(lost) << "\n";
    c.report.interrupted = true;
    c.report.node_failures.push_back("a frontier shard failed: " + self->system().render(lost));
    return finish(self);
  }
  if (busy)
    return next_poll(self, true); // (a slow shard is busy, not gone)
  auto sums = stats_round::of(now, c.members.view().actors.size());
  c.seen = sums.progress.seen;
  c.cut = sums.cut;
  c.items_dropped = sums.items_dropped;
  // The state store failed (a full disk): stop cleanly; what it holds resumes.
  if (!sums.state_error.empty() && c.report.state_error.empty()) {
    c.report.state_error = sums.state_error;
    c.stop_requested->store(true);
  }
  if (c.own_sinks)
    supervise_sinks(self, now, round);
  else
    watch_node_sinks(self, now);
  auto& view = c.members.view();
  for (std::size_t i = 0; i < now.size() && i < view.shards.size(); ++i)
    c.last_known[view.shards[i]] = now[i];
  // (Not over while a node is joining or a sink reopening: they bring work.)
  bool settling = !st.joining.empty() || st.view_staged || !st.after_view.empty()
                  || std::find(st.restarting.begin(), st.restarting.end(), true)
                       != st.restarting.end();
  if (st.end.observe(now, sums, !c.report.nodes_lost.empty()) && !settling)
    return finish(self);
  report_progress(self, sums.progress);
  observe(self, now);
  if (!settling && place_hosts(self, now))
    return; // (a new round goes out with the new view)
  st.poll_wait = next_wait(st, sums); // (after this round may have asked for a stop)
  next_poll(self, false);
}

// Asks every shard for its stats at once; a slow one is busy, not gone (a
// shard that is gone fails its request, or its node's DOWN tells).
void poll(pointer self) {
  auto& st = self->state;
  auto& c = *st.c;
  if (c.stop_requested->load() && !st.stop_sent) {
    for (auto& s : c.members.view().actors)
      self->send(s, stop_atom::value);
    st.stop_sent = true;
    c.report.interrupted = true;
  }
  // Asked to stop at once (a second Ctrl-C): requests in flight and records
  // not yet delivered are left; the sinks keep what they acknowledged.
  if (c.stop_now && c.stop_now->load() && st.stop_sent)
    return finish(self);
  auto round = ++st.rounds;
  auto view_gen = st.view_gen;
  auto shards = c.members.view().actors;
  if (shards.empty())
    return finish(self);
  st.polling = true;
  struct answers {
    std::vector<std::optional<frontier_stats>> stats;
    std::size_t left = 0;
    bool busy = false;
    std::optional<std::size_t> lost_shard;
    caf::error lost;
  };
  auto a = std::make_shared<answers>();
  a->stats.resize(shards.size());
  a->left = shards.size();
  auto done = [self, round, view_gen, a] {
    if (--a->left > 0)
      return;
    std::vector<frontier_stats> now;
    for (auto& s : a->stats)
      if (s)
        now.push_back(std::move(*s));
    on_round(self, round, view_gen, now, a->busy, a->lost_shard, std::move(a->lost));
  };
  for (std::size_t i = 0; i < shards.size(); ++i) {
    auto answered = [=](frontier_stats& s) {
      a->stats[i] = std::move(s);
      done();
    };
    auto failed = [=](caf::error& err) {
      if (err == caf::sec::request_timeout)
        a->busy = true;
      else if (!a->lost_shard) {
        a->lost_shard = i;
        a->lost = std::move(err);
      }
      done();
    };
    // A shard in this process answers, or fails at once if it is gone: no
    // timeout to keep (each costs CAF's clock thread two wake-ups a round).
    if (shards[i].node() == self->node())
      self->request(shards[i], caf::infinite, stats_atom::value).then(answered, failed);
    else
      self->request(shards[i], c.cluster.timeout, stats_atom::value).then(answered, failed);
  }
}

} // namespace

caf::behavior coordinator(caf::stateful_actor<coordinator_actor_state>* self,
                          std::shared_ptr<coordination> c) {
  self->state.c = std::move(c);
  self->set_down_handler([=](caf::down_msg& dm) {
    auto& s = self->state;
    if (auto i = s.c->members.find(dm.source))
      lose_node(self, *i, dm.reason ? dm.reason : caf::make_error(caf::sec::remote_linking_failed));
  });
  return {
    [=](run_atom) {
      auto& s = self->state;
      s.done = self->make_response_promise();
      s.running = true;
      auto sinks = s.c->sinks.size();
      s.fresh_from.assign(sinks, 0);
      s.restarting.assign(sinks, false);
      s.given_up.assign(sinks, false);
      s.next_progress = std::chrono::steady_clock::now() + s.c->progress_every;
      // A node that dies or hangs (heartbeats) sends a DOWN (at once if it
      // died before).
      for (auto& m : s.c->members.nodes())
        if (m.handle)
          self->monitor(m.handle);
      for (auto& where : s.early_joins)
        admit_node(self, where);
      s.early_joins.clear();
      poll(self);
      return s.done;
    },
    [=](poll_atom, uint64_t token) {
      auto& s = self->state;
      if (token == s.poll_token && !s.polling) // (else it was scheduled again since)
        poll(self);
    },
    [=](join_atom, std::string& where) {
      if (self->state.running)
        admit_node(self, where);
      else
        self->state.early_joins.push_back(std::move(where));
    },
    // The control API (--control-token).
    [=](pause_atom, bool on) {
      auto& c = *self->state.c;
      c.paused = on;
      for (auto& shard : c.members.view().actors)
        self->send(shard, pause_atom::value, on);
    },
    [=](seed_atom, const std::vector<std::string>& urls) { return add_seeds(self, urls); },
  };
}

} // namespace arachne
