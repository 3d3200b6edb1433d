#pragma once

// The typed interfaces of Arachne's actors: the contract between them, in one
// process or across hosts. Messages are defined in messages.hpp.

#include <string>
#include <vector>

#include "caf/atom.hpp"
#include "caf/replies_to.hpp"
#include "caf/typed_actor.hpp"

#include "arachne/messages.hpp"

namespace arachne {

/// Stores records. Plug in your own storage by implementing this interface.
using sink_actor = caf::typed_actor<
  caf::replies_to<open_atom, crawl_info>::with<sink_needs>,   // a crawl starts; what records carry
  caf::replies_to<record_batch>::with<ack>,                   // store a batch; ack frees credit
  caf::replies_to<caf::flush_atom>::with<caf::ok_atom>>;      // crawl is over: persist everything

/// A sink that also tallies what it stored, for the crawl's report.
using stats_sink_actor = sink_actor::extend<
  caf::replies_to<caf::get_atom>::with<crawl_tally>>; // the totals so far

/// Fetches one HTTP(S) request at a time per message, many at once in total.
using fetcher_actor = caf::typed_actor<
  caf::replies_to<fetch_atom, fetch_request>::with<fetch_result>>; // always a result, never an error

/// Paces requests per host: per-host delay and concurrency, back-off on 429/503.
using rate_limiter_actor = caf::typed_actor<
  caf::replies_to<acquire_atom, std::string>::with<slot_grant>,   // wait for a slot for a host
  caf::reacts_to<release_atom, slot_grant, fetch_feedback>,       // slot done; adapt the pace
  caf::reacts_to<caf::put_atom, std::string, host_policy>>;       // robots.txt crawl-delay etc.

/// Lends proxies by policy and keeps their health.
using proxy_manager_actor = caf::typed_actor<
  caf::replies_to<lease_atom, lease_request>::with<proxy_lease>,      // a proxy for a URL
  caf::reacts_to<report_atom, proxy_report>,                          // how the lease went
  caf::replies_to<stats_atom>::with<std::vector<proxy_stats>>>;       // per-proxy health

/// Extracts links and items from fetched pages (CPU-bound, off the IO threads).
using parser_actor = caf::typed_actor<
  caf::replies_to<parse_atom, crawl_request, fetch_result>::with<parse_result>>;

/// Owns the hosts the partition function maps to it: dedup, scope, queues, politeness.
using frontier_actor = caf::typed_actor<
  caf::reacts_to<seed_atom, link_batch>,                  // seeds (depth 0), never scope-dropped silently
  caf::replies_to<link_batch>::with<ack>,                 // discovered links for this shard's hosts;
                                                          // acked once journalled (--state)
  caf::reacts_to<caf::put_atom, cluster_view>,            // membership changed: re-partition
  caf::replies_to<stats_atom>::with<frontier_stats>,      // counters
  caf::reacts_to<stop_atom>>;                             // finish in-flight work, then idle

/// A worker node in a cluster: runs shards, fetchers, parsers and a proxy manager.
using node_actor = caf::typed_actor<
  caf::replies_to<start_atom, cluster_view>::with<std::vector<frontier_actor>>, // its shards
  caf::reacts_to<caf::put_atom, cluster_view>,                                 // membership
  caf::replies_to<stats_atom>::with<std::vector<frontier_stats>>,              // its shards' counters
  caf::reacts_to<stop_atom>>;                                                  // end of the crawl

/// The coordinator of a cluster: admits nodes and detects the end of the crawl.
using coordinator_actor = caf::typed_actor<
  caf::replies_to<join_atom, node_info, node_actor>::with<cluster_view>, // admit a node
  caf::reacts_to<idle_atom, frontier_stats>>;                           // a shard went idle

} // namespace arachne
