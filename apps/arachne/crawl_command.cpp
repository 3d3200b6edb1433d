// `arachne crawl SEED...`: a whole crawl from the command line, on the same
// facade programs use.

#include <csignal>
#include <cstdio>
#include <iomanip>
#include <iostream>

#include <sys/resource.h>
#include <unistd.h>

#include "caf/actor_system.hpp"

#include "arachne/crawl.hpp"

#include "commands.hpp"
#include "sinks/jsonl_sink.hpp"

namespace arachne::cli {

namespace {

volatile std::sig_atomic_t interrupted = 0;

void on_signal(int) {
  interrupted = 1;
}

void print_report(std::ostream& out, const crawl_report& r) {
  auto secs = std::chrono::duration<double>(r.elapsed).count();
  auto& t = r.tally;
  out << std::fixed << std::setprecision(1) << "crawl " << (r.interrupted ? "interrupted" : "finished")
      << " after " << secs << "s\n"
      << "  records " << t.records << " (pages " << t.pages << ", failures " << t.failures
      << ", items " << t.items << ")\n"
      << "  urls seen " << r.seen << ", links not followed " << r.dropped << "\n"
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
  bool progress = ::isatty(2) != 0;
  cfg.options()
    .section("crawl")
    .add("out", outs, "where records go: jsonl:PATH (PATH - is standard output); repeatable")
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
  std::vector<std::string> jsonl_paths;
  for (auto& o : outs) {
    if (o.rfind("jsonl:", 0) != 0 || o.size() == 6) {
      std::cerr << "arachne crawl: option --out expects jsonl:PATH, not '" << o << "'\n";
      return usage_error;
    }
    auto path = o.substr(6);
    if (path != "-") {
      std::FILE* f = std::fopen(path.c_str(), "w");
      if (f == nullptr) {
        std::cerr << "arachne crawl: cannot write '" << path << "'\n";
        return usage_error;
      }
      std::fclose(f);
    }
    jsonl_paths.push_back(path);
  }
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  int rc = 0;
  {
    caf::actor_system sys{cfg};
    crawl c{sys, cfg};
    for (auto& path : jsonl_paths)
      c.add_sink(sys.spawn(jsonl_sink, path));
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
      print_report(std::cout, *report);
      rc = report->interrupted ? 130 : 0;
    }
  }
  return rc;
}

} // namespace arachne::cli
