// crawl::run: sets the crawl up (state store, sinks, workers or nodes, the
// first cluster view, seeds), hands it to the coordinator actor until it is
// over, then finishes it (sinks flushed, nodes stopped) and reports. The
// facade's setup is in facade.cpp.

#include "arachne/crawl.hpp"
#include "arachne/json.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <optional>
#include <random>
#include <regex>

#include "caf/actor_system.hpp"
#include "caf/after.hpp"
#include "caf/io/middleman.hpp"
#include "caf/scoped_actor.hpp"

#include "cluster/cluster.hpp"
#include "coordinator/coordinator.hpp"
#include "coordinator/end_of_crawl.hpp"
#include "crawl/impl.hpp"
#include "crawl/workers.hpp"
#include "frontier/frontier.hpp"
#include "observer/observer.hpp"
#include "arachne/state/journal.hpp"
#include "arachne/sinks/stats_sink.hpp"

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

/// A bad --allow/--deny pattern is an error, not a crash.
caf::error check_patterns(const crawl_scope& scope) {
  for (auto* list : {&scope.allow, &scope.deny})
    for (auto& re : *list) {
      try {
        std::regex check{re, std::regex::ECMAScript};
      } catch (const std::regex_error& e) {
        return caf::make_error(caf::sec::invalid_argument,
                               "invalid pattern '" + re + "': " + e.what());
      }
    }
  return {};
}

/// What a run holds from its setup to its end.
struct run_context {
  run_context(crawl::impl& impl, caf::scoped_actor& s) : d(impl), self(s) {}
  crawl::impl& d;
  caf::scoped_actor& self;
  std::shared_ptr<coordination> c = std::make_shared<coordination>();
  std::size_t shard_count = 1;
  std::vector<std::shared_ptr<frontier_journal>> journals; // per shard (--state, one process)
  std::unique_ptr<state_dir_lock> state_lock;
  bool resuming = false;
  std::optional<coordinator_state> saved; // a distributed crawl's, to take up again
  std::vector<std::string> resume_lost;   // nodes that no longer ran the crawl to resume
  stats_sink_actor tally;                 // the sink that tallies for the report
  std::optional<crawl_workers> local;     // the workers, in one process
  join_actor desk;                        // where nodes join (--cluster-listen)
  uint16_t desk_port = 0;
  uint64_t cookies_saved = 0;             // the jar's version in the state directory
  std::chrono::steady_clock::time_point cookies_saved_at{};
};

// The cookie jar of a crawl in one process, kept in its state directory as a
// Netscape cookie file: written when it changed, at most once a second and
// at the end, through a new file renamed over the old (a crash leaves one or
// the other whole).
void save_cookies(run_context& r, bool now) {
  auto& dir = r.d.cfg.run.state_dir;
  if (dir.empty() || !r.local || !r.local->client)
    return;
  auto t = std::chrono::steady_clock::now();
  if (!now && t - r.cookies_saved_at < std::chrono::seconds(1))
    return;
  r.cookies_saved_at = t;
  if (r.local->client->cookies_version() == r.cookies_saved)
    return;
  uint64_t version = 0;
  auto text = r.local->client->saved_cookies(&version);
  auto path = dir + "/cookies.txt";
  {
    std::ofstream out{path + ".new", std::ios::binary | std::ios::trunc};
    out << text;
    out.flush();
    if (!out) {
      std::cerr << "arachne: cannot write the cookies to '" << path << ".new'\n";
      return;
    }
  }
  if (std::rename((path + ".new").c_str(), path.c_str()) != 0) {
    std::cerr << "arachne: cannot replace '" << path << "'\n";
    return;
  }
  r.cookies_saved = version;
}

