#include "fetcher/fetcher.hpp"

#include "caf/actor_cast.hpp"
#include "caf/send.hpp"
#include "caf/stateful_actor.hpp"
#include "caf/typed_event_based_actor.hpp"

namespace arachne {

fetcher_impl::behavior_type fetcher(fetcher_impl::stateful_pointer<fetcher_state> self,
                                    http_client* client) {
  return {
    [=](fetch_atom, fetch_request& req) -> caf::typed_response_promise<fetch_result> {
      auto rp = self->make_response_promise<fetch_result>();
      auto id = ++self->state.next_id;
      self->state.pending.emplace(id, rp);
      auto me = caf::actor_cast<fetcher_impl>(self);
      client->fetch(std::move(req), [me, id](fetch_result res) {
        // An IO thread: never touch the actor's state here, only message it.
        caf::anon_send(me, fetched_atom::value, id, std::move(res));
      });
      return rp;
    },
    [=](fetched_atom, uint64_t id, fetch_result& res) {
      auto i = self->state.pending.find(id);
      if (i == self->state.pending.end())
        return;
      i->second.deliver(std::move(res));
      self->state.pending.erase(i);
    },
  };
}

} // namespace arachne
