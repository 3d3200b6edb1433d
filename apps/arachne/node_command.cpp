// `arachne node --listen=HOST:PORT`: a worker node of distributed crawls
// (`arachne crawl --cluster=HOST:PORT,... SEED...`).

#include <chrono>
#include <csignal>
#include <iostream>
#include <optional>
#include <thread>

#include "caf/actor_system.hpp"
#include "caf/io/middleman.hpp"
#include "caf/scoped_actor.hpp"
#include "caf/send.hpp"

#include "arachne/config.hpp"

#include "cluster/cluster.hpp"
#include "commands.hpp"
#include "arachne/sinks/sinks.hpp"
#include "observer/observer.hpp"

namespace arachne::cli {

namespace {

volatile std::sig_atomic_t stop_node = 0;

void on_signal(int) {
  stop_node = 1;
}

// What `arachne node` adds to the common options.
struct node_args {
  std::string listen;
  std::string join;
  double weight = 0;
  std::vector<std::string> outs{"jsonl:node.jsonl"};
  uint64_t warc_max_size = default_warc_max_bytes;
};

void add_options(config& cfg, node_args& a) {
  cfg.options()
    .section("node")
    .add("listen", a.listen, "HOST:PORT to serve the node on (PORT 0: any free port, printed)")
    .add("join", a.join,
         "HOST:PORT of a running crawl's --cluster-listen: join it as soon as the node listens")
    .add("weight", a.weight, "the node's share of hosts relative to other nodes; 0 = its threads")
    .add("out", a.outs, "the node's own sinks, used with the coordinator's --cluster-sinks=local")
    .add_size("warc-max-size", a.warc_max_size, "a WARC file this large is closed and the next begun");
}

// The --listen endpoint, if it and the other options are good (and the
// cluster's transport is set up); nothing, after saying why, if not.
std::optional<std::pair<std::string, uint16_t>> checked_listen(config& cfg, const node_args& a) {
  auto ep = parse_endpoint(a.listen, true);
  if (!ep) {
    std::cerr << "arachne node: option --listen expects HOST:PORT, not '" << a.listen << "'\n";
    return std::nullopt;
  }
  if (!a.join.empty() && !parse_endpoint(a.join)) {
    std::cerr << "arachne node: option --join expects HOST:PORT, not '" << a.join << "'\n";
    return std::nullopt;
  }
  if (a.weight < 0) {
    std::cerr << "arachne node: option --weight expects a number of 0 or more, not '" << a.weight
              << "'\n";
    return std::nullopt;
  }
  if (auto err = cfg.enable_cluster(); !err.empty()) {
    std::cerr << "arachne node: " << err << "\n";
    return std::nullopt;
  }
  return ep;
}

// The node's share, its own settings over a crawl's, and its own sinks
// (opened per crawl; all or none).
node_options node_options_of(caf::actor_system& sys, const config& cfg, const node_args& a) {
  node_options opts;
  opts.weight = a.weight > 0 ? a.weight : static_cast<double>(sys.scheduler().num_workers());
  opts.shards = cfg.crawl.run.shards;
  opts.cluster = cfg.crawl.cluster;
  opts.adapt = [own = cfg.crawl](settings& s) {
    s.run.parsers = own.run.parsers;
    s.http.io_threads = own.http.io_threads;
    s.http.source_address = own.http.source_address;
  };
  opts.open_sinks = [&sys, outs = a.outs,
                     warc_max_size = a.warc_max_size]() -> caf::expected<std::vector<sink_actor>> {
    std::vector<sink_actor> sinks;
    for (auto& spec : outs) {
      auto s = open_sink(sys, spec, warc_max_size);
      if (!s) {
        for (auto& opened : sinks)
          caf::anon_send_exit(opened, caf::exit_reason::user_shutdown);
        return std::move(s.error());
      }
      sinks.push_back(*s);
    }
    return sinks;
  };
  return opts;
}

// Joins the running crawl at --join; false (after saying why and taking
// the node down) if it cannot.
bool join_running_crawl(caf::actor_system& sys, const config& cfg, const node_args& a,
                        const node_actor& node, const std::string& host, uint16_t port) {
  // The coordinator reaches the node at the address it listens on.
  auto me = host + ":" + std::to_string(port);
  if (auto err = join_crawl(sys, cfg.crawl.cluster, a.join, me)) {
    std::cerr << "arachne node: cannot join the crawl at " << a.join << ": " << sys.render(err)
              << "\n";
    sys.middleman().unpublish(node, port);
    caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
    return false;
  }
  std::cout << "joined the crawl at " << a.join << std::endl;
  return true;
}

// Stops serving the node; a crawl under way here ends: its actors stop, its
// own sinks are flushed.
void stop_serving(caf::actor_system& sys, const node_actor& node, uint16_t port) {
  sys.middleman().unpublish(node, port);
  caf::scoped_actor self{sys};
  self->request(node, std::chrono::seconds(60), stop_atom::value)
    .receive([](const crawl_tally&) {}, [](caf::error&) {});
  caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
}

} // namespace

int node_main(const std::vector<std::string>& args) {
  config cfg;
  node_args a;
  add_options(cfg, a);
  if (auto done = parse_command(cfg, args, "node",
                                "usage: arachne node --listen=HOST:PORT [--option=value ...]\n\n"
                                "Runs a worker node of distributed crawls: 'arachne crawl\n"
                                "--cluster=HOST:PORT,...' starts its part of a crawl here (shards,\n"
                                "fetchers, parsers) with the crawl's options. Cluster traffic is TLS\n"
                                "with --cluster-cert/--cluster-key/--cluster-ca (or --insecure-cluster).\n"
                                "Prints 'listening on HOST:PORT'; runs until SIGINT or SIGTERM.\n"
                                "With --join it joins a running crawl, whose hosts it then shares.\n"))
    return *done;
  auto ep = checked_listen(cfg, a);
  if (!ep)
    return usage_error;
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  caf::actor_system sys{cfg};
  auto watching = start_observer(sys, cfg, "node");
  if (!watching)
    return usage_error;
  auto opts = node_options_of(sys, cfg, a);
  if (*watching)
    opts.observer = (*watching)->actor();
  auto node = spawn_node(sys, std::move(opts));
  auto bound = publish_node(sys, node, cfg.crawl.cluster, ep->first, ep->second);
  if (!bound) {
    std::cerr << "arachne node: cannot listen on " << a.listen << ": " << sys.render(bound.error())
              << "\n";
    caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
    return usage_error;
  }
  std::cout << "listening on " << ep->first << ":" << *bound
            << (cfg.crawl.cluster.insecure ? " (insecure: plaintext, unauthenticated)" : " (TLS)")
            << std::endl;
  if (!a.join.empty() && !join_running_crawl(sys, cfg, a, node, ep->first, *bound))
    return 1;
  while (!stop_node)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  stop_serving(sys, node, *bound);
  return 0;
}

} // namespace arachne::cli
