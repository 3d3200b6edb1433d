#pragma once

#include <cstdint>
#include <string>

#include "caf/timespan.hpp"

#include "arachne/messages.hpp"

namespace arachne {

/// What a shard does with the outcome of a page's fetch.
enum class fetch_action : uint8_t {
  record,            // record it as it is: a page, a status, a failure
  requeue_throttled, // 429: back into the site's queue, no retry used up
  retry,             // transient: fetch it again after a back-off
  retries_exhausted, // transient, with every retry used: a retries_exhausted record
  follow_redirect,   // record the redirect and follow its Location as a new URL
  parse,             // an HTML page: to a parser, recorded with its links
};

/// The fetch-outcome policy of a shard (retries, 429, redirects), a plain
/// value: the shard's actor asks it and carries out the answer.
struct fetch_policy {
  uint32_t retries = 2;                                 // --retries
  caf::timespan retry_delay = std::chrono::seconds(1);  // --retry-delay: the first wait, doubled each time
  uint32_t max_throttled = 1; // 429s a URL is queued again for without using a retry; later
                              // ones are retried like a 503 (--retries), then recorded

  /// The action for `res`, the outcome of fetching `req`. `stopping`: the
  /// crawl stops (nothing is tried again); `site_dead`: the site failed to
  /// connect or resolve too often; `parsable`: an HTML page a parser can take.
  fetch_action decide(const crawl_request& req, const fetch_result& res, bool stopping,
                      bool site_dead, bool parsable) const noexcept;

  /// The back-off before retry number `attempt` (1 for the first):
  /// `retry_delay` doubled per earlier attempt, times `jitter` (1 to 1.5).
  caf::timespan retry_wait(uint32_t attempt, double jitter) const noexcept;
};

/// True for failures worth trying again: connect, timeout, reset, broken
/// HTTP, proxies failing, and the statuses 500, 502, 503, 504.
bool is_transient(const fetch_result& res) noexcept;

/// True for failures to reach the site at all (DNS, connect).
bool is_unreachable(const fetch_result& res) noexcept;

/// The message of a retries_exhausted record: the last failure and how
/// many retries it took.
std::string retries_exhausted_message(const fetch_result& res, uint32_t retries);

} // namespace arachne
