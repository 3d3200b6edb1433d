#include "frontier/replication.hpp"

#include <algorithm>

#include "arachne/detail/hash.hpp"
#include "arachne/url.hpp"

namespace arachne {

shard_id guardian_of(const cluster_view& view, shard_id owner) {
  auto me = std::find(view.shards.begin(), view.shards.end(), owner);
  if (me == view.shards.end() || view.nodes.size() != view.shards.size())
    return owner;
  auto node = view.nodes[static_cast<std::size_t>(me - view.shards.begin())];
  shard_id best = owner;
  uint64_t best_score = 0;
  for (std::size_t i = 0; i < view.shards.size(); ++i) {
    if (view.nodes[i] == node)
      continue;
    auto score = detail::mix64(detail::mix64(owner) ^ view.shards[i]);
    if (best == owner || score > best_score) {
      best = view.shards[i];
      best_score = score;
    }
  }
  return best;
}

// -- guard_link ------------------------------------------------------------------

void guard_link::admit(crawl_request& req) {
  req.id = ++seq;
  auto copy = req;
  copy.referrer.clear();
  if (active)
    out.add.push_back(copy);
  live.emplace(req.id, std::move(copy));
}

void guard_link::done(uint64_t id) {
  if (live.erase(id) > 0 && active)
    out.done.push_back(id);
}

// -- guarded_urls --------------------------------------------------------------

void guarded_urls::apply(shard_id owner, guard_batch& batch) {
  auto& urls = shards_[owner];
  if (batch.full) {
    live_ -= urls.live.size();
    urls.live.clear();
  }
  for (auto& req : batch.add) {
    auto gid = req.id;
    if (urls.live.emplace(gid, std::move(req)).second)
      ++live_;
  }
  // Done: kept as host and fingerprint, so that a new owner of the host
  // does not fetch it again.
  for (auto gid : batch.done) {
    auto i = urls.live.find(gid);
    if (i == urls.live.end())
      continue;
    auto& u = i->second;
    urls.done.emplace_back(partition_hash(url_host(u.url)),
                           keyed_by_url(u) ? fingerprint(u.url) : fingerprint(seen_key(u)));
    urls.live.erase(i);
    --live_;
  }
}

guarded_urls::of_shard guarded_urls::take(shard_id owner) {
  of_shard out;
  if (auto i = shards_.find(owner); i != shards_.end()) {
    live_ -= i->second.live.size();
    out = std::move(i->second);
    shards_.erase(i);
  }
  return out;
}

void guarded_urls::keep_only(const cluster_view& view, shard_id me) {
  for (auto i = shards_.begin(); i != shards_.end();) {
    bool alive = std::find(view.shards.begin(), view.shards.end(), i->first) != view.shards.end();
    if (alive && guardian_of(view, i->first) == me) {
      ++i;
      continue;
    }
    live_ -= i->second.live.size();
    i = shards_.erase(i);
  }
}

// -- parts for new owners --------------------------------------------------------

namespace {

/// Per shard, the part being filled; a full one goes out at once.
template <class Batch>
class parts {
public:
  parts(std::size_t n, const std::function<void(std::size_t, Batch)>& emit)
    : out_(n), emit_(emit) {}

  Batch& operator[](std::size_t k) { return out_[k]; }

  std::size_t size() const noexcept { return out_.size(); }

  void send(std::size_t k, bool last) {
    auto b = std::move(out_[k]);
    out_[k] = Batch{};
    b.last = last;
    emit_(k, std::move(b));
  }

private:
  std::vector<Batch> out_;
  const std::function<void(std::size_t, Batch)>& emit_;
};

} // namespace

void split_takeover(guarded_urls::of_shard urls, const partition_map& partition,
                    const std::function<void(std::size_t, takeover_batch)>& emit,
                    part_limits limits) {
  parts<takeover_batch> out{partition.shards().size(), emit};
  for (auto& [hash, fp] : urls.done) {
    auto k = partition.owner_index_of_hash(hash);
    out[k].seen.push_back({hash, fp.hi, fp.lo});
    if (out[k].seen.size() >= limits.seen)
      out.send(k, false);
  }
  for (auto& [gid, req] : urls.live) {
    auto r = std::move(req);
    r.id = 0;
    r.resumed = true; // it may have been recorded before its node died
    auto k = partition.owner_index(url_host(r.url));
    out[k].urls.push_back(std::move(r));
    if (out[k].urls.size() >= limits.urls)
      out.send(k, false);
  }
  for (std::size_t k = 0; k < out.size(); ++k)
    out.send(k, true);
}

handoff_counts split_handoff(site_table& sites,
                             std::unordered_map<uint64_t, std::vector<url_fingerprint>>& seen_by_host,
                             fingerprint_set& seen, const partition_map& partition, shard_id me,
                             std::size_t index, const std::set<shard_id>& joined,
                             const std::function<void(std::size_t, handoff_batch)>& emit,
                             part_limits limits) {
  handoff_counts moved;
  parts<handoff_batch> out{partition.shards().size(), emit};
  for (auto i = sites.begin(); i != sites.end();) {
    auto host = url_host(i->first);
    if (partition.owner(host) == me) {
      ++i;
      continue;
    }
    auto k = partition.owner_index(host);
    out[k].sites.push_back({i->first, i->second.admitted});
    ++moved.sites;
    for (auto& req : sites.remove(i++)) {
      ++moved.urls;
      out[k].urls.push_back(std::move(req));
      if (out[k].urls.size() >= limits.urls)
        out.send(k, false);
    }
  }
  for (auto i = seen_by_host.begin(); i != seen_by_host.end();) {
    auto k = partition.owner_index_of_hash(i->first);
    if (k == index) {
      ++i;
      continue;
    }
    for (auto& fp : i->second) {
      seen.erase(fp);
      out[k].seen.push_back({i->first, fp.hi, fp.lo});
      if (out[k].seen.size() >= limits.seen)
        out.send(k, false);
    }
    i = seen_by_host.erase(i);
  }
  auto& ids = partition.shards();
  for (std::size_t k = 0; k < out.size(); ++k) {
    bool last = joined.count(ids[k]) > 0;
    if (last || !out[k].urls.empty() || !out[k].seen.empty() || !out[k].sites.empty())
      out.send(k, last);
  }
  return moved;
}

} // namespace arachne
