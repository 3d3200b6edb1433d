#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <regex>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "caf/actor_clock.hpp"
#include "caf/stateful_actor.hpp"
#include "caf/timestamp.hpp"
#include "caf/typed_event_based_actor.hpp"

#include "arachne/actor_types.hpp"
#include "arachne/crawl_options.hpp"
#include "arachne/partition.hpp"
#include "arachne/politeness.hpp"
#include "arachne/robots.hpp"
#include "arachne/url.hpp"
#include "frontier/budget.hpp"
#include "frontier/delivery.hpp"
#include "frontier/done_marks.hpp"
#include "frontier/fetch_policy.hpp"
#include "frontier/fingerprint.hpp"
#include "arachne/state/journal.hpp"
#include "frontier/replication.hpp"
#include "frontier/site_table.hpp"
#include "rate_limiter/rate_limiter.hpp"

namespace arachne {

/// A shard's own messages: a retry that waited out its back-off, the
/// periodic flush of outgoing links and records, a restarted sink.
using retry_atom = caf::atom_constant<caf::atom("retry")>;
using robots_retry_atom = caf::atom_constant<caf::atom("robotsretr")>;
using flush_tick_atom = caf::atom_constant<caf::atom("flushtick")>;
using handoff_tick_atom = caf::atom_constant<caf::atom("handofftk")>;
using due_tick_atom = caf::atom_constant<caf::atom("duetick")>;

/// The frontier's interface including what it sends itself and the peers
/// it is told about once every shard exists.
using frontier_impl = frontier_actor::extend<
  caf::reacts_to<caf::put_atom, uint32_t, sink_actor>, // a failed sink, restarted
  caf::reacts_to<retry_atom, crawl_request>,
  caf::reacts_to<robots_retry_atom, std::string>,
  caf::reacts_to<flush_tick_atom>,
  caf::reacts_to<handoff_tick_atom, uint64_t>,
  caf::reacts_to<due_tick_atom>>;

/// Everything a shard needs to know; the same for every shard of a crawl.
struct frontier_config {
  crawl_scope scope;
  run_options run;
  politeness_options politeness;
  url_options urls;
  std::string user_agent = "arachne/0.1";
  uint32_t max_redirects = 5;
  std::size_t record_batch = 64;     // records per batch to the sinks
  std::size_t sink_credit = 4;       // unacknowledged batches per sink
  std::size_t max_pending_records = 4096; // above this no new fetch starts
  std::size_t link_batch = 256;      // links per batch to another shard
  uint64_t seed = 1;                 // jitter
  sink_needs needs;                  // what records carry for the sinks
  bool hold_for_restart = false;     // a failed sink will be restarted: keep its records
  /// This shard's state store (--state), or null: set per shard, used by it alone.
  std::shared_ptr<frontier_journal> journal;
};

/// After this many fetches of a site in a row fail to connect or resolve
/// (retries count), its remaining URLs are recorded with that failure, unfetched.
constexpr uint32_t unreachable_limit = 3;

/// A shard's state, by concern. The plain parts (sites, delivery, done
/// marks, replication, budget, policy) keep their own invariants; the
/// actor's functions (frontier/shard.hpp) wire them to messages.
struct frontier_state {
  frontier_config cfg;
  fetch_policy policy;                     // what a fetch's outcome leads to (from cfg)

  // -- wiring ------------------------------------------------------------------
  shard_id id = 0;                         // unique among all shards of the crawl
  uint32_t index = 0;                      // position in the cluster view
  uint64_t epoch = 0;                      // of the cluster view; 0 before the first
  cluster_view view;                       // the current one
  partition_map partition;
  std::vector<frontier_actor> peers;       // every shard, this one included
  std::vector<fetcher_actor> fetchers;
  std::vector<parser_actor> parsers;
  std::vector<sink_actor> sinks;
  rate_limiter_impl limiter;
  rate_limiter_impl ip_limiter;            // paces the IP addresses this shard owns (--per-ip-*)
  // IP slots held beside a host slot (by the host slot's token): the
  // address's owner and its grant, given back with the host slot.
  std::unordered_map<uint64_t, std::pair<frontier_actor, slot_grant>> ip_grants;
  /// IP slots asked of another shard and not answered yet: its id, and what
  /// goes on without the slot if that shard leaves the view (a node lost
  /// answers nothing).
  struct ip_wait {
    shard_id owner = 0;
    std::function<void()> go;
  };
  std::map<uint64_t, ip_wait> ip_waits;
  uint64_t next_ip_wait = 0;
  /// IP slots this shard's IP limiter lent to shards (by their address),
  /// given back for them if they leave the view.
  std::multimap<caf::actor_addr, slot_grant> ip_lent;
  std::size_t next_fetcher = 0;
  std::size_t next_parser = 0;
  uint64_t next_fetch_id = 0;

