#include "arachne/sinks/stats_sink.hpp"

#include <algorithm>

#include "frontier/frontier.hpp"

namespace arachne {

stats_sink_actor::behavior_type stats_sink(stats_sink_actor::stateful_pointer<stats_sink_state> self) {
  return {
    [](open_atom, const crawl_info&) { return sink_needs{}; },
    [=](const record_batch& batch) {
      auto& st = self->state;
      for (auto& r : batch.records) {
        ++st.tally.records;
        if (r.kind == record::kind_t::item) {
          ++st.tally.items;
          continue;
        }
        if (r.error == crawl_errc::none)
          ++st.tally.pages;
        else
          ++st.tally.failures;
        st.tally.bytes += r.bytes;
        if (r.status != 0)
          ++st.statuses[r.status];
        if (r.error != crawl_errc::none)
          ++st.errors[to_string(r.error)];
        ++st.hosts[std::string{url_host(r.url)}];
      }
      return ack{batch.seq};
    },
    [](caf::flush_atom) { return caf::ok_atom::value; },
    [=](caf::get_atom) {
      auto& st = self->state;
      auto t = st.tally;
      t.statuses.assign(st.statuses.begin(), st.statuses.end());
      t.errors.assign(st.errors.begin(), st.errors.end());
      t.top_hosts.assign(st.hosts.begin(), st.hosts.end());
      std::sort(t.top_hosts.begin(), t.top_hosts.end(), [](auto& x, auto& y) {
        return x.second != y.second ? x.second > y.second : x.first < y.first;
      });
      if (t.top_hosts.size() > 10)
        t.top_hosts.resize(10);
      return t;
    },
  };
}

} // namespace arachne
