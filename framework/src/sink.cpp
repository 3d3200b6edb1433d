#include "arachne/sink.hpp"

#include <exception>

#include "caf/actor_system.hpp"
#include "caf/sec.hpp"
#include "caf/stateful_actor.hpp"
#include "caf/typed_event_based_actor.hpp"

namespace arachne {

sink_base::~sink_base() = default;

sink_needs sink_base::open(const crawl_info&) {
  return {};
}

void sink_base::flush() {
  // nothing buffered
}

namespace {

struct sink_host_state {
  std::unique_ptr<sink_base> impl;
  static inline const char* name = "sink";
};

// Runs `f`; an exception ends the actor with the message as its exit reason,
// and the same error answers the request that failed. The crawl reports it
// with the records the sink had not acknowledged.
template <class F>
caf::error guarded(sink_actor::stateful_pointer<sink_host_state> self, F&& f) {
  caf::error err;
  try {
    f();
    return err;
  } catch (const std::exception& e) {
    err = caf::make_error(caf::sec::runtime_error, std::string{"sink failed: "} + e.what());
  } catch (...) {
    err = caf::make_error(caf::sec::runtime_error, "sink failed");
  }
  self->quit(err);
  return err;
}

sink_actor::behavior_type sink_host(sink_actor::stateful_pointer<sink_host_state> self,
                                    std::shared_ptr<std::unique_ptr<sink_base>> impl) {
  self->state.impl = std::move(*impl);
  return {
    [=](open_atom, const crawl_info& info) -> caf::result<sink_needs> {
      sink_needs needs;
      if (auto err = guarded(self, [&] { needs = self->state.impl->open(info); }))
        return err;
      return needs;
    },
    [=](record_batch& batch) -> caf::result<ack> {
      if (auto err = guarded(self, [&] { self->state.impl->store(batch.records); }))
        return err;
      return ack{batch.seq};
    },
    [=](caf::flush_atom) -> caf::result<caf::ok_atom> {
      if (auto err = guarded(self, [&] { self->state.impl->flush(); }))
        return err;
      return caf::ok_atom::value;
    },
  };
}

} // namespace

sink_actor spawn_sink(caf::actor_system& sys, std::unique_ptr<sink_base> impl) {
  // spawn copies its arguments: hand the unique_ptr over through a shared box.
  auto box = std::make_shared<std::unique_ptr<sink_base>>(std::move(impl));
  return sys.spawn(sink_host, box);
}

} // namespace arachne
