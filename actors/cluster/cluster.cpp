#include "cluster/cluster.hpp"
#include "cluster/tls_sessions.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fcntl.h>
#include <unistd.h>
#include <map>
#include <set>

#include "caf/io/publish.hpp"
#include "caf/io/remote_actor.hpp"
#include "caf/openssl/publish.hpp"
#include "caf/openssl/remote_actor.hpp"
#include "caf/scoped_actor.hpp"
#include "caf/send.hpp"
#include "caf/stateful_actor.hpp"
#include "caf/typed_event_based_actor.hpp"

#include <chrono>
#include <iostream>

#include "crawl/workers.hpp"
#include "frontier/frontier.hpp"
#include "observer/observer.hpp"
#include "arachne/sinks/sinks.hpp"
#include "arachne/sinks/stats_sink.hpp"

namespace arachne {

std::optional<std::pair<std::string, uint16_t>> parse_endpoint(const std::string& text,
                                                               bool zero_ok) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size())
    return std::nullopt;
  char* end = nullptr;
  auto port = std::strtoul(text.c_str() + colon + 1, &end, 10);
  if (*end != '\0' || port > 65535 || (port == 0 && !zero_ok) || text[colon + 1] == '-')
    return std::nullopt;
  auto host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2); // [::1]:port
  return std::make_pair(host, static_cast<uint16_t>(port));
}

namespace {

// The actor of type Handle served at HOST:PORT, over the cluster's transport.
template <class Handle>
caf::expected<Handle> remote(caf::actor_system& sys, const cluster_options& c,
                             const std::string& endpoint) {
  if (auto err = prepare_cluster_tls(c); !err.empty())
    return caf::make_error(caf::sec::runtime_error, err);
  auto ep = parse_endpoint(endpoint);
  if (!ep)
    return caf::make_error(caf::sec::invalid_argument, "'" + endpoint + "' is not HOST:PORT");
  // CAF 0.17's BASP broker does not stamp a new connection as seen before
  // its handshake is done (last_seen stays at the clock's epoch), so the
  // first heartbeat tick during a TLS handshake drops it with
  // connection_timeout. A fresh attempt is a fresh connection: a few are
  // tried before the failure is the node's.
  caf::expected<Handle> res = caf::sec::connection_timeout;
  for (int attempt = 0; attempt < 5; ++attempt) {
    res = c.insecure ? caf::io::remote_actor<Handle>(sys, ep->first, ep->second)
                     : caf::openssl::remote_actor<Handle>(sys, ep->first, ep->second);
    if (res || (res.error() != caf::sec::connection_timeout
                && res.error() != caf::sec::disconnect_during_handshake))
      break;
  }
  return res;
}

// Serves `actor` on HOST:PORT over the cluster's transport; the bound port.
template <class Handle>
caf::expected<uint16_t> serve(const Handle& actor, const cluster_options& c,
                              const std::string& host, uint16_t port) {
  if (auto err = prepare_cluster_tls(c); !err.empty())
    return caf::make_error(caf::sec::runtime_error, err);
  if (c.insecure)
    return caf::io::publish(actor, port, host.c_str(), true);
  return caf::openssl::publish(actor, port, host.c_str(), true);
}

} // namespace

caf::expected<node_actor> connect_node(caf::actor_system& sys, const cluster_options& c,
                                       const std::string& endpoint) {
  return remote<node_actor>(sys, c, endpoint);
}

caf::expected<uint16_t> publish_node(caf::actor_system& sys, const node_actor& node,
                                     const cluster_options& c, const std::string& host,
                                     uint16_t port) {
  (void) sys;
  return serve(node, c, host, port);
}

join_actor spawn_join_desk(caf::actor_system& sys, caf::actor coordinator) {
  return sys.spawn([coordinator]() -> join_actor::behavior_type {
    return {
      [=](join_atom, std::string& node) {
        caf::anon_send(coordinator, join_atom::value, std::move(node));
        return caf::ok_atom::value;
      },
    };
  });
}

caf::expected<uint16_t> publish_join_desk(caf::actor_system& sys, const join_actor& desk,
                                          const cluster_options& c, const std::string& host,
                                          uint16_t port) {
  (void) sys;
  return serve(desk, c, host, port);
}

