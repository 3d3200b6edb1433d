#include "crawl/workers.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <string>

#include "arachne/robots.hpp"
#include "fetcher/fetcher.hpp"
#include "frontier/frontier.hpp"
#include "parser/parser.hpp"
#include "proxy_manager/proxy_manager.hpp"

namespace arachne {

std::string fit_descriptor_limit(settings& cfg) {
  rlimit rl{};
  if (::getrlimit(RLIMIT_NOFILE, &rl) != 0)
    return {};
  if (rl.rlim_cur < rl.rlim_max) {
    auto raised = rl;
    raised.rlim_cur = rl.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0)
      rl = raised;
  }
  // Descriptors besides connections: sinks, state files, DNS, CAF, stdio.
  constexpr uint64_t reserve = 128;
  auto limit = static_cast<uint64_t>(rl.rlim_cur);
  auto& concurrency = cfg.run.concurrency;
  auto& pool = cfg.http.pool_total;
  if (limit == RLIM_INFINITY || limit >= reserve + concurrency + pool)
    return {};
  auto room = limit > reserve + 2 ? limit - reserve : 2;
  auto was_concurrency = concurrency;
  auto was_pool = pool;
  // Idle connections give way first, down to a quarter of the room.
  if (concurrency + pool > room)
    pool = static_cast<uint32_t>(std::min<uint64_t>(pool, std::max<uint64_t>(room / 4, room > concurrency ? room - concurrency : 0)));
  if (concurrency + pool > room)
    concurrency = static_cast<uint32_t>(std::max<uint64_t>(1, room - pool));
  std::string notice = "only " + std::to_string(limit) + " file descriptors (ulimit -n):";
  if (concurrency != was_concurrency)
    notice += " --concurrency lowered from " + std::to_string(was_concurrency) + " to "
              + std::to_string(concurrency) + (pool != was_pool ? "," : "");
  if (pool != was_pool)
    notice += " --pool-size lowered from " + std::to_string(was_pool) + " to " + std::to_string(pool);
  return notice;
}

caf::expected<crawl_workers> spawn_workers(caf::actor_system& sys, const settings& cfg,
                                           std::shared_ptr<const page_program> program,
                                           worker_plan plan) {
  auto client = http_client::make(cfg.http);
  if (!client)
    return std::move(client.error());
  crawl_workers w;
  w.client = std::move(*client);
  auto threads = std::max<std::size_t>(1, sys.scheduler().num_workers());
  // The proxy pool, if any: one manager judges every proxy for all fetchers.
  w.proxies = spawn_proxy_manager(sys, cfg.proxies);
  if (w.proxies)
    w.owned.push_back(caf::actor_cast<caf::actor>(w.proxies));
  auto fopts = make_fetcher_options(cfg.proxies, w.proxies);
  std::vector<fetcher_actor> fetchers;
  for (std::size_t i = 0; i < threads; ++i) {
    auto f = sys.spawn(fetcher, w.client.get(), fopts);
    fetchers.push_back(f);
    w.owned.push_back(caf::actor_cast<caf::actor>(f));
  }
  parser_options popts;
  popts.urls = cfg.url_rules();
  popts.follow_nofollow = cfg.scope.follow_nofollow;
  popts.agent = std::string{product_token(cfg.http.user_agent)};
  popts.sitemaps = {cfg.scope.sitemap_max_urls, cfg.scope.sitemap_max_bytes,
                    cfg.http.max_compression_ratio};
  popts.sitemap_max_depth = cfg.scope.sitemap_max_depth;
  std::vector<parser_actor> parsers;
  auto parser_count = cfg.run.parsers != 0 ? cfg.run.parsers : threads;
  for (std::size_t i = 0; i < parser_count; ++i) {
    auto p = sys.spawn(parser, popts, program);
    parsers.push_back(p);
    w.owned.push_back(caf::actor_cast<caf::actor>(p));
  }
  frontier_config fcfg;
  fcfg.scope = cfg.scope;
  fcfg.run = cfg.run;
  fcfg.politeness = cfg.politeness;
  fcfg.urls = cfg.url_rules();
  fcfg.user_agent = cfg.http.user_agent;
  fcfg.max_redirects = cfg.http.max_redirects;
  fcfg.needs = plan.needs;
  fcfg.hold_for_restart = cfg.run.on_sink_failure == sink_failure_policy::restart || plan.hold_records;
  fcfg.run.queue_memory = std::max<uint64_t>(1, cfg.run.queue_memory);
  for (std::size_t i = 0; i < plan.ids.size(); ++i) {
    fcfg.journal = i < plan.journals.size() ? std::move(plan.journals[i]) : nullptr;
    auto s = sys.spawn(frontier, fcfg, plan.ids[i], fetchers, parsers, plan.sinks);
    w.shards.push_back(s);
    w.owned.push_back(caf::actor_cast<caf::actor>(s));
  }
  w.ids = std::move(plan.ids);
  return w;
}

shard_id node_shard_id(const std::string& node, uint32_t i) {
  return partition_hash(node + "#" + std::to_string(i));
}

} // namespace arachne
