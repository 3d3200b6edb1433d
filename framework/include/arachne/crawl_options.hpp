#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "caf/timespan.hpp"

namespace arachne {

/// What a crawl does when a sink fails (--on-sink-failure).
enum class sink_failure_policy : uint8_t {
  stop,             // stop the crawl gracefully
  continue_without, // go on with the other sinks
  restart,          // open it again (up to 3 times) and resend what it had not acknowledged
};

/// Whether a crawl reads sitemaps (--sitemaps).
enum class sitemap_mode : uint8_t {
  on,   // robots.txt's Sitemap lines and --sitemap, besides page links
  off,  // no sitemaps
  only, // sitemaps' URLs (and the seeds), no page links followed
};

/// What a crawl covers: which URLs it takes up and how many; every field is
/// an option.
struct crawl_scope {
  int64_t max_depth = -1;       // links followed from seeds; -1 = unlimited
  uint64_t max_pages = 0;       // URLs fetched in all (split over shards); 0 = unlimited
  uint64_t max_pages_per_host = 1000000; // 0 = unlimited; a backstop against traps
  uint32_t trap_chain = 50;     // links in a row between same-shaped URLs of a site; 0 = no limit
  uint32_t trap_repeats = 3;    // a link whose path repeats segments this often is cut; 0 = never
  std::vector<std::string> allowed_domains; // hosts and their subdomains; empty = all
  std::vector<std::string> allow; // URL regexes: if any, a URL must match one
  std::vector<std::string> deny;  // URL regexes: a URL matching one is dropped
  bool follow_nofollow = false; // follow rel=nofollow links and meta nofollow pages
  bool honour_noindex = false;  // noindex pages' records carry no content (a noindex record)
  bool follow_canonical = false; // queue a page's rel=canonical URL
  sitemap_mode sitemaps = sitemap_mode::on;
  std::vector<std::string> sitemap_urls; // --sitemap: sitemaps to read besides robots.txt's
  uint64_t sitemap_max_urls = 50000;     // per sitemap file (sitemaps.org); more are refused
  uint64_t sitemap_max_bytes = 50ull * 1024 * 1024; // per sitemap file, uncompressed
  uint32_t sitemap_max_depth = 2;        // sitemap index levels followed (the protocol has 1)
};

/// How a crawl runs: how wide, how it retries, where it keeps its state and
/// what it does when a sink fails; every field is an option.
struct run_options {
  uint32_t shards = 0;          // frontier shards; 0 = one per scheduler thread
  uint32_t concurrency = 256;   // requests in flight in all (shared by the shards by demand)
  uint32_t parsers = 0;         // parser actors; 0 = one per scheduler thread
  uint32_t retries = 2;         // for transient failures (connect, timeout, reset, 5xx)
  caf::timespan retry_delay = std::chrono::seconds(1); // first retry; doubles each time
  sink_failure_policy on_sink_failure = sink_failure_policy::stop;
  std::string state_dir;        // the crawl's state store (resumable after a crash); empty = none
  uint64_t queue_memory = 100000; // with a state store: queued URLs per shard kept in memory
  bool recrawl = false;         // a finished crawl in state_dir is crawled again, conditionally
  caf::timespan recrawl_every{0}; // continuous mode: each URL due again after this, adapted; 0 = off
  caf::timespan recrawl_min = std::chrono::minutes(1);  // ... the shortest interval
  caf::timespan recrawl_max = std::chrono::hours(24 * 7); // ... the longest

  /// True in continuous mode (--recrawl-every).
  bool continuous() const noexcept { return recrawl_every.count() > 0; }
};

} // namespace arachne
