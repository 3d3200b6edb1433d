#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "caf/actor_system_config.hpp"
#include "caf/error.hpp"

#include "arachne/crawl_options.hpp"
#include "arachne/http_client.hpp"
#include "arachne/options.hpp"
#include "arachne/politeness.hpp"
#include "arachne/proxy.hpp"
#include "arachne/url.hpp"

namespace arachne {

/// Registers every message type that may cross a process boundary, and the
/// `crawl_errc` error category, with `cfg`; `config` does this itself.
void register_message_types(caf::actor_system_config& cfg);

/// A distributed crawl: where its worker nodes are and how the cluster's
/// processes authenticate each other (docs/distributed.md).
/// Where the nodes of a distributed crawl send their records (--cluster-sinks).
enum class cluster_sinks : uint8_t {
  coordinator, // to the coordinator's sinks
  local,       // to each node's own sinks
};

struct cluster_options {
  /// HOST:PORT of each `arachne node`; empty: the crawl runs in this process.
  std::vector<std::string> nodes;
  std::string listen;       // HOST:PORT where nodes join a running crawl; empty: none can
  std::string cert;         // this process's certificate (PEM), signed by the cluster CA
  std::string key;          // its private key (PEM)
  std::string ca;           // the cluster CA: peers need a certificate it signed
  bool insecure = false;    // plaintext and unauthenticated (a trusted network only)
  cluster_sinks sinks = cluster_sinks::coordinator; // where nodes send records
  bool rebalance = false;   // hosts move from the busiest node to one out of work
  caf::timespan heartbeat = std::chrono::seconds(1); // between peers, to notice a hung one
  caf::timespan timeout = std::chrono::seconds(5);   // silence that counts as a dead peer
  /// TLS handshakes a process may have pending; for each one more, the
  /// oldest is dropped (a flood of connections cannot use up descriptors).
  size_t handshakes = 256;
  /// With --state: how long nodes keep a crawl whose coordinator went away,
  /// for the same command to take it up again.
  caf::timespan resume_wait = std::chrono::seconds(60);
};

/// How CAF's scheduler threads look for work when they have none: first
/// `spin` polls in a row, then a poll every 50 us for `backoff`, then asleep
/// until work is given to them or `wake` passed (to take work queued on
/// another thread). Spinning keeps a busy crawl's latency low and costs CPU
/// while it waits (docs/benchmarks.md measured the defaults).
struct scheduler_options {
  uint32_t spin = 100;                                       // CAF's aggressive polls
  caf::timespan backoff = std::chrono::milliseconds(0);      // CAF's moderate phase (25 ms)
  caf::timespan wake = std::chrono::milliseconds(100);       // CAF's relaxed sleep (10 ms)
};

/// The settings a crawl runs with; every field is an option in `config`.
struct settings {
  /// Scheduler threads for the actors; 0 means one per core.
  uint32_t threads = 0;

  /// How idle scheduler threads wait for work.
  scheduler_options scheduler;

  /// How pages are fetched; `http.user_agent` is also the robots.txt token.
  http_options http;

  /// What the crawl covers.
  crawl_scope scope;

  /// How it runs: width, retries, state, sink failures.
  run_options run;

  /// Per-host pacing.
  politeness_options politeness;

  /// How URLs are normalised for deduplication.
  std::string query_mode = "keep";
  std::vector<std::string> strip_params;
  uint64_t max_url_length = 2048;

  /// The proxy pool and how it is used.
  proxy_options proxies;

  /// The cluster, for a distributed crawl.
  cluster_options cluster;

  /// Watching and steering the process (docs/watching.md).
  struct watch_options {
    std::string metrics;       // HOST:PORT serving /metrics (and the control API); empty = none
    std::string token_file;    // --control-token: the control API's token, in this file
    std::string token;         // ... read from it by check(); empty = the API is off
  } watch;

  /// The URL options these settings describe.
  url_options url_rules() const;

  /// Checks what options cannot (proxy URLs, patterns) and reads the proxy
  /// file into `proxies.proxies`; returns a one-line error, or an empty string.
  std::string check();
};

/// Arachne's actor system configuration: the crawl settings with their
/// command-line options, and every message type registered.
class config : public caf::actor_system_config {
public:
  config();

  config(const config&) = delete;
  config& operator=(const config&) = delete;

  /// The settings; options write into them.
  settings crawl;

  /// The command-line options bound to `crawl`; apps add their own.
  option_set& options() noexcept { return options_; }

  /// Arguments that were not options, in order.
  std::vector<std::string> positional;

  /// Parses Arachne's `--name=value` options; options with a dot in their name
  /// (`--scheduler.max-threads=2`) go to CAF. Used by `CAF_MAIN` apps.
  caf::error parse(int argc, char** argv, const char* ini_file = nullptr);

  /// Parses Arachne's options from `args` and applies them; returns a one-line
  /// error, or an empty string. Sets `help_requested` for --help.
  std::string parse_args(const std::vector<std::string>& args);

  /// True if the last parse saw --help (or --help-markdown).
  bool help_requested = false;

  /// True if the last parse saw --help-markdown.
  bool markdown_help_requested = false;

  /// Pushes the settings into CAF's configuration (scheduler threads).
  void apply();

  /// Loads CAF's network layer (once), for remote actors.
  void enable_network();

  /// Prepares this configuration for cluster traffic as `crawl.cluster`
  /// says: TLS with the cluster's certificates (or plaintext if insecure),
  /// heartbeats and the connection timeout. Returns a one-line error (no
  /// certificates and not insecure, an unreadable file), or an empty string.
  /// Call before the actor system is made.
  std::string enable_cluster();

  /// The options a node needs to run its part of this crawl: every option's
  /// value except those of one process (threads, shards, state, cluster).
  std::vector<std::string> crawl_args() const;

private:
  option_set options_;
  std::size_t crawl_options_ = 0; // the first options: those of `crawl`
  bool network_ = false;
  bool tls_ = false;
};

} // namespace arachne
