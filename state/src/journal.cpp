#include "arachne/state/journal.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <vector>

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>

#include "arachne/state/sqlite_db.hpp"

namespace arachne {

namespace fs = std::filesystem;

namespace {

constexpr const char* format_name = "arachne-frontier-state";
constexpr const char* format_version = "1";

// URLs: state 0 queued, 1 taken up, 2 done; kind 0 a page, 1 a sitemap
// (with its index nesting and vouched host); a page from a sitemap keeps
// what the sitemap said (lastmod, changefreq, priority). The partial index
// finds a host's pending URLs in order; done ones leave it. A URL fetched
// has a row in `visits` (same id) with what its last fetch said, for a
// re-crawl (--recrawl): its validators, payload digest, times (ms since the
// epoch) and status, and how often its page changed; in continuous mode
// (--recrawl-every) its interval and when it is due again (0: not while it
// is queued, or never). (A table of its own: rows written in the order URLs
// are done, the `urls` rows never grow.)
// meta 'pass' counts the passes over the URLs.
constexpr const char* schema = R"sql(
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE hosts (id INTEGER PRIMARY KEY, origin TEXT NOT NULL UNIQUE);
CREATE TABLE urls (
  id INTEGER PRIMARY KEY, host INTEGER NOT NULL, url TEXT NOT NULL, depth INTEGER NOT NULL,
  hops INTEGER NOT NULL, state INTEGER NOT NULL, decided INTEGER NOT NULL DEFAULT 0, why TEXT,
  kind INTEGER NOT NULL DEFAULT 0, nesting INTEGER NOT NULL DEFAULT 0, vouched TEXT,
  lastmod TEXT, changefreq INTEGER NOT NULL DEFAULT 0, priority REAL NOT NULL DEFAULT -1,
  shape_run INTEGER NOT NULL DEFAULT 0, label TEXT, user_data TEXT,
  queue_priority INTEGER NOT NULL DEFAULT 0, method TEXT, body_type TEXT, body BLOB);
CREATE INDEX urls_pending ON urls (host, id) WHERE state < 2;
)sql";

// Made when a store is opened, for stores written before re-crawls.
constexpr const char* visits_schema = R"sql(
CREATE TABLE IF NOT EXISTS visits (
  id INTEGER PRIMARY KEY, etag TEXT, last_modified TEXT, digest TEXT,
  fetched_at INTEGER NOT NULL, payload_at INTEGER NOT NULL, status INTEGER NOT NULL,
  changes INTEGER NOT NULL, interval_ms INTEGER NOT NULL DEFAULT 0,
  due INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS visits_due ON visits (due) WHERE due > 0;
)sql";

// Columns a store written before sitemaps lacks, added when it is opened.
constexpr const char* sitemap_columns[] = {
  "kind INTEGER NOT NULL DEFAULT 0", "nesting INTEGER NOT NULL DEFAULT 0", "vouched TEXT",
  "lastmod TEXT", "changefreq INTEGER NOT NULL DEFAULT 0", "priority REAL NOT NULL DEFAULT -1"};

// True if table `urls` lacks `column`.
bool lacks(sqlite_db& db, const char* column) {
  sqlite_stmt has{db, "SELECT count(*) FROM pragma_table_info('urls') WHERE name = ?"};
  has.text(1, column);
  return has.next() && has.number_at(0) == 0;
}

void add_missing_columns(sqlite_db& db) {
  if (lacks(db, "kind")) {
    // All or none: a crash in between leaves the file as it was.
    db.exec("BEGIN");
    for (auto* column : sitemap_columns)
      db.exec((std::string{"ALTER TABLE urls ADD COLUMN "} + column).c_str());
    db.exec("COMMIT");
  }
  // Written before trap defence: a queued URL's chain starts again at 0.
  if (lacks(db, "shape_run"))
    db.exec("ALTER TABLE urls ADD COLUMN shape_run INTEGER NOT NULL DEFAULT 0");
  // Written before requests carried data.
  if (lacks(db, "label")) {
    db.exec("BEGIN");
    db.exec("ALTER TABLE urls ADD COLUMN label TEXT");
    db.exec("ALTER TABLE urls ADD COLUMN user_data TEXT");
    db.exec("ALTER TABLE urls ADD COLUMN queue_priority INTEGER NOT NULL DEFAULT 0");
    db.exec("COMMIT");
  }
  // Written before POST requests.
  if (lacks(db, "method")) {
    db.exec("BEGIN");
    db.exec("ALTER TABLE urls ADD COLUMN method TEXT");
    db.exec("ALTER TABLE urls ADD COLUMN body_type TEXT");
    db.exec("ALTER TABLE urls ADD COLUMN body BLOB");
    db.exec("COMMIT");
  }
  db.exec(visits_schema);
}

int64_t to_ms(caf::timestamp t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// Milliseconds read from a file, as nanoseconds: a damaged file's numbers
// are kept within what nanoseconds hold (until 2255), never overflowed.
constexpr int64_t max_ms = 9'000'000'000'000;

caf::timestamp from_ms(int64_t ms) {
  return caf::timestamp{std::chrono::duration_cast<caf::timestamp::duration>(
    std::chrono::milliseconds{std::clamp<int64_t>(ms, 0, max_ms)})};
}

caf::error state_error(std::string msg) {
  return caf::make_error(caf::sec::runtime_error, std::move(msg));
}

std::string shard_file(const std::string& dir, uint32_t shard) {
  return (fs::path{dir} / ("shard-" + std::to_string(shard) + ".db")).string();
}

void tune(sqlite_db& db) {
  db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -16384;");
  sqlite3_busy_timeout(db.get(), 5000);
}

// The meta row `key`, or empty; throws if the file is not a database or has no meta table.
std::string meta(sqlite_db& db, const char* key) {
  sqlite_stmt q{db, "SELECT value FROM meta WHERE key = ?"};
  q.text(1, key);
  std::string v;
  if (q.next())
    v = std::string{q.text_at(0)};
  q.reset();
  return v;
}

// -- the write-ahead log, read before SQLite does --------------------------------
//
// After a crash SQLite replays the WAL up to its last commit frame whose
// checksum chain holds, and silently drops the rest. Dropping the tail of a
// transaction under way is the point of the format; dropping a transaction
// that had committed is damage (a flipped byte, a torn sector), and the
// crawl must not pretend its URLs were never fetched. The format:
// https://www.sqlite.org/fileformat2.html#the_write_ahead_log

uint32_t be32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
}

// SQLite's WAL checksum over `n` bytes (a multiple of 8), seeded by `s`.
void wal_checksum(bool big_endian, const unsigned char* p, std::size_t n, uint32_t& s0,
                  uint32_t& s1) {
  auto word = [big_endian](const unsigned char* q) {
    return big_endian ? be32(q)
                      : (uint32_t{q[3]} << 24) | (uint32_t{q[2]} << 16) | (uint32_t{q[1]} << 8)
                          | uint32_t{q[0]};
  };
  for (std::size_t i = 0; i + 8 <= n; i += 8) {
    s0 += word(p + i) + s1;
    s1 += word(p + i + 4) + s0;
  }
}

// What of the WAL beside `db_path` SQLite would drop although it had
// committed; empty if nothing (no WAL, a clean one, or an unfinished
// transaction at its end).
std::string wal_damage(const std::string& db_path) {
  auto wal_path = db_path + "-wal";
  std::ifstream in{wal_path, std::ios::binary};
  if (!in)
    return {};
  std::vector<unsigned char> wal{std::istreambuf_iterator<char>{in}, {}};
  constexpr std::size_t header = 32, frame_header = 24;
  if (wal.size() < header)
    return {};
  auto magic = be32(wal.data());
  auto page_size = be32(wal.data() + 8);
  bool valid_header = (magic & 0xfffffffe) == 0x377f0682 && page_size >= 512
                      && page_size <= 65536 && (page_size & (page_size - 1)) == 0;
  bool big_endian = (magic & 1) != 0;
  uint32_t s0 = 0, s1 = 0;
  if (valid_header) {
    wal_checksum(big_endian, wal.data(), 24, s0, s1);
    valid_header = s0 == be32(wal.data() + 24) && s1 == be32(wal.data() + 28);
  }
  if (!valid_header)
    return wal.size() > header ? "its header is damaged, so none of its " + std::to_string(wal.size())
                                   + " bytes of changes can be used"
                               : std::string{};
  auto frame_size = frame_header + page_size;
  auto frames = (wal.size() - header) / frame_size;
  auto salts = wal.data() + 16;
  std::size_t first_bad = frames; // the first frame SQLite stops at
  std::size_t lost_commits = 0;
  for (std::size_t i = 0; i < frames; ++i) {
    auto f = wal.data() + header + i * frame_size;
    if (std::memcmp(f + 8, salts, 8) != 0)
      break; // written before the last checkpoint: not part of this log
    auto commit = be32(f + 4) != 0;
    if (first_bad == frames) {
      wal_checksum(big_endian, f, 8, s0, s1);
      wal_checksum(big_endian, f + frame_header, page_size, s0, s1);
      if (s0 == be32(f + 16) && s1 == be32(f + 20))
        continue;
      // (A bad frame at the very end may be one a kill cut between its
      // header and its page: only commits after a bad frame are counted.)
      first_bad = i;
      continue;
    } else {
      // Past the break, a frame is judged on its own: seeded by the
      // checksum its predecessor carries.
      auto prev = f - frame_size;
      uint32_t t0 = be32(prev + 16), t1 = be32(prev + 20);
      wal_checksum(big_endian, f, 8, t0, t1);
      wal_checksum(big_endian, f + frame_header, page_size, t0, t1);
      if (t0 != be32(f + 16) || t1 != be32(f + 20))
        continue;
    }
    if (commit)
      ++lost_commits;
  }
  if (lost_commits == 0)
    return {};
  return "frame " + std::to_string(first_bad + 1) + " of " + std::to_string(frames)
         + " is damaged, so " + std::to_string(lost_commits)
         + " committed change(s) after it are lost";
}

// Opens a shard file that exists and checks it is ours; its shard count.
// A damaged journal (WAL) is noted in the file (meta 'rolled_back') and in
// `notes`, once: SQLite drops it when the file is opened.
caf::expected<uint32_t> check_file(const std::string& path, uint32_t shard,
                                   std::vector<std::string>* notes = nullptr) {
  try {
    auto damage = wal_damage(path);
    sqlite_db db{path, false};
    if (meta(db, "format") != format_name)
      return state_error("'" + path + "' is not an Arachne state file");
    if (auto v = meta(db, "version"); v != format_version)
      return state_error("'" + path + "' has state format " + v + "; this Arachne reads "
                         + format_version);
    if (meta(db, "shard") != std::to_string(shard))
      return state_error("'" + path + "' belongs to another shard");
    auto shards = std::strtoul(meta(db, "shards").c_str(), nullptr, 10);
    if (shards == 0 || shards > 4096)
      return state_error("'" + path + "' names no shard count");
    // Damage inside the file (pages, indexes) is found now, before any
    // output is opened, not halfway through the crawl.
    sqlite_stmt check{db, "PRAGMA quick_check(1)"};
    if (check.next() && check.text_at(0) != "ok") {
      // (SQLite's report, on one line: "*** in database main ***\nPage 17: ...")
      std::string why{check.text_at(0)};
      if (auto at = why.find("***\n"); why.rfind("*** in database", 0) == 0 && at != std::string::npos)
        why.erase(0, at + 4);
      std::replace(why.begin(), why.end(), '\n', ' ');
      return state_error("'" + path + "' is damaged (" + why
                         + "): restore the state directory from a copy, or crawl again with a "
                           "new --state");
    }
    if (!damage.empty()) {
      // What those changes marked done is queued or unknown again: fetched
      // again, and every record of this pass says it may repeat one.
      sqlite_stmt put{db, "INSERT OR REPLACE INTO meta (key, value) VALUES ('rolled_back', ?)"};
      put.text(1, damage).run();
      if (notes)
        notes->push_back("'" + path + "-wal' (its journal) was damaged: " + damage
                         + "; their URLs are fetched again and this pass's records are marked "
                           "resumed");
    }
    return static_cast<uint32_t>(shards);
  } catch (const std::exception& e) {
    // "file is not a database", "no such table: meta", ...
    return state_error("'" + path + "' is not an Arachne state file (" + e.what() + ")");
  }
}

// True if the shard file at `path` holds any URL (false if it cannot be read).
bool holds_urls(const std::string& path) {
  try {
    sqlite_db db{path, false};
    sqlite_stmt q{db, "SELECT EXISTS (SELECT 1 FROM urls)"};
    return q.next() && q.number_at(0) != 0;
  } catch (const std::exception&) {
    return false;
  }
}

// Binds what URL `id`'s last fetch said to a statement putting its visit;
// in continuous mode it is due one interval from now (the fetch has just
// ended, or failed: a failure keeps the fetch before, not its time).
void bind_visit(sqlite_stmt& q, int64_t id, const last_visit& v) {
  q.number(1, id);
  if (!v.etag.empty())
    q.text(2, v.etag);
  if (!v.last_modified.empty())
    q.text(3, v.last_modified);
  if (!v.digest.empty())
    q.text(4, v.digest);
  auto interval = std::chrono::duration_cast<std::chrono::milliseconds>(v.interval).count();
  q.number(5, to_ms(v.fetched_at))
    .number(6, v.digest.empty() ? 0 : to_ms(v.payload_at))
    .number(7, v.status)
    .number(8, v.changes)
    .number(9, interval)
    .number(10, interval > 0 ? to_ms(caf::make_timestamp()) + interval : 0);
}

// A request's user data as text: one "key<TAB>value" line a pair, with
// backslash, tab and newline escaped.
std::string encode_user_data(const std::vector<std::pair<std::string, std::string>>& data) {
  std::string out;
  auto put = [&](const std::string& s) {
    for (auto c : s) {
      if (c == '\\' || c == '\t' || c == '\n') {
        out += '\\';
        out += c == '\t' ? 't' : c == '\n' ? 'n' : '\\';
      } else {
        out += c;
      }
    }
  };
  for (auto& [k, v] : data) {
    put(k);
    out += '\t';
    put(v);
    out += '\n';
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> decode_user_data(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  std::string field[2];
  int which = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    auto c = text[i];
    if (c == '\\' && i + 1 < text.size()) {
      auto e = text[++i];
      field[which] += e == 't' ? '\t' : e == 'n' ? '\n' : e;
    } else if (c == '\t') {
      which = 1;
    } else if (c == '\n') {
      out.emplace_back(std::move(field[0]), std::move(field[1]));
      field[0].clear();
      field[1].clear();
      which = 0;
    } else {
      field[which] += c;
    }
  }
  return out;
}

// The columns `read_pending` reads, from `urls u LEFT JOIN visits v`.
constexpr const char* pending_columns =
  "u.id, url, depth, hops, state, decided, why, kind, nesting, vouched, lastmod, changefreq, "
  "priority, etag, last_modified, digest, fetched_at, payload_at, status, changes, interval_ms, "
  "shape_run, label, user_data, queue_priority, method, body_type, body";

// A row of `pending_columns`.
frontier_journal::pending_url read_pending(const sqlite_stmt& q) {
  frontier_journal::pending_url p;
  p.req.id = static_cast<uint64_t>(q.number_at(0));
  p.req.url = std::string{q.text_at(1)};
  p.req.depth = static_cast<uint32_t>(q.number_at(2));
  p.req.hops = static_cast<uint32_t>(q.number_at(3));
  p.req.resumed = q.number_at(4) == static_cast<int>(frontier_journal::url_state::taken);
  // (Out of range only in a damaged file: then it is fetched, not decided.)
  auto decided = q.number_at(5);
  p.decided = decided > 0 && decided < static_cast<int64_t>(crawl_errc_count)
                ? static_cast<crawl_errc>(decided)
                : crawl_errc::none;
  p.why = std::string{q.text_at(6)};
  p.req.kind = q.number_at(7) == 1 ? url_kind::sitemap : url_kind::page;
  p.req.nesting = static_cast<uint32_t>(q.number_at(8));
  p.req.vouched = std::string{q.text_at(9)};
  p.req.hints.lastmod = std::string{q.text_at(10)};
  auto freq = q.number_at(11);
  p.req.hints.changefreq = freq > 0 && freq <= static_cast<int64_t>(change_freq::never)
                             ? static_cast<change_freq>(freq)
                             : change_freq::unknown;
  p.req.hints.priority = static_cast<float>(q.real_at(12));
  auto& v = p.req.visit;
  v.etag = std::string{q.text_at(13)};
  v.last_modified = std::string{q.text_at(14)};
  v.digest = std::string{q.text_at(15)};
  v.fetched_at = from_ms(q.number_at(16));
  v.payload_at = from_ms(q.number_at(17));
  v.status = static_cast<uint16_t>(q.number_at(18));
  v.changes = static_cast<uint32_t>(q.number_at(19));
  v.interval = std::chrono::milliseconds{std::clamp<int64_t>(q.number_at(20), 0, max_ms)};
  p.req.shape_run = static_cast<uint32_t>(std::clamp<int64_t>(q.number_at(21), 0, UINT32_MAX));
  p.req.priority = static_cast<int32_t>(std::clamp<int64_t>(q.number_at(24), INT32_MIN, INT32_MAX));
  request_options o{std::string{q.text_at(22)}, decode_user_data(q.text_at(23)),
                    std::string{q.text_at(25)}, std::string{q.text_at(27)},
                    std::string{q.text_at(26)}};
  if (!o.empty())
    p.req.options = std::make_shared<const request_options>(std::move(o));
  return p;
}

} // namespace

caf::expected<std::unique_ptr<state_dir_lock>> state_dir_lock::acquire(const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return state_error("--state: cannot create '" + dir + "': " + ec.message());
  auto path = (fs::path{dir} / "lock").string();
  auto fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return state_error("--state: cannot open '" + path + "': " + std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    return state_error("--state: '" + dir + "' is in use by another crawl");
  }
  return std::unique_ptr<state_dir_lock>{new state_dir_lock{fd}};
}

state_dir_lock::~state_dir_lock() {
  ::close(fd_); // releases the lock
}

caf::expected<state_dir_info> check_state_dir(const std::string& dir, bool check_lock) {
  std::error_code ec;
  auto st = fs::status(dir, ec);
  if (ec || st.type() == fs::file_type::not_found)
    return state_dir_info{};
  if (st.type() != fs::file_type::directory)
    return state_error("--state: '" + dir + "' is not a directory");
  auto first = shard_file(dir, 0);
  if (!fs::exists(first, ec)) {
    // New, or made by a crawl killed before its first shard file was in place.
    for (auto& entry : fs::directory_iterator{dir, ec}) {
      auto name = entry.path().filename().string();
      if (name == "lock" || name.rfind("cookies.txt", 0) == 0
          || (name.rfind("shard-", 0) == 0 && name.find(".db.new") != std::string::npos))
        continue;
      return state_error("--state: '" + dir + "' is not an Arachne state directory (it holds '"
                         + name + "'); give a new or empty directory");
    }
    return state_dir_info{};
  }
  if (auto fd = check_lock ? ::open((fs::path{dir} / "lock").c_str(), O_RDONLY | O_CLOEXEC) : -1;
      fd >= 0) {
    auto busy = ::flock(fd, LOCK_SH | LOCK_NB) != 0;
    ::close(fd);
    if (busy)
      return state_error("--state: '" + dir + "' is in use by another crawl");
  }
  state_dir_info info;
  info.exists = true;
  auto shards = check_file(first, 0, &info.notes);
  if (!shards)
    return std::move(shards.error());
  // The shard files are made one after the other before the crawl starts: a
  // crawl killed meanwhile leaves some missing and the others empty. They are
  // made again; a file missing beside URLs is lost state.
  std::string missing;
  std::vector<std::string> present{first};
  for (uint32_t i = 1; i < *shards; ++i) {
    auto path = shard_file(dir, i);
    if (!fs::exists(path, ec)) {
      if (missing.empty())
        missing = path;
      continue;
    }
    present.push_back(path);
    auto n = check_file(path, i, &info.notes);
    if (!n)
      return std::move(n.error());
    if (*n != *shards)
      return state_error("--state: the shard files in '" + dir + "' disagree on the shard count");
  }
  if (!missing.empty()
      && std::any_of(present.begin(), present.end(), [](auto& p) { return holds_urls(p); }))
    return state_error("--state: '" + dir + "' misses '" + missing + "' of its " + std::to_string(*shards)
                       + " shards");
  info.shards = *shards;
  return info;
}

caf::expected<state_summary> read_state(const std::string& dir) {
  auto info = check_state_dir(dir, false); // (reading is safe while a crawl runs)
  if (!info)
    return std::move(info.error());
  if (!info->exists)
    return state_error("'" + dir + "' holds no crawl state");
  state_summary out;
  out.shards = info->shards;
  std::map<std::string, state_counts> hosts;
  std::set<uint32_t> passes;
  try {
    for (uint32_t i = 0; i < info->shards; ++i) {
      auto path = shard_file(dir, i);
      std::error_code missing;
      if (!fs::exists(path, missing))
        continue; // (not made yet: a crawl killed while making them; the others are empty)
      sqlite_db db{path, false};
      auto pass = meta(db, "pass");
      passes.insert(pass.empty() ? 1 : static_cast<uint32_t>(std::strtoul(pass.c_str(), nullptr, 10)));
      sqlite_stmt q{db, "SELECT coalesce(h.origin, '(decided without a fetch)'), u.state, count(*) "
                        "FROM urls u LEFT JOIN hosts h ON h.id = u.host GROUP BY u.host, u.state"};
      while (q.next()) {
        auto& c = hosts[std::string{q.text_at(0)}];
        auto n = static_cast<uint64_t>(q.number_at(2));
        switch (q.number_at(1)) {
          case 0: c.queued += n; out.total.queued += n; break;
          case 1: c.taken += n; out.total.taken += n; break;
          default: c.done += n; out.total.done += n; break;
        }
      }
      std::error_code ec;
      for (auto* suffix : {"", "-wal"})
        if (auto size = fs::file_size(path + suffix, ec); !ec)
          out.bytes += size;
    }
  } catch (const std::exception& e) {
    return state_error(e.what());
  }
  if (!passes.empty())
    out.pass = *passes.rbegin();
  out.finished = passes.size() <= 1 && out.total.queued == 0 && out.total.taken == 0;
  out.hosts.assign(hosts.begin(), hosts.end());
  std::stable_sort(out.hosts.begin(), out.hosts.end(), [](auto& a, auto& b) {
    return a.second.queued + a.second.taken > b.second.queued + b.second.taken;
  });
  return out;
}

caf::expected<std::unique_ptr<frontier_journal>>
frontier_journal::open(const std::string& dir, uint32_t shard, uint32_t shards) {
  std::unique_ptr<frontier_journal> j{new frontier_journal};
  auto path = shard_file(dir, shard);
  try {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec)
      return state_error("--state: cannot create '" + dir + "': " + ec.message());
    if (!fs::exists(path, ec)) {
      // Made aside and renamed: a crash while it is made leaves no half file.
      auto fresh = path + ".new";
      for (auto* suffix : {"", "-wal", "-shm"})
        fs::remove(fresh + suffix, ec);
      {
        sqlite_db db{fresh, true};
        tune(db);
        db.exec("BEGIN");
        db.exec(schema);
        sqlite_stmt put{db, "INSERT INTO meta (key, value) VALUES (?, ?)"};
        for (auto& [k, v] : std::vector<std::pair<std::string, std::string>>{
               {"format", format_name}, {"version", format_version},
               {"shard", std::to_string(shard)}, {"shards", std::to_string(shards)}})
          put.text(1, k).text(2, v).run();
        db.exec("COMMIT");
        db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
      }
      fs::rename(fresh, path, ec);
      if (ec)
        return state_error("--state: cannot create '" + path + "': " + ec.message());
    } else if (auto n = check_file(path, shard); !n) {
      return std::move(n.error());
    } else if (*n != shards) {
      return state_error("--state: '" + dir + "' was written by a crawl with " + std::to_string(*n)
                         + " shards; run with --shards=" + std::to_string(*n));
    }
    j->db_ = std::make_unique<sqlite_db>(path, false);
    tune(*j->db_);
    add_missing_columns(*j->db_);
    j->rolled_back_ = !meta(*j->db_, "rolled_back").empty();
    j->add_host_ = std::make_unique<sqlite_stmt>(*j->db_, "INSERT INTO hosts (origin) VALUES (?)");
    j->add_url_ = std::make_unique<sqlite_stmt>(
      *j->db_, "INSERT INTO urls (host, url, depth, hops, state, decided, why, kind, nesting, "
               "vouched, lastmod, changefreq, priority, shape_run, label, user_data, queue_priority, "
               "method, body_type, body) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    j->mark_ = std::make_unique<sqlite_stmt>(*j->db_, "UPDATE urls SET state = ? WHERE id = ?");
    j->put_visit_ = std::make_unique<sqlite_stmt>(
      *j->db_, "INSERT OR REPLACE INTO visits (id, etag, last_modified, digest, fetched_at, "
               "payload_at, status, changes, interval_ms, due) VALUES (?,?,?,?,?,?,?,?,?,?)");
    j->pending_ = std::make_unique<sqlite_stmt>(
      *j->db_, (std::string{"SELECT "} + pending_columns
                + " FROM urls u LEFT JOIN visits v ON v.id = u.id "
                  "WHERE host = ? AND state < 2 AND u.id > ? ORDER BY u.id LIMIT ?")
                 .c_str());
  } catch (const std::exception& e) {
    return state_error("--state: " + std::string{e.what()});
  }
  return j;
}

frontier_journal::~frontier_journal() {
  commit();
  add_host_.reset();
  add_url_.reset();
  mark_.reset();
  put_visit_.reset();
  reschedule_.reset();
  make_due_.reset();
  pending_.reset();
}

void frontier_journal::failed(const std::exception& e) {
  if (error_.empty())
    error_ = e.what();
  if (in_txn_)
    db_->exec_quietly("ROLLBACK");
  in_txn_ = false;
}

bool frontier_journal::begin() {
  if (!error_.empty())
    return false;
  if (!in_txn_) {
    try {
      db_->exec("BEGIN");
    } catch (const std::exception& e) {
      failed(e);
      return false;
    }
    in_txn_ = true;
  }
  return true;
}

std::vector<frontier_journal::host_row> frontier_journal::hosts() {
  std::vector<host_row> out;
  if (!error_.empty())
    return out;
  try {
    std::map<int64_t, host_row> by_id;
    sqlite_stmt h{*db_, "SELECT id, origin FROM hosts"};
    while (h.next())
      by_id[h.number_at(0)] = host_row{h.number_at(0), std::string{h.text_at(1)}, 0, 0};
    sqlite_stmt c{*db_, "SELECT host, sum(decided = 0 AND kind = 0), sum(state < 2) FROM urls GROUP BY host"};
    while (c.next())
      if (auto i = by_id.find(c.number_at(0)); i != by_id.end()) {
        i->second.admitted = static_cast<uint64_t>(c.number_at(1));
        i->second.pending = static_cast<uint64_t>(c.number_at(2));
      }
    for (auto& [id, row] : by_id)
      out.push_back(std::move(row));
  } catch (const std::exception& e) {
    failed(e);
  }
  return out;
}

void frontier_journal::each_url(const std::function<void(std::string_view, url_kind)>& f) {
  if (!error_.empty())
    return;
  try {
    sqlite_stmt q{*db_, "SELECT url, kind FROM urls"};
    while (q.next())
      f(q.text_at(0), q.number_at(1) == 1 ? url_kind::sitemap : url_kind::page);
  } catch (const std::exception& e) {
    failed(e);
  }
}

void frontier_journal::each_seen_key(const std::function<void(std::string_view)>& f) {
  if (!error_.empty())
    return;
  try {
    sqlite_stmt q{*db_, "SELECT url, kind, method, body_type, body FROM urls"};
    while (q.next()) {
      auto kind = q.number_at(1) == 1 ? url_kind::sitemap : url_kind::page;
      auto method = q.text_at(2);
      if (kind == url_kind::page && method.empty())
        f(q.text_at(0));
      else
        f(seen_key(q.text_at(0), kind, method, q.text_at(3), q.text_at(4)));
    }
  } catch (const std::exception& e) {
    failed(e);
  }
}

std::vector<frontier_journal::pending_url>
frontier_journal::pending(int64_t host, int64_t after, std::size_t limit) {
  std::vector<pending_url> out;
  if (!error_.empty())
    return out;
  try {
    pending_->number(1, host).number(2, after).number(3, static_cast<int64_t>(limit));
    while (pending_->next()) {
      out.push_back(read_pending(*pending_));
    }
  } catch (const std::exception& e) {
    pending_->reset();
    failed(e);
  }
  return out;
}

int64_t frontier_journal::add_host(std::string_view origin) {
  if (!begin())
    return 0;
  try {
    add_host_->text(1, origin).run();
    return sqlite3_last_insert_rowid(db_->get());
  } catch (const std::exception& e) {
    failed(e);
    return 0;
  }
}

int64_t frontier_journal::add_url(int64_t host, const crawl_request& req, url_state state,
                                  crawl_errc decided, std::string_view why) {
  if (!begin())
    return 0;
  try {
    add_url_->number(1, host)
      .text(2, req.url)
      .number(3, req.depth)
      .number(4, req.hops)
      .number(5, static_cast<int>(state))
      .number(6, static_cast<int>(decided));
    if (!why.empty())
      add_url_->text(7, why);
    add_url_->number(8, req.kind == url_kind::sitemap ? 1 : 0)
      .number(9, req.nesting)
      .number(12, static_cast<int>(req.hints.changefreq))
      .real(13, req.hints.priority)
      .number(14, req.shape_run)
      .number(17, req.priority);
    auto& o = req.opts();
    if (!o.label.empty())
      add_url_->text(15, o.label);
    if (!o.user_data.empty())
      add_url_->text(16, encode_user_data(o.user_data));
    if (!o.method.empty())
      add_url_->text(18, o.method).text(19, o.body_type).text(20, o.body);
    if (!req.vouched.empty())
      add_url_->text(10, req.vouched);
    if (!req.hints.lastmod.empty())
      add_url_->text(11, req.hints.lastmod);
    add_url_->run();
    auto id = sqlite3_last_insert_rowid(db_->get());
    if (req.visit.known()) { // (handed over from another shard)
      bind_visit(*put_visit_, id, req.visit);
      put_visit_->run();
    }
    return id;
  } catch (const std::exception& e) {
    failed(e);
    return 0;
  }
}

void frontier_journal::mark(int64_t id, url_state state) {
  if (id == 0 || !begin())
    return;
  try {
    mark_->number(1, static_cast<int>(state)).number(2, id).run();
  } catch (const std::exception& e) {
    failed(e);
  }
}

void frontier_journal::finish(int64_t id, const last_visit& visit) {
  if (id == 0 || !begin())
    return;
  try {
    mark_->number(1, static_cast<int>(url_state::done)).number(2, id).run();
    if (visit.known()) {
      bind_visit(*put_visit_, id, visit);
      put_visit_->run();
    }
  } catch (const std::exception& e) {
    failed(e);
  }
}

std::vector<frontier_journal::pending_url> frontier_journal::take_due(caf::timestamp now,
                                                                     std::size_t limit) {
  std::vector<pending_url> out;
  if (limit == 0 || !error_.empty())
    return out;
  try {
    // (Read first: a transaction is begun only if something is due, so
    // that an idle shard holds none open, which would keep the WAL growing.)
    sqlite_stmt q{*db_, (std::string{"SELECT "} + pending_columns
                         + " FROM visits v JOIN urls u ON u.id = v.id "
                           "WHERE v.due > 0 AND v.due <= ? AND u.state = 2 ORDER BY v.due LIMIT ?")
                          .c_str()};
    q.number(1, to_ms(now)).number(2, static_cast<int64_t>(limit));
    while (q.next())
      out.push_back(read_pending(q));
    if (out.empty() || !begin())
      return {};
    // Queued again, and not due while queued: its fetch sets when it is next.
    sqlite_stmt unschedule{*db_, "UPDATE visits SET due = 0 WHERE id = ?"};
    for (auto& p : out) {
      mark_->number(1, static_cast<int>(url_state::queued))
        .number(2, static_cast<int64_t>(p.req.id))
        .run();
      unschedule.number(1, static_cast<int64_t>(p.req.id)).run();
    }
  } catch (const std::exception& e) {
    failed(e);
    out.clear();
  }
  return out;
}

void frontier_journal::prepare_continuous(caf::timespan every) {
  if (!begin())
    return;
  try {
    // Finding a URL a sitemap lists again needs its row by URL.
    db_->exec("CREATE INDEX IF NOT EXISTS urls_url ON urls (url)");
    // Done URLs not scheduled (fetched before continuous mode, or stopped
    // between being taken up as due and a fetch): due one interval after
    // their last fetch.
    sqlite_stmt q{*db_, "UPDATE visits SET interval_ms = CASE WHEN interval_ms > 0 THEN "
                        "interval_ms ELSE ?1 END, due = max(1, fetched_at + ?1) "
                        "WHERE due = 0 AND id IN (SELECT id FROM urls WHERE state = 2)"};
    q.number(1, std::chrono::duration_cast<std::chrono::milliseconds>(every).count()).run();
  } catch (const std::exception& e) {
    failed(e);
    return;
  }
  commit();
}

void frontier_journal::reschedule(int64_t id, caf::timespan every) {
  if (id == 0 || !begin())
    return;
  try {
    // (A URL decided without a fetch has no host: never due.)
    if (!reschedule_)
      reschedule_ = std::make_unique<sqlite_stmt>(
        *db_, "INSERT INTO visits (id, fetched_at, payload_at, status, changes, interval_ms, due) "
              "SELECT id, 0, 0, 0, 0, ?1, ?2 + ?1 FROM urls WHERE id = ?3 AND host != 0 "
              "ON CONFLICT (id) DO UPDATE SET due = ?2 + "
              "(CASE WHEN interval_ms > 0 THEN interval_ms ELSE ?1 END)");
    auto& q = *reschedule_;
    q.number(1, std::chrono::duration_cast<std::chrono::milliseconds>(every).count())
      .number(2, to_ms(caf::make_timestamp()))
      .number(3, id)
      .run();
  } catch (const std::exception& e) {
    failed(e);
  }
}

bool frontier_journal::make_due(std::string_view url, caf::timestamp changed) {
  if (!begin())
    return false;
  try {
    if (!make_due_)
      make_due_ = std::make_unique<sqlite_stmt>(
        *db_, "UPDATE visits SET due = 1 WHERE due > 1 AND fetched_at < ? "
              "AND id IN (SELECT id FROM urls WHERE url = ? AND state = 2)");
    make_due_->number(1, to_ms(changed)).text(2, url).run();
    return sqlite3_changes(db_->get()) > 0;
  } catch (const std::exception& e) {
    failed(e);
    return false;
  }
}

uint32_t frontier_journal::pass() {
  if (!error_.empty())
    return 0;
  try {
    auto v = meta(*db_, "pass");
    return v.empty() ? 1 : static_cast<uint32_t>(std::strtoul(v.c_str(), nullptr, 10));
  } catch (const std::exception& e) {
    failed(e);
    return 0;
  }
}

bool frontier_journal::finished() {
  if (!error_.empty())
    return false;
  try {
    sqlite_stmt q{*db_, "SELECT EXISTS (SELECT 1 FROM urls WHERE state < 2)"};
    return q.next() && q.number_at(0) == 0;
  } catch (const std::exception& e) {
    failed(e);
    return false;
  }
}

bool frontier_journal::start_pass(uint32_t n) {
  if (!commit() || !begin())
    return false;
  try {
    // A decided URL (no host) stays decided; every other is queued again,
    // with what its last fetch said.
    db_->exec("UPDATE urls SET state = 0 WHERE host != 0 AND state = 2");
    sqlite_stmt put{*db_, "INSERT OR REPLACE INTO meta (key, value) VALUES ('pass', ?)"};
    put.text(1, std::to_string(n)).run();
    // A new pass fetches every URL again anyway: what a lost journal hid is moot.
    db_->exec("DELETE FROM meta WHERE key = 'rolled_back'");
    rolled_back_ = false;
  } catch (const std::exception& e) {
    failed(e);
    return false;
  }
  return commit();
}

bool frontier_journal::commit() {
  if (!error_.empty())
    return false;
  if (!in_txn_)
    return true;
  try {
    db_->exec("COMMIT");
    in_txn_ = false;
  } catch (const std::exception& e) {
    failed(e);
    return false;
  }
  return true;
}

} // namespace arachne
