// `arachne crawl SEED...`: a whole crawl from the command line, on the same
// facade programs use.

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <iomanip>
#include <iostream>

#include <sys/resource.h>
#include <unistd.h>

#include "caf/actor_system.hpp"
#include "caf/send.hpp"
#include "caf/io/middleman.hpp"
#include "caf/io/remote_actor.hpp"

#include "arachne/crawl.hpp"

#include "cluster/cluster.hpp"
#include "commands.hpp"
#include "frontier/journal.hpp"
#include "sinks/sinks.hpp"

namespace arachne::cli {

namespace {

volatile std::sig_atomic_t interrupted = 0;

void on_signal(int) {
  interrupted = 1;
}

void print_report(std::ostream& out, const crawl_report& r, const std::vector<std::string>& outs) {
  auto secs = std::chrono::duration<double>(r.elapsed).count();
  auto& t = r.tally;
  out << std::fixed << std::setprecision(1) << "crawl " << (r.interrupted ? "interrupted" : "finished")
      << " after " << secs << "s\n"
      << "  records " << t.records << " (pages " << t.pages << ", failures " << t.failures
      << ", items " << t.items << ")\n"
      << "  urls seen " << r.seen << ", links not followed " << r.dropped << "\n"
      << (r.resumed > 0 ? "  resumed " + std::to_string(r.resumed)
                            + " URLs taken up before the crash (marked \"resumed\": may be recorded twice)\n"
                        : std::string{})
      << "  bytes " << t.bytes << ", pages/s " << r.pages_per_second() << "\n  status";
  for (auto& [status, n] : t.statuses)
    out << " " << status << "=" << n;
  out << "\n  errors";
  if (t.errors.empty())
    out << " none";
  for (auto& [kind, n] : t.errors)
    out << " " << kind << "=" << n;
  out << "\n  top hosts";
  for (auto& [host, n] : t.top_hosts)
    out << " " << host << "=" << n;
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto cpu = static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec)
             + static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  out << "\n  cpu " << std::setprecision(2) << cpu << "s ("
      << (t.pages > 0 ? cpu * 1000 / static_cast<double>(t.pages) : 0.0) << " ms per page), peak rss "
      << ru.ru_maxrss / 1024 << " MiB\n";
  for (auto& f : r.sink_failures) {
    out << "  sink --out=" << (f.sink < outs.size() ? outs[f.sink] : std::string{"(report tally)"});
    if (f.working)
      out << " failed and was restarted " << f.restarts << " time(s); it got every record "
          << "(those of a failed batch possibly twice; last failure: " << f.error << ")\n";
    else
      out << " FAILED: " << f.error << "; " << f.lost << " records not stored by it"
          << (f.restarts > 0 ? " (after " + std::to_string(f.restarts) + " restarts)" : "")
          << "\n";
  }
  if (!r.nodes.empty()) {
    out << "  nodes\n";
    uint64_t hosts = 0;
    uint64_t pages = 0;
    for (auto& n : r.nodes) {
      hosts += n.hosts;
      pages += n.pages;
    }
    auto pct = [](uint64_t x, uint64_t all) { return all > 0 ? 100.0 * x / all : 0.0; };
    for (auto& n : r.nodes)
      out << "    " << n.name << ": weight " << std::setprecision(2) << n.weight << ", "
          << n.shards << " shards, hosts " << n.hosts << " (" << std::setprecision(1)
          << pct(n.hosts, hosts) << "%), pages " << n.pages << " (" << pct(n.pages, pages)
          << "%), records " << n.records << (n.lost ? " (lost during the crawl)" : "")
          << (n.joined ? " (joined during the crawl)" : "") << "\n";
  }
  if (!r.nodes.empty())
    out << "  messages between shards: " << r.link_batches << " link batches, " << r.guard_batches
        << " guard batches (" << std::setprecision(3)
        << (t.pages > 0 ? static_cast<double>(r.link_batches + r.guard_batches) / t.pages : 0.0)
        << " per page)\n";
  if (r.coordinator_resumed)
    out << "  resumed by a restarted coordinator: the counts above are of what reached it\n";
  for (auto& n : r.nodes_joined)
    out << "  joined node " << n << "\n";
  if (!r.nodes_joined.empty())
    out << "  " << r.moved_hosts << " sites and " << r.moved_urls
        << " queued URLs moved to joined nodes\n";
  for (auto& n : r.nodes_lost)
    out << "  lost node " << n << "\n";
  if (!r.nodes_lost.empty())
    out << "  " << r.reowned << " URLs of lost nodes went to the others (those in flight there "
        << "may be recorded twice, marked \"resumed\")\n";
  for (auto& f : r.node_failures)
    out << "  cluster FAILED: " << f << "\n";
  if (!r.proxies.empty()) {
    out << "  proxies\n";
    for (auto& p : r.proxies)
      out << "    " << p.label << ": " << p.state << ", " << p.requests << " requests, "
          << p.successes << " ok, " << p.failures << " failed, " << p.bans << " bans, "
          << p.quarantines << " quarantines, median " << std::setprecision(0)
          << std::chrono::duration<double, std::milli>(p.median_latency).count() << " ms\n";
  }
}

} // namespace

