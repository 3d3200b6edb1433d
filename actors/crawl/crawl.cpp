// crawl::run: wires the actors together, detects the end of the crawl, and
// reports (the facade's setup is in facade.cpp).

#include "arachne/crawl.hpp"
#include "arachne/json.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <regex>
#include <set>

#include "caf/actor_system.hpp"
#include "caf/io/middleman.hpp"
#include "caf/scoped_actor.hpp"

#include "cluster/cluster.hpp"
#include "crawl/impl.hpp"
#include "crawl/workers.hpp"
#include "frontier/frontier.hpp"
#include "frontier/journal.hpp"
#include "sinks/stats_sink.hpp"

namespace arachne {

namespace {

template <class Handle>
void stop_and_wait(caf::scoped_actor& self, const std::vector<Handle>& actors) {
  for (auto& a : actors) {
    self->monitor(a);
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  }
  for (std::size_t i = 0; i < actors.size(); ++i)
    self->receive([](const caf::down_msg&) {},
                  caf::after(std::chrono::seconds(10)) >> [] {});
}

std::vector<proxy_stats> proxy_stats_of(caf::scoped_actor& self, const proxy_manager_actor& pm) {
  std::vector<proxy_stats> out;
  self->request(pm, std::chrono::seconds(10), stats_atom::value)
    .receive([&](std::vector<proxy_stats>& xs) { out = std::move(xs); }, [](caf::error&) {});
  return out;
}

/// The first error the shards report for sink `i`, or empty.
std::string sink_error(const std::vector<frontier_stats>& stats, std::size_t i) {
  for (auto& st : stats)
    if (i < st.sink_errors.size() && !st.sink_errors[i].empty())
      return st.sink_errors[i];
  return {};
}

/// Records lost to sink `i` over all shards.
uint64_t sink_lost(const std::vector<frontier_stats>& stats, std::size_t i) {
  uint64_t n = 0;
  for (auto& st : stats)
    if (i < st.sink_lost.size())
      n += st.sink_lost[i];
  return n;
}

crawl_report::sink_failure& failure_of(crawl_report& report, std::size_t i) {
  for (auto& f : report.sink_failures)
    if (f.sink == i)
      return f;
  report.sink_failures.push_back({i, {}, 0, 0, false});
  return report.sink_failures.back();
}

} // namespace

caf::expected<crawl_report> crawl::run(const std::vector<std::string>& seeds) {
  auto& d = *impl_;
  auto& sys = d.sys;
  auto start = std::chrono::steady_clock::now();
  // Patterns are checked here so that a bad one is an error, not a crash.
  for (auto* list : {&d.cfg.scope.allow, &d.cfg.scope.deny})
    for (auto& re : *list) {
      try {
        std::regex check{re, std::regex::ECMAScript};
      } catch (const std::regex_error& e) {
        return caf::make_error(caf::sec::invalid_argument,
                               "invalid pattern '" + re + "': " + e.what());
      }
    }
  auto& cluster = d.cfg.cluster;
  auto distributed = !cluster.nodes.empty();
  auto own_sinks = !distributed || cluster.sinks == cluster_sinks::coordinator;
  auto threads = std::max<std::size_t>(1, sys.scheduler().num_workers());
  auto shard_count = d.cfg.scope.shards != 0 ? d.cfg.scope.shards : threads;
  // The state store: one file per shard; a crawl found there is resumed
  // with its shard count (the partition must stay the same).
  std::vector<std::shared_ptr<frontier_journal>> journals;
  std::unique_ptr<state_dir_lock> state_lock;
  bool resuming = false;
  // A distributed crawl's state is on its nodes; the coordinator keeps its
  // own (the crawl's id and its nodes) to take it up again if it restarts.
  std::optional<coordinator_state> saved;
  auto& state_dir = d.cfg.scope.state_dir;
  if (distributed && !state_dir.empty()) {
    auto lock = state_dir_lock::acquire(state_dir);
    if (!lock)
      return std::move(lock.error());
    state_lock = std::move(*lock);
    auto read = read_coordinator_state(state_dir);
    if (!read)
      return std::move(read.error());
    saved = std::move(*read);
    if (saved && saved->finished)
      return caf::make_error(caf::sec::invalid_argument,
                             "--state: the distributed crawl in '" + state_dir
                               + "' is finished; give a new directory to crawl again");
    resuming = saved.has_value();
  } else if (!state_dir.empty()) {
    auto lock = state_dir_lock::acquire(d.cfg.scope.state_dir);
    if (!lock)
      return std::move(lock.error());
    state_lock = std::move(*lock);
    auto info = check_state_dir(d.cfg.scope.state_dir, false);
    if (!info)
      return std::move(info.error());
    resuming = info->exists;
    if (resuming && d.cfg.scope.shards == 0)
      shard_count = info->shards;
    for (std::size_t i = 0; i < shard_count; ++i) {
      auto j = frontier_journal::open(d.cfg.scope.state_dir, static_cast<uint32_t>(i),
                                      static_cast<uint32_t>(shard_count));
      if (!j)
        return std::move(j.error());
      journals.emplace_back(std::move(*j));
    }
  }
  if (!distributed) // an unusable HTTP setting (a CA file) fails before any output
    if (auto client = http_client::make(d.cfg.http); !client)
      return std::move(client.error());
  caf::scoped_actor self{sys};
  // Sinks: the user's, plus the one that tallies for the report.
  auto tally_sink = sys.spawn(stats_sink);
  if (d.sink_open_failed) {
    caf::anon_send_exit(tally_sink, caf::exit_reason::user_shutdown);
    return caf::make_error(caf::sec::runtime_error,
                           "a sink failed to open: " + sys.render(d.sink_open_failed));
  }
  auto sinks = d.sinks;
  sinks.push_back(caf::actor_cast<sink_actor>(tally_sink));
  auto reopen = d.reopen;
  reopen.emplace_back();
  crawl_info info;
  info.seeds = seeds;
  info.user_agent = d.cfg.http.user_agent;
  info.started_at = caf::make_timestamp();
  {
    std::random_device rd;
    char id[32];
    std::snprintf(id, sizeof id, "%08x%08x", rd(), rd());
    info.crawl_id = id;
  }
  if (saved)
    info.crawl_id = saved->crawl_id; // (the nodes know it by this)
  // Every sink says what its records must carry; a sink that cannot open
  // stops the crawl before it starts.
  sink_needs needs;
  caf::error open_failed;
  for (auto& s : sinks)
    self->request(s, std::chrono::seconds(30), open_atom::value, info)
      .receive([&](const sink_needs& n) { needs |= n; },
               [&](caf::error& err) { open_failed = std::move(err); });
  if (open_failed) {
    caf::anon_send_exit(tally_sink, caf::exit_reason::user_shutdown);
    return caf::make_error(caf::sec::runtime_error,
                           "a sink failed to open: " + sys.render(open_failed));
  }
  // The workers: spawned here, or on the cluster's nodes.
  std::optional<crawl_workers> local;
  std::vector<node_actor> nodes;
  std::vector<node_info> node_infos;
  cluster_view view;
  view.epoch = 1;
  view.cluster = distributed;
  std::vector<bool> node_joined; // per node: it joined the running crawl
  node_start ns;                 // what every node is started with
  ns.args = d.args;
  ns.info = info;
  if (own_sinks)
    ns.sinks = sinks;
  ns.needs = needs;
  // With --state the nodes keep the crawl a while if this process dies.
  ns.resume_wait = state_dir.empty() ? caf::timespan{0} : cluster.resume_wait;
  std::vector<uint32_t> node_generation; // per node: node_start::generation
  std::map<std::string, uint32_t> generations; // the last generation of every node name used
  if (saved)
    generations = saved->generations;
  std::vector<std::string> resume_lost;  // nodes that no longer ran the crawl to resume
  auto stop_nodes = [&](std::vector<crawl_tally>* tallies, std::string* failed) {
    for (auto& n : nodes)
      if (n)
        self->request(n, std::chrono::seconds(90), stop_atom::value)
        .receive(
          [&](crawl_tally& t) {
            if (tallies)
              tallies->push_back(std::move(t));
          },
          [&](caf::error& err) {
            if (failed && failed->empty())
              *failed = sys.render(err);
          });
    nodes.clear();
  };
  // Starts the crawl on the node at `where` (it connects to the live nodes
  // first): the node and its shards, or why not.
  auto start_node = [&](const std::string& where)
    -> caf::expected<std::pair<node_actor, node_info>> {
    auto n = connect_node(sys, cluster, where);
    if (!n)
      return caf::make_error(caf::sec::runtime_error,
                             "cannot reach node " + where + ": " + sys.render(n.error()));
    ns.name = where;
    ns.peers.clear();
    for (std::size_t i = 0; i < nodes.size(); ++i)
      if (nodes[i])
        ns.peers.push_back(node_infos[i].name);
    caf::error failed;
    node_info ni;
    self->request(*n, std::chrono::seconds(60), start_atom::value, ns)
      .receive([&](node_info& x) { ni = std::move(x); },
               [&](caf::error& err) { failed = std::move(err); });
    if (failed)
      return caf::make_error(caf::sec::runtime_error,
                             "node " + where + " did not start: " + sys.render(failed));
    return std::make_pair(std::move(*n), std::move(ni));
  };
  // A node's shards join the view (a shard's weight: its node's share).
  auto add_node = [&](node_info ni) {
    auto index = static_cast<uint32_t>(node_infos.size());
    for (std::size_t i = 0; i < ni.shards.size() && i < ni.shard_ids.size(); ++i) {
      view.shards.push_back(ni.shard_ids[i]);
      view.weights.push_back(ni.weight / static_cast<double>(ni.shards.size()));
      view.actors.push_back(ni.shards[i]);
      view.nodes.push_back(index);
    }
    node_infos.push_back(std::move(ni));
  };
  auto give_up = [&](caf::error err) -> caf::expected<crawl_report> {
    stop_nodes(nullptr, nullptr);
    std::vector<caf::actor> all{caf::actor_cast<caf::actor>(tally_sink)};
    if (local)
      all.insert(all.end(), local->owned.begin(), local->owned.end());
    stop_and_wait(self, all);
    if (local)
      local->client->stop();
    return err;
  };
  if (!distributed) {
    worker_plan plan;
    for (std::size_t i = 0; i < shard_count; ++i)
      plan.ids.push_back(i);
    plan.journals = std::move(journals);
    plan.sinks = sinks;
    plan.needs = needs;
    auto w = spawn_workers(sys, d.cfg, d.handler, std::move(plan));
    if (!w)
      return give_up(std::move(w.error()));
    local = std::move(*w);
    view.shards = local->ids;
    view.weights.assign(view.shards.size(), 1.0);
    view.actors = local->shards;
    view.nodes.assign(view.shards.size(), 0);
  } else if (saved) {
    // A restarted coordinator: the nodes still run the crawl (its shards
    // hold what it had not recorded); they send records to these sinks
    // now. A node that does not is lost: its guardians hand its hosts on.
    view.epoch = saved->epoch + 1;
    for (auto& m : saved->nodes) {
      auto n = connect_node(sys, cluster, m.name);
      caf::error failed = n ? caf::error{} : std::move(n.error());
      node_info ni;
      if (n)
        self->request(*n, std::chrono::seconds(60), resume_atom::value, info.crawl_id,
                      own_sinks ? sinks : std::vector<sink_actor>{})
          .receive([&](node_info& x) { ni = std::move(x); },
                   [&](caf::error& err) { failed = std::move(err); });
      if (failed) {
        std::cerr << "arachne: node " << m.name << " cannot take the crawl up again: "
                  << sys.render(failed) << "\n";
        resume_lost.push_back(m.name + " when the crawl resumed: " + sys.render(failed));
        continue;
      }
      nodes.push_back(*n);
      node_joined.push_back(m.joined);
      node_generation.push_back(m.generation);
      self->monitor(*n);
      add_node(std::move(ni));
    }
    if (nodes.empty())
      return give_up(caf::make_error(caf::sec::runtime_error,
                                     "no node runs the crawl in '" + state_dir
                                       + "' any more: it cannot be resumed"));
    std::cerr << "arachne: resumed crawl " << info.crawl_id << " on " << nodes.size()
              << " node(s)\n";
  } else {
    // Each node runs its shards with this crawl's options; records come
    // back to these sinks, or stay in the nodes' own (--cluster-sinks=local).
    for (auto& where : cluster.nodes) {
      ns.generation = 0;
      auto n = start_node(where);
      if (!n)
        return give_up(std::move(n.error()));
      auto ni = std::move(n->second);
      nodes.push_back(n->first);
      node_joined.push_back(false);
      node_generation.push_back(0);
      generations.emplace(where, 0);
      self->monitor(n->first); // a node that dies or hangs (heartbeats) sends a DOWN
      add_node(std::move(ni));
    }
  }
  // The coordinator's state (--state): the crawl and its live nodes.
  auto save_state = [&](bool finished) {
    if (!distributed || state_dir.empty())
      return;
    coordinator_state cs;
    cs.crawl_id = info.crawl_id;
    cs.epoch = view.epoch;
    cs.finished = finished;
    for (std::size_t i = 0; i < nodes.size(); ++i)
      if (nodes[i])
        cs.nodes.push_back({node_infos[i].name, node_generation[i], node_joined[i]});
    cs.generations = generations;
    if (auto err = write_coordinator_state(state_dir, cs))
      std::cerr << "arachne: " << sys.render(err) << "\n";
  };
  // (Kept before the shards get a view: a coordinator that dies in
  // between resumes with a newer one.)
  save_state(false);
  auto& shards = view.actors;
  // Every shard knows every other before the first URL moves.
  {
    caf::error failed;
    for (auto& s : shards)
      self->request(s, std::chrono::seconds(30), caf::put_atom::value, view)
        .receive([](caf::ok_atom) {}, [&](caf::error& err) { failed = std::move(err); });
    if (failed)
      return give_up(caf::make_error(caf::sec::runtime_error,
                                     "a shard refused the cluster view: " + sys.render(failed)));
  }
  partition_map partition{view.shards, view.weights};
  crawl_report report;
  report.coordinator_resumed = resuming && distributed;
  // Nodes that join the running crawl come in through this door.
  join_actor desk;
  uint16_t desk_port = 0;
  auto close_desk = [&] {
    if (!desk)
      return;
    sys.middleman().unpublish(desk, desk_port);
    caf::anon_send_exit(desk, caf::exit_reason::user_shutdown);
    desk = join_actor{};
  };
  if (distributed && !cluster.listen.empty()) {
    auto ep = parse_endpoint(cluster.listen, true);
    if (!ep)
      return give_up(caf::make_error(caf::sec::invalid_argument,
                                     "--cluster-listen expects HOST:PORT, not '" + cluster.listen
                                       + "'"));
    desk = spawn_join_desk(sys, caf::actor_cast<caf::actor>(self.ptr()));
    auto bound = publish_join_desk(sys, desk, cluster, ep->first, ep->second);
    if (!bound) {
      caf::anon_send_exit(desk, caf::exit_reason::user_shutdown);
      return give_up(caf::make_error(caf::sec::runtime_error,
                                     "cannot listen on " + cluster.listen + " for joining nodes: "
                                       + sys.render(bound.error())));
    }
    desk_port = *bound;
    std::cerr << "arachne: nodes join at " << ep->first << ":" << desk_port << "\n";
  }
  // A node joins: it starts its shards, and the new view moves the hosts
  // they now own to them (with their queues and seen URLs).
  auto admit_node = [&](const std::string& where) {
    auto fail = [&](const std::string& why) {
      std::cerr << "arachne: node " << where << " did not join: " << why << "\n";
    };
    for (std::size_t i = 0; i < node_infos.size(); ++i)
      if (node_infos[i].name == where && nodes[i])
        return fail("it is part of the crawl already");
    // (A node lost before that comes back gets new shard ids.)
    auto used = generations.find(where);
    uint32_t generation = used == generations.end() ? 0 : used->second + 1;
    if (d.stop_requested)
      return fail("the crawl is stopping");
    ns.generation = generation;
    auto n = start_node(where);
    if (!n)
      return fail(sys.render(n.error()));
    auto ni = std::move(n->second);
    nodes.push_back(n->first);
    node_joined.push_back(true);
    node_generation.push_back(generation);
    generations[where] = generation;
    self->monitor(n->first);
    auto first_new = view.shards.size();
    ++view.epoch;
    add_node(std::move(ni));
    save_state(false); // (before any shard has the new view)
    // The new shards learn the view first: no URL reaches them before.
    for (std::size_t k = 0; k < view.actors.size(); ++k) {
      auto i = (first_new + k) % view.actors.size();
      self->request(view.actors[i], cluster.timeout, caf::put_atom::value, view)
        .receive([](caf::ok_atom) {}, [](caf::error&) {}); // (a failure shows at the next poll)
    }
    partition = partition_map{view.shards, view.weights};
    auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    char when[32];
    std::snprintf(when, sizeof when, "%.1f", secs);
    report.nodes_joined.push_back(where + " after " + when + "s");
    std::cerr << "arachne: node " << where << " joined; the hosts it owns now move to it\n";
  };
  // Seeds go to the shards that own their hosts; invalid ones are records.
  std::vector<link_batch> seed_batches(shards.size());
  std::vector<std::string> valid_seeds;
  record_batch invalid;
  for (auto& s : seeds) {
    auto u = parse_url(s, d.cfg.url_rules());
    if (!u) {
      record r;
      r.kind = record::kind_t::failure;
      r.url = s;
      r.final_url = s;
      auto kind = crawl_errc_of(u.error());
      r.error = kind ? *kind : crawl_errc::invalid_url;
      if (u.error().context().match_elements<std::string>())
        r.error_message = u.error().context().get_as<std::string>(0);
      r.fetched_at = caf::make_timestamp();
      invalid.records.push_back(std::move(r));
      continue;
    }
    auto owner = partition.owner_index(url_host(u->str()));
    seed_batches[owner].links.push_back(crawl_request{u->str(), 0, {}, 0, 0, 0});
    valid_seeds.push_back(u->str());
  }
  // (A resumed crawl recorded them the first time.)
  if (!invalid.records.empty() && !resuming)
    for (auto& s : sinks)
      self->request(s, std::chrono::seconds(30), invalid).receive([](const ack&) {}, [](caf::error&) {});
  // A resumed crawl on this machine gets its seeds again (killed before its
  // shards stored them, it has none; the shards admit only seeds they have
  // not seen). A distributed one has them on its nodes, unless a node was
  // lost meanwhile.
  for (std::size_t i = 0; i < shards.size(); ++i)
    if (!seed_batches[i].links.empty() && (!resuming || !distributed || !resume_lost.empty()))
      self->send(shards[i], seed_atom::value, std::move(seed_batches[i]));
  for (auto& lost : resume_lost)
    report.nodes_lost.push_back(lost);
  save_state(false);
  auto proxies = local ? local->proxies : proxy_manager_actor{};
  auto restart = d.cfg.scope.on_sink_failure == sink_failure_policy::restart;
  // Poll until every shard is idle and no link batch is in transit: the sums
  // of batches sent and received agree, twice in a row with nothing changed.
  bool stop_sent = false;
  std::vector<bool> given_up(sinks.size(), false);
  std::vector<frontier_stats> last;
  std::map<shard_id, frontier_stats> last_known; // of every shard, lost nodes' included
  auto next_progress = std::chrono::steady_clock::now() + d.progress_every;
  uint64_t seen = 0;
  uint64_t dropped = 0;
  for (;;) {
    if (d.stop_requested && !stop_sent) {
      for (auto& s : shards)
        self->send(s, stop_atom::value);
      stop_sent = true;
      report.interrupted = true;
    }
    std::vector<frontier_stats> now;
    caf::error lost;
    std::string lost_where;
    std::size_t lost_shard = 0;
    std::string state_failed;
    bool busy = false;
    // A node that died or hung (heartbeats) is noticed by its DOWN message.
    std::optional<uint32_t> down_node;
    std::optional<std::string> joining;
    if (distributed)
      self->receive(
        [&](caf::down_msg& dm) {
          for (uint32_t i = 0; i < nodes.size(); ++i)
            if (nodes[i] && nodes[i].address() == dm.source) {
              down_node = i;
              lost = dm.reason ? dm.reason : caf::make_error(caf::sec::remote_linking_failed);
            }
        },
        [&](join_atom, std::string& where) { joining = std::move(where); },
        caf::after(std::chrono::seconds(0)) >> [] {});
    if (joining) {
      admit_node(*joining);
      last.clear();
      continue;
    }
    if (down_node)
      lost_where = " on node " + node_infos[*down_node].name;
    // All shards are asked at once; a slow one is busy, not gone (a shard
    // that is gone fails its request, or its node's DOWN tells).
    auto ask_timeout = distributed ? cluster.timeout : caf::timespan{std::chrono::seconds(30)};
    using stats_handle = decltype(self->request(shards[0], ask_timeout, stats_atom::value));
    std::vector<stats_handle> asked;
    if (!down_node)
      for (auto& sh : shards)
        asked.push_back(self->request(sh, ask_timeout, stats_atom::value));
    for (std::size_t i = 0; i < asked.size(); ++i)
      asked[i].receive([&](frontier_stats& st) { now.push_back(st); },
                       [&](caf::error& err) {
                         if (err == caf::sec::request_timeout) {
                           busy = true;
                         } else if (!lost) {
                           lost = std::move(err);
                           if (distributed)
                             lost_where = " on node " + node_infos[view.nodes[i]].name;
                           lost_shard = i;
                         }
                       });
    if (busy && !lost)
      continue;
    auto alive = std::set<uint32_t>(view.nodes.begin(), view.nodes.end());
    if (lost && down_node && !alive.count(*down_node))
      continue; // (already taken out of the view)
    if (lost && distributed && alive.size() > 1) {
      // A node died or cannot be reached: its shards leave the view, and
      // their guardians hand their URLs to the hosts' new owners.
      auto dead = down_node ? *down_node : view.nodes[lost_shard];
      auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      char when[32];
      std::snprintf(when, sizeof when, "%.1f", secs);
      report.nodes_lost.push_back(node_infos[dead].name + " after " + when + "s: " + sys.render(lost));
      std::cerr << "arachne: lost node " << node_infos[dead].name << " (" << sys.render(lost)
                << "); its hosts go to the other nodes\n";
      cluster_view next;
      next.epoch = view.epoch + 1;
      next.cluster = view.cluster;
      for (std::size_t i = 0; i < view.shards.size(); ++i)
        if (view.nodes[i] != dead) {
          next.shards.push_back(view.shards[i]);
          next.weights.push_back(view.weights[i]);
          next.actors.push_back(view.actors[i]);
          next.nodes.push_back(view.nodes[i]);
        }
      view = std::move(next);
      nodes[dead] = node_actor{};
      save_state(false);
      for (auto& sh : shards)
        self->request(sh, std::chrono::seconds(30), caf::put_atom::value, view)
          .receive([](caf::ok_atom) {}, [](caf::error&) {}); // (a failure shows at the next poll)
      // Seeds once more: those the dead node owned start again at their new owners.
      partition = partition_map{view.shards, view.weights};
      std::vector<link_batch> again(shards.size());
      for (auto& u : valid_seeds)
        again[partition.owner_index(url_host(u))].links.push_back(crawl_request{u, 0, {}, 0, 0, 0});
      for (std::size_t i = 0; i < shards.size(); ++i)
        if (!again[i].links.empty())
          self->send(shards[i], seed_atom::value, std::move(again[i]));
      last.clear();
      continue;
    }
    if (lost) {
      // A shard is gone (it crashed, or its node did): its URLs cannot end
      // in records any more, so the crawl ends here, reported as interrupted.
      std::cerr << "arachne: a frontier shard failed" << lost_where << ": " << sys.render(lost)
                << "\n";
      report.interrupted = true;
      report.node_failures.push_back("a frontier shard failed" + lost_where + ": "
                                     + sys.render(lost));
      break;
    }
    crawl_progress p;
    uint64_t sent = 0;
    uint64_t received = 0;
    bool idle = now.size() == shards.size();
    for (auto& st : now) {
      if (!st.state_error.empty() && state_failed.empty())
        state_failed = st.state_error;
      p.recorded += st.recorded;
      p.pages += st.pages;
      p.failures += st.failures;
      p.queued += st.queued;
      p.in_flight += st.in_flight;
      p.seen += st.seen;
      p.bytes += st.bytes;
      sent += st.batches_sent;
      received += st.batches_received;
      idle = idle && st.idle;
    }
    seen = p.seen;
    // The state store failed (a full disk): stop cleanly; what it holds resumes.
    if (!state_failed.empty() && report.state_error.empty()) {
      report.state_error = state_failed;
      d.stop_requested = true;
    }
    // The nodes' own sinks (--cluster-sinks=local): a failure is the node's;
    // the crawl stops unless told to go on.
    if (!own_sinks)
      for (std::size_t i = 0; i < now.size(); ++i)
        for (auto& err : now[i].sink_errors) {
          auto what = "node " + node_infos[view.nodes[i]].name + ": a sink failed: " + err;
          if (err.empty() || std::find(report.node_failures.begin(), report.node_failures.end(),
                                       what) != report.node_failures.end())
            continue;
          report.node_failures.push_back(what);
          if (d.cfg.scope.on_sink_failure != sink_failure_policy::continue_without)
            d.stop_requested = true;
        }
    // A failed sink: restarted if asked and possible, else the crawl stops
    // (or goes on without it); the report says which and what it lost.
    for (std::size_t i = 0; own_sinks && i < sinks.size(); ++i) {
      auto err = sink_error(now, i);
      if (err.empty() || given_up[i])
        continue;
      auto& f = failure_of(report, i);
      f.error = err;
      if (restart && reopen[i] && f.restarts < 3) {
        ++f.restarts;
        auto fresh = reopen[i]();
        caf::error open_err;
        if (fresh)
          self->request(*fresh, std::chrono::seconds(30), open_atom::value, info)
            .receive([](const sink_needs&) {}, [&](caf::error& e) { open_err = std::move(e); });
        if (fresh && !open_err) {
          sinks[i] = *fresh;
          for (auto& s : shards)
            self->send(caf::actor_cast<frontier_impl>(s), caf::put_atom::value,
                       static_cast<uint32_t>(i), *fresh);
          continue;
        }
        f.error += "; restart failed: " + sys.render(fresh ? open_err : fresh.error());
      }
      if (restart || d.cfg.scope.on_sink_failure == sink_failure_policy::stop)
        d.stop_requested = true;
      if (restart || ns.resume_wait.count() > 0) {
        // No restart after all: the shards stop holding records for it.
        given_up[i] = true;
        for (auto& s : shards)
          self->send(caf::actor_cast<frontier_impl>(s), caf::put_atom::value,
                     static_cast<uint32_t>(i), sink_actor{});
      }
    }
    dropped = 0;
    for (auto& st : now)
      dropped += st.dropped;
    auto same_as_last = [&] {
      if (last.size() != now.size())
        return false;
      for (std::size_t i = 0; i < now.size(); ++i)
        if (now[i].batches_sent != last[i].batches_sent
            || now[i].batches_received != last[i].batches_received
            || now[i].recorded != last[i].recorded || !last[i].idle)
          return false;
      return true;
    };
    for (std::size_t i = 0; i < now.size() && i < view.shards.size(); ++i)
      last_known[view.shards[i]] = now[i];
    // (Batches a lost node sent or got no longer add up.)
    if (idle && (sent == received || !report.nodes_lost.empty()) && same_as_last())
      break;
    last = std::move(now);
    p.elapsed = std::chrono::steady_clock::now() - start;
    if (d.progress && std::chrono::steady_clock::now() >= next_progress) {
      if (proxies)
        for (auto& ps : proxy_stats_of(self, proxies)) {
          ++p.proxies;
          p.proxies_usable += ps.state != "quarantined";
        }
      d.progress(p);
      next_progress = std::chrono::steady_clock::now() + d.progress_every;
    }
    self->receive(caf::after(std::chrono::milliseconds(20)) >> [] {});
  }
  close_desk(); // (no node joins a crawl that is over)
  save_state(true); // (its nodes end it below: nothing to resume)
  // What each sink lost, batches that failed after the last poll included.
  std::vector<frontier_stats> final_stats;
  for (auto& s : shards)
    self->request(s, std::chrono::seconds(30), stats_atom::value)
      .receive([&](frontier_stats& st) { final_stats.push_back(std::move(st)); },
               [](caf::error&) {});
  for (std::size_t i = 0; i < final_stats.size() && i < view.shards.size(); ++i)
    last_known[view.shards[i]] = final_stats[i];
  std::vector<bool> failed_now(sinks.size(), false);
  for (std::size_t i = 0; i < sinks.size(); ++i) {
    auto err = sink_error(final_stats, i);
    auto lost = sink_lost(final_stats, i);
    if (err.empty() && lost == 0 && std::none_of(report.sink_failures.begin(),
                                                 report.sink_failures.end(),
                                                 [i](auto& f) { return f.sink == i; }))
      continue;
    auto& f = failure_of(report, i);
    if (!err.empty())
      f.error = err;
    f.lost = lost;
    failed_now[i] = !err.empty();
    f.working = !failed_now[i] && lost == 0;
  }
  // Everything is recorded: make it durable (failed sinks aside), then take the tally.
  for (std::size_t i = 0; i < sinks.size(); ++i) {
    if (failed_now[i])
      continue;
    self->request(sinks[i], std::chrono::seconds(60), caf::flush_atom::value)
      .receive([](caf::ok_atom) {},
               [&](caf::error& err) {
                 // Not durable: as much a failure as a crash.
                 auto& f = failure_of(report, i);
                 f.error = "flush failed: " + sys.render(err);
                 f.working = false;
               });
  }
  self->request(tally_sink, std::chrono::seconds(30), caf::get_atom::value)
    .receive([&](crawl_tally& t) { report.tally = std::move(t); }, [](caf::error&) {});
  // Each node's share; its own sinks flushed and tallied as it stops.
  for (std::size_t i = 0; i < node_infos.size(); ++i) {
    crawl_report::node_share share;
    share.name = node_infos[i].name;
    share.weight = node_infos[i].weight;
    share.shards = static_cast<uint32_t>(node_infos[i].shards.size());
    for (std::size_t j = 0; j < node_infos[i].shard_ids.size(); ++j) {
      auto at = last_known.find(node_infos[i].shard_ids[j]);
      if (at == last_known.end())
        continue;
      share.hosts += at->second.hosts;
      share.pages += at->second.pages;
      share.records += at->second.recorded;
    }
    share.lost = !nodes[i];
    share.joined = node_joined[i];
    report.nodes.push_back(std::move(share));
  }
  {
    std::vector<crawl_tally> tallies;
    std::string failed;
    stop_nodes(&tallies, &failed);
    if (!failed.empty())
      report.node_failures.push_back("a node failed at the end of the crawl: " + failed);
    if (!own_sinks)
      for (auto& t : tallies)
        merge_tally(report.tally, t);
  }
  if (proxies) {
    report.proxies = proxy_stats_of(self, proxies);
    if (!d.cfg.proxies.report_path.empty()) {
      std::ofstream out{d.cfg.proxies.report_path};
      out << to_json(report.proxies);
      if (!out)
        std::cerr << "arachne: cannot write the proxy report '" << d.cfg.proxies.report_path
                  << "'\n";
    }
  }
  report.seen = seen;
  report.dropped = dropped;
  for (auto& [id, st] : last_known) {
    report.reowned += st.reowned;
    report.link_batches += st.batches_sent;
    report.guard_batches += st.guard_batches;
    report.moved_hosts += st.moved_hosts;
    report.moved_urls += st.moved_urls;
  }
  for (auto& st : final_stats) {
    report.resumed += st.resumed;
    if (report.state_error.empty() && !st.state_error.empty())
      report.state_error = st.state_error;
  }
  report.elapsed = std::chrono::steady_clock::now() - start;
  std::vector<caf::actor> owned{caf::actor_cast<caf::actor>(tally_sink)};
  if (local)
    owned.insert(owned.end(), local->owned.begin(), local->owned.end());
  stop_and_wait(self, owned);
  if (local)
    local->client->stop();
  return report;
}

} // namespace arachne
