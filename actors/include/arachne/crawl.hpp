#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "caf/expected.hpp"
#include "caf/fwd.hpp"
#include "caf/meta/type_name.hpp"
#include "caf/timespan.hpp"

#include "arachne/actor_types.hpp"
#include "arachne/config.hpp"
#include "arachne/page.hpp"

namespace arachne {

/// Where a running crawl stands, for progress displays.
struct crawl_progress {
  uint64_t recorded = 0;
  uint64_t pages = 0;
  uint64_t failures = 0;
  uint64_t queued = 0;
  uint64_t in_flight = 0;
  uint64_t seen = 0;
  uint64_t bytes = 0;
  uint32_t proxies = 0;        // proxies in the pool
  uint32_t proxies_usable = 0; // of them not quarantined
  caf::timespan elapsed{0};
  uint64_t revisits = 0;       // a re-crawl (--recrawl): pages fetched again
  uint64_t changed = 0;        // ... changed
  uint64_t unchanged = 0;      // ... unchanged (304 or the same payload)
  uint64_t gone = 0;           // ... now 404 or 410
  uint64_t due = 0;            // continuous mode (--recrawl-every): URLs that came due again
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, crawl_progress& x) {
  return f(caf::meta::type_name("crawl_progress"), x.recorded, x.pages, x.failures, x.queued,
           x.in_flight, x.seen, x.bytes, x.proxies, x.proxies_usable, x.elapsed, x.revisits,
           x.changed, x.unchanged, x.gone, x.due);
}

/// What a finished crawl did.
struct crawl_report {
  crawl_tally tally;        // records by status, error kind and host
  uint64_t seen = 0;        // distinct URLs seen
  link_cuts cut;            // links not followed (not recorded), by why
  uint64_t items_dropped = 0; // items the item pipeline dropped
  caf::timespan elapsed{0};
  bool interrupted = false; // stopped before the frontier was empty
  std::vector<proxy_stats> proxies; // per proxy, in pool order; empty without proxies
  std::string state_error;  // the state store (--state) failed: why (the crawl stopped)
  uint64_t resumed = 0;     // URLs taken up again after a crash (--state); may be recorded twice
  uint32_t pass = 0;        // with --state: the pass over its URLs (2 and up: a re-crawl)
  uint64_t revisits = 0;    // pages fetched again that the state store knew
  uint64_t changed = 0;     // ... whose payload changed
  uint64_t unchanged = 0;   // ... unchanged: a 304 or the same payload
  uint64_t not_modified = 0; // ... of them answered 304
  uint64_t gone = 0;        // ... now 404 or 410
  uint64_t due = 0;         // continuous mode: URLs that came due again
  cookie_stats cookies;     // Set-Cookie headers stored, refused, ... (in one process)

  /// A sink that failed during the crawl.
  struct sink_failure {
    std::size_t sink = 0;  // its index, in the order sinks were added
    std::string error;     // why (the last failure)
    uint64_t lost = 0;     // records it did not get or acknowledge (it may have stored some)
    uint32_t restarts = 0; // times it was opened again (--on-sink-failure=restart)
    bool working = false;  // restarted and working at the end: it lost nothing
  };
  std::vector<sink_failure> sink_failures;

  /// A node's share of a distributed crawl (--cluster).
  struct node_share {
    std::string name;      // HOST:PORT
    double weight = 1.0;
    uint32_t shards = 0;
    uint64_t hosts = 0;    // hosts its shards owned
    uint64_t pages = 0;    // records with a response
    uint64_t records = 0;
    bool lost = false;     // it died or became unreachable during the crawl
    bool joined = false;   // it joined the running crawl (--cluster-listen)
  };
  std::vector<node_share> nodes; // in --cluster order; empty for a crawl in one process

  /// Nodes lost during the crawl (name, when, why); their hosts went to the
  /// other nodes, their URLs with them.
  std::vector<std::string> nodes_lost;

  /// URLs of lost nodes taken up by the others; those in flight there may be
  /// recorded twice (marked "resumed").
  uint64_t reowned = 0;

  /// Nodes that joined the running crawl (name, when), and what moved to
  /// them: sites with their queued URLs (their seen URLs went along).
  std::vector<std::string> nodes_joined;

  /// A restarted coordinator took the crawl up (--state with --cluster): the
  /// counts cover what reached it since.
  bool coordinator_resumed = false;
  uint64_t moved_hosts = 0;
  uint64_t moved_urls = 0;

  /// Hosts moved from the busiest node to one out of work (--cluster-rebalance);
  /// their sites and URLs count in moved_hosts and moved_urls too.
  uint64_t placed_hosts = 0;

  /// Messages between shards: link batches (a shard's own included) and,
  /// in a cluster, batches to guardians.
  uint64_t link_batches = 0;
  uint64_t guard_batches = 0;

  /// What the crawl could not recover from on the cluster's nodes: the last
  /// node lost, a node's own sink failing.
  std::vector<std::string> node_failures;

  /// Records with a response per second.
  double pages_per_second() const;
};

/// A crawl: the facade users program against. It spawns the frontier shards,
/// fetchers, parsers and rate limiters on `sys`, runs until every shard is
/// idle (or `stop` is called), flushes the sinks and reports.
class crawl {
public:
  crawl(caf::actor_system& sys, const config& cfg);
  ~crawl();

  crawl(const crawl&) = delete;
  crawl& operator=(const crawl&) = delete;

  /// Runs `handler` on every fetched HTML page (on parser actors, many at
  /// once). Without a handler every link is followed; with one, only what it
  /// follows.
  void on_page(page_handler handler);

  /// Runs `handler`, instead of on_page's, on pages whose request a handler
  /// followed with `label` (follow_options).
  void route(std::string label, page_handler handler);

  /// Adds a stage to the item pipeline: every item a handler emits passes
  /// the stages in the order they were added before it reaches the sinks;
  /// a stage that returns false (or throws) drops it (counted in the report).
  void pipeline(item_stage stage);

  /// Adds a sink; every record goes to every sink.
  void add_sink(sink_actor sink);

  /// Adds a sink the crawl can open again if it fails: `open` is called now
  /// and, with --on-sink-failure=restart, after each failure (up to 3 times);
  /// the new sink gets the batches the failed one had not acknowledged.
  void add_sink(std::function<caf::expected<sink_actor>()> open);

  /// Calls `f` about every `every` while the crawl runs (on the thread of `run`).
  void on_progress(std::function<void(const crawl_progress&)> f,
                   caf::timespan every = std::chrono::seconds(1));

  /// Crawls from `seeds` until done; blocks. Fails only if the crawl cannot
  /// start (e.g. an unreadable CA file or an invalid pattern).
  caf::expected<crawl_report> run(const std::vector<std::string>& seeds);

  /// Stops gracefully: no new requests, those in flight finish, sinks are
  /// flushed, and `run` returns. Safe from any thread (not from a signal handler).
  void stop();

  /// Stops at once, after `stop` did not end soon enough (a second Ctrl-C):
  /// requests under way and records not yet delivered are left (with
  /// --state their URLs are fetched again on resume); the sinks keep and
  /// flush what they acknowledged, and `run` returns. Safe from any thread.
  void stop_now();

  /// The implementation, opaque here.
  struct impl;

private:
  std::unique_ptr<impl> impl_;
};

} // namespace arachne
