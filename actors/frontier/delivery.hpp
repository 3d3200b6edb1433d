#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "arachne/messages.hpp"

namespace arachne {

/// Record delivery from a shard to its sinks with credit-based flow control,
/// a plain value the shard's actor asks and tells (it sends the batches).
/// Records wait until every working sink has credit (at most `credit`
/// unacknowledged batches each): a slow sink slows the crawl, it does not
/// grow memory. A batch is kept until its sink acknowledges it, so that a
/// failed sink that is restarted gets it again; a sink that failed for good
/// gets nothing more, and what it missed is counted. With tracking (a state
/// store or a guardian), the URLs of a batch are done once every sink that
/// worked when it went out acknowledged it.
class record_delivery {
public:
  struct options {
    std::size_t batch = 64;        // records per batch
    std::size_t credit = 4;        // unacknowledged batches per sink
    bool hold_for_restart = false; // a failed sink will be restarted: keep its records
  };

  /// A batch to send to the sinks at `to` (their indexes).
  struct outgoing {
    std::shared_ptr<const record_batch> batch;
    std::vector<std::size_t> to;
  };

  record_delivery() = default;
  record_delivery(options opts, std::size_t sinks);

  /// Adds a record; `id` is its URL's row in the state store or its guard
  /// id, 0 for none (an item, say).
  void add(record r, uint64_t id);

  /// Records not sent yet.
  std::size_t pending() const noexcept { return records_.size(); }

  /// True once a whole batch waits.
  bool batch_ready() const noexcept { return records_.size() >= opts_.batch; }

  /// Drops the records not sent yet.
  void clear_pending();

  /// True if no batch may go now: a working sink has no credit left, or a
  /// failed one is about to be restarted (everything waits for it).
  bool held_back() const;

  /// Of the records not sent yet, how many lead whose id is at most `upto`
  /// (in a cluster a record goes out only once the guardian has its URL),
  /// counted up to a batch.
  std::size_t ready_upto(uint64_t upto) const;

  /// Takes the next batch of at most `n` records (and a batch's size), with
  /// the sinks to send it to; `track`: note its URLs to mark done once every
  /// one of those sinks acknowledged it. Nothing if no record waits.
  std::optional<outgoing> take(std::size_t n, bool track);

  /// The batch went to sink `i`: kept until acknowledged.
  void sent(std::size_t i, std::shared_ptr<const record_batch> batch);

  /// Sink `i` of `generation` acknowledged batch `seq`; the URLs that are
  /// done now, if that was the last sink the batch waited for.
  std::vector<uint64_t> stored(std::size_t i, uint32_t generation, uint64_t seq);

  /// Sink `i` of `generation` answered batch `seq` with an error (`why`;
  /// empty if the request only found the sink gone). The batch's URLs are
  /// not done (they are fetched again on resume).
  void failed(std::size_t i, uint32_t generation, uint64_t seq, const std::string& why);

  /// Sink `i` went away (`why`).
  void went_away(std::size_t i, const std::string& why);

  /// Sink `i` will not be restarted after all: what it held is lost to it.
  void give_up(std::size_t i);

  /// Sink `i` was restarted: it works again and gets back, in order, the
  /// batches the failed one did not acknowledge.
  std::vector<std::shared_ptr<const record_batch>> restarted(std::size_t i);

  /// The current generation of sink `i` (a restart makes a new one): an
  /// answer from an older one is not about the sink there now.
  uint32_t generation(std::size_t i) const { return sinks_[i].generation; }

  /// True if sink `i` works (has not failed).
  bool works(std::size_t i) const { return sinks_[i].error.empty(); }

  /// Per sink: why it failed; empty while it works.
  std::vector<std::string> errors() const;

  /// Per sink: records lost to it (missed since it failed, and those a
  /// failed one never acknowledged).
  std::vector<uint64_t> lost() const;

  /// Per sink: batches sent and not acknowledged yet (its credits in use).
  std::vector<uint64_t> unacked() const;

  /// True if a batch waits for an acknowledgement.
  bool unacknowledged() const;

  /// True if a tracked batch waits for a sink.
  bool tracking_batches() const noexcept { return !marks_.empty(); }

private:
  struct sink_state {
    std::map<uint64_t, std::shared_ptr<const record_batch>> unacked; // by seq
    std::string error;     // why it failed; empty while it works
    uint64_t skipped = 0;  // records not sent to it since it failed
    bool given_up = false; // failed for good (no restart coming)
    uint32_t generation = 0;
  };
  struct batch_marks {
    std::vector<uint64_t> ids;
    std::size_t sinks_left = 0;
  };

  void drop_unacked(sink_state& s);

  options opts_;
  std::vector<sink_state> sinks_;
  std::vector<record> records_;
  std::vector<uint64_t> ids_;           // per record not sent yet
  std::map<uint64_t, batch_marks> marks_; // by batch: URLs done once all its sinks ack
  uint64_t seq_ = 0;
};

} // namespace arachne
