#pragma once

#include <memory>
#include <vector>

#include "caf/stateful_actor.hpp"
#include "caf/typed_event_based_actor.hpp"

#include "arachne/actor_types.hpp"

namespace arachne::testing {

/// A memory sink's state: where the records go.
struct memory_sink_state {
  std::shared_ptr<std::vector<record>> out;
};

/// Keeps every record in `out` (the smallest custom sink there is).
sink_actor::behavior_type memory_sink(sink_actor::stateful_pointer<memory_sink_state> self,
                                      std::shared_ptr<std::vector<record>> out);

} // namespace arachne::testing
