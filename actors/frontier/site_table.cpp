#include "frontier/site_table.hpp"

#include <algorithm>

namespace arachne {

host_entry& site_table::operator[](const std::string& origin) {
  auto& h = sites_[origin];
  if (h.origin.empty())
    h.origin = origin;
  return h;
}

host_entry* site_table::find(const std::string& origin) {
  auto i = sites_.find(origin);
  return i == sites_.end() ? nullptr : &i->second;
}

namespace {

// Adds `req` to `q`, kept in priority order (higher first) and, within a
// priority, in the order URLs came: behind every URL of its priority or a
// higher one. (Without priorities, a push to the back.)
void enqueue(std::deque<crawl_request>& q, crawl_request req) {
  if (q.empty() || q.back().priority >= req.priority) {
    q.push_back(std::move(req));
    return;
  }
  auto at = std::upper_bound(q.begin(), q.end(), req.priority,
                             [](int32_t p, const crawl_request& r) { return p > r.priority; });
  q.insert(at, std::move(req));
}

} // namespace

void site_table::push(host_entry& h, crawl_request req) {
  ++queued_;
  ++in_memory_;
  enqueue(h.queue_, std::move(req));
}

crawl_request site_table::pop(host_entry& h) {
  auto req = std::move(h.queue_.front());
  h.queue_.pop_front();
  --queued_;
  --in_memory_;
  return req;
}

void site_table::spill(host_entry& h) {
  ++h.spilled_;
  ++queued_;
}

void site_table::restore(host_entry& h, uint64_t n) {
  h.spilled_ += n;
  queued_ += n;
}

void site_table::refill(host_entry& h, crawl_request req) {
  --h.spilled_;
  ++in_memory_;
  enqueue(h.queue_, std::move(req));
}

void site_table::forget_spilled(host_entry& h) {
  queued_ -= std::min(queued_, h.spilled_);
  h.spilled_ = 0;
}

std::deque<crawl_request> site_table::remove(map_type::iterator i) {
  auto& h = i->second;
  auto n = static_cast<uint64_t>(h.queue_.size());
  // (A site has URLs only in the store with --state, in one process, where
  // no site moves: those of a moved site would not go with it.)
  queued_ -= std::min(queued_, n + h.spilled_);
  in_memory_ -= std::min(in_memory_, n);
  if (h.starved_)
    line_.erase(std::remove(line_.begin(), line_.end(), i->first), line_.end());
  auto urls = std::move(h.queue_);
  sites_.erase(i);
  return urls;
}

void site_table::wait_for_budget(host_entry& h) {
  if (h.starved_)
    return;
  h.starved_ = true;
  line_.push_back(h.origin);
}

std::optional<std::string> site_table::next_waiting() {
  while (!line_.empty()) {
    auto next = std::move(line_.front());
    line_.pop_front();
    if (auto i = sites_.find(next); i != sites_.end()) {
      i->second.starved_ = false;
      return next;
    }
  }
  return std::nullopt;
}

} // namespace arachne
