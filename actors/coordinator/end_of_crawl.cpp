#include "coordinator/end_of_crawl.hpp"

#include <algorithm>

namespace arachne {

stats_round stats_round::of(const std::vector<frontier_stats>& stats, std::size_t shards) {
  stats_round r;
  r.idle = stats.size() == shards;
  for (auto& st : stats) {
    if (!st.state_error.empty() && r.state_error.empty())
      r.state_error = st.state_error;
    auto& p = r.progress;
    p.recorded += st.recorded;
    p.pages += st.pages;
    p.failures += st.failures;
    p.queued += st.queued;
    p.in_flight += st.in_flight;
    p.seen += st.seen;
    p.bytes += st.bytes;
    p.revisits += st.revisits;
    p.changed += st.changed;
    p.unchanged += st.unchanged;
    p.gone += st.gone;
    p.due += st.due;
    r.sent += st.batches_sent;
    r.received += st.batches_received;
    r.cut += st.cut;
    r.items_dropped += st.items_dropped;
    r.idle = r.idle && st.idle;
  }
  return r;
}

bool stats_round::same_work(const stats_round& o) const {
  auto& p = progress;
  auto& q = o.progress;
  return p.seen == q.seen && p.recorded == q.recorded && p.queued == q.queued
         && p.in_flight == q.in_flight && p.due == q.due && sent == o.sent
         && received == o.received && idle == o.idle;
}

caf::timespan next_round_wait(const std::optional<stats_round>& last, const stats_round& now,
                              caf::timespan since_last, caf::timespan last_wait) {
  if (!last)
    return round_wait_min;
  if (last->same_work(now))
    return std::clamp(last_wait * 2, round_wait_min, round_wait_max);
  auto& p = now.progress;
  auto done = p.recorded > last->progress.recorded ? p.recorded - last->progress.recorded : 0;
  if (done == 0 || p.queued == 0)
    return round_wait_min;
  auto drain = since_last * (static_cast<double>(p.queued) / static_cast<double>(done));
  return std::clamp(std::chrono::duration_cast<caf::timespan>(drain / 8), round_wait_min,
                    round_wait_max);
}

bool end_detector::observe(const std::vector<frontier_stats>& now, const stats_round& round,
                           bool nodes_lost) {
  auto same_as_last = [&] {
    if (last_.size() != now.size())
      return false;
    for (std::size_t i = 0; i < now.size(); ++i)
      if (now[i].batches_sent != last_[i].batches_sent
          || now[i].batches_received != last_[i].batches_received
          || now[i].recorded != last_[i].recorded || !last_[i].idle)
        return false;
    return true;
  };
  if (round.idle && (round.sent == round.received || nodes_lost) && same_as_last())
    return true;
  last_ = now;
  return false;
}

std::string sink_error(const std::vector<frontier_stats>& stats, std::size_t i) {
  for (auto& st : stats)
    if (i < st.sink_errors.size() && !st.sink_errors[i].empty())
      return st.sink_errors[i];
  return {};
}

uint64_t sink_lost(const std::vector<frontier_stats>& stats, std::size_t i) {
  uint64_t n = 0;
  for (auto& st : stats)
    if (i < st.sink_lost.size())
      n += st.sink_lost[i];
  return n;
}

crawl_report::sink_failure& failure_of(crawl_report& report, std::size_t i) {
  for (auto& f : report.sink_failures)
    if (f.sink == i)
      return f;
  report.sink_failures.push_back({i, {}, 0, 0, false});
  return report.sink_failures.back();
}

} // namespace arachne
