#pragma once

#include <cstdint>
#include <unordered_map>

#include "caf/stateful_actor.hpp"
#include "caf/typed_event_based_actor.hpp"
#include "caf/typed_response_promise.hpp"

#include "arachne/actor_types.hpp"
#include "arachne/http_client.hpp"

namespace arachne {

/// Tells a fetcher that one of its requests finished (sent from an IO thread).
using fetched_atom = caf::atom_constant<caf::atom("fetched")>;

/// The fetcher's interface including the completion it sends itself.
using fetcher_impl = fetcher_actor::extend<caf::reacts_to<fetched_atom, uint64_t, fetch_result>>;

/// The fetcher's state: the requests in flight.
struct fetcher_state {
  uint64_t next_id = 0;
  std::unordered_map<uint64_t, caf::typed_response_promise<fetch_result>> pending;
  static inline const char* name = "fetcher";
};

/// A fetcher: hands requests to `client` (which must outlive it) and answers
/// each with its `fetch_result`. Many requests may be in flight at once.
fetcher_impl::behavior_type fetcher(fetcher_impl::stateful_pointer<fetcher_state> self,
                                    http_client* client);

} // namespace arachne
