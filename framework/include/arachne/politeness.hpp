#pragma once

#include <chrono>
#include <cstdint>

#include "caf/timespan.hpp"

namespace arachne {

/// How hard a crawl may press on one host; every field is an option.
struct politeness_options {
  caf::timespan delay = std::chrono::milliseconds(500);   // between request starts per host
  double jitter = 0.5;             // each gap is delay x [1, 1 + jitter]: never shorter
  uint32_t concurrency = 2;        // requests in flight per host
  caf::timespan max_crawl_delay = std::chrono::seconds(30); // robots.txt Crawl-delay cap
  caf::timespan max_backoff = std::chrono::seconds(60);     // cap of the back-off penalty and Retry-After
  bool obey_robots = true;         // fetch robots.txt and obey it
  caf::timespan robots_ttl = std::chrono::hours(24);       // a robots.txt is fetched again after
  // Latency-based throttling per host (docs/user-guide.md#politeness): a host
  // answering slower than `throttle_ratio` x its fastest + `throttle_slack`
  // is taken as overloaded and gets fewer requests at once.
  bool auto_throttle = true;
  double throttle_ratio = 2.0;
  caf::timespan throttle_slack = std::chrono::milliseconds(50);
  // Per IP address (docs/user-guide.md#politeness): hosts whose names lead
  // to one address share these; both 0 = per host only.
  uint32_t per_ip_concurrency = 0; // requests in flight per address; 0 = no limit
  caf::timespan per_ip_delay{0};   // between request starts per address
};

} // namespace arachne
