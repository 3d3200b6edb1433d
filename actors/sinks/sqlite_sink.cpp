#include "arachne/sinks/sqlite_sink.hpp"

#include <stdexcept>

#include <sqlite3.h>

#include "arachne/state/sqlite_db.hpp"

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
  proxy TEXT, title TEXT, resumed INTEGER NOT NULL DEFAULT 0, noindex INTEGER NOT NULL DEFAULT 0,
  canonical TEXT, lastmod TEXT, changefreq TEXT, priority REAL, sitemap TEXT, digest TEXT,
  change TEXT, refers_to TEXT, crawl_id TEXT, method TEXT);
CREATE TABLE IF NOT EXISTS failures (
  id INTEGER PRIMARY KEY, url TEXT NOT NULL, final_url TEXT, host TEXT, status INTEGER,
  error TEXT, error_message TEXT, depth INTEGER, fetched_at TEXT, elapsed_ms INTEGER, proxy TEXT,
  resumed INTEGER NOT NULL DEFAULT 0, noindex INTEGER NOT NULL DEFAULT 0, canonical TEXT,
  lastmod TEXT, changefreq TEXT, priority REAL, sitemap TEXT, digest TEXT, change TEXT,
  refers_to TEXT, crawl_id TEXT, method TEXT);
CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, url TEXT, fields TEXT, crawl_id TEXT);
CREATE TABLE IF NOT EXISTS links (from_url TEXT NOT NULL, to_url TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS pages_url ON pages (url);
CREATE INDEX IF NOT EXISTS pages_host ON pages (host);
CREATE INDEX IF NOT EXISTS pages_status ON pages (status);
CREATE INDEX IF NOT EXISTS failures_url ON failures (url);
CREATE INDEX IF NOT EXISTS failures_host ON failures (host);
CREATE INDEX IF NOT EXISTS failures_error ON failures (error);
CREATE INDEX IF NOT EXISTS items_url ON items (url);
)sql";

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

// Columns a database written by an earlier Arachne lacks, added to it.
void add_missing_columns(sqlite_db& db) {
  constexpr const char* columns[][2] = {
    {"resumed", "INTEGER NOT NULL DEFAULT 0"}, {"noindex", "INTEGER NOT NULL DEFAULT 0"},
    {"canonical", "TEXT"}, {"lastmod", "TEXT"}, {"changefreq", "TEXT"}, {"priority", "REAL"},
    {"sitemap", "TEXT"}, {"digest", "TEXT"}, {"change", "TEXT"}, {"refers_to", "TEXT"},
    {"crawl_id", "TEXT"}, {"method", "TEXT"}};
  // All or none (a crash in between leaves the file as it was), and one
  // connection at a time: IMMEDIATE takes the write lock before looking.
  db.exec("BEGIN IMMEDIATE");
  try {
    for (std::string table : {"pages", "failures", "items"})
      for (auto& [name, type] : columns) {
        if (table == "items" && std::string_view{name} != "crawl_id")
          continue;
        sqlite_stmt has{db, ("SELECT count(*) FROM pragma_table_info('" + table
                             + "') WHERE name = '" + name + "'").c_str()};
        auto missing = has.next() && has.number_at(0) == 0;
        has.reset();
        if (missing)
          db.exec(("ALTER TABLE " + table + " ADD COLUMN " + name + " " + type).c_str());
      }
    db.exec("COMMIT");
  } catch (...) {
    db.exec_quietly("ROLLBACK");
    throw;
  }
}

// Binds what a page asked of crawlers and what a sitemap said of it, from
// column `i` on (noindex, canonical, lastmod, changefreq, priority, sitemap).
void bind_directives(sqlite_stmt& st, int i, const record& r) {
  st.number(i, r.noindex ? 1 : 0);
  if (!r.canonical.empty())
    st.text(i + 1, r.canonical);
  if (!r.hints.lastmod.empty())
    st.text(i + 2, r.hints.lastmod);
  if (r.hints.changefreq != change_freq::unknown)
    st.text(i + 3, to_string(r.hints.changefreq));
  if (r.hints.priority >= 0)
    st.real(i + 4, r.hints.priority);
  if (r.sitemap.read)
    st.text(i + 5, to_json(r.sitemap));
}

