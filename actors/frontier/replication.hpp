#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <unordered_map>
#include <vector>

#include "arachne/actor_types.hpp"
#include "arachne/messages.hpp"
#include "arachne/partition.hpp"
#include "frontier/fingerprint.hpp"
#include "frontier/site_table.hpp"

namespace arachne {

// Cross-node replication of a shard's work (docs/distributed.md), the
// plain parts: who guards whom, what a guardian keeps, and how a dead
// shard's or a moved host's URLs are cut into batches for their new owners.
// The shard's actor sends what these make.

/// The guardian of shard `owner` in `view`: a shard on another node, chosen
/// by rendezvous hashing (stable while both live); `owner` if there is none.
shard_id guardian_of(const cluster_view& view, shard_id owner);

/// Parts per message: a takeover or handoff is sent in parts of at most
/// this many URLs or seen fingerprints.
struct part_limits {
  std::size_t urls = 4096;
  std::size_t seen = 65536;
};

/// As a guardian: the URLs other shards admitted and have not finished (by
/// their guard ids), and those finished (as host hash and fingerprint, so
/// that a new owner of the host does not fetch them again).
class guarded_urls {
public:
  struct of_shard {
    std::unordered_map<uint64_t, crawl_request> live;
    std::vector<std::pair<uint64_t, url_fingerprint>> done;
  };

  /// Takes what shard `owner` says: URLs admitted (all of them anew if
  /// `batch.full`), URLs done.
  void apply(shard_id owner, guard_batch& batch);

  /// Takes out what was kept for `owner` (a dead shard).
  of_shard take(shard_id owner);

  /// Drops what this shard (`me`) no longer guards under `view`: shards that
  /// are gone, or that another shard guards now.
  void keep_only(const cluster_view& view, shard_id me);

  /// URLs kept and not done, over all shards.
  uint64_t live() const noexcept { return live_; }

  /// True if something is kept for `owner`.
  bool guards(shard_id owner) const { return shards_.count(owner) > 0; }

private:
  std::unordered_map<shard_id, of_shard> shards_;
  uint64_t live_ = 0;
};

/// Cuts what a guardian kept for a dead shard into takeover parts by the
/// hosts' owners under `partition`: `emit(k, part)` for the shard at index
/// `k`, each shard's last part marked `last` (every shard gets one, so that
/// each knows the takeover is complete). URLs not done are marked resumed
/// (they may have been recorded before their node died), their ids cleared.
void split_takeover(guarded_urls::of_shard urls, const partition_map& partition,
                    const std::function<void(std::size_t, takeover_batch)>& emit,
                    part_limits limits = {});

/// What moved in a handoff: sites and URLs.
struct handoff_counts {
  uint64_t sites = 0;
  uint64_t urls = 0;
};

/// Takes out of `sites` and `seen_by_host` the sites that shard `me` (at
/// `index`) no longer owns under `partition` (a node joined, or hosts were
/// placed on other shards), and their seen URLs out of `seen` (should a host
/// come back, its new owner's takeover says what was done), and cuts them
/// into handoff parts by new owner: `emit(k, part)` for the shard at index
/// `k`. A shard in `joined` always gets a last part (it waits for it);
/// others get parts only when something moved to them.
handoff_counts split_handoff(site_table& sites,
                             std::unordered_map<uint64_t, std::vector<url_fingerprint>>& seen_by_host,
                             fingerprint_set& seen, const partition_map& partition, shard_id me,
                             std::size_t index, const std::set<shard_id>& joined,
                             const std::function<void(std::size_t, handoff_batch)>& emit,
                             part_limits limits = {});

/// As an owner: this shard's link to its guardian. Every URL it admits
/// gets a guard id and is kept here until done; the guardian hears of both
/// in order (`out`, sent at ticks), and says up to which id it has them.
struct guard_link {
  bool active = false;     // the view has shards on other nodes
  shard_id guardian_id = 0;
  frontier_actor guardian; // invalid while not active
  uint64_t seq = 0;        // ids of guarded URLs
  uint64_t acked = 0;      // the guardian has every id up to this
  std::unordered_map<uint64_t, crawl_request> live; // admitted, not done
  guard_batch out;         // for the guardian, in order
  uint64_t requests = 0;   // guard batches sent
  std::map<uint64_t, std::function<void(bool)>> unacked; // by request: what waits on it
  /// What waits on the next batch (sent at the next tick): link batches and
  /// handoffs answered once guarded share one guard batch per tick.
  std::vector<std::function<void(bool)>> waiting;

  /// Keeps a URL just admitted (without its referrer) and gives it its id.
  void admit(crawl_request& req);

  /// A URL is done: the guardian may forget it.
  void done(uint64_t id);

  /// True if the guardian has something to hear or to answer.
  bool busy() const noexcept {
    return !out.add.empty() || !out.done.empty() || !unacked.empty() || !waiting.empty();
  }
};

} // namespace arachne