int crawl_main(const std::vector<std::string>& args) {
  config cfg;
  std::vector<std::string> outs{"jsonl:crawl.jsonl"};
  uint64_t warc_max_size = default_warc_max_bytes;
  std::vector<std::string> remote_sinks;
  bool progress = ::isatty(2) != 0;
  cfg.options()
    .section("crawl")
    .add("out", outs,
         "sinks: jsonl:PATH (.gz compresses, - is stdout), sqlite:PATH, warc:PATH.warc[.gz], "
         "null, stats; repeatable")
    .add_size("warc-max-size", warc_max_size, "a WARC file this large is closed and the next begun")
    .add("sink-remote", remote_sinks,
         "HOST:PORT of an 'arachne sink-node' that gets every record too; repeatable")
    .add("progress", progress, "show a progress line on standard error (default: if a terminal)");
  if (auto done = parse_command(cfg, args, "crawl",
                                "usage: arachne crawl SEED... [--option=value ...]\n\n"
                                "Crawls from the seed URLs politely (robots.txt, per-host pacing) and\n"
                                "writes one record per URL to the sinks; prints a report at the end.\n"))
    return *done;
  if (cfg.positional.empty()) {
    std::cerr << "arachne crawl: expects at least one seed URL (see --help)\n";
    return usage_error;
  }
  // A crawl to resume: its sinks are added to, not replaced. A directory
  // that is not a state store is refused before any output file is touched.
  bool resuming = false;
  if (auto& dir = cfg.crawl.scope.state_dir; !dir.empty() && !cfg.crawl.cluster.nodes.empty()) {
    // A distributed crawl: the directory holds the coordinator's state.
    auto saved = read_coordinator_state(dir);
    if (!saved) {
      std::cerr << "arachne crawl: " << saved.error().context().get_as<std::string>(0) << "\n";
      return usage_error;
    }
    if (*saved && (*saved)->finished) {
      std::cerr << "arachne crawl: --state: the distributed crawl in '" << dir
                << "' is finished; give a new directory to crawl again\n";
      return usage_error;
    }
    resuming = saved->has_value();
    if (resuming)
      std::cerr << "arachne crawl: resuming distributed crawl " << (*saved)->crawl_id << " from "
                << dir << "\n";
  } else if (auto& dir = cfg.crawl.scope.state_dir; !dir.empty()) {
    auto info = check_state_dir(dir);
    if (!info) {
      std::cerr << "arachne crawl: " << info.error().context().get_as<std::string>(0) << "\n";
      return usage_error;
    }
    resuming = info->exists;
    if (resuming) {
      if (auto s = read_state(dir))
        std::cerr << "arachne crawl: resuming the crawl in " << dir << ": " << s->total.queued
                  << " queued, " << s->total.taken << " taken up before it stopped (fetched again), "
                  << s->total.done << " done\n";
    }
  }
  // A distributed crawl: TLS (or --insecure-cluster) to its nodes. With
  // --cluster-sinks=local the nodes write to their own --out, not this one.
  auto& cluster = cfg.crawl.cluster;
  if (!cluster.nodes.empty()) {
    if (auto err = cfg.enable_cluster(); !err.empty()) {
      std::cerr << "arachne crawl: " << err << "\n";
      return usage_error;
    }
    for (auto& n : cluster.nodes)
      if (!parse_endpoint(n)) {
        std::cerr << "arachne crawl: option --cluster expects HOST:PORT, not '" << n << "'\n";
        return usage_error;
      }
    if (cluster.sinks == cluster_sinks::local)
      outs.clear();
  }
  // Remote sinks need CAF's network layer; heartbeats notice a dead peer.
  if (!remote_sinks.empty()) {
    cfg.enable_network();
    if (cluster.nodes.empty()) {
      cfg.set("middleman.heartbeat-interval", caf::timespan{std::chrono::seconds(1)});
      cfg.set("middleman.connection-timeout", caf::timespan{std::chrono::seconds(10)});
    }
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  int rc = 0;
  {
    caf::actor_system sys{cfg};
    crawl c{sys, cfg};
    std::vector<sink_actor> sinks;
    for (auto& spec : outs) {
      auto sink = open_sink(sys, spec, warc_max_size, resuming);
      if (!sink) {
        std::cerr << "arachne crawl: " << sink.error().context().get_as<std::string>(0) << "\n";
        for (auto& opened : sinks)
          caf::anon_send_exit(opened, caf::exit_reason::user_shutdown);
        return usage_error;
      }
      sinks.push_back(*sink);
      // Opened again after a failure (--on-sink-failure=restart), it appends.
      c.add_sink([&sys, &sinks, spec, warc_max_size, first = *sink]() mutable -> caf::expected<sink_actor> {
        if (first) {
          auto s = std::move(first);
          first = sink_actor{};
          return s;
        }
        auto again = open_sink(sys, spec, warc_max_size, true);
        if (again)
          sinks.push_back(*again);
        return again;
      });
    }
    for (auto& where : remote_sinks) {
      caf::expected<sink_actor> remote = caf::make_error(caf::sec::invalid_argument, "expects HOST:PORT");
      if (auto ep = parse_endpoint(where))
        remote = caf::io::remote_actor<sink_actor>(sys, ep->first, ep->second);
      if (!remote) {
        std::cerr << "arachne crawl: --sink-remote=" << where << ": " << sys.render(remote.error())
                  << "\n";
        for (auto& opened : sinks)
          caf::anon_send_exit(opened, caf::exit_reason::user_shutdown);
        return usage_error;
      }
      outs.push_back("remote:" + where); // names it in the report
      c.add_sink(*remote);
    }
    auto last_print = std::chrono::steady_clock::now();
    c.on_progress(
      [&](const crawl_progress& p) {
        if (interrupted)
          c.stop();
        if (!progress || std::chrono::steady_clock::now() - last_print < std::chrono::seconds(1))
          return;
        last_print = std::chrono::steady_clock::now();
        auto secs = std::chrono::duration<double>(p.elapsed).count();
        std::cerr << std::fixed << std::setprecision(1) << "\r[" << secs << "s] " << p.pages
                  << " pages, " << p.failures << " failures, " << p.queued << " queued, "
                  << p.in_flight << " in flight, " << (secs > 0 ? p.pages / secs : 0.0)
                  << " pages/s";
        if (p.proxies > 0)
          std::cerr << ", proxies " << p.proxies_usable << "/" << p.proxies << " usable";
        std::cerr << "   " << std::flush;
      },
      std::chrono::milliseconds(100));
    auto report = c.run(cfg.positional);
    // The sinks end with the crawl (remote nodes may still hold handles).
    for (auto& s : sinks)
      caf::anon_send_exit(s, caf::exit_reason::user_shutdown);
    if (progress)
      std::cerr << "\n";
    if (!report) {
      auto& ctx = report.error().context();
      std::cerr << "arachne crawl: "
                << (ctx.match_elements<std::string>() ? ctx.get_as<std::string>(0)
                                                      : sys.render(report.error()))
                << "\n";
      rc = usage_error;
    } else {
      print_report(std::cout, *report, outs);
      auto sink_lost = std::any_of(report->sink_failures.begin(), report->sink_failures.end(),
                                   [](auto& f) { return !f.working; });
      auto& dir = cfg.crawl.scope.state_dir;
      if (!report->state_error.empty())
        std::cout << "  state store FAILED: " << report->state_error << "\n  the crawl stopped; "
                  << "what " << dir << " holds is intact: free space and run the same command to resume\n";
      else if (report->interrupted && !dir.empty() && cfg.crawl.cluster.nodes.empty())
        std::cout << "  state kept in " << dir << ": run the same command to resume\n";
      rc = sink_lost || !report->state_error.empty() || !report->node_failures.empty() ? 1
           : report->interrupted                                                          ? 130
                                                                                          : 0;
    }
  }
  return rc;
}

} // namespace arachne::cli
