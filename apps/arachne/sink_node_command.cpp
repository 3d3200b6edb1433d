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

#include "commands.hpp"
#include "sinks/sinks.hpp"

namespace arachne::cli {

namespace {

volatile std::sig_atomic_t stop_node = 0;

void on_signal(int) {
  stop_node = 1;
}

/// Marks a fan-out request as answered (after an error).
constexpr std::size_t done = static_cast<std::size_t>(-1);

struct fanout_state {
  std::vector<sink_actor> sinks;
  static inline const char* name = "sink_fanout";
};

// One sink in front of several: each message goes to all, the reply comes
// when all have answered (the first error wins).
sink_actor::behavior_type fanout(sink_actor::stateful_pointer<fanout_state> self,
                                 std::vector<sink_actor> sinks) {
  self->state.sinks = std::move(sinks);
  return {
    [=](open_atom, const crawl_info& info) -> caf::typed_response_promise<sink_needs> {
      auto rp = self->make_response_promise<sink_needs>();
      auto left = std::make_shared<std::size_t>(self->state.sinks.size());
      auto needs = std::make_shared<sink_needs>();
      for (auto& s : self->state.sinks)
        self->request(s, caf::infinite, open_atom::value, info)
          .then(
            [=](const sink_needs& n) mutable {
              *needs |= n;
              if (*left != done && --*left == 0)
                rp.deliver(*needs);
            },
            [=](caf::error& err) mutable {
              if (*left != done)
                rp.deliver(std::move(err));
              *left = done;
            });
      return rp;
    },
    [=](record_batch& batch) -> caf::typed_response_promise<ack> {
      auto rp = self->make_response_promise<ack>();
      auto left = std::make_shared<std::size_t>(self->state.sinks.size());
      auto seq = batch.seq;
      for (auto& s : self->state.sinks)
        self->request(s, caf::infinite, batch)
          .then(
            [=](const ack&) mutable {
              if (*left != done && --*left == 0)
                rp.deliver(ack{seq});
            },
            [=](caf::error& err) mutable {
              if (*left != done)
                rp.deliver(std::move(err));
              *left = done;
            });
      return rp;
    },
    [=](caf::flush_atom) -> caf::typed_response_promise<caf::ok_atom> {
      auto rp = self->make_response_promise<caf::ok_atom>();
      auto left = std::make_shared<std::size_t>(self->state.sinks.size());
      for (auto& s : self->state.sinks)
        self->request(s, caf::infinite, caf::flush_atom::value)
          .then(
            [=](caf::ok_atom) mutable {
              if (*left != done && --*left == 0)
                rp.deliver(caf::ok_atom::value);
            },
            [=](caf::error& err) mutable {
              if (*left != done)
                rp.deliver(std::move(err));
              *left = done;
            });
      return rp;
    },
  };
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
  auto colon = listen.rfind(':');
  char* end = nullptr;
  auto port = colon == std::string::npos ? 0ul : std::strtoul(listen.c_str() + colon + 1, &end, 10);
  if (colon == std::string::npos || colon == 0 || end == nullptr || *end != '\0' || port > 65535) {
    std::cerr << "arachne sink-node: option --listen expects HOST:PORT, not '" << listen << "'\n";
    return usage_error;
  }
  auto host = listen.substr(0, colon);
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
  auto front = sinks.size() == 1 ? sinks.front() : sys.spawn(fanout, sinks);
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
