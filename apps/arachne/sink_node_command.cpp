// `arachne sink-node`: sinks served to crawls in other processes or on other
// hosts over CAF remoting (`arachne crawl --sink-remote=HOST:PORT`).

#include <chrono>
#include <csignal>
#include <iostream>
#include <thread>

#include "caf/actor_system.hpp"
#include "caf/io/middleman.hpp"
#include "caf/io/publish.hpp"
#include "caf/send.hpp"
#include "caf/stateful_actor.hpp"
#include "caf/typed_event_based_actor.hpp"

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

} // namespace

int sink_node_main(const std::vector<std::string>& args) {
  config cfg;
  std::string listen = "127.0.0.1:0";
  std::vector<std::string> outs{"jsonl:sink.jsonl"};
  uint64_t warc_max_size = default_warc_max_bytes;
  cfg.options()
    .section("sink-node")
    .add("listen", listen, "HOST:PORT to serve the sink on (PORT 0: any free port, printed)")
    .add("out", outs, "local sinks the records go to, as for arachne crawl; repeatable")
    .add_size("warc-max-size", warc_max_size, "a WARC file this large is closed and the next begun");
  if (auto done = parse_command(cfg, args, "sink-node",
                                "usage: arachne sink-node --listen=HOST:PORT --out=KIND:PATH ...\n\n"
                                "Serves sinks to crawls in other processes or on other hosts:\n"
                                "'arachne crawl --sink-remote=HOST:PORT' sends its records here.\n"
                                "Prints 'listening on HOST:PORT'; runs until SIGINT or SIGTERM.\n"))
    return *done;
  auto ep = parse_endpoint(listen, true);
  if (!ep) {
    std::cerr << "arachne sink-node: option --listen expects HOST:PORT, not '" << listen << "'\n";
    return usage_error;
  }
  auto& host = ep->first;
  auto port = ep->second;
  cfg.load<caf::io::middleman>();
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  caf::actor_system sys{cfg};
  std::vector<sink_actor> sinks;
  auto stop_all = [&] {
    for (auto& s : sinks)
      caf::anon_send_exit(s, caf::exit_reason::user_shutdown);
  };
  for (auto& spec : outs) {
    auto sink = open_sink(sys, spec, warc_max_size);
    if (!sink) {
      std::cerr << "arachne sink-node: " << sink.error().context().get_as<std::string>(0) << "\n";
      stop_all();
      return usage_error;
    }
    sinks.push_back(*sink);
  }
  auto watching = start_observer(sys, cfg, "sink-node");
  if (!watching) {
    stop_all();
    return usage_error;
  }
  // (The observer counts the records as one more sink.)
  auto all = sinks;
  if (*watching)
    all.push_back(caf::actor_cast<sink_actor>((*watching)->actor()));
  auto front = all.size() == 1 ? all.front() : spawn_sink_fanout(sys, all);
  auto bound = caf::io::publish(front, static_cast<uint16_t>(port), host.c_str(), true);
  if (!bound) {
    std::cerr << "arachne sink-node: cannot listen on " << listen << ": " << sys.render(bound.error())
              << "\n";
    caf::anon_send_exit(front, caf::exit_reason::user_shutdown);
    stop_all();
    return usage_error;
  }
  std::cout << "listening on " << host << ":" << *bound << std::endl;
  while (!stop_node)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  sys.middleman().unpublish(front, *bound);
  caf::anon_send_exit(front, caf::exit_reason::user_shutdown);
  stop_all();
  return 0;
}

} // namespace arachne::cli
