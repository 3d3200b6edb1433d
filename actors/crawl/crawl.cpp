// The crawl facade: wires the actors together, detects the end of the crawl,
// and reports.

#include "arachne/crawl.hpp"
#include "arachne/json.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <random>
#include <regex>

#include "caf/actor_system.hpp"
#include "caf/scoped_actor.hpp"

#include "fetcher/fetcher.hpp"
#include "proxy_manager/proxy_manager.hpp"
#include "frontier/frontier.hpp"
#include "frontier/journal.hpp"
#include "parser/parser.hpp"
#include "sinks/stats_sink.hpp"

namespace arachne {

double crawl_report::pages_per_second() const {
  auto s = std::chrono::duration<double>(elapsed).count();
  return s > 0 ? static_cast<double>(tally.pages) / s : 0.0;
}

struct crawl::impl {
  impl(caf::actor_system& s, const settings& c) : sys(s), cfg(c) {}

  caf::actor_system& sys;
  settings cfg;
  std::shared_ptr<const page_handler> handler;
  std::vector<sink_actor> sinks;
  std::vector<std::function<caf::expected<sink_actor>()>> reopen; // per sink; empty if none
  caf::error sink_open_failed;
  std::function<void(const crawl_progress&)> progress;
  caf::timespan progress_every{std::chrono::seconds(1)};
  std::atomic<bool> stop_requested{false};
};

crawl::crawl(caf::actor_system& sys, const config& cfg)
  : impl_(std::make_unique<impl>(sys, cfg.crawl)) {}

crawl::~crawl() = default;

void crawl::on_page(page_handler handler) {
  impl_->handler = std::make_shared<const page_handler>(std::move(handler));
}

void crawl::add_sink(sink_actor sink) {
  impl_->sinks.push_back(std::move(sink));
  impl_->reopen.emplace_back();
}

void crawl::add_sink(std::function<caf::expected<sink_actor>()> open) {
  auto sink = open();
  if (!sink) {
    impl_->sink_open_failed = std::move(sink.error());
    return;
  }
  impl_->sinks.push_back(std::move(*sink));
  impl_->reopen.push_back(std::move(open));
}

void crawl::on_progress(std::function<void(const crawl_progress&)> f, caf::timespan every) {
  impl_->progress = std::move(f);
  impl_->progress_every = every;
}

void crawl::stop() {
  impl_->stop_requested = true;
}

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

/// The first error the shards report for sink `i`, or empty.
std::string sink_error(const std::vector<frontier_stats>& stats, std::size_t i) {
  for (auto& st : stats)
    if (i < st.sink_errors.size() && !st.sink_errors[i].empty())
      return st.sink_errors[i];
  return {};
}

/// Records lost to sink `i` over all shards.
uint64_t sink_lost(const std::vector<frontier_stats>& stats, std::size_t i) {
  uint64_t n = 0;
  for (auto& st : stats)
    if (i < st.sink_lost.size())
      n += st.sink_lost[i];
  return n;
}

crawl_report::sink_failure& failure_of(crawl_report& report, std::size_t i) {
  for (auto& f : report.sink_failures)
    if (f.sink == i)
      return f;
  report.sink_failures.push_back({i, {}, 0, 0, false});
  return report.sink_failures.back();
}

} // namespace

