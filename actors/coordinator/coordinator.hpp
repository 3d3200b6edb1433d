#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "caf/event_based_actor.hpp"
#include "caf/stateful_actor.hpp"

#include "arachne/actor_types.hpp"
#include "arachne/crawl.hpp"
#include "coordinator/end_of_crawl.hpp"
#include "coordinator/membership.hpp"

namespace arachne {

/// What the coordinator of a running crawl works with and leaves behind:
/// set up by crawl::run before it sends the coordinator `run_atom` (the
/// coordinator does nothing before), read by it again only after the
/// coordinator answered (the messages order the two).
struct coordination {
  // -- given --------------------------------------------------------------------
  cluster_options cluster;
  bool distributed = false;
  bool own_sinks = true;          // records come to `sinks` (not the nodes' own)
  sink_failure_policy on_sink_failure = sink_failure_policy::stop;
  std::vector<std::function<caf::expected<sink_actor>()>> reopen; // per sink; empty if none
  crawl_info info;
  node_start start;               // what a node that joins is started with
  /// The valid seeds and --sitemap sitemaps, to start again at a lost node's hosts' owners.
  std::vector<crawl_request> seeds;
  proxy_manager_actor proxies;    // for progress; invalid in a distributed crawl
  std::string state_dir;          // --state of a distributed crawl: the coordinator's file
  std::atomic<bool>* stop_requested = nullptr;
  std::atomic<bool>* stop_now = nullptr; // ... and not to wait for what is under way
  caf::actor progress_to;         // gets (progress_atom, crawl_progress); invalid: no progress
  caf::timespan progress_every{std::chrono::seconds(1)};
  std::chrono::steady_clock::time_point started;
  caf::actor observer;            // gets each round's stats by node (--metrics); invalid: none
  /// A seed the control API adds, as the crawl normalises URLs (or why it is none).
  std::function<caf::expected<std::string>(const std::string&)> normalise;
  bool paused = false;            // the control API paused the crawl

  // -- kept up to date while it runs ----------------------------------------------
  membership members;
  std::vector<sink_actor> sinks;  // the user's and the tally; a restarted one replaces its failed one
  crawl_report report;
  std::map<shard_id, frontier_stats> last_known; // of every shard, lost nodes' included
  uint64_t seen = 0;
  link_cuts cut;
  uint64_t items_dropped = 0;

  /// Writes the coordinator's state (--state of a distributed crawl).
  void save(caf::actor_system& sys, bool finished) const;
};

/// Atoms of the coordinator's own protocol.
using run_atom = caf::atom_constant<caf::atom("run")>;
using poll_atom = caf::atom_constant<caf::atom("poll")>;
using progress_atom = caf::atom_constant<caf::atom("progress")>;

/// The coordinator's state: the crawl's coordination and its rounds.
struct coordinator_actor_state {
  std::shared_ptr<coordination> c;
  caf::response_promise done;     // crawl::run waits on it
  end_detector end;
  uint64_t rounds = 0;            // rounds of stats begun
  bool polling = false;           // a round is under way
  uint64_t poll_token = 0;        // of the poll scheduled last
  caf::timespan poll_wait = round_wait_min; // to the next round (next_round_wait)
  std::optional<stats_round> last_round; // the sums of the last round
  std::chrono::steady_clock::time_point last_round_at; // when it was in
  uint64_t view_gen = 0;          // grows with every view change
  std::vector<uint64_t> fresh_from; // per sink: the first round that sees it restarted
  std::vector<bool> restarting;   // per sink: a restarted one is opening
  std::vector<bool> given_up;     // per sink: no restart coming
  bool running = false;           // run_atom came: the crawl is the coordinator's
  std::vector<std::string> early_joins; // joins asked for before that
  std::set<std::string> joining;  // nodes starting to join
  bool view_staged = false;       // new shards have a view the others do not have yet
  std::deque<std::function<void()>> after_view; // view changes waiting for that
  bool stop_sent = false;
  std::chrono::steady_clock::time_point next_progress;
  static inline const char* name = "coordinator";
};

/// The coordinator of a crawl (docs/architecture.md): asks every shard for
/// its stats every 20 ms (up to 320 ms while the end cannot be near) and
/// ends the crawl when all are idle with nothing in transit; takes nodes in
/// (join_atom) and out (their DOWN, a failed stats request) by sending new
/// cluster views, one change at a time;
/// restarts failed sinks; sends progress to `progress_to`. Does nothing
/// before `run_atom`, which it answers with ok_atom once the crawl is over
/// and everything it learned is in its `coordination`. Blocking calls
/// (connecting to a node that joins) make it a detached actor.
caf::behavior coordinator(caf::stateful_actor<coordinator_actor_state>* self,
                          std::shared_ptr<coordination> c);

} // namespace arachne