caf::error join_crawl(caf::actor_system& sys, const cluster_options& c,
                      const std::string& endpoint, const std::string& node) {
  auto desk = remote<join_actor>(sys, c, endpoint);
  if (!desk)
    return std::move(desk.error());
  caf::error failed;
  caf::scoped_actor self{sys};
  self->request(*desk, std::chrono::seconds(30), join_atom::value, node)
    .receive([](caf::ok_atom) {}, [&](caf::error& err) { failed = std::move(err); });
  return failed;
}

caf::expected<std::optional<coordinator_state>> read_coordinator_state(const std::string& dir) {
  auto path = dir + "/coordinator.state";
  if (::access(path.c_str(), F_OK) != 0 && errno == ENOENT)
    return std::optional<coordinator_state>{};
  std::ifstream in{path};
  if (!in) {
    return caf::make_error(caf::sec::runtime_error,
                           "--state: cannot read '" + path + "': " + std::strerror(errno));
  }
  coordinator_state st;
  std::string line;
  auto bad = [&] {
    return caf::make_error(caf::sec::runtime_error,
                           "--state: '" + path + "' is not a coordinator's state ('" + line + "')");
  };
  if (!std::getline(in, line) || line != "arachne coordinator state 1")
    return bad();
  while (std::getline(in, line)) {
    std::istringstream words{line};
    std::string key;
    words >> key;
    if (key == "crawl") {
      words >> st.crawl_id;
    } else if (key == "epoch") {
      words >> st.epoch;
    } else if (key == "generation") {
      uint32_t g = 0;
      std::string name;
      words >> g >> name;
      st.generations[name] = g;
    } else if (key == "placed") {
      placement p;
      words >> p.first >> p.second;
      st.placed.push_back(p);
    } else if (key == "finished") {
      st.finished = true;
    } else if (key == "node") {
      coordinator_state::member m;
      int joined = 0;
      words >> m.generation >> joined >> m.name;
      m.joined = joined != 0;
      st.nodes.push_back(std::move(m));
    } else {
      return bad();
    }
    if (words.fail())
      return bad();
  }
  if (st.crawl_id.empty() || st.epoch == 0 || st.nodes.empty())
    return bad();
  return std::optional<coordinator_state>{std::move(st)};
}

caf::error write_coordinator_state(const std::string& dir, const coordinator_state& st) {
  auto path = dir + "/coordinator.state";
  auto tmp = path + ".new";
  std::string text = "arachne coordinator state 1\ncrawl " + st.crawl_id + "\nepoch "
                     + std::to_string(st.epoch) + "\n";
  for (auto& m : st.nodes)
    text += "node " + std::to_string(m.generation) + " " + (m.joined ? "1 " : "0 ") + m.name + "\n";
  for (auto& [name, g] : st.generations)
    text += "generation " + std::to_string(g) + " " + name + "\n";
  for (auto& [hash, shard] : st.placed)
    text += "placed " + std::to_string(hash) + " " + std::to_string(shard) + "\n";
  if (st.finished)
    text += "finished\n";
  auto fail = [&](const std::string& what) {
    return caf::make_error(caf::sec::runtime_error,
                           "--state: cannot " + what + " '" + tmp + "': " + std::strerror(errno));
  };
  auto fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    return fail("create");
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size())
            && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok)
    return fail("write");
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    return fail("rename");
  return {};
}

void merge_tally(crawl_tally& into, const crawl_tally& more) {
  into.records += more.records;
  into.pages += more.pages;
  into.failures += more.failures;
  into.items += more.items;
  into.bytes += more.bytes;
  auto merge = [](auto& xs, const auto& ys) {
    using key = typename std::decay_t<decltype(xs)>::value_type::first_type;
    std::map<key, uint64_t> sum;
    for (auto& [k, n] : xs)
      sum[k] += n;
    for (auto& [k, n] : ys)
      sum[k] += n;
    xs.assign(sum.begin(), sum.end());
  };
  merge(into.statuses, more.statuses);
  merge(into.errors, more.errors);
  merge(into.top_hosts, more.top_hosts);
  // Hosts belong to one node each: the merged top lists hold the top hosts.
  std::sort(into.top_hosts.begin(), into.top_hosts.end(),
            [](auto& x, auto& y) { return x.second != y.second ? x.second > y.second : x.first < y.first; });
  if (into.top_hosts.size() > 10)
    into.top_hosts.resize(10);
}

