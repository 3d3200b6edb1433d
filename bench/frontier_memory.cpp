// A frontier shard that has discovered N URLs (default 10 million) over many
// hosts, none fetched yet: its resident memory and bytes per URL, with a
// state store (queues beyond --queue-memory wait on disk) or without (all in
// memory). Fetches never finish here, so every URL stays queued.
//
// Usage: arachne_bench_frontier_memory [N] [--hosts=H] [--no-state] [--queue-memory=M]

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <unistd.h>

#include "caf/actor_system.hpp"
#include "caf/scoped_actor.hpp"

#include "arachne/config.hpp"
#include "frontier/frontier.hpp"
#include "arachne/state/journal.hpp"

namespace {

using namespace arachne;

// kB of a /proc/self/status field (VmRSS, VmHWM).
uint64_t status_kb(const std::string& field) {
  std::ifstream in{"/proc/self/status"};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(field + ":", 0) == 0)
      return std::strtoull(line.c_str() + field.size() + 1, nullptr, 10);
  return 0;
}

struct stuck_state {
  std::vector<caf::typed_response_promise<fetch_result>> held;
  static inline const char* name = "stuck_fetcher";
};

// A fetcher whose fetches never end: what it is given stays in flight.
fetcher_actor::behavior_type stuck_fetcher(fetcher_actor::stateful_pointer<stuck_state> self) {
  return {
    [=](fetch_atom, fetch_request&) -> caf::result<fetch_result> {
      auto rp = self->make_response_promise<fetch_result>();
      self->state.held.push_back(rp);
      return rp;
    },
    [=](resolve_atom, const std::string&, uint16_t) { return std::vector<std::string>{}; },
  };
}

} // namespace

int main(int argc, char** argv) {
  uint64_t n = 10'000'000;
  uint64_t hosts = 10'000;
  uint64_t queue_memory = 100'000;
  bool state = true;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--no-state")
      state = false;
    else if (a.rfind("--hosts=", 0) == 0)
      hosts = std::strtoull(a.c_str() + 8, nullptr, 10);
    else if (a.rfind("--queue-memory=", 0) == 0)
      queue_memory = std::strtoull(a.c_str() + 15, nullptr, 10);
    else
      n = std::strtoull(a.c_str(), nullptr, 10);
  }
  if (n == 0 || hosts == 0) {
    std::cerr << "usage: arachne_bench_frontier_memory [N] [--hosts=H] [--no-state] [--queue-memory=M]\n";
    return 2;
  }
  auto dir = std::filesystem::temp_directory_path()
             / ("arachne-bench-state-" + std::to_string(::getpid()));
  config cfg;
  caf::actor_system sys{cfg};
  frontier_config fcfg;
  fcfg.politeness.obey_robots = false;
  fcfg.politeness.delay = caf::timespan{0};
  fcfg.run.queue_memory = queue_memory;
  if (state) {
    auto j = frontier_journal::open(dir.string(), 0, 1);
    if (!j) {
      std::cerr << sys.render(j.error()) << "\n";
      return 1;
    }
    fcfg.journal = std::move(*j);
  }
  auto fetcher = sys.spawn(stuck_fetcher);
  auto shard = sys.spawn(frontier, fcfg, shard_id{0},
                         std::vector<fetcher_actor>{fetcher}, std::vector<parser_actor>{},
                         std::vector<sink_actor>{});
  caf::anon_send(shard, caf::put_atom::value, cluster_view{1, {0}, {1.0}, {shard}, {0}, false, {}});
  caf::scoped_actor self{sys};
  auto base = status_kb("VmRSS");
  auto start = std::chrono::steady_clock::now();
  char url[96];
  uint64_t sent = 0;
  while (sent < n) {
    link_batch batch;
    for (int k = 0; k < 1000 && sent < n; ++k, ++sent) {
      std::snprintf(url, sizeof url, "http://h%06llu.example/articles/%010llu.html",
                    static_cast<unsigned long long>(sent % hosts),
                    static_cast<unsigned long long>(sent / hosts));
      batch.links.push_back(crawl_request{url, 1, {}, 0, 0, 0});
    }
    self->request(shard, caf::infinite, std::move(batch))
      .receive([](const ack&) {}, [&](caf::error& err) {
        std::cerr << "a batch failed: " << sys.render(err) << "\n";
        std::exit(1);
      });
  }
  frontier_stats st;
  self->request(shard, caf::infinite, stats_atom::value).receive([&](frontier_stats& s) { st = s; },
                                                                 [](caf::error&) {});
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  auto rss = status_kb("VmRSS");
  auto peak = status_kb("VmHWM");
  uint64_t disk = 0;
  std::error_code ec;
  if (state)
    for (auto& e : std::filesystem::directory_iterator{dir, ec})
      disk += e.file_size(ec);
  std::printf("%s: %llu URLs discovered over %llu hosts (%llu queued, %llu in flight) in %.1f s "
              "(%.0f URLs/s)\n",
              state ? "with --state" : "in memory", static_cast<unsigned long long>(st.seen),
              static_cast<unsigned long long>(hosts), static_cast<unsigned long long>(st.queued),
              static_cast<unsigned long long>(st.in_flight), secs, static_cast<double>(n) / secs);
  std::printf("  RSS %.0f MiB (%.0f MiB before; %.1f bytes per URL), peak %.0f MiB",
              static_cast<double>(rss) / 1024, static_cast<double>(base) / 1024,
              static_cast<double>(rss - base) * 1024 / static_cast<double>(n),
              static_cast<double>(peak) / 1024);
  if (state)
    std::printf("; state on disk %.0f MiB (%.1f bytes per URL)", static_cast<double>(disk) / 1048576,
                static_cast<double>(disk) / static_cast<double>(n));
  std::printf("\n");
  caf::anon_send_exit(shard, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(fetcher, caf::exit_reason::user_shutdown);
  self->wait_for(shard, fetcher);
  std::filesystem::remove_all(dir, ec);
  return 0;
}
