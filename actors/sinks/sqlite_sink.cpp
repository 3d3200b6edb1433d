#include "sinks/sqlite_sink.hpp"

#include <stdexcept>

#include <sqlite3.h>

#include "arachne/json.hpp"
#include "arachne/url.hpp"

namespace arachne {

namespace {

// The schema (docs/sinks.md). Items keep their fields as a JSON object, for
// json_extract().
constexpr const char* schema = R"sql(
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
CREATE TABLE IF NOT EXISTS crawls (
  id INTEGER PRIMARY KEY, crawl_id TEXT, seeds TEXT, user_agent TEXT, started_at TEXT);
CREATE TABLE IF NOT EXISTS pages (
  id INTEGER PRIMARY KEY, url TEXT NOT NULL, final_url TEXT, host TEXT, status INTEGER,
  depth INTEGER, fetched_at TEXT, content_type TEXT, bytes INTEGER, elapsed_ms INTEGER,
  proxy TEXT, title TEXT);
CREATE TABLE IF NOT EXISTS failures (
  id INTEGER PRIMARY KEY, url TEXT NOT NULL, final_url TEXT, host TEXT, status INTEGER,
  error TEXT, error_message TEXT, depth INTEGER, fetched_at TEXT, elapsed_ms INTEGER, proxy TEXT);
CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, url TEXT, fields TEXT);
CREATE TABLE IF NOT EXISTS links (from_url TEXT NOT NULL, to_url TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS pages_url ON pages (url);
CREATE INDEX IF NOT EXISTS pages_host ON pages (host);
CREATE INDEX IF NOT EXISTS pages_status ON pages (status);
CREATE INDEX IF NOT EXISTS failures_url ON failures (url);
CREATE INDEX IF NOT EXISTS failures_host ON failures (host);
CREATE INDEX IF NOT EXISTS failures_error ON failures (error);
CREATE INDEX IF NOT EXISTS items_url ON items (url);
)sql";

class statement {
public:
  statement(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr) != SQLITE_OK)
      throw std::runtime_error(std::string{"sqlite: "} + sqlite3_errmsg(db));
  }
  ~statement() { sqlite3_finalize(stmt_); }
  statement(const statement&) = delete;
  statement& operator=(const statement&) = delete;

  statement& text(int i, const std::string& s) {
    sqlite3_bind_text(stmt_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
    return *this;
  }
  statement& number(int i, int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  void run(sqlite3* db) {
    auto rc = sqlite3_step(stmt_);
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    if (rc != SQLITE_DONE)
      throw std::runtime_error(std::string{"sqlite: "} + sqlite3_errmsg(db));
  }

private:
  sqlite3_stmt* stmt_ = nullptr;
};

int64_t millis(caf::timespan t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t).count();
}

std::string fields_json(const std::vector<item_field>& fields) {
  std::string out = "{";
  for (std::size_t i = 0; i < fields.size(); ++i) {
    if (i > 0)
      out += ',';
    append_json_string(out, fields[i].first);
    out += ':';
    append_json_string(out, fields[i].second);
  }
  out += '}';
  return out;
}

} // namespace

struct sqlite_sink::impl {
  sqlite3* db = nullptr;
  std::unique_ptr<statement> page, failure, item, link, begin, commit;

  void exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "unknown error";
      sqlite3_free(err);
      throw std::runtime_error("sqlite: " + msg);
    }
  }
};

sqlite_sink::sqlite_sink(std::string path) : path_(std::move(path)), impl_(std::make_unique<impl>()) {
  auto& d = *impl_;
  if (sqlite3_open(path_.c_str(), &d.db) != SQLITE_OK) {
    std::string msg = d.db ? sqlite3_errmsg(d.db) : "out of memory";
    sqlite3_close(d.db);
    d.db = nullptr;
    throw std::runtime_error("cannot open SQLite database '" + path_ + "': " + msg);
  }
  sqlite3_busy_timeout(d.db, 10000); // readers (the sqlite3 shell) never block us for long
  d.exec(schema);
  d.page = std::make_unique<statement>(
    d.db, "INSERT INTO pages (url, final_url, host, status, depth, fetched_at, content_type, "
          "bytes, elapsed_ms, proxy, title) VALUES (?,?,?,?,?,?,?,?,?,?,?)");
  d.failure = std::make_unique<statement>(
    d.db, "INSERT INTO failures (url, final_url, host, status, error, error_message, depth, "
          "fetched_at, elapsed_ms, proxy) VALUES (?,?,?,?,?,?,?,?,?,?)");
  d.item = std::make_unique<statement>(d.db, "INSERT INTO items (url, fields) VALUES (?,?)");
  d.link = std::make_unique<statement>(d.db, "INSERT INTO links (from_url, to_url) VALUES (?,?)");
}

sqlite_sink::~sqlite_sink() {
  auto& d = *impl_;
  d.page.reset();
  d.failure.reset();
  d.item.reset();
  d.link.reset();
  if (d.db != nullptr)
    sqlite3_close(d.db);
}

sink_needs sqlite_sink::open(const crawl_info& info) {
  auto& d = *impl_;
  std::string seeds;
  for (auto& s : info.seeds)
    seeds += (seeds.empty() ? "" : " ") + s;
  statement st{d.db, "INSERT INTO crawls (crawl_id, seeds, user_agent, started_at) VALUES (?,?,?,?)"};
  st.text(1, info.crawl_id).text(2, seeds).text(3, info.user_agent).text(4, format_timestamp(info.started_at));
  st.run(d.db);
  sink_needs needs;
  needs.links = true;
  return needs;
}

void sqlite_sink::store(std::vector<record>& records) {
  auto& d = *impl_;
  // One transaction per batch: atomic, and fast.
  d.exec("BEGIN");
  try {
    for (auto& r : records) {
      switch (r.kind) {
        case record::kind_t::item:
          d.item->text(1, r.url).text(2, fields_json(r.fields)).run(d.db);
          break;
        case record::kind_t::page:
          d.page->text(1, r.url)
            .text(2, r.final_url)
            .text(3, std::string{url_host(r.url)})
            .number(4, r.status)
            .number(5, r.depth)
            .text(6, format_timestamp(r.fetched_at))
            .text(7, r.content_type)
            .number(8, static_cast<int64_t>(r.bytes))
            .number(9, millis(r.elapsed))
            .text(10, r.proxy)
            .text(11, r.title)
            .run(d.db);
          for (auto& to : r.links)
            d.link->text(1, r.url).text(2, to).run(d.db);
          break;
        case record::kind_t::failure:
          d.failure->text(1, r.url)
            .text(2, r.final_url)
            .text(3, std::string{url_host(r.url)})
            .number(4, r.status)
            .text(5, to_string(r.error))
            .text(6, r.error_message)
            .number(7, r.depth)
            .text(8, format_timestamp(r.fetched_at))
            .number(9, millis(r.elapsed))
            .text(10, r.proxy)
            .run(d.db);
          break;
      }
    }
    d.exec("COMMIT");
  } catch (...) {
    sqlite3_exec(d.db, "ROLLBACK", nullptr, nullptr, nullptr);
    throw;
  }
}

void sqlite_sink::flush() {
  // Commits in WAL mode with synchronous=NORMAL survive a crash of the
  // process; a checkpoint makes them durable on disk too.
  impl_->exec("PRAGMA wal_checkpoint(FULL)");
}

} // namespace arachne
