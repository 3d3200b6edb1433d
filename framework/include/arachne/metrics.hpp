#pragma once

// Counts and distributions of a crawl's records for /metrics
// (--metrics=HOST:PORT), kept where records are made (each frontier shard,
// which reports them with its stats) or stored (a sink-node). Rendering:
// prometheus.hpp.

#include <cstdint>
#include <string>
#include <vector>

#include "caf/meta/type_name.hpp"


namespace arachne {

struct record;

/// A histogram with fixed upper bounds; counts per bucket (not cumulative),
/// the last one for values above every bound (+Inf).
struct histogram {
  std::vector<uint64_t> buckets;
  double sum = 0;
  uint64_t count = 0;

  void observe(double value, const std::vector<double>& bounds);
  void merge(const histogram& other);
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, histogram& x) {
  return f(caf::meta::type_name("histogram"), x.buckets, x.sum, x.count);
}

/// Upper bounds of the duration histograms, in seconds.
const std::vector<double>& duration_bounds();

/// Upper bounds of the size histogram, in bytes.
const std::vector<double>& size_bounds();

/// Counts and distributions of records.
struct record_metrics {
  uint64_t pages = 0;    // records with a response
  uint64_t failures = 0; // records with an error
  uint64_t items = 0;    // items page handlers emitted
  std::vector<uint64_t> status_classes; // [c]: responses with status c xx (1..5); [0]: none
  std::vector<uint64_t> errors;         // by crawl_errc
  uint64_t bytes = 0;                   // body bytes of responses
  histogram fetch_seconds;  // whole fetch (redirects included), of records that fetched
  histogram ttfb_seconds;   // request written to first response byte
  histogram page_bytes;     // body size of responses

  void observe(const record& r);
  void merge(const record_metrics& other);
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, record_metrics& x) {
  return f(caf::meta::type_name("record_metrics"), x.pages, x.failures, x.items, x.status_classes,
           x.errors, x.bytes, x.fetch_seconds, x.ttfb_seconds, x.page_bytes);
}

/// A shard's sites by what they do or wait for.
struct host_states {
  uint64_t fetching = 0;   // requests to it under way
  uint64_t politeness = 0; // URLs queued, waiting for the rate limiter (delay, back-off, concurrency)
  uint64_t robots = 0;     // ... waiting for its robots.txt
  uint64_t dns = 0;        // ... waiting for its address (--per-ip-*)
  uint64_t budget = 0;     // ... waiting for the shard's share of --concurrency
  uint64_t ready = 0;      // ... about to be asked for a slot
  uint64_t idle = 0;       // nothing queued

  void merge(const host_states& other);
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, host_states& x) {
  return f(caf::meta::type_name("host_states"), x.fetching, x.politeness, x.robots, x.dns,
           x.budget, x.ready, x.idle);
}

} // namespace arachne