// A resumed crawl in one process starts with the cookies it had.
caf::error restore_cookies(run_context& r) {
  auto& dir = r.d.cfg.run.state_dir;
  if (dir.empty() || !r.local || !r.local->client)
    return {};
  std::ifstream in{dir + "/cookies.txt", std::ios::binary};
  if (!in)
    return {};
  std::string text{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
  if (auto err = r.local->client->restore_cookies(text))
    return err;
  r.cookies_saved = r.local->client->cookies_version();
  return {};
}

// --recrawl on a crawl that is finished: the next pass begins, every URL it
// knows queued again. A crash while the shards begin it leaves some in the
// new pass and some not: the next run brings the others to it, and a crawl
// with URLs not done (killed in a pass) resumes that pass.
caf::error start_pass(run_context& r) {
  if (r.journals.empty())
    return {};
  uint32_t pass = 0;
  bool finished = true;
  for (auto& j : r.journals) {
    pass = std::max(pass, j->pass());
    finished = finished && j->finished();
  }
  bool level = std::all_of(r.journals.begin(), r.journals.end(),
                           [&](auto& j) { return j->pass() == pass; });
  auto target = r.d.cfg.run.recrawl && r.resuming && level && finished ? pass + 1 : pass;
  for (auto& j : r.journals)
    if (j->pass() < target && !j->start_pass(target))
      return caf::make_error(caf::sec::runtime_error, "--state: " + j->error());
  r.c->report.pass = target;
  return {};
}

// The state store: one file per shard; a crawl found there is resumed
// with its shard count (the partition must stay the same). A distributed
// crawl's state is on its nodes; the coordinator keeps its own (the
// crawl's id and its nodes) to take it up again if it restarts.
caf::error open_state(run_context& r) {
  auto& d = r.d;
  auto& dir = d.cfg.run.state_dir;
  if (dir.empty())
    return {};
  auto lock = state_dir_lock::acquire(dir);
  if (!lock)
    return std::move(lock.error());
  r.state_lock = std::move(*lock);
  if (r.c->distributed) {
    auto read = read_coordinator_state(dir);
    if (!read)
      return std::move(read.error());
    r.saved = std::move(*read);
    if (r.saved && r.saved->finished)
      return caf::make_error(caf::sec::invalid_argument,
                             "--state: the distributed crawl in '" + dir
                               + "' is finished; give a new directory to crawl again");
    r.resuming = r.saved.has_value();
    return {};
  }
  auto info = check_state_dir(dir, false);
  if (!info)
    return std::move(info.error());
  for (auto& note : info->notes)
    std::cerr << "arachne: --state: " << note << "\n";
  r.resuming = info->exists;
  if (r.resuming && d.cfg.run.shards == 0)
    r.shard_count = info->shards;
  for (std::size_t i = 0; i < r.shard_count; ++i) {
    auto j = frontier_journal::open(dir, static_cast<uint32_t>(i),
                                    static_cast<uint32_t>(r.shard_count));
    if (!j)
      return std::move(j.error());
    r.journals.emplace_back(std::move(*j));
  }
  return start_pass(r);
}

crawl_info make_info(const crawl::impl& d, const std::vector<std::string>& seeds,
                     const std::optional<coordinator_state>& saved) {
  crawl_info info;
  info.seeds = seeds;
  info.user_agent = d.cfg.http.user_agent;
  info.started_at = caf::make_timestamp();
  std::random_device rd;
  char id[32];
  std::snprintf(id, sizeof id, "%08x%08x", rd(), rd());
  info.crawl_id = id;
  if (saved)
    info.crawl_id = saved->crawl_id; // (the nodes know it by this)
  return info;
}

// Sinks: the user's, plus the one that tallies for the report. Every sink
// says what its records must carry; a sink that cannot open stops the
// crawl before it starts.
caf::expected<sink_needs> open_sinks(run_context& r) {
  auto& d = r.d;
  auto& c = *r.c;
  r.tally = d.sys.spawn(stats_sink);
  auto fail = [&](const caf::error& err) {
    caf::anon_send_exit(r.tally, caf::exit_reason::user_shutdown);
    // (The words of what the sink threw, not CAF's rendering of the error.)
    auto what = error_text(err);
    if (what.rfind("sink failed: ", 0) == 0)
      what.erase(0, 13);
    return caf::make_error(caf::sec::runtime_error, "a sink failed to open: " + what);
  };
  if (d.sink_open_failed)
    return fail(d.sink_open_failed);
  c.sinks = d.sinks;
  c.sinks.push_back(caf::actor_cast<sink_actor>(r.tally));
  c.reopen = d.reopen;
  c.reopen.emplace_back();
  sink_needs needs;
  caf::error open_failed;
  for (auto& s : c.sinks)
    r.self->request(s, std::chrono::seconds(30), open_atom::value, c.info)
      .receive([&](const sink_needs& n) { needs |= n; },
               [&](caf::error& err) { open_failed = std::move(err); });
  if (open_failed)
    return fail(open_failed);
  return needs;
}

// Stops what was started before the crawl could begin.
caf::error give_up(run_context& r, caf::error err) {
  for (auto& m : r.c->members.nodes())
    if (m.handle)
      r.self->request(m.handle, std::chrono::seconds(90), stop_atom::value)
        .receive([](crawl_tally&) {}, [](caf::error&) {});
  std::vector<caf::actor> all{caf::actor_cast<caf::actor>(r.tally)};
  if (r.local)
    all.insert(all.end(), r.local->owned.begin(), r.local->owned.end());
  stop_and_wait(r.self, all);
  if (r.local)
    r.local->client->stop();
  return err;
}

caf::error start_local(run_context& r, const sink_needs& needs) {
  worker_plan plan;
  for (std::size_t i = 0; i < r.shard_count; ++i)
    plan.ids.push_back(i);
  plan.journals = std::move(r.journals);
  plan.sinks = r.c->sinks;
  plan.needs = needs;
  auto w = spawn_workers(r.d.sys, r.d.cfg, r.d.program, std::move(plan));
  if (!w)
    return std::move(w.error());
  r.local = std::move(*w);
  if (auto err = restore_cookies(r))
    return err;
  r.c->members.add_local(r.local->ids, r.local->shards);
  r.c->proxies = r.local->proxies;
  return {};
}

// Starts the crawl on the node at `where` (it connects to the live nodes
// first). Each node runs its shards with this crawl's options; records come
// back to these sinks, or stay in the nodes' own (--cluster-sinks=local).
caf::error start_nodes(run_context& r) {
  auto& sys = r.d.sys;
  auto& c = *r.c;
  for (auto& where : c.cluster.nodes) {
    auto n = connect_node(sys, c.cluster, where);
    if (!n)
      return caf::make_error(caf::sec::runtime_error,
                             "cannot reach node " + where + ": " + sys.render(n.error()));
    auto ns = c.start;
    ns.name = where;
    for (auto& m : c.members.nodes())
      ns.peers.push_back(m.info.name);
    caf::error failed;
    node_info ni;
    r.self->request(*n, std::chrono::seconds(60), start_atom::value, ns)
      .receive([&](node_info& x) { ni = std::move(x); },
               [&](caf::error& err) { failed = std::move(err); });
    if (failed)
      return caf::make_error(caf::sec::runtime_error,
                             "node " + where + " did not start: " + sys.render(failed));
    c.members.add(std::move(*n), std::move(ni), 0, false);
  }
  return {};
}

// A restarted coordinator: the nodes still run the crawl (its shards hold
// what it had not recorded); they send records to these sinks now. A node
// that does not is lost: its guardians hand its hosts on.
caf::error resume_nodes(run_context& r) {
  auto& sys = r.d.sys;
  auto& c = *r.c;
  c.members.set_epoch(r.saved->epoch + 1);
  c.members.set_generations(r.saved->generations);
  c.members.set_placed(r.saved->placed);
  for (auto& m : r.saved->nodes) {
    auto n = connect_node(sys, c.cluster, m.name);
    caf::error failed = n ? caf::error{} : std::move(n.error());
    node_info ni;
    if (n)
      r.self->request(*n, std::chrono::seconds(60), resume_atom::value, c.info.crawl_id,
                      c.own_sinks ? c.sinks : std::vector<sink_actor>{})
        .receive([&](node_info& x) { ni = std::move(x); },
                 [&](caf::error& err) { failed = std::move(err); });
    if (failed) {
      std::cerr << "arachne: node " << m.name << " cannot take the crawl up again: "
                << sys.render(failed) << "\n";
      r.resume_lost.push_back(m.name + " when the crawl resumed: " + sys.render(failed));
      continue;
    }
    c.members.add(std::move(*n), std::move(ni), m.generation, m.joined);
  }
  if (c.members.live() == 0)
    return caf::make_error(caf::sec::runtime_error,
                           "no node runs the crawl in '" + c.state_dir
                             + "' any more: it cannot be resumed");
  std::cerr << "arachne: resumed crawl " << c.info.crawl_id << " on " << c.members.live()
            << " node(s)\n";
  return {};
}

// Every shard knows every other before the first URL moves.
caf::error send_first_view(run_context& r) {
  caf::error failed;
  auto& view = r.c->members.view();
  for (auto& s : view.actors)
    r.self->request(s, std::chrono::seconds(30), caf::put_atom::value, view)
      .receive([](caf::ok_atom) {}, [&](caf::error& err) { failed = std::move(err); });
  if (failed)
    return caf::make_error(caf::sec::runtime_error,
                           "a shard refused the cluster view: " + r.d.sys.render(failed));
  return {};
}

// Nodes that join the running crawl come in through this door: it passes
// them to the coordinator.
caf::error open_desk(run_context& r, const caf::actor& coordinator) {
  auto& c = *r.c;
  if (!c.distributed || c.cluster.listen.empty())
    return {};
  auto ep = parse_endpoint(c.cluster.listen, true);
  if (!ep)
    return caf::make_error(caf::sec::invalid_argument,
                           "--cluster-listen expects HOST:PORT, not '" + c.cluster.listen + "'");
  auto& sys = r.d.sys;
  r.desk = spawn_join_desk(sys, coordinator);
  auto bound = publish_join_desk(sys, r.desk, c.cluster, ep->first, ep->second);
  if (!bound) {
    caf::anon_send_exit(r.desk, caf::exit_reason::user_shutdown);
    r.desk = join_actor{};
    return caf::make_error(caf::sec::runtime_error, "cannot listen on " + c.cluster.listen
                                                      + " for joining nodes: "
                                                      + sys.render(bound.error()));
  }
  r.desk_port = *bound;
  std::cerr << "arachne: nodes join at " << ep->first << ":" << r.desk_port << "\n";
  return {};
}

void close_desk(run_context& r) {
  if (!r.desk)
    return;
  r.d.sys.middleman().unpublish(r.desk, r.desk_port);
  caf::anon_send_exit(r.desk, caf::exit_reason::user_shutdown);
  r.desk = join_actor{};
}

// Seeds (and --sitemap sitemaps) go to the shards that own their hosts;
// invalid seeds are records (once: a resumed crawl recorded them the first
// time). A resumed crawl on this machine gets its seeds again (killed before its shards stored them,
// it has none; the shards admit only seeds they have not seen). A
// distributed one has them on its nodes, unless a node was lost meanwhile.
void send_seeds(run_context& r, const std::vector<std::string>& seeds) {
  auto& c = *r.c;
  auto& view = c.members.view();
  auto partition = partition_of(view);
  std::vector<link_batch> batches(view.actors.size());
  record_batch invalid;
  for (auto& s : seeds) {
    auto u = parse_url(s, r.d.cfg.url_rules());
    if (!u) {
      record rec;
      rec.kind = record::kind_t::failure;
      rec.url = s;
      rec.final_url = s;
      auto kind = crawl_errc_of(u.error());
      rec.error = kind ? *kind : crawl_errc::invalid_url;
      if (u.error().context().match_elements<std::string>())
        rec.error_message = u.error().context().get_as<std::string>(0);
      rec.fetched_at = caf::make_timestamp();
      invalid.records.push_back(std::move(rec));
      continue;
    }
    c.seeds.push_back(crawl_request{u->str(), 0, {}, 0, 0, 0});
  }
  // Sitemaps the user named (checked when the options were read).
  if (r.d.cfg.scope.sitemaps != sitemap_mode::off)
    for (auto& s : r.d.cfg.scope.sitemap_urls)
      if (auto u = parse_url(s, r.d.cfg.url_rules())) {
        crawl_request req{u->str(), 0, {}, 0, 0, 0};
        req.kind = url_kind::sitemap;
        c.seeds.push_back(std::move(req));
      }
  for (auto& req : c.seeds)
    batches[partition.owner_index(url_host(req.url))].links.push_back(req);
  if (!invalid.records.empty() && !r.resuming)
    for (auto& s : c.sinks)
      r.self->request(s, std::chrono::seconds(30), invalid)
        .receive([](const ack&) {}, [](caf::error&) {});
  for (std::size_t i = 0; i < view.actors.size(); ++i)
    if (!batches[i].links.empty() && (!r.resuming || !c.distributed || !r.resume_lost.empty()))
      r.self->send(view.actors[i], seed_atom::value, std::move(batches[i]));
}

// -- the end ---------------------------------------------------------------------

// What each sink lost, batches that failed after the last round included;
// true per sink that failed.
std::vector<bool> settle_sinks(run_context& r, const std::vector<frontier_stats>& final_stats) {
  auto& c = *r.c;
  auto& report = c.report;
  std::vector<bool> failed_now(c.sinks.size(), false);
  for (std::size_t i = 0; i < c.sinks.size(); ++i) {
    auto err = sink_error(final_stats, i);
    auto lost = sink_lost(final_stats, i);
    if (err.empty() && lost == 0
        && std::none_of(report.sink_failures.begin(), report.sink_failures.end(),
                        [i](auto& f) { return f.sink == i; }))
      continue;
    auto& f = failure_of(report, i);
    if (!err.empty())
      f.error = err;
    f.lost = lost;
    failed_now[i] = !err.empty();
    f.working = !failed_now[i] && lost == 0;
  }
  return failed_now;
}

// Everything is recorded: make it durable (failed sinks aside), then take the tally.
void flush_sinks(run_context& r, const std::vector<bool>& failed_now) {
  auto& c = *r.c;
  for (std::size_t i = 0; i < c.sinks.size(); ++i) {
    if (failed_now[i])
      continue;
    r.self->request(c.sinks[i], std::chrono::seconds(60), caf::flush_atom::value)
      .receive([](caf::ok_atom) {},
               [&](caf::error& err) {
                 // Not durable: as much a failure as a crash.
                 auto& f = failure_of(c.report, i);
                 f.error = "flush failed: " + r.d.sys.render(err);
                 f.working = false;
               });
  }
  r.self->request(r.tally, std::chrono::seconds(30), caf::get_atom::value)
    .receive([&](crawl_tally& t) { c.report.tally = std::move(t); }, [](caf::error&) {});
}

// The nodes end the crawl: each flushes and tallies its own sinks.
void stop_nodes(run_context& r) {
  auto& c = *r.c;
  std::string failed;
  for (auto& m : c.members.nodes())
    if (m.handle)
      r.self->request(m.handle, std::chrono::seconds(90), stop_atom::value)
        .receive(
          [&](crawl_tally& t) {
            if (!c.own_sinks)
              merge_tally(c.report.tally, t);
          },
          [&](caf::error& err) {
            if (failed.empty())
              failed = r.d.sys.render(err);
          });
  if (!failed.empty())
    c.report.node_failures.push_back("a node failed at the end of the crawl: " + failed);
}

void report_proxies(run_context& r) {
  auto& c = *r.c;
  if (!c.proxies)
    return;
  c.report.proxies = proxy_stats_of(r.self, c.proxies);
  auto& path = r.d.cfg.proxies.report_path;
  if (path.empty())
    return;
  std::ofstream out{path};
  out << to_json(c.report.proxies);
  if (!out)
    std::cerr << "arachne: cannot write the proxy report '" << path << "'\n";
}

// The crawl is over: the last stats, sinks flushed, nodes stopped, the report.
crawl_report finish(run_context& r) {
  auto& c = *r.c;
  close_desk(r);                // (no node joins a crawl that is over)
  c.save(r.d.sys, true);        // (its nodes end it below: nothing to resume)
  std::vector<frontier_stats> final_stats;
  auto& view = c.members.view();
  for (auto& s : view.actors)
    r.self->request(s, std::chrono::seconds(30), stats_atom::value)
      .receive([&](frontier_stats& st) { final_stats.push_back(std::move(st)); },
               [](caf::error&) {});
  for (std::size_t i = 0; i < final_stats.size() && i < view.shards.size(); ++i)
    c.last_known[view.shards[i]] = final_stats[i];
  flush_sinks(r, settle_sinks(r, final_stats));
  auto& report = c.report;
  report.nodes = c.members.shares(c.last_known);
  stop_nodes(r);
  report_proxies(r);
  report.seen = c.seen;
  report.cut = c.cut;
  report.items_dropped = c.items_dropped;
  for (auto& [id, st] : c.last_known) {
    report.reowned += st.reowned;
    report.link_batches += st.batches_sent;
    report.guard_batches += st.guard_batches;
    report.moved_hosts += st.moved_hosts;
    report.moved_urls += st.moved_urls;
  }
  for (auto& st : final_stats) {
    report.resumed += st.resumed;
    report.revisits += st.revisits;
    report.changed += st.changed;
    report.unchanged += st.unchanged;
    report.not_modified += st.not_modified;
    report.gone += st.gone;
    report.due += st.due;
    if (report.state_error.empty() && !st.state_error.empty())
      report.state_error = st.state_error;
  }
  report.elapsed = std::chrono::steady_clock::now() - c.started;
  std::vector<caf::actor> owned{caf::actor_cast<caf::actor>(r.tally)};
  if (r.local)
    owned.insert(owned.end(), r.local->owned.begin(), r.local->owned.end());
  stop_and_wait(r.self, owned);
  if (r.local) {
    r.local->client->stop();
    report.cookies = r.local->client->stats().cookies;
    save_cookies(r, true);
  }
  return std::move(report);
}

// --metrics: /metrics from the coordinator's rounds, and the control API
// (--control-token) steering the coordinator. Null without --metrics.
caf::expected<std::unique_ptr<observer>> watch(run_context& r, const caf::actor& coord) {
  auto& d = r.d;
  auto& c = *r.c;
  auto& w = d.cfg.watch;
  if (w.metrics.empty())
    return std::unique_ptr<observer>{};
  auto ep = parse_endpoint(w.metrics, true); // (checked with the options)
  if (!ep)
    return caf::make_error(caf::sec::invalid_argument,
                           "option --metrics expects HOST:PORT, not '" + w.metrics + "'");
  observer_options o;
  o.host = ep->first;
  o.port = ep->second;
  o.role = c.distributed ? "coordinator" : "crawl";
  o.token = w.token;
  o.proxies = c.proxies;
  o.coordinator = coord;
  o.stop = [&d] { d.stop_requested.store(true); };
  auto started = observer::start(d.sys, std::move(o));
  if (!started)
    return std::move(started.error());
  c.observer = (*started)->actor();
  std::cerr << "arachne: metrics at http://" << (*started)->endpoint() << "/metrics"
            << (w.token.empty() ? "" : " (control API on)") << std::endl;
  return started;
}

// Hands the crawl to the coordinator and waits until it is over; progress
// reports come here, to be shown on the thread of `run` (crawl.hpp says so).
void await_coordinator(run_context& r, const caf::actor& coord) {
  auto& self = r.self;
  self->monitor(coord);
  self->send(coord, run_atom::value);
  bool over = false;
  self->receive_while([&] { return !over; })(
    [&](caf::ok_atom) { over = true; },
    [&](progress_atom, const crawl_progress& p) {
      r.d.progress(p);
      save_cookies(r, false);
    },
    [&](const caf::down_msg& dm) { over = dm.source == coord.address(); },
    [&](const caf::error&) { over = true; },
    caf::after(std::chrono::seconds(1)) >> [&] { save_cookies(r, false); });
}

// What the coordinator works with, from the facade's settings.
void describe(run_context& r, crawl::impl& d) {
  auto& c = *r.c;
  auto& cluster = d.cfg.cluster;
  c.cluster = cluster;
  c.distributed = !cluster.nodes.empty();
  c.own_sinks = !c.distributed || cluster.sinks == cluster_sinks::coordinator;
  c.on_sink_failure = d.cfg.run.on_sink_failure;
  c.state_dir = d.cfg.run.state_dir;
  c.stop_requested = &d.stop_requested;
  c.stop_now = &d.stop_now;
  c.progress_every = d.progress_every;
  c.normalise = [rules = d.cfg.url_rules()](const std::string& s) -> caf::expected<std::string> {
    auto u = parse_url(s, rules);
    if (!u)
      return std::move(u.error());
    return u->str();
  };
  c.members = membership{c.distributed};
  auto threads = std::max<std::size_t>(1, d.sys.scheduler().num_workers());
  r.shard_count = d.cfg.run.shards != 0 ? d.cfg.run.shards : threads;
}

// Sinks, then the workers (here, or on the nodes), then the first view.
caf::error set_up(run_context& r, const std::vector<std::string>& seeds) {
  auto& d = r.d;
  auto& c = *r.c;
  c.info = make_info(d, seeds, r.saved);
  auto needs = open_sinks(r);
  if (!needs)
    return std::move(needs.error());
  c.start.args = d.args;
  c.start.info = c.info;
  if (c.own_sinks)
    c.start.sinks = c.sinks;
  c.start.needs = *needs;
  // With --state the nodes keep the crawl a while if this process dies.
  c.start.resume_wait = c.state_dir.empty() ? caf::timespan{0} : c.cluster.resume_wait;
  caf::error err;
  if (!c.distributed)
    err = start_local(r, *needs);
  else if (r.saved)
    err = resume_nodes(r);
  else
    err = start_nodes(r);
  if (err)
    return give_up(r, std::move(err));
  // (Kept before the shards get a view: a coordinator that dies in between
  // resumes with a newer one.)
  c.save(d.sys, false);
  if (auto refused = send_first_view(r))
    return give_up(r, std::move(refused));
  return {};
}

} // namespace

