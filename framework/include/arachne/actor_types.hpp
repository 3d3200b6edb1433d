#pragma once

// The typed interfaces of Arachne's actors: the contract between them, in one
// process or across hosts. Messages are defined in messages.hpp.

#include <string>
#include <vector>

#include "caf/atom.hpp"
#include "caf/timespan.hpp"
#include "caf/replies_to.hpp"
#include "caf/typed_actor.hpp"

#include "arachne/messages.hpp"
#include "arachne/partition.hpp"

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
  caf::replies_to<fetch_atom, fetch_request>::with<fetch_result>, // always a result, never an error
  caf::replies_to<resolve_atom, std::string, uint16_t>::with<std::vector<std::string>>>; // a host's
                                                                  // addresses; none if it does not resolve

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
  caf::replies_to<parse_atom, crawl_request, fetch_result>::with<parse_result>,
  caf::replies_to<sitemap_atom, crawl_request, fetch_result>::with<sitemap_result>>;

struct cluster_view; // below: it carries frontier handles

/// Owns the hosts the partition function maps to it: dedup, scope, queues, politeness.
using frontier_actor = caf::typed_actor<
  caf::reacts_to<seed_atom, link_batch>,                  // seeds (depth 0), never scope-dropped silently
  caf::replies_to<link_batch>::with<ack>,                 // discovered links for this shard's hosts;
                                                          // acked once journalled (--state)
  caf::replies_to<caf::put_atom, cluster_view>::with<caf::ok_atom>, // the shards of the crawl
  caf::replies_to<guard_atom, uint64_t, guard_batch>::with<ack>, // keep a shard's URLs (by its id)
  caf::reacts_to<takeover_atom, uint64_t, takeover_batch>,      // a dead shard's hosts, now ours
  caf::replies_to<handoff_atom, uint64_t, handoff_batch>::with<ack>, // a live shard's hosts, now
                                                                      // ours (a node joined)
  caf::reacts_to<demand_atom, concurrency_demand>,  // another shard's wish for --concurrency
  caf::reacts_to<lend_atom, uint64_t, uint64_t>,  // epoch, units of --concurrency, now the receiver's
  caf::replies_to<ip_acq_atom, std::string>::with<slot_grant>, // a slot for an IP address this
                                                               // shard owns (--per-ip-*)
  caf::reacts_to<ip_rel_atom, slot_grant>,                     // ... given back
  caf::replies_to<stats_atom>::with<frontier_stats>,      // counters
  caf::reacts_to<pause_atom, bool>,                       // start no request (true), or go on
  caf::replies_to<contact_atom>::with<caf::timespan>,     // time since a stats request from
                                                          // another process (its coordinator)
  caf::reacts_to<stop_atom>>;                             // finish in-flight work, then idle

// -- cluster -------------------------------------------------------------------

/// What a worker node learns when a crawl starts on it.
struct node_start {
  std::string name;               // what the coordinator calls the node (HOST:PORT)
  std::vector<std::string> args;  // the crawl's options as `--name=value` (option_set::to_args)
  crawl_info info;                // for the node's own sinks
  std::vector<sink_actor> sinks;  // where its shards send records; none: the node's own sinks
  sink_needs needs;               // what records carry for `sinks`
  std::vector<std::string> peers; // nodes started before it: it connects to them (a mesh)
  uint32_t generation = 0;        // > 0: the Nth node of this name in the crawl (one rejoined)
  caf::timespan resume_wait{0};   // the coordinator gone: wait this long for it to resume (0: end)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_start& x) {
  return f(caf::meta::type_name("node_start"), x.name, x.args, x.info, x.sinks, x.needs, x.peers,
           x.generation, x.resume_wait);
}

/// A worker node as the coordinator sees it once a crawl started on it.
struct node_info {
  std::string name;                     // HOST:PORT it listens on, as the coordinator named it
  double weight = 1.0;                  // its share of hosts relative to other nodes
  std::vector<uint64_t> shard_ids;      // its frontier shards, ids unique in the cluster
  std::vector<frontier_actor> shards;   // the same shards' handles
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_info& x) {
  return f(caf::meta::type_name("node_info"), x.name, x.weight, x.shard_ids, x.shards);
}

/// Membership: every shard of the crawl, so that every shard computes the
/// same partition and knows where to send links. One node's crawl is a
/// cluster of one.
struct cluster_view {
  uint64_t epoch = 0;                   // grows with every membership change
  std::vector<uint64_t> shards;         // shard ids of all nodes
  std::vector<double> weights;          // per shard
  std::vector<frontier_actor> actors;   // per shard
  std::vector<uint32_t> nodes;          // per shard: its node (shards of a node share one)
  bool cluster = false;                 // a distributed crawl: nodes may join and leave
  /// Hosts (by partition hash) moved away from their rendezvous owner to
  /// balance the load, with the shard that owns each now.
  std::vector<placement> placed;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, cluster_view& x) {
  return f(caf::meta::type_name("cluster_view"), x.epoch, x.shards, x.weights, x.actors, x.nodes,
           x.cluster, x.placed);
}

/// The partition every shard of `view` computes.
inline partition_map partition_of(const cluster_view& view) {
  return partition_map{view.shards, view.weights, view.placed};
}

/// A worker node in a cluster: runs shards, fetchers, parsers and a proxy
/// manager for the crawls a coordinator starts on it.
using node_actor = caf::typed_actor<
  caf::replies_to<start_atom, node_start>::with<node_info>, // a crawl starts: spawn its shards
  caf::replies_to<resume_atom, std::string, std::vector<sink_actor>>::with<node_info>, // a
                                                            // restarted coordinator takes the crawl
                                                            // (by id) up again, with its new sinks
  caf::replies_to<stop_atom>::with<crawl_tally>>;           // the crawl is over: flush its own
                                                            // sinks, tear down; what they stored

/// A coordinator's door for nodes that join its crawl while it runs
/// (`arachne node --join`): the node names the address it listens on.
using join_actor = caf::typed_actor<caf::replies_to<join_atom, std::string>::with<caf::ok_atom>>;

} // namespace arachne
