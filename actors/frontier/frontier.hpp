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
#include "frontier/fetch_policy.hpp"
#include "frontier/journal.hpp"
#include "rate_limiter/rate_limiter.hpp"

namespace arachne {

/// A shard's own messages: a retry that waited out its back-off, the
/// periodic flush of outgoing links and records, a restarted sink.
using retry_atom = caf::atom_constant<caf::atom("retry")>;
using robots_retry_atom = caf::atom_constant<caf::atom("robotsretr")>;
using flush_tick_atom = caf::atom_constant<caf::atom("flushtick")>;
using handoff_tick_atom = caf::atom_constant<caf::atom("handofftk")>;

/// The frontier's interface including what it sends itself and the peers
/// it is told about once every shard exists.
using frontier_impl = frontier_actor::extend<
  caf::reacts_to<caf::put_atom, uint32_t, sink_actor>, // a failed sink, restarted
  caf::reacts_to<retry_atom, crawl_request>,
  caf::reacts_to<robots_retry_atom, std::string>,
  caf::reacts_to<flush_tick_atom>,
  caf::reacts_to<handoff_tick_atom, uint64_t>>;

/// Everything a shard needs to know; the same for every shard of a crawl.
struct frontier_config {
  crawl_options scope;
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
  std::size_t queue_memory = 100000; // with a state store: queued URLs kept in memory
  /// This shard's state store (--state), or null: set per shard, used by it alone.
  std::shared_ptr<frontier_journal> journal;
};

/// One site's (scheme://host:port) queue and robots.txt state inside its
/// shard. Pacing is per host name, across its sites, in the rate limiter.
struct host_entry {
  std::string origin; // scheme://authority, where its robots.txt lives
  std::deque<crawl_request> queue;
  enum class robots_t : uint8_t { unknown, fetching, ready } robots = robots_t::unknown;
  robots_rules rules;
  uint32_t robots_failures = 0;   // fetches of robots.txt in a row that failed (5xx, unreachable)
  std::string robots_problem;     // why everything is disallowed, if robots.txt stayed unavailable
  caf::actor_clock::time_point robots_expires{}; // fetch robots.txt again after this
  uint32_t acquiring = 0; // slot requests outstanding
  uint32_t granted = 0;   // slots held: requests to the site under way
  uint64_t admitted = 0;  // URLs admitted (the per-host budget)
  bool starved = false;     // waits for the shard's share of --concurrency
  uint32_t unreachable = 0; // fetches in a row that failed to connect or resolve
  crawl_errc dead = crawl_errc::none; // set once `unreachable` hits the limit
  int64_t db_id = 0;        // its row in the state store
  uint64_t spilled = 0;     // queued URLs only in the state store, not in `queue`
  int64_t spill_cursor = 0; // the last of its URLs (by row) brought into memory
};

/// After this many fetches of a site in a row fail to connect or resolve
/// (retries count), its remaining URLs are recorded with that failure, unfetched.
constexpr uint32_t unreachable_limit = 3;

/// A 128-bit fingerprint of a normalised URL: two independent 64-bit hashes,
/// so that a collision (which would lose a URL) is practically impossible.
struct url_fingerprint {
  uint64_t hi = 0;
  uint64_t lo = 0;
  friend bool operator==(const url_fingerprint& x, const url_fingerprint& y) noexcept {
    return x.hi == y.hi && x.lo == y.lo;
  }
};

/// An exact set of URL fingerprints: open addressing with linear probing over
/// 16-byte slots, grown at 70% load. No node per URL: a lookup touches one
/// cache line and an insert allocates nothing (a node-based set made the
/// seen-set the crawl's hottest spot; see docs/benchmarks.md).
class fingerprint_set {
public:
  /// Adds `f`; false if it was already there.
  bool insert(url_fingerprint f);

  /// Fingerprints in the set.
  std::size_t size() const noexcept { return size_; }

  /// Bytes the slots take.
  std::size_t memory() const noexcept { return slots_.size() * sizeof(url_fingerprint); }

private:
  void grow();