caf::expected<crawl_report> crawl::run(const std::vector<std::string>& seeds) {
  auto& d = *impl_;
  auto started = std::chrono::steady_clock::now();
  if (auto err = check_patterns(d.cfg.scope))
    return err;
  caf::scoped_actor self{d.sys};
  run_context r(d, self);
  describe(r, d);
  r.c->started = started;
  if (!r.c->distributed) // (a coordinator fetches nothing itself)
    if (auto notice = fit_descriptor_limit(d.cfg); !notice.empty())
      std::cerr << "arachne: " << notice << "\n";
  if (auto err = open_state(r))
    return err;
  if (!r.c->distributed) // an unusable HTTP setting (a CA file) fails before any output
    if (auto client = http_client::make(d.cfg.http); !client)
      return std::move(client.error());
  if (auto err = set_up(r, seeds))
    return err;
  auto& c = *r.c;
  c.report.coordinator_resumed = r.resuming && c.distributed;
  // The coordinator runs on its own thread: it may block on a node that
  // joins. It does nothing before run_atom (joins wait): the setup is over.
  auto coord = d.sys.spawn<caf::detached>(coordinator, r.c);
  if (auto err = open_desk(r, coord)) {
    caf::anon_send_exit(coord, caf::exit_reason::user_shutdown);
    return give_up(r, std::move(err));
  }
  auto watching = watch(r, coord);
  if (!watching) {
    caf::anon_send_exit(coord, caf::exit_reason::user_shutdown);
    return give_up(r, std::move(watching.error()));
  }
  send_seeds(r, seeds);
  for (auto& lost : r.resume_lost)
    c.report.nodes_lost.push_back(lost);
  c.save(d.sys, false);
  if (d.progress)
    c.progress_to = caf::actor_cast<caf::actor>(self);
  await_coordinator(r, coord);
  return finish(r);
}

} // namespace arachne