namespace {

struct node_state {
  node_options opts;
  std::optional<crawl_workers> crawl; // the crawl under way
  caf::actor_addr coordinator;        // who started it
  std::vector<sink_actor> own_sinks;  // --cluster-sinks=local: the node's sinks
  stats_sink_actor tally;             // ... and its tally of what they got
  sink_actor all_own;                 // all of them behind one (open, flush)
  std::set<caf::actor_addr> stopping; // actors of the last crawl not yet gone
  std::function<void()> stopped;      // runs once they are
  std::vector<node_actor> peers;      // the other nodes of the crawl, connected to
  struct waiting_start {
    node_start start;
    caf::actor_addr coordinator;
    caf::typed_response_promise<node_info> rp;
  };
  std::vector<waiting_start> waiting; // crawls to start once the last is torn down
  std::string crawl_id;               // of the crawl under way
  node_info info;                     // its shards, as the coordinator got them
  caf::timespan resume_wait{0};       // how long it outlives its coordinator
  bool coordinated = false;           // a coordinator runs the crawl under way (since ...)
  caf::actor_clock::time_point coordinated_at{}; // ... it started or resumed it here
  uint64_t orphaned = 0;              // times the coordinator went away (to match timers)
  static inline const char* name = "arachne_node";
};

/// The coordinator went away this long ago (the count says which time).
using orphaned_atom = caf::atom_constant<caf::atom("orphaned")>;

using node_impl = node_actor::extend<caf::reacts_to<orphaned_atom, uint64_t>,
                                     caf::reacts_to<observe_atom>, caf::reacts_to<contact_atom>>;
using node_pointer = node_impl::stateful_pointer<node_state>;

void start_crawl(node_pointer self, node_start start, caf::actor_addr coordinator,
                 caf::typed_response_promise<node_info> rp);

/// Starts the first crawl that waited for a teardown; the others find the
/// node busy.
void start_waiting(node_pointer self) {
  auto waiting = std::move(self->state.waiting);
  self->state.waiting.clear();
  for (auto& w : waiting) {
    if (self->state.crawl || !self->state.stopping.empty())
      w.rp.deliver(caf::make_error(caf::sec::runtime_error,
                                   "node " + w.start.name + " is busy with another crawl"));
    else
      start_crawl(self, std::move(w.start), w.coordinator, w.rp);
  }
}

/// Stops every actor of the crawl; `done` runs once all are gone and the
/// HTTP client is stopped.
void tear_down(node_pointer self, std::function<void()> done) {
  auto& st = self->state;
  std::vector<caf::actor> all;
  if (st.crawl)
    all = st.crawl->owned;
  for (auto& s : st.own_sinks)
    all.push_back(caf::actor_cast<caf::actor>(s));
  if (st.tally)
    all.push_back(caf::actor_cast<caf::actor>(st.tally));
  if (st.all_own)
    all.push_back(caf::actor_cast<caf::actor>(st.all_own));
  st.own_sinks.clear();
  st.tally = nullptr;
  st.all_own = nullptr;
  st.stopped = [self, done] {
    auto& s = self->state;
    if (s.crawl) {
      s.crawl->client->stop();
      s.crawl.reset();
    }
    s.coordinator = caf::actor_addr{};
    s.coordinated = false;
    s.peers.clear();
    done();
    start_waiting(self);
  };
  for (auto& a : all) {
    st.stopping.insert(a.address());
    self->monitor(a);
    self->send_exit(a, caf::exit_reason::user_shutdown);
  }
  if (st.stopping.empty())
    std::exchange(st.stopped, nullptr)();
}

/// Opens every sink of the node with `info`; `then` gets what they need.
void open_own_sinks(node_pointer self, const crawl_info& info,
                    std::function<void(caf::expected<sink_needs>)> then) {
  auto& st = self->state;
  std::vector<sink_actor> sinks;
  if (st.opts.open_sinks) {
    auto opened = st.opts.open_sinks();
    if (!opened) {
      then(std::move(opened.error()));
      return;
    }
    sinks = std::move(*opened);
  }
  st.tally = self->spawn(stats_sink);
  sinks.push_back(caf::actor_cast<sink_actor>(st.tally));
  st.own_sinks = sinks;
  st.all_own = spawn_sink_fanout(self->system(), std::move(sinks));
  self->request(st.all_own, std::chrono::seconds(30), open_atom::value, info)
    .then([=](const sink_needs& needs) { then(needs); },
          [=](caf::error& err) { then(std::move(err)); });
}

/// Starts the crawl `start` describes for `coordinator`; `rp` gets the
/// node's shards, or why they did not start.
void start_crawl(node_pointer self, node_start start, caf::actor_addr coordinator,
                 caf::typed_response_promise<node_info> rp) {
  auto& st = self->state;
      auto cfg = std::make_shared<config>();
      if (auto err = cfg->parse_args(start.args); !err.empty()) {
        rp.deliver(caf::make_error(caf::sec::invalid_argument, "node " + start.name + ": " + err));
        return;
      }
      if (st.opts.adapt)
        st.opts.adapt(cfg->crawl);
      if (auto notice = fit_descriptor_limit(cfg->crawl); !notice.empty())
        std::cerr << "arachne node: " << notice << "\n";
      // Straight connections to the other nodes, so that links between
      // them do not pass through the coordinator. (CAF's automatic
      // connections would open an unauthenticated plaintext port.)
      for (auto& peer : start.peers) {
        auto n = connect_node(self->system(), st.opts.cluster, peer);
        if (!n) {
          rp.deliver(caf::make_error(caf::sec::runtime_error,
                                     "node " + start.name + " cannot reach node " + peer + ": "
                                       + self->system().render(n.error())));
          return;
        }
        st.peers.push_back(*n);
      }
      st.coordinator = coordinator;
      st.coordinated = true;
      st.coordinated_at = self->clock().now();
      if (auto c = caf::actor_cast<caf::actor>(st.coordinator))
        self->monitor(c);
      auto run = [=](std::vector<sink_actor> sinks, sink_needs needs) mutable {
        auto& s = self->state;
        auto threads = std::max<std::size_t>(1, self->system().scheduler().num_workers());
        auto count = s.opts.shards != 0 ? s.opts.shards : static_cast<uint32_t>(threads);
        worker_plan plan;
        for (uint32_t i = 0; i < count; ++i)
          plan.ids.push_back(node_shard_id(
            start.generation == 0 ? start.name
                                  : start.name + "#" + std::to_string(start.generation),
            i));
        plan.sinks = std::move(sinks);
        plan.needs = needs;
        // A coordinator that may come back gets the records its sinks missed.
        plan.hold_records = !start.sinks.empty() && start.resume_wait.count() > 0;
        auto w = spawn_workers(self->system(), cfg->crawl, s.opts.program, std::move(plan));
        if (!w) {
          auto err = std::move(w.error());
          tear_down(self, [rp, err]() mutable { rp.deliver(err); });
          return;
        }
        node_info info;
        info.name = start.name;
        info.weight = s.opts.weight;
        info.shard_ids = w->ids;
        info.shards = w->shards;
        s.crawl = std::move(*w);
        s.crawl_id = start.info.crawl_id;
        s.resume_wait = start.resume_wait;
        s.info = info;
        rp.deliver(std::move(info));
      };
      if (!start.sinks.empty()) {
        run(std::move(start.sinks), start.needs);
        return;
      }
      open_own_sinks(self, start.info, [=](caf::expected<sink_needs> needs) mutable {
        if (!needs) {
          auto err = caf::make_error(caf::sec::runtime_error,
                                     "node " + start.name + ": a sink failed to open: "
                                       + error_text(needs.error()));
          tear_down(self, [rp, err]() mutable { rp.deliver(err); });
          return;
        }
        run(self->state.own_sinks, *needs);
      });
}

/// The coordinator of the crawl under way is gone: the crawl ends here, or
/// once it did not come back in time (a coordinator with --state resumes it).
void lose_coordinator(node_pointer self) {
  auto& st = self->state;
  if (!st.crawl || !st.coordinated)
    return;
  st.coordinator = caf::actor_addr{};
  st.coordinated = false;
  if (st.resume_wait.count() <= 0) {
    tear_down(self, [] {});
    return;
  }
  std::cerr << "arachne node: the coordinator of crawl " << st.crawl_id
            << " went away; it may resume the crawl within "
            << std::chrono::duration<double>(st.resume_wait).count() << "s\n";
  self->delayed_send(self, st.resume_wait, orphaned_atom::value, ++st.orphaned);
}

/// A monitored actor went down: the last crawl's (its teardown may be
/// over), or the coordinator's.
void on_down(node_pointer self, caf::down_msg& dm) {
  auto& st = self->state;
  if (st.stopping.erase(dm.source) > 0) {
    if (st.stopping.empty() && st.stopped)
      std::exchange(st.stopped, nullptr)();
    return;
  }
  if (st.coordinator && dm.source == st.coordinator)
    lose_coordinator(self);
}

/// How long the coordinator may leave the node's shards unasked before the
/// node takes it for gone. Its DOWN cannot be relied on: a remote request's
/// sender reaches the node as no actor at all (CAF 0.17.6 over BASP), so
/// there may be nothing to monitor. The coordinator asks every shard for its
/// stats every 20-320 ms.
caf::timespan contact_limit(const node_state& st) {
  return std::max<caf::timespan>(std::chrono::seconds(10), 2 * st.opts.cluster.timeout);
}

/// Once a second while a crawl runs: has the coordinator asked any shard lately?
void check_contact(node_pointer self) {
  auto& st = self->state;
  self->delayed_send(self, std::chrono::seconds(1), contact_atom::value);
  if (!st.crawl || !st.coordinated || st.crawl->shards.empty()
      || self->clock().now() - st.coordinated_at < contact_limit(st))
    return;
  auto shards = st.crawl->shards;
  auto left = std::make_shared<std::size_t>(shards.size());
  auto freshest = std::make_shared<caf::timespan>(caf::timespan::max());
  auto crawl_id = st.crawl_id;
  for (auto& shard : shards)
    self->request(shard, std::chrono::seconds(5), contact_atom::value)
      .then(
        [=](caf::timespan since) {
          *freshest = std::min(*freshest, since);
          if (--*left > 0)
            return;
          auto& s = self->state;
          if (s.crawl_id == crawl_id && *freshest > contact_limit(s)) {
            std::cerr << "arachne node: no word from the coordinator of crawl " << crawl_id
                      << " for " << std::chrono::duration_cast<std::chrono::seconds>(*freshest).count()
                      << " s: it is gone\n";
            lose_coordinator(self);
          }
        },
        [=](caf::error&) { --*left; });
}

/// A coordinator asks for a crawl: it starts now, after the last one's
/// teardown, or not at all while another runs.
caf::typed_response_promise<node_info> on_start(node_pointer self, node_start& start) {
  auto rp = self->make_response_promise<node_info>();
  auto& st = self->state;
  auto from = self->current_sender() ? self->current_sender()->address() : caf::actor_addr{};
  if (!st.stopping.empty()) {
    // The last crawl is still being torn down: this one starts after.
    st.waiting.push_back({std::move(start), from, rp});
    return rp;
  }
  if (st.crawl) {
    rp.deliver(caf::make_error(caf::sec::runtime_error,
                               "node " + start.name + " is busy with another crawl"));
    return rp;
  }
  start_crawl(self, std::move(start), from, rp);
  return rp;
}

/// A restarted coordinator takes its crawl up: its sinks replace the old
/// ones, and the shards send them what the old ones missed.
caf::result<node_info> on_resume(node_pointer self, const std::string& crawl_id,
                                 std::vector<sink_actor>& sinks) {
  auto& st = self->state;
  if (!st.crawl || st.crawl_id != crawl_id || !st.stopping.empty())
    return caf::make_error(caf::sec::runtime_error,
                           "it does not run crawl " + crawl_id
                             + " (the crawl ended there, or never ran there)");
  ++st.orphaned;
  st.coordinated = true;
  st.coordinated_at = self->clock().now();
  st.coordinator = self->current_sender() ? self->current_sender()->address()
                                          : caf::actor_addr{};
  if (auto c = caf::actor_cast<caf::actor>(st.coordinator))
    self->monitor(c);
  for (auto& shard : st.crawl->shards)
    for (uint32_t i = 0; i < sinks.size(); ++i)
      self->send(caf::actor_cast<frontier_impl>(shard), caf::put_atom::value, i, sinks[i]);
  return st.info;
}

/// The crawl is over: own sinks are flushed (durable), the tally taken,
/// then all goes.
caf::typed_response_promise<crawl_tally> on_stop(node_pointer self) {
  auto rp = self->make_response_promise<crawl_tally>();
  auto& st = self->state;
  auto sinks = st.own_sinks;
  auto finish = [=](caf::expected<crawl_tally> tally) mutable {
    tear_down(self, [rp, tally]() mutable {
      if (tally)
        rp.deliver(std::move(*tally));
      else
        rp.deliver(tally.error());
    });
  };
  if (sinks.empty()) {
    finish(crawl_tally{});
    return rp;
  }
  auto tally = st.tally;
  self->request(st.all_own, std::chrono::seconds(60), caf::flush_atom::value)
    .then(
      [=](caf::ok_atom) mutable {
        self->request(tally, std::chrono::seconds(30), caf::get_atom::value)
          .then([=](crawl_tally& t) mutable { finish(std::move(t)); },
                [=](caf::error& err) mutable { finish(std::move(err)); });
      },
      [=](caf::error& err) mutable {
        finish(caf::make_error(caf::sec::runtime_error,
                               "a sink of this node failed to flush: "
                                 + self->system().render(err)));
      });
  return rp;
}

} // namespace

