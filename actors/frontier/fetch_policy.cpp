#include "frontier/fetch_policy.hpp"

#include <algorithm>

#include "arachne/errors.hpp"
#include "arachne/http_semantics.hpp"

namespace arachne {

bool is_transient(const fetch_result& res) noexcept {
  switch (res.error) {
    case crawl_errc::connect_failed:
    case crawl_errc::timeout:
    case crawl_errc::connection_reset:
    case crawl_errc::protocol_error:
    case crawl_errc::proxy_failed: // the fetcher tried several proxies; later, others may be back
      return true;
    case crawl_errc::none:
      return res.status == 429 || res.status == 500 || res.status == 502 || res.status == 503
             || res.status == 504;
    default:
      return false;
  }
}

bool is_unreachable(const fetch_result& res) noexcept {
  return res.error == crawl_errc::connect_failed || res.error == crawl_errc::dns_failed;
}

fetch_action fetch_policy::decide(const crawl_request& req, const fetch_result& res,
                                  bool stopping, bool site_dead, bool parsable) const noexcept {
  // A site found dead: its remaining URLs end with the failure, unretried.
  if (site_dead && is_unreachable(res))
    return fetch_action::record;
  // 429 slows the host (the limiter backs off) without using up a retry.
  if (res.status == 429 && req.throttled < max_throttled && !stopping)
    return fetch_action::requeue_throttled;
  auto transient = is_transient(res);
  if (transient && req.attempt < retries && !stopping)
    return fetch_action::retry;
  if (transient && req.attempt > 0 && res.error != crawl_errc::none)
    return fetch_action::retries_exhausted;
  if (res.error == crawl_errc::none && is_redirect(res.status))
    return fetch_action::follow_redirect;
  if (res.error == crawl_errc::none && res.status == 200 && parsable)
    return fetch_action::parse;
  return fetch_action::record;
}

caf::timespan fetch_policy::retry_wait(uint32_t attempt, double jitter) const noexcept {
  auto base = retry_delay * (1u << std::min(attempt == 0 ? 0u : attempt - 1, 10u));
  return caf::timespan{static_cast<int64_t>(static_cast<double>(base.count()) * jitter)};
}

std::string retries_exhausted_message(const fetch_result& res, uint32_t retries) {
  return to_string(res.error) + " after " + std::to_string(retries) + " retries: "
         + res.error_message;
}

} // namespace arachne
