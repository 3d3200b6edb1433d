#include "support/memory_sink.hpp"

namespace arachne::testing {

sink_actor::behavior_type memory_sink(sink_actor::stateful_pointer<memory_sink_state> self,
                                      std::shared_ptr<std::vector<record>> out) {
  self->state.out = std::move(out);
  return {
    [](open_atom, const crawl_info&) { return sink_needs{}; },
    [=](record_batch& batch) {
      for (auto& r : batch.records)
        self->state.out->push_back(std::move(r));
      return ack{batch.seq};
    },
    [](caf::flush_atom) { return caf::ok_atom::value; },
  };
}

} // namespace arachne::testing
