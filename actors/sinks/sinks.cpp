#include "sinks/sinks.hpp"

#include <exception>

#include "caf/actor_system.hpp"
#include "caf/sec.hpp"

#include "sinks/jsonl_sink.hpp"
#include "sinks/sqlite_sink.hpp"
#include "sinks/warc_sink.hpp"

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

} // namespace arachne
