#include "frontier/fetch_policy.hpp"

#include <catch2/catch.hpp>

#include <chrono>

using namespace arachne;
using namespace std::chrono_literals;

namespace {

fetch_result outcome(uint16_t status, crawl_errc error = crawl_errc::none) {
  fetch_result res;
  res.status = status;
  res.error = error;
  return res;
}

crawl_request request(uint32_t attempt = 0, uint32_t throttled = 0) {
  crawl_request req;
  req.url = "http://h.test/p";
  req.attempt = attempt;
  req.throttled = throttled;
  return req;
}

} // namespace

TEST_CASE("fetch_policy decides what a fetch's outcome leads to", "[frontier]") {
  struct row {
    const char* what;
    crawl_request req;
    fetch_result res;
    bool stopping;
    bool site_dead;
    bool parsable;
    fetch_action expected;
  };
  const row rows[] = {
    {"an HTML page goes to a parser", request(), outcome(200), false, false, true, fetch_action::parse},
    {"another 200 is recorded", request(), outcome(200), false, false, false, fetch_action::record},
    {"a 404 is recorded", request(), outcome(404), false, false, true, fetch_action::record},
    {"a 301 is followed", request(), outcome(301), false, false, false, fetch_action::follow_redirect},
    {"a 308 is followed", request(), outcome(308), false, false, false, fetch_action::follow_redirect},
    {"a 304 is no redirect", request(), outcome(304), false, false, false, fetch_action::record},
    {"a 429 is queued again", request(), outcome(429), false, false, false, fetch_action::requeue_throttled},
    // (Not ten times for free: a host answering 429 to everything held each
    // URL ten back-offs, minutes, and the crawl with it.)
    {"a 429 the second time uses a retry", request(0, 1), outcome(429), false, false, false, fetch_action::retry},
    {"a 429 with no retry left is recorded as it is", request(2, 1), outcome(429), false, false, false, fetch_action::record},
    {"a 429 while stopping is recorded", request(), outcome(429), true, false, false, fetch_action::record},
    {"a 503 is retried", request(), outcome(503), false, false, false, fetch_action::retry},
    {"a 500 is retried", request(1), outcome(500), false, false, false, fetch_action::retry},
    {"a 503 with no retry left is recorded as it is", request(2), outcome(503), false, false, false, fetch_action::record},
    {"a timeout is retried", request(), outcome(0, crawl_errc::timeout), false, false, false, fetch_action::retry},
    {"a reset is retried", request(), outcome(0, crawl_errc::connection_reset), false, false, false, fetch_action::retry},
    {"a timeout with no retry left: retries exhausted", request(2), outcome(0, crawl_errc::timeout), false, false, false, fetch_action::retries_exhausted},
    {"nothing is retried while stopping", request(), outcome(0, crawl_errc::timeout), true, false, false, fetch_action::record},
    {"a retried one, stopping: retries exhausted", request(1), outcome(0, crawl_errc::timeout), true, false, false, fetch_action::retries_exhausted},
    {"a DNS failure is not retried", request(), outcome(0, crawl_errc::dns_failed), false, false, false, fetch_action::record},
    {"a connect failure is retried", request(), outcome(0, crawl_errc::connect_failed), false, false, false, fetch_action::retry},
    {"a connect failure at a dead site is recorded", request(), outcome(0, crawl_errc::connect_failed), false, true, false, fetch_action::record},
    {"a page of a dead site is still parsed", request(), outcome(200), false, true, true, fetch_action::parse},
    {"too large is not retried", request(), outcome(0, crawl_errc::too_large), false, false, false, fetch_action::record},
    {"a TLS failure is not retried", request(), outcome(0, crawl_errc::tls_failed), false, false, false, fetch_action::record},
  };
  fetch_policy policy;
  policy.retries = 2;
  for (auto& r : rows) {
    INFO(r.what);
    CHECK(policy.decide(r.req, r.res, r.stopping, r.site_dead, r.parsable) == r.expected);
  }
}

TEST_CASE("fetch_policy backs off by doubling, with jitter", "[frontier]") {
  fetch_policy policy;
  policy.retry_delay = 100ms;
  CHECK(policy.retry_wait(1, 1.0) == caf::timespan{100ms});
  CHECK(policy.retry_wait(2, 1.0) == caf::timespan{200ms});
  CHECK(policy.retry_wait(3, 1.5) == caf::timespan{600ms});
  CHECK(policy.retry_wait(40, 1.0) == caf::timespan{100ms * 1024}); // doubling stops at 2^10
}

TEST_CASE("retries_exhausted records say the last failure and the retries", "[frontier]") {
  auto res = outcome(0, crawl_errc::timeout);
  res.error_message = "no first byte within 2s";
  CHECK(retries_exhausted_message(res, 2) == "timeout after 2 retries: no first byte within 2s");
}