caf::expected<crawl_report> crawl::run(const std::vector<std::string>& seeds) {
  auto& d = *impl_;
  auto& sys = d.sys;
  auto start = std::chrono::steady_clock::now();
  // Patterns are checked here so that a bad one is an error, not a crash.
  for (auto* list : {&d.cfg.scope.allow, &d.cfg.scope.deny})
    for (auto& re : *list) {
      try {
        std::regex check{re, std::regex::ECMAScript};
      } catch (const std::regex_error& e) {
        return caf::make_error(caf::sec::invalid_argument,
                               "invalid pattern '" + re + "': " + e.what());
      }
    }
  auto threads = std::max<std::size_t>(1, sys.scheduler().num_workers());
  auto shard_count = d.cfg.scope.shards != 0 ? d.cfg.scope.shards : threads;
  // The state store: one file per shard; a crawl found there is resumed
  // with its shard count (the partition must stay the same).
  std::vector<std::shared_ptr<frontier_journal>> journals;
  std::unique_ptr<state_dir_lock> state_lock;
  bool resuming = false;
  if (!d.cfg.scope.state_dir.empty()) {
    auto lock = state_dir_lock::acquire(d.cfg.scope.state_dir);
    if (!lock)
      return std::move(lock.error());
    state_lock = std::move(*lock);
    auto info = check_state_dir(d.cfg.scope.state_dir, false);
    if (!info)
      return std::move(info.error());
    resuming = info->exists;
    if (resuming && d.cfg.scope.shards == 0)
      shard_count = info->shards;
    for (std::size_t i = 0; i < shard_count; ++i) {
      auto j = frontier_journal::open(d.cfg.scope.state_dir, static_cast<uint32_t>(i),
                                      static_cast<uint32_t>(shard_count));
      if (!j)
        return std::move(j.error());
      journals.emplace_back(std::move(*j));
    }
  }
  auto client = http_client::make(d.cfg.http);
  if (!client)
    return std::move(client.error());
  caf::scoped_actor self{sys};
  // Sinks: the user's, plus the one that tallies for the report.
  auto tally_sink = sys.spawn(stats_sink);
  if (d.sink_open_failed) {
    caf::anon_send_exit(tally_sink, caf::exit_reason::user_shutdown);
    (*client)->stop();
    return caf::make_error(caf::sec::runtime_error,
                           "a sink failed to open: " + sys.render(d.sink_open_failed));
  }
  auto sinks = d.sinks;
  sinks.push_back(caf::actor_cast<sink_actor>(tally_sink));
  auto reopen = d.reopen;
  reopen.emplace_back();
  crawl_info info;
  info.seeds = seeds;
  info.user_agent = d.cfg.http.user_agent;
  info.started_at = caf::make_timestamp();
  {
    std::random_device rd;
    char id[32];
    std::snprintf(id, sizeof id, "%08x%08x", rd(), rd());
    info.crawl_id = id;
  }
  // Every sink says what its records must carry; a sink that cannot open
  // stops the crawl before it starts.
  sink_needs needs;
  caf::error open_failed;
  for (auto& s : sinks)
    self->request(s, std::chrono::seconds(30), open_atom::value, info)
      .receive([&](const sink_needs& n) { needs |= n; },
               [&](caf::error& err) { open_failed = std::move(err); });
  if (open_failed) {
    caf::anon_send_exit(tally_sink, caf::exit_reason::user_shutdown);
    (*client)->stop();
    return caf::make_error(caf::sec::runtime_error,
                           "a sink failed to open: " + sys.render(open_failed));
  }
  // Fetchers and parsers, shared by all shards.
  std::vector<caf::actor> owned;
  // The proxy pool, if any: one manager judges every proxy for all fetchers.
  auto proxies = spawn_proxy_manager(sys, d.cfg.proxies);
  if (proxies)
    owned.push_back(caf::actor_cast<caf::actor>(proxies));
  auto fopts = make_fetcher_options(d.cfg.proxies, proxies);
  std::vector<fetcher_actor> fetchers;
  for (std::size_t i = 0; i < threads; ++i) {
    auto f = sys.spawn(fetcher, client->get(), fopts);
    fetchers.push_back(f);
    owned.push_back(caf::actor_cast<caf::actor>(f));
  }
  parser_options popts{d.cfg.url_rules(), d.cfg.scope.follow_nofollow};
  std::vector<parser_actor> parsers;
  auto parser_count = d.cfg.scope.parsers != 0 ? d.cfg.scope.parsers : threads;
  for (std::size_t i = 0; i < parser_count; ++i) {
    auto p = sys.spawn(parser, popts, d.handler);
    parsers.push_back(p);
    owned.push_back(caf::actor_cast<caf::actor>(p));
  }
  // Shards, one partition over all of them.
  std::vector<shard_id> ids;
  for (std::size_t i = 0; i < shard_count; ++i)
    ids.push_back(i);
  partition_map partition{ids};
  frontier_config fcfg;
  fcfg.scope = d.cfg.scope;
  fcfg.politeness = d.cfg.politeness;
  fcfg.urls = d.cfg.url_rules();
  fcfg.user_agent = d.cfg.http.user_agent;
  fcfg.max_redirects = d.cfg.http.max_redirects;
  fcfg.needs = needs;
  auto restart = d.cfg.scope.on_sink_failure == "restart";
  fcfg.hold_for_restart = restart;
  fcfg.queue_memory = std::max<uint64_t>(1, d.cfg.scope.queue_memory);
  std::vector<frontier_actor> shards;
  for (std::size_t i = 0; i < shard_count; ++i) {
    fcfg.journal = journals.empty() ? nullptr : std::move(journals[i]);
    auto s = sys.spawn(frontier, fcfg, static_cast<uint32_t>(i), partition, fetchers, parsers, sinks);
    shards.push_back(s);
    owned.push_back(caf::actor_cast<caf::actor>(s));
  }
  fcfg.journal.reset(); // each shard owns its store alone
  for (auto& s : shards)
    caf::anon_send(caf::actor_cast<frontier_impl>(s), caf::put_atom::value, shards);
  // Seeds go to the shards that own their hosts; invalid ones are records.
  std::vector<link_batch> seed_batches(shards.size());
  record_batch invalid;
  for (auto& s : seeds) {
    auto u = parse_url(s, d.cfg.url_rules());
    if (!u) {
      record r;
      r.kind = record::kind_t::failure;
      r.url = s;
      r.final_url = s;
      auto kind = crawl_errc_of(u.error());
      r.error = kind ? *kind : crawl_errc::invalid_url;
      if (u.error().context().match_elements<std::string>())
        r.error_message = u.error().context().get_as<std::string>(0);
      r.fetched_at = caf::make_timestamp();
      invalid.records.push_back(std::move(r));
      continue;
    }
    auto owner = partition.owner_index(url_host(u->str()));
    seed_batches[owner].links.push_back(crawl_request{u->str(), 0, {}, 0, 0, 0});
  }
  // (A resumed crawl recorded them the first time.)
  if (!invalid.records.empty() && !resuming)
    for (auto& s : sinks)
      self->request(s, std::chrono::seconds(30), invalid).receive([](const ack&) {}, [](caf::error&) {});
  for (std::size_t i = 0; i < shards.size(); ++i)
    if (!seed_batches[i].links.empty())
      self->send(shards[i], seed_atom::value, std::move(seed_batches[i]));
  // Poll until every shard is idle and no link batch is in transit: the sums
  // of batches sent and received agree, twice in a row with nothing changed.
  crawl_report report;
  bool stop_sent = false;
  std::vector<bool> given_up(sinks.size(), false);
  std::vector<frontier_stats> last;
  auto next_progress = std::chrono::steady_clock::now() + d.progress_every;
  uint64_t seen = 0;
  uint64_t dropped = 0;
  for (;;) {
    if (d.stop_requested && !stop_sent) {
      for (auto& s : shards)
        self->send(s, stop_atom::value);
      stop_sent = true;
      report.interrupted = true;
    }
    std::vector<frontier_stats> now;
    caf::error lost;
    std::string state_failed;
    bool busy = false;
    for (auto& s : shards)
      self->request(s, std::chrono::seconds(30), stats_atom::value)
        .receive([&](frontier_stats& st) { now.push_back(st); },
                 [&](caf::error& err) {
                   // A shard that is slow to answer is busy, not gone: ask
                   // again. One that is gone fails the request at once.
                   if (err == caf::sec::request_timeout)
                     busy = true;
                   else
                     lost = std::move(err);
                 });
    if (busy && !lost)
      continue;
    if (lost) {
      // A shard is gone (it crashed): its URLs cannot end in records any
      // more, so the crawl ends here, reported as interrupted.
      std::cerr << "arachne: a frontier shard failed: " << sys.render(lost) << "\n";
      report.interrupted = true;
      break;
    }
    crawl_progress p;
    uint64_t sent = 0;
    uint64_t received = 0;
    bool idle = now.size() == shards.size();
    for (auto& st : now) {
      if (!st.state_error.empty() && state_failed.empty())
        state_failed = st.state_error;
      p.recorded += st.recorded;
      p.pages += st.pages;
      p.failures += st.failures;
      p.queued += st.queued;
      p.in_flight += st.in_flight;
      p.seen += st.seen;
      p.bytes += st.bytes;
      sent += st.batches_sent;
      received += st.batches_received;
      idle = idle && st.idle;
    }
    seen = p.seen;
    // The state store failed (a full disk): stop cleanly; what it holds resumes.
    if (!state_failed.empty() && report.state_error.empty()) {
      report.state_error = state_failed;
      d.stop_requested = true;
    }
    // A failed sink: restarted if asked and possible, else the crawl stops
    // (or goes on without it); the report says which and what it lost.
    for (std::size_t i = 0; i < sinks.size(); ++i) {
      auto err = sink_error(now, i);
      if (err.empty() || given_up[i])
        continue;
      auto& f = failure_of(report, i);
      f.error = err;
      if (restart && reopen[i] && f.restarts < 3) {
        ++f.restarts;
        auto fresh = reopen[i]();
        caf::error open_err;
        if (fresh)
          self->request(*fresh, std::chrono::seconds(30), open_atom::value, info)
            .receive([](const sink_needs&) {}, [&](caf::error& e) { open_err = std::move(e); });
        if (fresh && !open_err) {
          sinks[i] = *fresh;
          for (auto& s : shards)
            self->send(caf::actor_cast<frontier_impl>(s), caf::put_atom::value,
                       static_cast<uint32_t>(i), *fresh);
          continue;
        }
        f.error += "; restart failed: " + sys.render(fresh ? open_err : fresh.error());
      }
      if (restart || d.cfg.scope.on_sink_failure == "stop")
        d.stop_requested = true;
      if (restart) {
        // No restart after all: the shards stop holding records for it.
        given_up[i] = true;
        for (auto& s : shards)
          self->send(caf::actor_cast<frontier_impl>(s), caf::put_atom::value,
                     static_cast<uint32_t>(i), sink_actor{});
      }
    }
    dropped = 0;
    for (auto& st : now)
      dropped += st.dropped;
    auto same_as_last = [&] {
      if (last.size() != now.size())
        return false;
      for (std::size_t i = 0; i < now.size(); ++i)
        if (now[i].batches_sent != last[i].batches_sent
            || now[i].batches_received != last[i].batches_received
            || now[i].recorded != last[i].recorded || !last[i].idle)
          return false;
      return true;
    };
    if (idle && sent == received && same_as_last())
      break;
    last = std::move(now);
    p.elapsed = std::chrono::steady_clock::now() - start;
    if (d.progress && std::chrono::steady_clock::now() >= next_progress) {
      if (proxies)
        for (auto& ps : proxy_stats_of(self, proxies)) {
          ++p.proxies;
          p.proxies_usable += ps.state != "quarantined";
        }
      d.progress(p);
      next_progress = std::chrono::steady_clock::now() + d.progress_every;
    }
    self->receive(caf::after(std::chrono::milliseconds(20)) >> [] {});
  }
  // What each sink lost, batches that failed after the last poll included.
  std::vector<frontier_stats> final_stats;
  for (auto& s : shards)
    self->request(s, std::chrono::seconds(30), stats_atom::value)
      .receive([&](frontier_stats& st) { final_stats.push_back(std::move(st)); },
               [](caf::error&) {});
  std::vector<bool> failed_now(sinks.size(), false);
  for (std::size_t i = 0; i < sinks.size(); ++i) {
    auto err = sink_error(final_stats, i);
    auto lost = sink_lost(final_stats, i);
    if (err.empty() && lost == 0 && std::none_of(report.sink_failures.begin(),
                                                 report.sink_failures.end(),
                                                 [i](auto& f) { return f.sink == i; }))
      continue;
    auto& f = failure_of(report, i);
    if (!err.empty())
      f.error = err;
    f.lost = lost;
    failed_now[i] = !err.empty();
    f.working = !failed_now[i] && lost == 0;
  }
  // Everything is recorded: make it durable (failed sinks aside), then take the tally.
  for (std::size_t i = 0; i < sinks.size(); ++i) {
    if (failed_now[i])
      continue;
    self->request(sinks[i], std::chrono::seconds(60), caf::flush_atom::value)
      .receive([](caf::ok_atom) {},
               [&](caf::error& err) {
                 // Not durable: as much a failure as a crash.
                 auto& f = failure_of(report, i);
                 f.error = "flush failed: " + sys.render(err);
                 f.working = false;
               });
  }
  self->request(tally_sink, std::chrono::seconds(30), caf::get_atom::value)
    .receive([&](crawl_tally& t) { report.tally = std::move(t); }, [](caf::error&) {});
  if (proxies) {
    report.proxies = proxy_stats_of(self, proxies);
    if (!d.cfg.proxies.report_path.empty()) {
      std::ofstream out{d.cfg.proxies.report_path};
      out << to_json(report.proxies);
      if (!out)
        std::cerr << "arachne: cannot write the proxy report '" << d.cfg.proxies.report_path
                  << "'\n";
    }
  }
  report.seen = seen;
  report.dropped = dropped;
  for (auto& st : final_stats) {
    report.resumed += st.resumed;
    if (report.state_error.empty() && !st.state_error.empty())
      report.state_error = st.state_error;
  }
  report.elapsed = std::chrono::steady_clock::now() - start;
  owned.push_back(caf::actor_cast<caf::actor>(tally_sink));
  stop_and_wait(self, owned);
  (*client)->stop();
  return report;
}

} // namespace arachne