  // -- scheduling: scope, seen URLs, sites, the budget ----------------------------
  std::vector<std::regex> allow;
  std::vector<std::regex> deny;
  fingerprint_set seen_urls;
  site_table sites;
  concurrency_budget budget{1, 1};         // this shard's part of --concurrency
  bool feeding_starved = false;
  uint64_t in_flight = 0;                  // fetching or parsing
  uint64_t acquiring = 0;                  // slot requests outstanding in all sites
  uint64_t waiting_retry = 0;
  uint64_t robots_fetching = 0;
  std::minstd_rand rng;                    // retry jitter

  // -- links to other shards, records to the sinks -----------------------------
  std::vector<link_batch> outbox;          // per peer
  record_delivery delivery;

  // -- what is done: the state store (--state) or the guardian --------------------
  std::shared_ptr<frontier_journal> journal;
  std::string state_error;                 // why the state store failed
  done_marks done;
  /// What the fetches of URLs not yet done said, stored with them once done
  /// (a crash before leaves the store with the visit before).
  std::unordered_map<uint64_t, last_visit> visits;

  // -- replication across nodes (docs/distributed.md) ---------------------------
  guard_link guard;                        // as an owner: to its guardian
  guarded_urls guarded;                    // as a guardian: other shards' URLs
  /// Dead shards whose hosts this shard may now own, with the partition they
  /// had: URLs for those hosts wait until their guardian's takeover arrives.
  std::map<shard_id, partition_map> awaiting_takeover;
  std::set<shard_id> taken_over;           // dead shards whose takeover arrived
  std::vector<std::pair<crawl_request, bool>> held; // (URL, is a seed) waiting for a takeover
  /// Link batches sent and not acknowledged, while guarding: sent again if
  /// their owner goes away.
  struct sent_links {
    shard_id to = 0;
    std::shared_ptr<const link_batch> batch;
  };
  std::map<uint64_t, sent_links> links_in_transit;
  std::vector<crawl_request> orphans;      // links whose owner failed, routed by the next view

  // -- nodes that join: hosts move with their queues and seen URLs ---------------
  std::unordered_map<uint64_t, std::vector<url_fingerprint>> seen_by_host; // by partition hash
  std::set<shard_id> handoff_to;           // shards that joined and wait for this one's hosts
  bool handoff_waiting = false;            // the hosts are quiet: their delay runs
  struct handoff_part {
    shard_id to = 0;
    std::vector<crawl_request> urls; // with their guard ids here
  };
  std::map<uint64_t, handoff_part> handoffs_in_transit; // parts sent, not yet acknowledged
  uint64_t handoff_seq = 0;
  std::set<shard_id> awaiting_handoff;     // shards whose hosts it waits for (it joined, or
                                           // hosts were placed on it)
  std::set<shard_id> handed_early;         // their last part came before the view that awaits it

  // -- counters (frontier_stats) -----------------------------------------------
  uint64_t admitted = 0;
  uint64_t seen = 0;
  uint64_t recorded = 0;
  uint64_t pages = 0;
  uint64_t failures = 0;
  uint64_t bytes = 0;
  link_cuts cut;                           // links not followed, by why
  uint64_t items_dropped = 0;              // by the item pipeline
  uint64_t batches_sent = 0;
  uint64_t batches_received = 0;
  uint64_t resumed = 0;                    // URLs taken up again after a crash
  uint64_t reowned = 0;                    // URLs handed on for a dead shard
  uint64_t moved_hosts = 0;
  uint64_t moved_urls = 0;
  uint64_t revisits = 0;                   // pages the store knew, fetched again
  uint64_t changed = 0;
  uint64_t unchanged = 0;
  uint64_t not_modified = 0;
  uint64_t gone = 0;
  uint64_t due = 0;                        // URLs that came due again (--recrawl-every)
  record_metrics metrics;                  // its records' counts and distributions (/metrics)
  host_states site_states;                 // its sites by what they wait for, counted ...
  std::vector<std::pair<std::string, uint64_t>> longest_queues; // ... its sites with most queued ...
  caf::actor_clock::time_point site_states_at{}; // ... then (at most once a second)

  bool tick_set = false;
  caf::actor_clock::time_point last_tick; // when the last flush tick ran
  bool stopping = false;
  bool paused = false; // the control API paused the crawl: no request starts
  caf::actor_clock::time_point polled_at{}; // the last stats request from another process
  static inline const char* name = "frontier";
};

/// A frontier shard with id `id`: owns the hosts the partition of the
/// cluster view it is sent (before any URL) maps to it. Deduplicates
/// exactly, applies the scope rules, keeps a queue per host, fetches
/// robots.txt once per host and obeys it, asks its rate limiter for a slot
/// before every request, hands requests to fetchers and pages to parsers,
/// sends links to the shards that own their hosts, retries transient
/// failures, and sends every URL's record to the sinks with credit-based
/// flow control.
frontier_impl::behavior_type frontier(frontier_impl::stateful_pointer<frontier_state> self,
                                      frontier_config cfg, shard_id id,
                                      std::vector<fetcher_actor> fetchers,
                                      std::vector<parser_actor> parsers,
                                      std::vector<sink_actor> sinks);

} // namespace arachne