node_actor spawn_node(caf::actor_system& sys, node_options opts) {
  return sys.spawn([opts = std::move(opts)](node_pointer self) -> node_impl::behavior_type {
    self->state.opts = opts;
    self->set_down_handler([=](caf::down_msg& dm) { on_down(self, dm); });
    if (self->state.opts.observer)
      self->delayed_send(self, std::chrono::seconds(1), observe_atom::value);
    self->delayed_send(self, std::chrono::seconds(1), contact_atom::value);
    return {
      [=](contact_atom) { check_contact(self); },
      [=](start_atom, node_start& start) -> caf::typed_response_promise<node_info> {
        return on_start(self, start);
      },
      // --metrics: the stats of the node's shards, once a second.
      [=](observe_atom) {
        auto& st = self->state;
        self->delayed_send(self, std::chrono::seconds(1), observe_atom::value);
        if (!st.crawl || st.crawl->shards.empty())
          return;
        auto shards = st.crawl->shards;
        auto got = std::make_shared<std::vector<frontier_stats>>();
        auto left = std::make_shared<std::size_t>(shards.size());
        auto name = st.info.name;
        auto observer = st.opts.observer;
        for (auto& shard : shards)
          self->request(shard, std::chrono::seconds(5), stats_atom::value)
            .then(
              [=](frontier_stats& s) {
                got->push_back(std::move(s));
                if (--*left == 0)
                  caf::anon_send(observer, observe_atom::value,
                             metrics_by_node(*got, std::vector<std::string>(got->size(), name)));
              },
              [=](caf::error&) { --*left; });
      },
      [=](orphaned_atom, uint64_t n) {
        auto& st = self->state;
        if (n != st.orphaned || !st.crawl || st.coordinated)
          return; // (it came back)
        std::cerr << "arachne node: no coordinator resumed crawl " << st.crawl_id
                  << "; it ends here\n";
        tear_down(self, [] {});
      },
      [=](resume_atom, const std::string& crawl_id,
          std::vector<sink_actor>& sinks) -> caf::result<node_info> {
        return on_resume(self, crawl_id, sinks);
      },
      [=](stop_atom) -> caf::typed_response_promise<crawl_tally> { return on_stop(self); },
    };
  });
}

} // namespace arachne
