#include "sinks/jsonl_sink.hpp"

#include <cerrno>
#include <cstring>

#include <unistd.h>

#include "caf/sec.hpp"

#include "arachne/json.hpp"

namespace arachne {

jsonl_sink_state::~jsonl_sink_state() {
  if (file != nullptr && file != stdout)
    std::fclose(file);
}

sink_actor::behavior_type jsonl_sink(sink_actor::stateful_pointer<jsonl_sink_state> self,
                                     std::string path) {
  auto& st = self->state;
  st.path = path;
  st.file = path == "-" ? stdout : std::fopen(path.c_str(), "w");
  if (st.file == nullptr) {
    self->quit(caf::make_error(caf::sec::runtime_error,
                               "cannot open '" + path + "': " + std::strerror(errno)));
    return {
      [](open_atom, const crawl_info&) { return caf::ok_atom::value; },
      [](record_batch& b) { return ack{b.seq}; },
      [](caf::flush_atom) { return caf::ok_atom::value; },
    };
  }
  return {
    [](open_atom, const crawl_info&) { return caf::ok_atom::value; },
    [=](record_batch& batch) {
      auto& s = self->state;
      std::string lines;
      for (auto& r : batch.records) {
        lines += to_json(r);
        lines += '\n';
      }
      std::fwrite(lines.data(), 1, lines.size(), s.file);
      s.records += batch.records.size();
      return ack{batch.seq};
    },
    [=](caf::flush_atom) {
      auto& s = self->state;
      std::fflush(s.file);
      if (s.file != stdout)
        ::fsync(::fileno(s.file));
      return caf::ok_atom::value;
    },
  };
}

} // namespace arachne
