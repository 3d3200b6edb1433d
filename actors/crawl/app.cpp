// Running a crawler program as `arachne crawl` runs: its options, the
// checks before anything is written, the sinks, the progress line, the
// report and the exit code. `arachne crawl` is this with no setup.

#include "arachne/app.hpp"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <optional>

#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "caf/actor_system.hpp"
#include "caf/send.hpp"
#include "caf/io/middleman.hpp"
#include "caf/io/remote_actor.hpp"

#include "arachne/crawl.hpp"
#include "arachne/sinks/sinks.hpp"
#include "arachne/state/journal.hpp"

#include "cluster/cluster.hpp"

namespace arachne {

namespace {

volatile std::sig_atomic_t interrupted = 0;

// The first SIGINT or SIGTERM stops gracefully, the second at once.
void on_signal(int) {
  interrupted = interrupted + 1;
}

// -- the report --

// What the cookie jar took and refused, if servers set any.
std::string cookie_line(const cookie_stats& c) {
  if (c.stored + c.removed + c.malformed + c.rejected == 0)
    return {};
  return "  cookies " + std::to_string(c.stored) + " stored, " + std::to_string(c.removed)
         + " removed, " + std::to_string(c.rejected) + " refused, " + std::to_string(c.malformed)
         + " malformed, " + std::to_string(c.evicted) + " evicted by limits\n";
}

// Links not followed, by why: only the reasons a crawl met are named.
std::string cuts_text(const link_cuts& c) {
  auto n = [](uint64_t x) { return std::to_string(x); };
  auto s = "links not followed " + n(c.distinct());
  if (c.budget + c.traps > 0)
    s += " (out of scope " + n(c.scope) + ", over a page budget " + n(c.budget) + ", traps "
         + n(c.traps) + ")";
  if (c.past_depth > 0)
    s += ", links on pages at --max-depth " + n(c.past_depth);
  return s;
}

// The counts of every crawl: records, statuses, errors, hosts, cost.
void print_totals(std::ostream& out, const crawl_report& r) {
  auto secs = std::chrono::duration<double>(r.elapsed).count();
  auto& t = r.tally;
  out << std::fixed << std::setprecision(1) << "crawl " << (r.interrupted ? "interrupted" : "finished")
      << " after " << secs << "s\n"
      << "  records " << t.records << " (pages " << t.pages << ", failures " << t.failures
      << ", items " << t.items
      << (r.items_dropped > 0 ? ", " + std::to_string(r.items_dropped) + " dropped by the pipeline"
                              : std::string{})
      << ")\n"
      << "  urls seen " << r.seen << ", " << cuts_text(r.cut) << "\n"
      << (r.resumed > 0 ? "  resumed " + std::to_string(r.resumed)
                            + " URLs taken up before the crash (marked \"resumed\": may be recorded twice)\n"
                        : std::string{})
      << (r.due > 0 ? "  continuous: " + std::to_string(r.due) + " URLs came due again\n"
                    : std::string{})
      << (r.pass > 1 || r.revisits > 0 ? "  re-crawl (pass " + std::to_string(r.pass) + "): "
                           + std::to_string(r.revisits) + " pages fetched again, "
                           + std::to_string(r.changed) + " changed, "
                           + std::to_string(r.unchanged) + " unchanged ("
                           + std::to_string(r.not_modified) + " answered 304), "
                           + std::to_string(r.gone) + " gone\n"
                     : std::string{})
      << cookie_line(r.cookies)
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
}

// Sinks that failed, named by their --out (or "remote:HOST:PORT").
void print_sink_failures(std::ostream& out, const crawl_report& r, const std::vector<std::string>& outs) {
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
}

// A distributed crawl: each node's share, and the messages between shards.
void print_nodes(std::ostream& out, const crawl_report& r) {
  if (r.nodes.empty())
    return;
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
  auto& t = r.tally;
  out << "  messages between shards: " << r.link_batches << " link batches, " << r.guard_batches
      << " guard batches (" << std::setprecision(3)
      << (t.pages > 0 ? static_cast<double>(r.link_batches + r.guard_batches) / t.pages : 0.0)
      << " per page)\n";
}

// Nodes that came and went during the crawl, and what moved with them.
void print_cluster_changes(std::ostream& out, const crawl_report& r) {
  if (r.coordinator_resumed)
    out << "  resumed by a restarted coordinator: the counts above are of what reached it\n";
  for (auto& n : r.nodes_joined)
    out << "  joined node " << n << "\n";
  if (r.placed_hosts > 0)
    out << "  " << r.placed_hosts << " hosts moved from the busiest node to one out of work\n";
  if (!r.nodes_joined.empty() || r.placed_hosts > 0)
    out << "  " << r.moved_hosts << " sites and " << r.moved_urls << " queued URLs moved to "
        << (r.placed_hosts == 0      ? "joined nodes"
            : r.nodes_joined.empty() ? "other nodes"
                                     : "joined and other nodes")
        << "\n";
  for (auto& n : r.nodes_lost)
    out << "  lost node " << n << "\n";
  if (!r.nodes_lost.empty())
    out << "  " << r.reowned << " URLs of lost nodes went to the others (those in flight there "
        << "may be recorded twice, marked \"resumed\")\n";
  for (auto& f : r.node_failures)
    out << "  cluster FAILED: " << f << "\n";
}

void print_proxies(std::ostream& out, const crawl_report& r) {
  if (r.proxies.empty())
    return;
  out << "  proxies\n";
  for (auto& p : r.proxies)
    out << "    " << p.label << ": " << p.state << ", " << p.requests << " requests, "
        << p.successes << " ok, " << p.failures << " failed, " << p.bans << " bans, "
        << p.quarantines << " quarantines, median " << std::setprecision(0)
        << std::chrono::duration<double, std::milli>(p.median_latency).count() << " ms\n";
}

} // namespace

void print_report(std::ostream& out, const crawl_report& r, const std::vector<std::string>& outs) {
  print_totals(out, r);
  print_sink_failures(out, r, outs);
  print_nodes(out, r);
  print_cluster_changes(out, r);
  print_proxies(out, r);
}

namespace {

// The progress line on standard error; `\r` keeps it on one line.
void print_progress(const crawl_progress& p) {
  auto secs = std::chrono::duration<double>(p.elapsed).count();
  std::cerr << std::fixed << std::setprecision(1) << "\r[" << secs << "s] " << p.pages
            << " pages, " << p.failures << " failures, " << p.queued << " queued, "
            << p.in_flight << " in flight, " << (secs > 0 ? p.pages / secs : 0.0)
            << " pages/s";
  if (p.revisits > 0 || p.due > 0)
    std::cerr << ", " << p.due << " due, " << p.changed << " changed, " << p.unchanged
              << " unchanged, " << p.gone << " gone";
  if (p.proxies > 0)
    std::cerr << ", proxies " << p.proxies_usable << "/" << p.proxies << " usable";
  std::cerr << "   " << std::flush;
}

// -- setting up --

constexpr int usage_error = 2;

// What a crawler program (`arachne crawl` too) adds to the common options.
struct crawl_args {
  std::vector<std::string> outs;
  uint64_t warc_max_size = default_warc_max_bytes;
  std::vector<std::string> remote_sinks;
  bool progress = ::isatty(2) != 0;
  bool overwrite = false; // an existing JSONL or WARC output is replaced
  bool append = false;    // ... added to
};

void add_options(config& cfg, crawl_args& a) {
  cfg.options()
    .section("crawl")
    .add("out", a.outs,
         "sinks: jsonl:PATH (.gz compresses, - is stdout), sqlite:PATH, warc:PATH.warc[.gz], "
         "null, stats; repeatable")
    .add_size("warc-max-size", a.warc_max_size, "a WARC file this large is closed and the next begun")
    .add("sink-remote", a.remote_sinks,
         "HOST:PORT of an 'arachne sink-node' that gets every record too; repeatable")
    .add("progress", a.progress, "show a progress line on standard error")
    .default_shown("if standard error is a terminal")
    .add("overwrite", a.overwrite,
         "replace JSONL and WARC output files that exist (without it or --append, a crawl "
         "refuses to start)")
    .add("append", a.append,
         "add to JSONL and WARC output files that exist (records carry their crawl_id); "
         "SQLite always adds");
}

// Whether the crawl resumes the one in --state (its sinks are then added to,
// not replaced). A directory that is not a state store is refused, with
// nothing returned, before any output file is touched.
std::optional<bool> resumes(const config& cfg, const std::string& name) {
  auto& dir = cfg.crawl.run.state_dir;
  auto& run = cfg.crawl.run;
  auto option = run.recrawl ? "--recrawl" : "--recrawl-every";
  if ((run.recrawl || run.continuous()) && dir.empty()) {
    std::cerr << name << ": " << option << " needs --state (where the crawl keeps its URLs)\n";
    return std::nullopt;
  }
  if ((run.recrawl || run.continuous()) && !cfg.crawl.cluster.nodes.empty()) {
    std::cerr << name << ": " << option << " is not available with --cluster yet\n";
    return std::nullopt;
  }
  if (run.continuous() && run.recrawl_min > run.recrawl_max) {
    std::cerr << name << ": --recrawl-min is longer than --recrawl-max\n";
    return std::nullopt;
  }
  if (run.continuous()
      && (run.recrawl_min < std::chrono::milliseconds(1) || run.recrawl_max > std::chrono::hours(24 * 3650))) {
    std::cerr << name << ": --recrawl-min must be 1ms or more and --recrawl-max 10 years or less\n";
    return std::nullopt;
  }
  if (dir.empty())
    return false;
  if (!cfg.crawl.cluster.nodes.empty()) {
    // A distributed crawl: the directory holds the coordinator's state.
    auto saved = read_coordinator_state(dir);
    if (!saved) {
      std::cerr << name << ": " << saved.error().context().get_as<std::string>(0) << "\n";
      return std::nullopt;
    }
    if (*saved && (*saved)->finished) {
      std::cerr << name << ": --state: the distributed crawl in '" << dir
                << "' is finished; give a new directory to crawl again\n";
      return std::nullopt;
    }
    if (saved->has_value())
      std::cerr << name << ": resuming distributed crawl " << (*saved)->crawl_id << " from "
                << dir << "\n";
    return saved->has_value();
  }
  auto info = check_state_dir(dir);
  if (!info) {
    std::cerr << name << ": " << info.error().context().get_as<std::string>(0) << "\n";
    return std::nullopt;
  }
  for (auto& note : info->notes)
    std::cerr << name << ": --state: " << note << "\n";
  if (info->exists) {
    if (auto s = read_state(dir); s && cfg.crawl.run.recrawl && s->finished)
      std::cerr << name << ": crawling again the " << s->total.done << " URLs of the crawl in "
                << dir << " (pass " << s->pass + 1 << ")\n";
    else if (s)
      std::cerr << name << ": resuming the crawl in " << dir << ": " << s->total.queued
                << " queued, " << s->total.taken << " taken up before it stopped (fetched again), "
                << s->total.done << " done\n";
  }
  return info->exists;
}

// A distributed crawl: TLS (or --insecure-cluster) to its nodes. With
// --cluster-sinks=local the nodes write to their own --out, not this one.
// Remote sinks need CAF's network layer; heartbeats notice a dead peer.
// False (after saying why) if the cluster options are wrong.
bool prepare_network(config& cfg, crawl_args& a, const std::string& name) {
  auto& cluster = cfg.crawl.cluster;
  if (!cluster.nodes.empty()) {
    if (auto err = cfg.enable_cluster(); !err.empty()) {
      std::cerr << name << ": " << err << "\n";
      return false;
    }
    if (cluster.insecure) // (as the nodes say when they listen)
      std::cerr << name << ": warning: --insecure-cluster: cluster traffic is plaintext and "
                   "unauthenticated; use it on a trusted network only\n";
    for (auto& n : cluster.nodes)
      if (!parse_endpoint(n)) {
        std::cerr << name << ": option --cluster expects HOST:PORT, not '" << n << "'\n";
        return false;
      }
    if (cluster.sinks == cluster_sinks::local)
      a.outs.clear();
  }
  if (!a.remote_sinks.empty()) {
    cfg.enable_network();
    if (cluster.nodes.empty()) {
      cfg.set("middleman.heartbeat-interval", caf::timespan{std::chrono::seconds(1)});
      cfg.set("middleman.connection-timeout", caf::timespan{std::chrono::seconds(10)});
    }
  }
  return true;
}

// -- running --

void stop_sinks(const std::vector<sink_actor>& sinks) {
  for (auto& s : sinks)
    caf::anon_send_exit(s, caf::exit_reason::user_shutdown);
}

// Opens the --out sinks and adds them to the crawl, each with a way to open
// it again after a failure (--on-sink-failure=restart), appending. False
// (after saying why) if one does not open.
bool add_local_sinks(caf::actor_system& sys, crawl& c, std::vector<sink_actor>& sinks,
                     const crawl_args& a, bool resuming, const std::string& name) {
  for (auto& spec : a.outs) {
    auto sink = open_sink(sys, spec, a.warc_max_size, resuming || a.append);
    if (!sink) {
      std::cerr << name << ": " << sink.error().context().get_as<std::string>(0) << "\n";
      return false;
    }
    sinks.push_back(*sink);
    c.add_sink([&sys, &sinks, spec, warc_max_size = a.warc_max_size,
                first = *sink]() mutable -> caf::expected<sink_actor> {
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
  return true;
}

// Connects to the --sink-remote nodes and adds them to the crawl, each
// named in `a.outs` for the report. False (after saying why) if one fails.
bool add_remote_sinks(caf::actor_system& sys, crawl& c, crawl_args& a,
                      const std::string& name) {
  for (auto& where : a.remote_sinks) {
    caf::expected<sink_actor> remote = caf::make_error(caf::sec::invalid_argument, "expects HOST:PORT");
    if (auto ep = parse_endpoint(where))
      remote = caf::io::remote_actor<sink_actor>(sys, ep->first, ep->second);
    if (!remote) {
      std::cerr << name << ": --sink-remote=" << where << ": " << sys.render(remote.error())
                << "\n";
      return false;
    }
    a.outs.push_back("remote:" + where); // names it in the report
    c.add_sink(*remote);
  }
  return true;
}

// An existing output file is never replaced unasked: a JSONL or WARC file
// that holds something needs --overwrite or --append (a resumed crawl
// appends); a database (sqlite:) is added to, its rows carrying their
// crawl_id. Sets `append` as chosen; false (after saying why) if refused.
bool check_outputs(crawl_args& a, bool resuming, const std::string& name) {
  if (a.overwrite && a.append) {
    std::cerr << name << ": --overwrite and --append exclude each other\n";
    return false;
  }
  if (resuming || a.overwrite || a.append)
    return true;
  for (auto& spec : a.outs) {
    auto colon = spec.find(':');
    auto kind = spec.substr(0, colon);
    if (colon == std::string::npos || (kind != "jsonl" && kind != "warc"))
      continue;
    auto path = spec.substr(colon + 1);
    struct stat st{};
    if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
      std::cerr << name << ": --out=" << spec << ": '" << path << "' exists ("
                << st.st_size << " bytes): --overwrite replaces it, --append adds to it\n";
      return false;
    }
  }
  return true;
}

// True if the sink `spec` writes standard output (jsonl:-).
bool writes_stdout(const std::string& spec) {
  return spec == "jsonl:-" || spec == "jsonl:/dev/stdout";
}

// A seed typed without its scheme: "example.com", "localhost:8080/a"
// (which a URL parser reads as scheme "localhost"). A URL with another
// scheme ("mailto:x") is a seed like any other: its record says why it was
// not crawled.
bool lacks_scheme(std::string_view seed) {
  if (seed.find("://") != std::string_view::npos)
    return false;
  auto colon = seed.find(':');
  return colon == std::string_view::npos
         || (colon + 1 < seed.size() && seed[colon + 1] >= '0' && seed[colon + 1] <= '9');
}

// Reports how the crawl went and returns the exit code: 1 if records or
// state were lost or no URL got an answer (every seed failed), 130 if
// interrupted, 2 if it could not start.
int finish(caf::actor_system& sys, const config& cfg, const caf::expected<crawl_report>& report,
           const std::vector<std::string>& outs, const std::string& name) {
  if (!report) {
    auto& ctx = report.error().context();
    std::cerr << name << ": "
              << (ctx.match_elements<std::string>() ? ctx.get_as<std::string>(0)
                                                    : sys.render(report.error()))
              << "\n";
    return usage_error;
  }
  // With records on standard output, the report goes to standard error.
  auto& out = std::any_of(outs.begin(), outs.end(), writes_stdout) ? std::cerr : std::cout;
  print_report(out, *report, outs);
  auto sink_lost = std::any_of(report->sink_failures.begin(), report->sink_failures.end(),
                               [](auto& f) { return !f.working; });
  auto& dir = cfg.crawl.run.state_dir;
  if (!report->state_error.empty())
    out << "  state store FAILED: " << report->state_error << "\n  the crawl stopped; "
              << "what " << dir << " holds is intact: free space and run the same command to resume\n";
  else if (report->interrupted && !dir.empty() && cfg.crawl.cluster.nodes.empty())
    out << "  state kept in " << dir << ": run the same command to resume\n";
  // Nothing answered: a dead or unreachable site, an untrusted certificate,
  // bad seeds. A cron job sees it in the exit code.
  auto nothing = report->tally.records > 0 && report->tally.pages == 0 && !report->interrupted;
  if (nothing)
    std::cerr << name << ": no URL got an answer: every seed failed (their records say why)\n";
  return sink_lost || !report->state_error.empty() || !report->node_failures.empty() || nothing ? 1
         : report->interrupted ? 130
                               : 0;
}

// Runs the crawl with the program's setup, its sinks and progress line;
// returns the exit code.
int run_crawl(config& cfg, crawl_args& a, bool resuming, const std::string& name,
              const app_setup& setup) {
  caf::actor_system sys{cfg};
  crawl c{sys, cfg};
  if (setup) {
    try {
      setup(sys, c);
    } catch (const std::exception& e) {
      std::cerr << name << ": " << e.what() << "\n";
      return 1;
    }
  }
  std::vector<sink_actor> sinks;
  if (!add_local_sinks(sys, c, sinks, a, resuming, name) || !add_remote_sinks(sys, c, a, name)) {
    stop_sinks(sinks);
    return usage_error;
  }
  auto last_print = std::chrono::steady_clock::now();
  c.on_progress(
    [&](const crawl_progress& p) {
      if (interrupted > 1)
        c.stop_now();
      else if (interrupted)
        c.stop();
      if (!a.progress || std::chrono::steady_clock::now() - last_print < std::chrono::seconds(1))
        return;
      last_print = std::chrono::steady_clock::now();
      print_progress(p);
    },
    std::chrono::milliseconds(100));
  auto report = c.run(cfg.positional);
  // The sinks end with the crawl (remote nodes may still hold handles).
  stop_sinks(sinks);
  if (a.progress)
    std::cerr << "\n";
  return finish(sys, cfg, report, a.outs, name);
}

} // namespace

int run_app(const std::vector<std::string>& args, const app_info& info, const app_setup& setup) {
  auto& name = info.name;
  config cfg;
  crawl_args a;
  a.outs = info.outs;
  add_options(cfg, a);
  if (auto err = cfg.parse_args(args); !err.empty()) {
    std::cerr << name << ": " << err << "\n";
    return usage_error;
  }
  if (cfg.markdown_help_requested) {
    cfg.options().print_markdown(std::cout);
    return 0;
  }
  if (cfg.help_requested) {
    std::cout << info.usage;
    cfg.options().print_help(std::cout);
    return 0;
  }
  if (cfg.positional.empty()) {
    std::cerr << name << ": expects at least one seed URL (see --help)\n";
    return usage_error;
  }
  for (auto& seed : cfg.positional)
    if (lacks_scheme(seed)) {
      std::cerr << name << ": seed '" << seed << "' has no scheme: give it as http://" << seed
                << " or https://" << seed << "\n";
      return usage_error;
    }
  auto resuming = resumes(cfg, name);
  if (!resuming || !prepare_network(cfg, a, name) || !check_outputs(a, *resuming, name))
    return usage_error;
  std::signal(SIGINT, on_signal);
  std::signal(SIGTERM, on_signal);
  return run_crawl(cfg, a, *resuming, name, setup);
}

int run_app(int argc, char** argv, const app_info& info, const app_setup& setup) {
  return run_app(std::vector<std::string>(argv + std::min(argc, 1), argv + argc), info, setup);
}

} // namespace arachne