// Binds what a re-crawl made of the page, from column `i` on (digest,
// change, refers_to); NULL where there is nothing to say.
void bind_recrawl(sqlite_stmt& st, int i, const record& r) {
  if (!r.digest.empty())
    st.text(i, r.digest);
  if (r.change != page_change::none)
    st.text(i + 1, to_string(r.change));
  if ((r.change == page_change::unchanged || r.change == page_change::not_modified)
      && r.refers_to != caf::timestamp{})
    st.text(i + 2, format_timestamp(r.refers_to));
}

} // namespace

struct sqlite_sink::impl {
  std::unique_ptr<sqlite_db> db;
  std::unique_ptr<sqlite_stmt> page, failure, item, link;
  std::string crawl_id; // of the crawl that opened it: every row carries it
};

sqlite_sink::sqlite_sink(std::string path) : path_(std::move(path)), impl_(std::make_unique<impl>()) {
  auto& d = *impl_;
  d.db = std::make_unique<sqlite_db>(path_);
  sqlite3_busy_timeout(d.db->get(), 10000); // readers (the sqlite3 shell) never block us for long
  d.db->exec(schema);
  add_missing_columns(*d.db);
  d.page = std::make_unique<sqlite_stmt>(
    *d.db, "INSERT INTO pages (url, final_url, host, status, depth, fetched_at, content_type, "
           "bytes, elapsed_ms, proxy, title, resumed, noindex, canonical, lastmod, changefreq, "
           "priority, sitemap, digest, change, refers_to, crawl_id, method) "
           "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  d.failure = std::make_unique<sqlite_stmt>(
    *d.db, "INSERT INTO failures (url, final_url, host, status, error, error_message, depth, "
           "fetched_at, elapsed_ms, proxy, resumed, noindex, canonical, lastmod, changefreq, "
           "priority, sitemap, digest, change, refers_to, crawl_id, method) "
           "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  d.item = std::make_unique<sqlite_stmt>(*d.db,
                                         "INSERT INTO items (url, fields, crawl_id) VALUES (?,?,?)");
  d.link = std::make_unique<sqlite_stmt>(*d.db, "INSERT INTO links (from_url, to_url) VALUES (?,?)");
}

sqlite_sink::~sqlite_sink() {
  auto& d = *impl_;
  d.page.reset();
  d.failure.reset();
  d.item.reset();
  d.link.reset();
}

sink_needs sqlite_sink::open(const crawl_info& info) {
  auto& d = *impl_;
  std::string seeds;
  for (auto& s : info.seeds)
    seeds += (seeds.empty() ? "" : " ") + s;
  sqlite_stmt st{*d.db, "INSERT INTO crawls (crawl_id, seeds, user_agent, started_at) VALUES (?,?,?,?)"};
  st.text(1, info.crawl_id).text(2, seeds).text(3, info.user_agent).text(4, format_timestamp(info.started_at));
  st.run();
  d.crawl_id = info.crawl_id;
  sink_needs needs;
  needs.links = true;
  return needs;
}

void sqlite_sink::store(std::vector<record>& records) {
  auto& d = *impl_;
  // One transaction per batch: atomic, and fast.
  d.db->exec("BEGIN");
  try {
    for (auto& r : records) {
      switch (r.kind) {
        case record::kind_t::item:
          d.item->text(1, r.url).text(2, fields_json(r.fields)).text(3, d.crawl_id).run();
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
            .number(12, r.resumed ? 1 : 0);
          bind_directives(*d.page, 13, r);
          bind_recrawl(*d.page, 19, r);
          d.page->text(22, d.crawl_id);
          if (!r.method.empty())
            d.page->text(23, r.method);
          d.page->run();
          for (auto& to : r.links)
            d.link->text(1, r.url).text(2, to).run();
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
            .number(11, r.resumed ? 1 : 0);
          bind_directives(*d.failure, 12, r);
          bind_recrawl(*d.failure, 18, r);
          d.failure->text(21, d.crawl_id);
          if (!r.method.empty())
            d.failure->text(22, r.method);
          d.failure->run();
          break;
      }
    }
    d.db->exec("COMMIT");
  } catch (...) {
    d.db->exec_quietly("ROLLBACK");
    throw;
  }
}

void sqlite_sink::flush() {
  // Commits in WAL mode with synchronous=NORMAL survive a crash of the
  // process; a checkpoint makes them durable on disk too.
  impl_->db->exec("PRAGMA wal_checkpoint(FULL)");
}

} // namespace arachne
