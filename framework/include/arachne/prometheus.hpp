#pragma once

// What /metrics serves (--metrics=HOST:PORT): the records' counts and
// distributions and the crawl's gauges per node, in the Prometheus text
// exposition format (version 0.0.4).

#include <cstdint>
#include <string>
#include <vector>

#include "arachne/messages.hpp"
#include "arachne/metrics.hpp"

namespace arachne {

/// What one node (or the one process of a crawl) shows.
struct node_metrics {
  std::string node;          // HOST:PORT in a cluster; empty in one process
  record_metrics records;
  bool frontier = false;     // the gauges below are known (a crawl runs here)
  uint64_t queued = 0;
  uint64_t in_flight = 0;
  uint64_t seen = 0;
  uint64_t dropped = 0;
  uint64_t hosts = 0;
  host_states states;
  std::vector<uint64_t> sink_unacked; // per sink: record batches sent, not acknowledged
  std::vector<std::pair<std::string, uint64_t>> longest_queues; // sites with most queued (10)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_metrics& x) {
  return f(caf::meta::type_name("node_metrics"), x.node, x.records, x.frontier, x.queued,
           x.in_flight, x.seen, x.dropped, x.hosts, x.states, x.sink_unacked, x.longest_queues);
}

/// Everything /metrics renders.
struct metrics_snapshot {
  std::vector<node_metrics> nodes;
  std::vector<proxy_stats> proxies; // empty without proxies
  std::string role;                 // crawl, node or sink-node
  bool paused = false;              // paused through the control API
  double uptime_seconds = 0;
};

/// The Prometheus text format (version 0.0.4) of `m`.
std::string render_prometheus(const metrics_snapshot& m);

/// The content type of that format.
constexpr const char* prometheus_content_type = "text/plain; version=0.0.4; charset=utf-8";

} // namespace arachne
