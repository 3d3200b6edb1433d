#include "frontier/delivery.hpp"

#include <algorithm>
#include <iterator>

namespace arachne {

record_delivery::record_delivery(options opts, std::size_t sinks)
  : opts_(opts), sinks_(sinks) {
  if (opts_.batch == 0)
    opts_.batch = 1;
}

void record_delivery::add(record r, uint64_t id) {
  records_.push_back(std::move(r));
  ids_.push_back(id);
}

void record_delivery::clear_pending() {
  records_.clear();
  ids_.clear();
}

bool record_delivery::held_back() const {
  for (auto& s : sinks_) {
    if (s.error.empty() && s.unacked.size() >= opts_.credit)
      return true;
    if (!s.error.empty() && opts_.hold_for_restart && !s.given_up)
      return true;
  }
  return false;
}

std::size_t record_delivery::ready_upto(uint64_t upto) const {
  std::size_t n = 0;
  auto end = std::min(ids_.size(), opts_.batch);
  while (n < end && ids_[n] <= upto)
    ++n;
  return n;
}

std::optional<record_delivery::outgoing> record_delivery::take(std::size_t n, bool track) {
  n = std::min({n, opts_.batch, records_.size()});
  if (n == 0)
    return std::nullopt;
  auto batch = std::make_shared<record_batch>();
  batch->seq = ++seq_;
  auto end = static_cast<std::ptrdiff_t>(n);
  batch_marks marks;
  if (track)
    for (std::size_t k = 0; k < n; ++k)
      if (ids_[k] != 0)
        marks.ids.push_back(ids_[k]);
  ids_.erase(ids_.begin(), ids_.begin() + end);
  batch->records.assign(std::make_move_iterator(records_.begin()),
                        std::make_move_iterator(records_.begin() + end));
  records_.erase(records_.begin(), records_.begin() + end);
  outgoing out;
  for (std::size_t i = 0; i < sinks_.size(); ++i) {
    // A failed sink gets nothing more; what it misses is counted.
    if (!sinks_[i].error.empty())
      sinks_[i].skipped += n;
    else
      out.to.push_back(i);
  }
  marks.sinks_left = out.to.size();
  // A URL is done only when every sink stored its record: with one failed,
  // the batch's URLs stay taken and a resumed crawl fetches them again
  // (the others acknowledging it, the tally among them, is not enough).
  if (!marks.ids.empty() && marks.sinks_left > 0 && out.to.size() == sinks_.size())
    marks_.emplace(batch->seq, std::move(marks));
  out.batch = std::move(batch);
  return out;
}

void record_delivery::sent(std::size_t i, std::shared_ptr<const record_batch> batch) {
  auto seq = batch->seq;
  sinks_[i].unacked.emplace(seq, std::move(batch));
}

std::vector<uint64_t> record_delivery::stored(std::size_t i, uint32_t generation, uint64_t seq) {
  if (sinks_[i].generation == generation)
    sinks_[i].unacked.erase(seq);
  auto m = marks_.find(seq);
  if (m == marks_.end() || --m->second.sinks_left > 0)
    return {};
  auto ids = std::move(m->second.ids);
  marks_.erase(m);
  return ids;
}

void record_delivery::failed(std::size_t i, uint32_t generation, uint64_t seq,
                             const std::string& why) {
  auto& s = sinks_[i];
  if (s.generation != generation)
    return; // an answer from a sink that has been replaced
  marks_.erase(seq); // not in every sink: its URLs stay taken (fetched again on resume)
  if (s.error.empty() && !why.empty())
    s.error = why;
  if (!opts_.hold_for_restart || s.given_up) {
    // (Given up meanwhile: the batch was counted then.)
    if (auto held = s.unacked.find(seq); held != s.unacked.end()) {
      s.skipped += held->second->records.size();
      s.unacked.erase(held);
    }
  }
}

void record_delivery::went_away(std::size_t i, const std::string& why) {
  auto& s = sinks_[i];
  if (s.error.empty())
    s.error = why;
  if (!opts_.hold_for_restart || s.given_up)
    drop_unacked(s);
}

void record_delivery::give_up(std::size_t i) {
  auto& s = sinks_[i];
  s.given_up = true;
  if (s.error.empty())
    s.error = "given up";
  drop_unacked(s);
}

std::vector<std::shared_ptr<const record_batch>> record_delivery::restarted(std::size_t i) {
  auto& s = sinks_[i];
  s.error.clear();
  ++s.generation;
  std::vector<std::shared_ptr<const record_batch>> again;
  for (auto& [seq, batch] : s.unacked)
    again.push_back(std::move(batch));
  s.unacked.clear();
  return again;
}

// A failed sink will not get back what it did not acknowledge: count it as lost to it.
void record_delivery::drop_unacked(sink_state& s) {
  for (auto& [seq, batch] : s.unacked)
    s.skipped += batch->records.size();
  s.unacked.clear();
}

std::vector<std::string> record_delivery::errors() const {
  std::vector<std::string> out;
  for (auto& s : sinks_)
    out.push_back(s.error);
  return out;
}

std::vector<uint64_t> record_delivery::lost() const {
  std::vector<uint64_t> out;
  for (auto& s : sinks_) {
    auto n = s.skipped;
    if (!s.error.empty())
      for (auto& [seq, b] : s.unacked)
        n += b->records.size();
    out.push_back(n);
  }
  return out;
}

std::vector<uint64_t> record_delivery::unacked() const {
  std::vector<uint64_t> out;
  for (auto& s : sinks_)
    out.push_back(s.unacked.size());
  return out;
}

bool record_delivery::unacknowledged() const {
  return std::any_of(sinks_.begin(), sinks_.end(), [](auto& s) { return !s.unacked.empty(); });
}

} // namespace arachne