  std::vector<url_fingerprint> slots_; // {0, 0} marks an empty slot
  std::size_t size_ = 0;
};

/// The fingerprint of a normalised URL.
url_fingerprint fingerprint(std::string_view normalised_url) noexcept;

/// A shard's state: its hosts, seen set, outgoing batches and counters.
struct frontier_state {
  frontier_config cfg;
  fetch_policy policy;                     // what a fetch's outcome leads to (from cfg)
  shard_id id = 0;                         // unique among all shards of the crawl
  uint32_t index = 0;                      // position in the cluster view
  uint64_t epoch = 0;                      // of the cluster view; 0 before the first
  partition_map partition;
  std::vector<frontier_actor> peers;       // every shard, this one included
  std::vector<fetcher_actor> fetchers;
  std::vector<parser_actor> parsers;
  std::vector<sink_actor> sinks;
  rate_limiter_impl limiter;
  std::vector<std::regex> allow;
  std::vector<std::regex> deny;
  std::unordered_map<std::string, host_entry> hosts; // by origin
  fingerprint_set seen_urls;
  std::deque<std::string> starved;         // sites waiting for the concurrency budget
  bool feeding_starved = false;
  concurrency_budget budget{1, 1};         // this shard's part of --concurrency
  std::vector<link_batch> outbox;          // per peer
  std::vector<record> pending_records;
  /// Per sink: the batches it has not acknowledged (at most the credit), kept
  /// to be sent again if the sink fails and is restarted.
  std::vector<std::map<uint64_t, std::shared_ptr<const record_batch>>> unacked;
  std::vector<std::string> sink_errors;    // per sink: why it failed; empty while it works
  std::vector<uint64_t> sink_skipped;      // per sink: records not sent since it failed
  std::vector<bool> sink_given_up;         // per sink: failed for good (no restart coming)
  // With a state store (--state): a URL is done once every sink acknowledged
  // its record and every link batch sent up to then is journalled by its owner.
  std::shared_ptr<frontier_journal> journal;
  std::vector<uint64_t> pending_ids;       // the store row of each pending record (0: none)
  struct batch_marks {
    std::vector<uint64_t> ids;
    std::size_t sinks_left = 0;
  };
  std::map<uint64_t, batch_marks> marks;   // by record batch: rows done once all sinks ack
  std::set<uint64_t> links_unacked;        // link batches sent, not yet journalled by their owner
  uint64_t link_seq = 0;
  std::deque<std::pair<uint64_t, std::vector<uint64_t>>> done_after_links; // (link batch, rows)
  // In a cluster of several nodes, every URL this shard admits is kept by a
  // guardian shard on another node until it is done (as above, without a
  // store); if this shard's node dies, the guardian hands the URLs to the
  // hosts' new owners (docs/distributed.md).
  cluster_view view;                       // the current one
  bool guarding = false;                   // the view has shards on other nodes
  std::vector<uint32_t> peer_nodes;        // per peer: its node
  shard_id guardian_id = 0;
  frontier_actor guardian;                 // invalid while not guarding
  uint64_t guard_seq = 0;                  // ids of guarded URLs
  uint64_t guard_acked = 0;                // the guardian has every id up to this
  std::unordered_map<uint64_t, crawl_request> live; // guarded by the guardian, not done
  guard_batch guard_out;                   // for the guardian, in order
  uint64_t guard_req = 0;                  // guard batches sent
  std::map<uint64_t, std::function<void(bool)>> guards_unacked; // by request: what waits on it
  /// As a guardian: other shards' URLs not done (by guard id), and those
  /// done (the partition hash of their host and their fingerprint).
  struct guarded_shard {
    std::unordered_map<uint64_t, crawl_request> live;
    std::vector<std::pair<uint64_t, url_fingerprint>> done;
  };
  std::unordered_map<shard_id, guarded_shard> guarded;
  /// Dead shards whose hosts this shard may now own, with the partition they
  /// had: URLs for those hosts wait until their guardian's takeover arrives.
  std::map<shard_id, partition_map> awaiting_takeover;
  std::set<shard_id> taken_over;           // dead shards whose takeover arrived
  std::vector<std::pair<crawl_request, bool>> held; // (URL, is a seed) waiting for a takeover
  // Nodes that join a running crawl (docs/distributed.md): the hosts the new
  // shards now own move to them with their queues and seen URLs, once no
  // request to them is under way here and their delay has passed.
  std::unordered_map<uint64_t, std::vector<url_fingerprint>> seen_by_host; // by partition hash
  std::set<shard_id> handoff_to;           // shards that joined and wait for this one's hosts
  bool handoff_waiting = false;            // the hosts are quiet: their delay runs
  struct handoff_part {
    shard_id to = 0;
    std::vector<crawl_request> urls; // with their guard ids here
  };
  std::map<uint64_t, handoff_part> handoffs_in_transit; // parts sent, not yet acknowledged
  uint64_t handoff_seq = 0;
  std::set<shard_id> awaiting_handoff;     // (a joined shard) shards whose hosts it waits for
  uint64_t moved_hosts = 0;
  uint64_t moved_urls = 0;
  uint64_t guarded_count = 0;
  uint64_t reowned = 0;                    // URLs handed on for a dead shard
  /// Link batches sent and not acknowledged, while guarding: sent again if
  /// their owner goes away.
  struct sent_links {
    shard_id to = 0;
    std::shared_ptr<const link_batch> batch;
  };
  std::map<uint64_t, sent_links> links_in_transit;
  std::vector<crawl_request> orphans;      // links whose owner failed, routed by the next view
  uint64_t memory_queued = 0;              // queued URLs held in memory
  uint64_t resumed = 0;                    // URLs taken up again after a crash
  std::string state_error;                 // why the state store failed
  uint64_t next_fetch_id = 0;
  std::size_t next_fetcher = 0;
  std::size_t next_parser = 0;
  uint64_t queued = 0;
  uint64_t in_flight = 0;       // fetching or parsing
  uint64_t acquiring = 0;       // slot requests outstanding in all hosts
  uint64_t waiting_retry = 0;
  uint64_t robots_fetching = 0;
  uint64_t admitted = 0;
  uint64_t seen = 0;
  uint64_t recorded = 0;
  uint64_t pages = 0;
  uint64_t failures = 0;
  uint64_t bytes = 0;
  uint64_t dropped = 0;
  uint64_t batches_sent = 0;
  uint64_t batches_received = 0;
  uint64_t record_seq = 0;
  bool tick_set = false;
  bool stopping = false;
  std::minstd_rand rng;
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
