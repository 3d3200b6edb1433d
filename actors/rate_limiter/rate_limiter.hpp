#pragma once

#include <cstdint>
#include <deque>
#include <random>
#include <string>
#include <unordered_map>

#include "caf/actor_clock.hpp"
#include "caf/stateful_actor.hpp"
#include "caf/typed_event_based_actor.hpp"
#include "caf/typed_response_promise.hpp"

#include "arachne/actor_types.hpp"
#include "arachne/politeness.hpp"

namespace arachne {

/// A rate limiter's own timer: a host's next slot may be due.
using due_atom = caf::atom_constant<caf::atom("due")>;

/// The rate limiter's interface including the timer it sets itself.
using rate_limiter_impl = rate_limiter_actor::extend<caf::reacts_to<due_atom, std::string>>;

/// Pacing state of one host.
struct host_pace {
  caf::timespan delay{0};               // max(configured delay, capped Crawl-delay)
  uint32_t concurrency = 0;
  caf::timespan penalty{0};             // back-off added to the delay
  caf::actor_clock::time_point next_start{};    // earliest next request start
  caf::actor_clock::time_point blocked_until{}; // from Retry-After
  uint32_t in_flight = 0;
  std::deque<caf::typed_response_promise<slot_grant>> waiting;
  bool timer_set = false;
  // Auto-throttle: time to first byte of the host's answers.
  caf::timespan fastest{0};             // the fastest answer seen (0: none yet)
  caf::timespan smooth{0};              // moving average, the newest weighing 1/4
  uint32_t limit = 0;                   // requests at once it may have now (<= concurrency)
  caf::actor_clock::time_point changed{}; // when `limit` last moved
  bool throttled = false;               // `changed` is set
};

/// The rate limiter's state: every host it paces.
struct rate_limiter_state {
  politeness_options opts;
  std::unordered_map<std::string, host_pace> hosts;
  uint64_t next_token = 0;
  std::minstd_rand rng;
  static inline const char* name = "rate_limiter";
};

/// Paces requests per host: a minimum gap between starts (the configured
/// delay or robots.txt Crawl-delay, plus jitter that only lengthens it), a cap
/// on requests in flight (lowered while the host answers much slower than its
/// fastest: auto-throttle), and a back-off penalty after 429/503/timeouts that
/// shrinks again with every success. `seed` seeds the jitter.
rate_limiter_impl::behavior_type rate_limiter(rate_limiter_impl::stateful_pointer<rate_limiter_state> self,
                                              politeness_options opts, uint64_t seed);

} // namespace arachne
