#include "arachne/sinks/sinks.hpp"

#include <exception>
#include <memory>

#include "caf/actor_system.hpp"
#include "caf/sec.hpp"
#include "caf/stateful_actor.hpp"
#include "caf/typed_event_based_actor.hpp"

#include "arachne/sinks/jsonl_sink.hpp"
#include "arachne/sinks/sqlite_sink.hpp"
#include "arachne/sinks/warc_sink.hpp"

namespace arachne {

caf::expected<sink_actor> open_sink(caf::actor_system& sys, const std::string& spec,
                                    uint64_t warc_max_bytes, bool append) {
  auto colon = spec.find(':');
  auto kind = spec.substr(0, colon);
  auto path = colon == std::string::npos ? std::string{} : spec.substr(colon + 1);
  auto bad = [&](const std::string& why) {
    return caf::make_error(caf::sec::invalid_argument, "--out=" + spec + ": " + why);
  };
  try {
    if (kind == "null" || kind == "stats") {
      if (!path.empty())
        return bad("'" + kind + "' takes no path");
      return spawn_sink(sys, std::make_unique<null_sink>());
    }
    if (path.empty())
      return bad("expects KIND:PATH with KIND jsonl, sqlite or warc (or null, stats)");
    if (kind == "jsonl")
      return spawn_sink(sys, std::make_unique<jsonl_sink>(path, append));
    if (kind == "sqlite")
      return spawn_sink(sys, std::make_unique<sqlite_sink>(path));
    if (kind == "warc") {
      auto gz = path.size() > 8 && path.compare(path.size() - 8, 8, ".warc.gz") == 0;
      auto plain = path.size() > 5 && path.compare(path.size() - 5, 5, ".warc") == 0;
      if (!gz && !plain)
        return bad("a WARC path ends in .warc.gz or .warc");
      return spawn_sink(sys, std::make_unique<warc_sink>(path, warc_max_bytes, append));
    }
    return bad("unknown kind '" + kind + "' (jsonl, sqlite, warc, null, stats)");
  } catch (const std::exception& e) {
    return bad(e.what());
  }
}

namespace {

/// Marks a fan-out request as answered (after an error).
constexpr std::size_t done = static_cast<std::size_t>(-1);

struct fanout_state {
  std::vector<sink_actor> sinks;
  static inline const char* name = "sink_fanout";
};

// One sink in front of several: each message goes to all, the reply comes
// when all have answered (the first error wins).
sink_actor::behavior_type fanout(sink_actor::stateful_pointer<fanout_state> self,
                                 std::vector<sink_actor> sinks) {
  self->state.sinks = std::move(sinks);
  return {
    [=](open_atom, const crawl_info& info) -> caf::typed_response_promise<sink_needs> {
      auto rp = self->make_response_promise<sink_needs>();
      auto left = std::make_shared<std::size_t>(self->state.sinks.size());
      auto needs = std::make_shared<sink_needs>();
      for (auto& s : self->state.sinks)
        self->request(s, caf::infinite, open_atom::value, info)
          .then(
            [=](const sink_needs& n) mutable {
              *needs |= n;
              if (*left != done && --*left == 0)
                rp.deliver(*needs);
            },
            [=](caf::error& err) mutable {
              if (*left != done)
                rp.deliver(std::move(err));
              *left = done;
            });
      return rp;
    },
    [=](record_batch& batch) -> caf::typed_response_promise<ack> {
      auto rp = self->make_response_promise<ack>();
      auto left = std::make_shared<std::size_t>(self->state.sinks.size());
      auto seq = batch.seq;
      for (auto& s : self->state.sinks)
        self->request(s, caf::infinite, batch)
          .then(
            [=](const ack&) mutable {
              if (*left != done && --*left == 0)
                rp.deliver(ack{seq});
            },
            [=](caf::error& err) mutable {
              if (*left != done)
                rp.deliver(std::move(err));
              *left = done;
            });
      return rp;
    },
    [=](caf::flush_atom) -> caf::typed_response_promise<caf::ok_atom> {
      auto rp = self->make_response_promise<caf::ok_atom>();
      auto left = std::make_shared<std::size_t>(self->state.sinks.size());
      for (auto& s : self->state.sinks)
        self->request(s, caf::infinite, caf::flush_atom::value)
          .then(
            [=](caf::ok_atom) mutable {
              if (*left != done && --*left == 0)
                rp.deliver(caf::ok_atom::value);
            },
            [=](caf::error& err) mutable {
              if (*left != done)
                rp.deliver(std::move(err));
              *left = done;
            });
      return rp;
    },
  };
}

} // namespace

sink_actor spawn_sink_fanout(caf::actor_system& sys, std::vector<sink_actor> sinks) {
  return sys.spawn(fanout, std::move(sinks));
}

} // namespace arachne
