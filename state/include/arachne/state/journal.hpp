#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "caf/expected.hpp"
#include "caf/sec.hpp"

#include "arachne/messages.hpp"

namespace arachne {

class sqlite_db;
class sqlite_stmt;

/// What a state directory (--state) says about itself.
struct state_dir_info {
  bool exists = false; // holds a crawl's state
  uint32_t shards = 0; // the shard count it was written by
  std::vector<std::string> notes; // what the crawl must say before it resumes (a damaged journal)
};

/// Checks `dir` before a crawl uses it: missing or empty is a new state; one
/// holding shard files is a crawl to resume; anything else (other files, a
/// file that is not an Arachne state store, missing shards) is a one-line
/// error, and so is one in use by another crawl if `check_lock`.
caf::expected<state_dir_info> check_state_dir(const std::string& dir, bool check_lock = true);

/// Holds DIR/lock (flock) while a crawl uses a state directory: a second
/// crawl on it is refused instead of corrupting what it holds.
class state_dir_lock {
public:
  /// Takes the lock; fails with a one-line message if another process holds it.
  static caf::expected<std::unique_ptr<state_dir_lock>> acquire(const std::string& dir);
  ~state_dir_lock();

  state_dir_lock(const state_dir_lock&) = delete;
  state_dir_lock& operator=(const state_dir_lock&) = delete;

private:
  explicit state_dir_lock(int fd) : fd_(fd) {}
  int fd_;
};

/// Counts of one host, or of a whole state directory.
struct state_counts {
  uint64_t queued = 0;  // waiting to be fetched
  uint64_t taken = 0;   // taken up but not recorded when the crawl stopped: fetched again on resume
  uint64_t done = 0;    // recorded
};

/// What `arachne state DIR` prints.
struct state_summary {
  uint32_t shards = 0;
  state_counts total;
  std::vector<std::pair<std::string, state_counts>> hosts; // by origin, most queued first
  uint64_t bytes = 0; // on disk
  uint32_t pass = 1;  // the pass over its URLs (the highest of its shards')
  bool finished = false; // every shard in the same pass, with every URL done
};

/// Reads the summary of the state in `dir` (read-only).
caf::expected<state_summary> read_state(const std::string& dir);

/// One frontier shard's state store: its URLs (each with its state: queued,
/// taken, done), their hosts, and which shard of how many it is. SQLite in
/// WAL mode, one file per shard (DIR/shard-N.db), written by that shard only,
/// in transactions the shard commits (docs/operations.md).
///
/// After the first failure (a full disk, say) every call does nothing and
/// `error()` says why; what was committed before stays intact.
class frontier_journal {
public:
  /// Opens (creating it if new) the store of shard `shard` of `shards` in `dir`.
  static caf::expected<std::unique_ptr<frontier_journal>> open(const std::string& dir,
                                                               uint32_t shard, uint32_t shards);
  ~frontier_journal();

  /// A host with URLs in the store.
  struct host_row {
    int64_t id = 0;
    std::string origin;
    uint64_t admitted = 0; // pages admitted for fetching (sitemaps are not counted)
    uint64_t pending = 0;  // of them not done
  };

  /// A URL not done yet: queued, or taken up before the crash (`req.resumed`).
  /// A `decided` one ended without a fetch (out of scope, say): its record is
  /// made again.
  struct pending_url {
    crawl_request req;
    crawl_errc decided = crawl_errc::none;
    std::string why;
  };

  enum class url_state : int { queued = 0, taken = 1, done = 2 };

  /// Every host in the store (on resume).
  std::vector<host_row> hosts();

  /// Calls `f` with every URL in the store and its kind (to rebuild the seen set).
  void each_url(const std::function<void(std::string_view, url_kind)>& f);

  /// Calls `f` with the seen key (`seen_key`) of every URL it holds.
  void each_seen_key(const std::function<void(std::string_view)>& f);

  /// Up to `limit` URLs of `host` not done, after row `after`, oldest first.
  std::vector<pending_url> pending(int64_t host, int64_t after, std::size_t limit);

  /// Adds a host; its row id.
  int64_t add_host(std::string_view origin);

  /// Adds a URL in `state`; its row id (0 after a failure). A decided URL
  /// (recorded without a fetch) carries its error and why.
  int64_t add_url(int64_t host, const crawl_request& req, url_state state,
                  crawl_errc decided = crawl_errc::none, std::string_view why = {});

  /// Marks a URL taken up (before its fetch, or its record) or done (its
  /// record acknowledged by every sink; `finish` for one that was fetched).
  void mark(int64_t id, url_state state);

  /// Marks a URL done with what its fetch said, kept for a re-crawl.
  void finish(int64_t id, const last_visit& visit);

  /// The pass over the URLs the store is in: 1 for the first crawl, one
  /// more for each re-crawl (--recrawl).
  uint32_t pass();

  /// True if every URL in the store is done.
  bool finished();

  /// Starts pass `n`: every URL with a host is queued again (decided ones
  /// stay as they are), at once and for good (committed). False after a failure.
  bool start_pass(uint32_t n);

  /// Continuous mode (--recrawl-every): indexes URLs (for `make_due`), and
  /// URLs fetched before without an interval get `every`, due after it.
  void prepare_continuous(caf::timespan every);

  /// Continuous mode: up to `limit` done URLs due by `now`, soonest first,
  /// queued again (their visits unscheduled until fetched).
  std::vector<pending_url> take_due(caf::timestamp now, std::size_t limit);

  /// Continuous mode: URL `id` ended without a fetch that says anything of
  /// it (robots.txt denied it, its site was unreachable, its first fetch
  /// failed): due again one interval from now, `every` if it has none.
  void reschedule(int64_t id, caf::timespan every);

  /// Continuous mode: a sitemap says `url` changed at `changed`: if it was
  /// fetched before that and waits to be due, it is due now. True if so.
  bool make_due(std::string_view url, caf::timestamp changed);

  /// Commits the open transaction, if any; false after a failure.
  bool commit();

  /// True while a transaction holds uncommitted changes.
  bool dirty() const noexcept { return in_txn_; }

  /// Why the store failed; empty while it works.
  const std::string& error() const noexcept { return error_; }

  /// True if committed changes of this pass were lost with a damaged
  /// journal (WAL): some URLs done before may be fetched again, and every
  /// record of the pass says `resumed`.
  bool rolled_back() const noexcept { return rolled_back_; }

private:
  frontier_journal() = default;
  bool begin();
  void failed(const std::exception& e);

  std::unique_ptr<sqlite_db> db_;
  std::unique_ptr<sqlite_stmt> add_host_, add_url_, mark_, put_visit_, pending_;
  std::unique_ptr<sqlite_stmt> reschedule_, make_due_; // (continuous mode: made when first used)
  bool in_txn_ = false;
  bool rolled_back_ = false;
  std::string error_;
};

} // namespace arachne
