#pragma once

#include <cstdint>
#include <deque>
#include <set>
#include <utility>
#include <vector>

namespace arachne {

/// When a URL is done, with a state store or a guardian: once every sink
/// stored its record *and* the owners of its page's links have them (each
/// link batch acknowledged once journalled or guarded there). A plain value
/// the shard's actor tells what happens; it answers which URLs (store rows
/// or guard ids) are done now. A crash before that fetches the URL again on
/// resume, so that no link it gave is lost.
class done_marks {
public:
  /// A link batch went out; its sequence number.
  uint64_t link_sent();

  /// Every sink stored the records of `ids`: done now if no link batch is
  /// out (returned), else they wait for the batches sent up to now.
  std::vector<uint64_t> records_stored(std::vector<uint64_t> ids);

  /// Link batch `seq` was journalled by its owner (`ok`), or not: then the
  /// pages that waited for it or a later one stay not done. Returns the
  /// URLs done now.
  std::vector<uint64_t> links_journalled(uint64_t seq, bool ok);

  /// Link batch `seq` did not reach its owner for good: the pages waiting
  /// for it or later ones wait until its links are sent again (`unpark`).
  void links_lost(uint64_t seq);

  /// The lost links went out again: the pages parked for them wait for the
  /// batches sent up to now. Returns the URLs done now.
  std::vector<uint64_t> unpark();

  /// True if no link batch is out and no URL waits.
  bool idle() const noexcept { return links_out_.empty() && waiting_.empty(); }

  /// True if a link batch is out.
  bool links_out() const noexcept { return !links_out_.empty(); }

  /// True if a URL waits to be done.
  bool waiting() const noexcept { return !waiting_.empty(); }

private:
  /// Waiting pages parked for links sent again later.
  static constexpr uint64_t parked = static_cast<uint64_t>(-1);

  std::vector<uint64_t> ready();

  std::set<uint64_t> links_out_; // link batches sent, not yet journalled by their owner
  uint64_t link_seq_ = 0;
  std::deque<std::pair<uint64_t, std::vector<uint64_t>>> waiting_; // (last link batch, URLs)
};

} // namespace arachne
