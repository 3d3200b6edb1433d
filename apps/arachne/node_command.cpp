// `arachne node --listen=HOST:PORT`: a worker node of distributed crawls
// (`arachne crawl --cluster=HOST:PORT,... SEED...`).

#include <chrono>
#include <csignal>
#include <iostream>
#include <thread>

#include "caf/actor_system.hpp"
#include "caf/io/middleman.hpp"
#include "caf/scoped_actor.hpp"
#include "caf/send.hpp"

#include "arachne/config.hpp"

#include "cluster/cluster.hpp"
#include "commands.hpp"
#include "sinks/sinks.hpp"

namespace arachne::cli {

namespace {

volatile std::sig_atomic_t stop_node = 0;

void on_signal(int) {
  stop_node = 1;
}

} // namespace

int node_main(const std::vector<std::string>& args) {
  config cfg;
  std::string listen;
  std::string join;
  double weight = 0;
  std::vector<std::string> outs{"jsonl:node.jsonl"};
  uint64_t warc_max_size = default_warc_max_bytes;
  cfg.options()
    .section("node")
    .add("listen", listen, "HOST:PORT to serve the node on (PORT 0: any free port, printed)")
    .add("join", join,
         "HOST:PORT of a running crawl's --cluster-listen: join it as soon as the node listens")
    .add("weight", weight, "the node's share of hosts relative to other nodes; 0 = its threads")
    .add("out", outs, "the node's own sinks, used with the coordinator's --cluster-sinks=local")
    .add_size("warc-max-size", warc_max_size, "a WARC file this large is closed and the next begun");
  if (auto done = parse_command(cfg, args, "node",
                                "usage: arachne node --listen=HOST:PORT [--option=value ...]\n\n"
                                "Runs a worker node of distributed crawls: 'arachne crawl\n"
                                "--cluster=HOST:PORT,...' starts its part of a crawl here (shards,\n"
                                "fetchers, parsers) with the crawl's options. Cluster traffic is TLS\n"
                                "with --cluster-cert/--cluster-key/--cluster-ca (or --insecure-cluster).\n"
                                "Prints 'listening on HOST:PORT'; runs until SIGINT or SIGTERM.\n"
                                "With --join it joins a running crawl, whose hosts it then shares.\n"))
    return *done;
  auto ep = parse_endpoint(listen, true);
  if (!ep) {
    std::cerr << "arachne node: option --listen expects HOST:PORT, not '" << listen << "'\n";
    return usage_error;
  }
  if (!join.empty() && !parse_endpoint(join)) {
    std::cerr << "arachne node: option --join expects HOST:PORT, not '" << join << "'\n";
    return usage_error;
  }
  if (weight < 0) {
    std::cerr << "arachne node: option --weight expects a number of 0 or more, not '" << weight
              << "'\n";
    return usage_error;
  }
  if (auto err = cfg.enable_cluster(); !err.empty()) {
    std::cerr << "arachne node: " << err << "\n";
    return usage_error;
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  caf::actor_system sys{cfg};
  node_options opts;
  opts.weight = weight > 0 ? weight : static_cast<double>(sys.scheduler().num_workers());
  opts.shards = cfg.crawl.scope.shards;
  opts.cluster = cfg.crawl.cluster;
  opts.adapt = [own = cfg.crawl](settings& s) {
    s.scope.parsers = own.scope.parsers;
    s.http.io_threads = own.http.io_threads;
    s.http.source_address = own.http.source_address;
  };
  opts.open_sinks = [&sys, outs, warc_max_size]() -> caf::expected<std::vector<sink_actor>> {
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
  auto node = spawn_node(sys, opts);
  auto bound = publish_node(sys, node, cfg.crawl.cluster, ep->first, ep->second);
  if (!bound) {
    std::cerr << "arachne node: cannot listen on " << listen << ": " << sys.render(bound.error())
              << "\n";
    caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
    return usage_error;
  }
  std::cout << "listening on " << ep->first << ":" << *bound
            << (cfg.crawl.cluster.insecure ? " (insecure: plaintext, unauthenticated)" : " (TLS)")
            << std::endl;
  if (!join.empty()) {
    // The coordinator reaches the node at the address it listens on.
    auto me = ep->first + ":" + std::to_string(*bound);
    if (auto err = join_crawl(sys, cfg.crawl.cluster, join, me)) {
      std::cerr << "arachne node: cannot join the crawl at " << join << ": " << sys.render(err)
                << "\n";
      sys.middleman().unpublish(node, *bound);
      caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
      return 1;
    }
    std::cout << "joined the crawl at " << join << std::endl;
  }
  while (!stop_node)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  sys.middleman().unpublish(node, *bound);
  // A crawl under way here ends: its actors stop, its own sinks are flushed.
  caf::scoped_actor self{sys};
  self->request(node, std::chrono::seconds(60), stop_atom::value)
    .receive([](const crawl_tally&) {}, [](caf::error&) {});
  caf::anon_send_exit(node, caf::exit_reason::user_shutdown);
  return 0;
}

} // namespace arachne::cli
