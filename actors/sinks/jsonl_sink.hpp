#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "caf/stateful_actor.hpp"
#include "caf/typed_event_based_actor.hpp"

#include "arachne/actor_types.hpp"

namespace arachne {

/// A JSON-lines sink's state: its file and how much it wrote.
struct jsonl_sink_state {
  std::FILE* file = nullptr;
  std::string path;
  uint64_t records = 0;
  ~jsonl_sink_state();
  static inline const char* name = "jsonl_sink";
};

/// Writes every record as one JSON object per line to `path` (created or
/// truncated; "-" is standard output). Fails to start if the file cannot be
/// opened.
sink_actor::behavior_type jsonl_sink(sink_actor::stateful_pointer<jsonl_sink_state> self,
                                     std::string path);

} // namespace arachne
