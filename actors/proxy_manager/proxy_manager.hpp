#pragma once

#include <cstdint>
#include <deque>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "caf/actor_clock.hpp"
#include "caf/actor_system.hpp"
#include "caf/stateful_actor.hpp"
#include "caf/typed_event_based_actor.hpp"
#include "caf/typed_response_promise.hpp"

#include "arachne/actor_types.hpp"
#include "arachne/proxy.hpp"

namespace arachne {

/// The proxy manager's own timer: a quarantine, rate cap or wait may be over.
using wake_atom = caf::atom_constant<caf::atom("wake")>;

/// The proxy manager's interface including the timer it sets itself.
using proxy_manager_impl = proxy_manager_actor::extend<caf::reacts_to<wake_atom>>;

/// Health of one pool member.
enum class proxy_health : uint8_t {
  active,      // leased by the policy
  quarantined, // rested until `until`
  probing,     // rest over: one lease at a time until one succeeds
  retired,     // wrong for the whole run (it rejected the credentials): never leased again
};

/// One pool member with its health and counters.
struct proxy_entry {
  proxy_spec spec;
  proxy_health health = proxy_health::active;
  caf::actor_clock::time_point until{};        // end of the quarantine
  caf::actor_clock::time_point next_lease{};   // rate cap
  uint32_t in_flight = 0;
  uint32_t failure_streak = 0;   // consecutive failures and timeouts
  uint32_t quarantine_streak = 0; // quarantines since the last success (back-off exponent)
  uint64_t generation = 1;        // its session: a ban starts the next (--session-per-proxy)
  std::string retired_why;        // retired: why
  proxy_stats stats;
  std::vector<caf::timespan> latencies; // recent successes, a ring
  std::size_t latency_pos = 0;
};

/// A lease waiting for a usable proxy.
struct waiting_lease {
  caf::typed_response_promise<proxy_lease> promise;
  lease_request request;
  caf::actor_clock::time_point deadline;
};

/// The proxy manager's state.
struct proxy_manager_state {
  proxy_options opts;
  std::vector<proxy_entry> pool;
  std::unordered_map<uint64_t, uint32_t> leases; // lease id -> pool index
  uint64_t next_lease = 0;
  std::size_t cursor = 0; // round-robin
  std::deque<waiting_lease> waiting;
  caf::actor_clock::time_point wake_at{}; // earliest timer set; {} if none
  std::mt19937_64 rng;
  static inline const char* name = "proxy_manager";
};

/// Lends proxies from `pool` by `opts.policy`, judges them by the reports
/// fetchers send, quarantines failing and banned ones with randomized
/// exponential back-off, and re-admits them after a successful probe (their
/// next request). Leases wait up to `opts.wait` when no proxy is usable, then
/// fail with `proxy_exhausted`. `seed` seeds the random policy and back-off.
proxy_manager_impl::behavior_type
proxy_manager(proxy_manager_impl::stateful_pointer<proxy_manager_state> self,
              std::vector<proxy_spec> pool, proxy_options opts, uint64_t seed);

/// Spawns a proxy manager for `opts.proxies` (assumes `settings::check`
/// passed), seeded from the system's random device; an invalid handle if the
/// pool is empty.
proxy_manager_actor spawn_proxy_manager(caf::actor_system& sys, const proxy_options& opts);

/// The name of a health state: active, quarantined or probing.
const char* to_string(proxy_health x) noexcept;

} // namespace arachne
