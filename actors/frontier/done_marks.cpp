#include "frontier/done_marks.hpp"

namespace arachne {

uint64_t done_marks::link_sent() {
  links_out_.insert(++link_seq_);
  return link_seq_;
}

std::vector<uint64_t> done_marks::records_stored(std::vector<uint64_t> ids) {
  if (links_out_.empty())
    return ids;
  waiting_.emplace_back(link_seq_, std::move(ids));
  return {};
}

// The waiting pages whose link batches are all acknowledged.
std::vector<uint64_t> done_marks::ready() {
  std::vector<uint64_t> out;
  while (!waiting_.empty() && waiting_.front().first != parked
         && (links_out_.empty() || *links_out_.begin() > waiting_.front().first)) {
    auto& ids = waiting_.front().second;
    out.insert(out.end(), ids.begin(), ids.end());
    waiting_.pop_front();
  }
  return out;
}

std::vector<uint64_t> done_marks::links_journalled(uint64_t seq, bool ok) {
  links_out_.erase(seq);
  if (!ok) // an owner could not journal them: the pages that gave them stay taken
    while (!waiting_.empty() && waiting_.back().first != parked && waiting_.back().first >= seq)
      waiting_.pop_back();
  return ready();
}

void done_marks::links_lost(uint64_t seq) {
  for (auto& w : waiting_)
    if (w.first >= seq)
      w.first = parked;
  links_out_.erase(seq);
}

std::vector<uint64_t> done_marks::unpark() {
  for (auto& w : waiting_)
    if (w.first == parked)
      w.first = link_seq_;
  return ready();
}

} // namespace arachne
