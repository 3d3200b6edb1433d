// The built-in sinks on whole crawls of the demo site: SQLite holds exactly
// what JSONL holds, WARC files pass an independent reader, and a custom sink
// written on sink_base gets every record.

#include "arachne/crawl.hpp"
#include "arachne/json.hpp"
#include "arachne/revisit.hpp"
#include "arachne/sink.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <atomic>
#include <iterator>
#include <map>
#include <set>
#include <sstream>

#include <sqlite3.h>
#include <unistd.h>
#include <zlib.h>

#include "caf/actor_system.hpp"

#include "site_server.hpp"
#include "arachne/sinks/jsonl_sink.hpp"
#include "arachne/sinks/sinks.hpp"
#include "arachne/sinks/sqlite_sink.hpp"
#include "arachne/sinks/warc_sink.hpp"
#include "support/memory_sink.hpp"
#include "support/temp_dir.hpp"

using namespace arachne;
using namespace std::chrono_literals;
using testing::temp_dir;

namespace {

namespace fs = std::filesystem;

void quick(config& cfg) {
  cfg.crawl.threads = 2;
  cfg.crawl.http.io_threads = 1;
  cfg.crawl.politeness.delay = 0ms;
  cfg.crawl.scope.deny = {"/calendar/"};
}

std::string front_page(const site::site_server& server) {
  return "http://" + server.model().host_address(0) + ":" + std::to_string(server.port()) + "/";
}

/// Rows of an SQLite query, each as its columns joined by '|'.
std::vector<std::string> query(const std::string& db_path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  std::vector<std::string> rows;
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
  while (sqlite3_step(st) == SQLITE_ROW) {
    std::string row;
    for (int i = 0; i < sqlite3_column_count(st); ++i) {
      if (i > 0)
        row += '|';
      auto text = sqlite3_column_text(st, i);
      row += text ? reinterpret_cast<const char*>(text) : "NULL";
    }
    rows.push_back(std::move(row));
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return rows;
}

std::vector<std::string> read_lines(const std::string& path) {
  std::vector<std::string> out;
  auto gz = gzopen(path.c_str(), "rb");
  REQUIRE(gz != nullptr);
  std::string text;
  char buf[65536];
  int n;
  while ((n = gzread(gz, buf, sizeof buf)) > 0)
    text.append(buf, static_cast<std::size_t>(n));
  gzclose(gz);
  std::istringstream in{text};
  for (std::string line; std::getline(in, line);)
    out.push_back(line);
  return out;
}

/// Follows every link and emits the name and price of product pages.
void follow_and_emit_products(const page& p, context& ctx) {
  for (auto& url : extract_links(p))
    ctx.follow(url);
  auto name = xpath_string(p, "//h2[@class='name']");
  if (!name.empty())
    ctx.emit({p.url(), {{"name", name}, {"price", xpath_string(p, "//span[@class='price']")}}});
}

int64_t millis(caf::timespan t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t).count();
}

/// Runs the warcio checker (tests/warc/check.mjs) on `files`: its exit code
/// and its output (a JSON summary).
std::pair<int, std::string> check_warc(const std::vector<std::string>& files) {
  auto checker = fs::path{ARACHNE_SOURCE_DIR} / "tests/warc/check.mjs";
  std::string cmd = "node '" + checker.string() + "'";
  for (auto& f : files)
    cmd += " '" + f + "'";
  std::string out;
  auto* p = ::popen((cmd + " 2>&1").c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  while (std::fgets(buf, sizeof buf, p))
    out += buf;
  return {::pclose(p), out};
}

/// A custom sink as users write one: a CSV of product names and prices.
class csv_sink : public sink_base {
public:
  explicit csv_sink(std::shared_ptr<std::string> out) : out_(std::move(out)) {}
  void store(std::vector<record>& records) override {
    for (auto& r : records)
      if (r.kind == record::kind_t::item)
        *out_ += r.fields.at(0).second + "," + r.fields.at(1).second + "\n";
  }
  void flush() override { *out_ += "#flushed\n"; }

private:
  std::shared_ptr<std::string> out_;
};

} // namespace

TEST_CASE("the SQLite sink holds exactly the records the JSONL sink holds, readable during the crawl",
          "[sinks][integration]") {
  temp_dir dir{"sinks-sqlite"};
  site::site_server server{{4, 20, 11, false, 0s, false}, {}};
  REQUIRE(server.listen() == "");
  server.start();
  auto jsonl = (dir.path / "crawl.jsonl.gz").string();
  auto db = (dir.path / "crawl.db").string();
  auto records = std::make_shared<std::vector<record>>();
  std::vector<std::string> mid_crawl_counts;
  {
    config cfg;
    quick(cfg);
    caf::actor_system sys{cfg};
    crawl c{sys, cfg};
    c.on_page(follow_and_emit_products);
    c.add_sink(*open_sink(sys, "jsonl:" + jsonl));
    c.add_sink(*open_sink(sys, "sqlite:" + db));
    c.add_sink(sys.spawn(testing::memory_sink, records));
    // Another process reads the database while the crawl writes it (WAL).
    c.on_progress(
      [&](const crawl_progress& p) {
        if (p.recorded > 0 && mid_crawl_counts.size() < 3) {
          auto cmd = "sqlite3 '" + db + "' 'SELECT count(*) FROM pages' 2>&1";
          std::string out;
          if (auto* f = ::popen(cmd.c_str(), "r")) {
            char buf[256];
            while (std::fgets(buf, sizeof buf, f))
              out += buf;
            ::pclose(f);
          }
          mid_crawl_counts.push_back(out);
        }
      },
      20ms);
    REQUIRE(c.run({front_page(server)}));
  }
  REQUIRE(!records->empty());
  CHECK(!mid_crawl_counts.empty());
  for (auto& out : mid_crawl_counts) {
    INFO(out);
    CHECK(out.find_first_not_of("0123456789\n") == std::string::npos);
  }
  // JSONL: one line per record, each exactly the record's JSON.
  std::multiset<std::string> want_lines;
  for (auto& r : *records)
    want_lines.insert(to_json(r));
  auto lines = read_lines(jsonl);
  // Each line ends with the crawl's id, the same on every line.
  std::set<std::string> ids;
  for (auto& line : lines) {
    auto at = line.rfind(",\"crawl_id\":\"");
    REQUIRE(at != std::string::npos);
    ids.insert(line.substr(at + 13, line.size() - at - 15));
    line = line.substr(0, at) + "}";
  }
  CHECK(ids.size() == 1);
  CHECK(ids.begin()->size() == 16);
  CHECK(std::multiset<std::string>(lines.begin(), lines.end()) == want_lines);
  // SQLite: the same records, table by table.
  std::multiset<std::string> pages, failures, items, links;
  for (auto& r : *records) {
    switch (r.kind) {
      case record::kind_t::page:
        pages.insert(r.url + "|" + r.final_url + "|" + std::string{url_host(r.url)} + "|"
                     + std::to_string(r.status) + "|" + std::to_string(r.depth) + "|"
                     + format_timestamp(r.fetched_at) + "|" + r.content_type + "|"
                     + std::to_string(r.bytes) + "|" + std::to_string(millis(r.elapsed)) + "|"
                     + r.proxy + "|" + r.title);
        for (auto& to : r.links)
          links.insert(r.url + "|" + to);
        break;
      case record::kind_t::failure:
        failures.insert(r.url + "|" + to_string(r.error) + "|" + r.error_message + "|"
                        + std::to_string(r.depth));
        break;
      case record::kind_t::item:
        items.insert(r.url + "|" + r.fields.at(0).second + "|" + r.fields.at(1).second);
        break;
    }
  }
  auto as_set = [](std::vector<std::string> v) { return std::multiset<std::string>(v.begin(), v.end()); };
  CHECK(as_set(query(db, "SELECT url, final_url, host, status, depth, fetched_at, content_type, "
                         "bytes, elapsed_ms, proxy, title FROM pages"))
        == pages);
  CHECK(as_set(query(db, "SELECT url, error, error_message, depth FROM failures")) == failures);
  CHECK(as_set(query(db, "SELECT url, json_extract(fields, '$.name'), json_extract(fields, "
                         "'$.price') FROM items"))
        == items);
  CHECK(as_set(query(db, "SELECT from_url, to_url FROM links")) == links);
  CHECK(!items.empty());
  CHECK(!failures.empty()); // robots-denied URLs
  CHECK(links.size() > pages.size());
  CHECK(query(db, "SELECT count(*) FROM crawls") == std::vector<std::string>{"1"});
  // Every row carries the crawl's id, the JSONL lines' own.
  CHECK(query(db, "SELECT DISTINCT crawl_id FROM crawls UNION SELECT crawl_id FROM pages UNION "
                  "SELECT crawl_id FROM failures UNION SELECT crawl_id FROM items")
        == std::vector<std::string>{*ids.begin()});
  CHECK(query(db, "PRAGMA journal_mode") == std::vector<std::string>{"wal"});
}

namespace {

/// The pages of a re-crawl (fetched at `second`) as a crawl with a state
/// store records them: one new, one changed, one with the same payload, one
/// answered 304 and one gone (the last fetch was at `first`).
std::vector<record> recrawl_records(caf::timestamp first, caf::timestamp second) {
  struct {
    const char* path;
    uint16_t status;
    page_change change;
  } pages[] = {{"new", 200, page_change::none},
               {"changed", 200, page_change::changed},
               {"unchanged", 200, page_change::unchanged},
               {"not-modified", 304, page_change::not_modified},
               {"gone", 404, page_change::gone}};
  std::vector<record> out;
  for (auto& p : pages) {
    record r;
    r.url = std::string{"http://site.test/"} + p.path;
    r.final_url = r.url;
    r.status = p.status;
    r.fetched_at = second;
    r.change = p.change;
    if (p.status != 404)
      r.digest = payload_digest(p.path);
    if (p.change == page_change::unchanged || p.change == page_change::not_modified)
      r.refers_to = first;
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<std::string> as_sorted(std::vector<std::string> rows) {
  std::sort(rows.begin(), rows.end());
  return rows;
}

} // namespace

TEST_CASE("the SQLite sink keeps what a re-crawl found: digest, change and refers_to, NULL when "
          "nothing",
          "[sinks][sqlite][recrawl]") {
  temp_dir dir{"sinks-sqlite-recrawl"};
  auto db = (dir.path / "crawl.db").string();
  auto first = caf::timestamp{std::chrono::seconds{1790000000}};
  auto second = first + std::chrono::hours{24};
  {
    sqlite_sink sink{db};
    sink.open({"recrawl", {"http://site.test/"}, "arachne-test", second});
    auto records = recrawl_records(first, second);
    record failure;
    failure.kind = record::kind_t::failure;
    failure.url = "http://site.test/down";
    failure.error = crawl_errc::timeout;
    records.push_back(failure);
    sink.store(records);
    sink.flush();
  }
  auto when = format_timestamp(first);
  CHECK(as_sorted(query(db, "SELECT url, digest, change, refers_to FROM pages"))
        == std::vector<std::string>{
          "http://site.test/changed|" + payload_digest("changed") + "|changed|NULL",
          "http://site.test/gone|NULL|gone|NULL",
          "http://site.test/new|" + payload_digest("new") + "|NULL|NULL",
          "http://site.test/not-modified|" + payload_digest("not-modified") + "|not_modified|"
            + when,
          "http://site.test/unchanged|" + payload_digest("unchanged") + "|unchanged|" + when});
  CHECK(query(db, "SELECT digest, change, refers_to FROM failures")
        == std::vector<std::string>{"NULL|NULL|NULL"});
  // refers_to is written as fetched_at is.
  CHECK(query(db, "SELECT count(*) FROM pages WHERE refers_to IS NOT NULL AND length(refers_to) "
                  "= length(fetched_at)")
        == std::vector<std::string>{"2"});
}

TEST_CASE("a SQLite database an earlier Arachne wrote gets the re-crawl columns when opened again",
          "[sinks][sqlite][recrawl]") {
  temp_dir dir{"sinks-sqlite-migrate"};
  auto db = (dir.path / "old.db").string();
  {
    // The schema before sitemaps and re-crawls, with a row in each table.
    sqlite3* raw = nullptr;
    REQUIRE(sqlite3_open(db.c_str(), &raw) == SQLITE_OK);
    auto sql = R"sql(
      CREATE TABLE crawls (id INTEGER PRIMARY KEY, crawl_id TEXT, seeds TEXT, user_agent TEXT,
                           started_at TEXT);
      CREATE TABLE pages (id INTEGER PRIMARY KEY, url TEXT NOT NULL, final_url TEXT, host TEXT,
        status INTEGER, depth INTEGER, fetched_at TEXT, content_type TEXT, bytes INTEGER,
        elapsed_ms INTEGER, proxy TEXT, title TEXT);
      CREATE TABLE failures (id INTEGER PRIMARY KEY, url TEXT NOT NULL, final_url TEXT, host TEXT,
        status INTEGER, error TEXT, error_message TEXT, depth INTEGER, fetched_at TEXT,
        elapsed_ms INTEGER, proxy TEXT);
      CREATE TABLE items (id INTEGER PRIMARY KEY, url TEXT, fields TEXT);
      CREATE TABLE links (from_url TEXT NOT NULL, to_url TEXT NOT NULL);
      INSERT INTO pages (url, status, title) VALUES ('http://site.test/old', 200, 'Old');
      INSERT INTO failures (url, error) VALUES ('http://site.test/down', 'timeout');
    )sql";
    char* err = nullptr;
    auto rc = sqlite3_exec(raw, sql, nullptr, nullptr, &err);
    INFO((err != nullptr ? err : ""));
    sqlite3_free(err);
    sqlite3_close(raw);
    REQUIRE(rc == SQLITE_OK);
  }
  auto first = caf::timestamp{std::chrono::seconds{1790000000}};
  auto second = first + std::chrono::hours{24};
  {
    sqlite_sink sink{db};
    sink.open({"recrawl", {"http://site.test/"}, "arachne-test", second});
    auto records = recrawl_records(first, second);
    sink.store(records);
    sink.flush();
  }
  for (auto table : {"pages", "failures"}) {
    INFO(table);
    CHECK(query(db, std::string{"SELECT name FROM pragma_table_info('"} + table
                      + "') WHERE name IN ('digest', 'change', 'refers_to') ORDER BY name")
          == std::vector<std::string>{"change", "digest", "refers_to"});
  }
  // The old rows stay, with nothing to say in the new columns; the new ones say it.
  CHECK(query(db, "SELECT title, digest, change, refers_to FROM pages WHERE url = "
                  "'http://site.test/old'")
        == std::vector<std::string>{"Old|NULL|NULL|NULL"});
  CHECK(query(db, "SELECT error, change FROM failures") == std::vector<std::string>{"timeout|NULL"});
  CHECK(query(db, "SELECT change, refers_to FROM pages WHERE url = 'http://site.test/unchanged'")
        == std::vector<std::string>{"unchanged|" + format_timestamp(first)});
  // Opened once more: nothing to add, nothing lost.
  { sqlite_sink again{db}; }
  CHECK(query(db, "SELECT count(*) FROM pages") == std::vector<std::string>{"6"});
}

TEST_CASE("WARC files pass an independent reader (warcio): every record and digest valid",
          "[sinks][integration][warc]") {
  REQUIRE(fs::exists(fs::path{ARACHNE_SOURCE_DIR} / "tests/warc/node_modules/warcio"));
  temp_dir dir{"sinks-warc"};
  site::site_server server{{3, 20, 5, false, 0s, false}, {}};
  REQUIRE(server.listen() == "");
  server.start();
  auto records = std::make_shared<std::vector<record>>();
  std::vector<std::string> files;
  {
    config cfg;
    quick(cfg);
    caf::actor_system sys{cfg};
    crawl c{sys, cfg};
    // A small size limit makes several files.
    c.add_sink(*open_sink(sys, "warc:" + (dir.path / "crawl.warc.gz").string(), 256 * 1024));
    c.add_sink(sys.spawn(testing::memory_sink, records));
    REQUIRE(c.run({front_page(server)}));
  }
  for (auto& e : fs::directory_iterator(dir.path))
    files.push_back(e.path().string());
  std::sort(files.begin(), files.end());
  CHECK(files.size() >= 3);
  std::size_t fetched = 0;
  for (auto& r : *records)
    fetched += r.kind == record::kind_t::page && r.status != 0;
  auto [rc, out] = check_warc(files);
  INFO(out.substr(0, 2000));
  CHECK(rc == 0);
  CHECK(out.find("\"problems\":[]") != std::string::npos);
  CHECK(out.find("\"response\":" + std::to_string(fetched) + ",") != std::string::npos);
  CHECK(out.find("\"request\":" + std::to_string(fetched)) != std::string::npos);
  CHECK(out.find("\"warcinfo\":" + std::to_string(files.size())) != std::string::npos);
}

namespace {

/// One record of a WARC file as read back: its named fields and its block.
struct warc_record {
  std::map<std::string, std::string> fields;
  std::string block;

  std::string field(const std::string& name) const {
    auto i = fields.find(name);
    return i == fields.end() ? std::string{} : i->second;
  }
};

/// The records of an uncompressed WARC file, each cut by its Content-Length.
std::vector<warc_record> read_warc(const std::string& text) {
  std::vector<warc_record> out;
  std::size_t at = 0;
  while (at < text.size()) {
    REQUIRE(text.compare(at, 10, "WARC/1.1\r\n") == 0);
    auto end = text.find("\r\n\r\n", at);
    REQUIRE(end != std::string::npos);
    warc_record rec;
    std::istringstream lines{text.substr(at + 10, end + 2 - (at + 10))};
    for (std::string line; std::getline(lines, line);) {
      REQUIRE(line.size() >= 1);
      line.pop_back(); // '\r'
      auto colon = line.find(": ");
      REQUIRE(colon != std::string::npos);
      rec.fields[line.substr(0, colon)] = line.substr(colon + 2);
    }
    auto length = std::stoul(rec.field("Content-Length"));
    rec.block = text.substr(end + 4, length);
    at = end + 4 + length;
    REQUIRE(text.compare(at, 4, "\r\n\r\n") == 0);
    at += 4;
    out.push_back(std::move(rec));
  }
  return out;
}

/// Occurrences of `what` in `text`.
std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto i = text.find(what); i != std::string::npos; i = text.find(what, i + 1))
    ++n;
  return n;
}

/// A page record as a crawl with a WARC sink makes it (bodies, http).
record page_record(std::string url, uint16_t status, std::string body, caf::timestamp at,
               std::vector<header_field> headers) {
  record r;
  r.url = url;
  r.final_url = url;
  r.status = status;
  r.fetched_at = at;
  r.content_type = "text/html";
  r.bytes = body.size();
  r.body = shared_bytes{std::move(body)};
  r.headers = std::move(headers);
  r.request = "GET " + url.substr(url.find('/', 7)) + " HTTP/1.1\r\nHost: site.test\r\n\r\n";
  r.remote_address = "127.0.0.1:8080";
  return r;
}

} // namespace

TEST_CASE("a re-crawl writes unchanged and not-modified pages as WARC revisit records without "
          "their body",
          "[sinks][warc][recrawl]") {
  REQUIRE(fs::exists(fs::path{ARACHNE_SOURCE_DIR} / "tests/warc/node_modules/warcio"));
  temp_dir dir{"sinks-warc-revisit"};
  auto path = (dir.path / "crawl.warc").string(); // uncompressed: the bytes can be searched
  auto first = caf::timestamp{std::chrono::seconds{1790000000}};
  auto second = first + std::chrono::hours{24};
  auto body_a = "<html><title>A</title><p>" + std::string(3000, 'a') + "</p></html>";
  auto body_b = "<html><title>B</title><p>" + std::string(3000, 'b') + "</p></html>";
  auto body_c = "<html><title>C</title><p>" + std::string(3000, 'c') + "</p></html>";
  auto body_c2 = "<html><title>C, again</title><p>" + std::string(3000, 'd') + "</p></html>";
  // The first crawl: three pages (as a crawl with a state store records them).
  {
    warc_sink sink{path, 0};
    sink.open({"first", {"http://site.test/"}, "arachne-test", first});
    std::vector<record> batch{
      page_record("http://site.test/a", 200, body_a, first,
              {{"Content-Type", "text/html"}, {"ETag", "\"a1\""}, {"Content-Encoding", "gzip"},
               {"Content-Length", "99"}}),
      page_record("http://site.test/b", 200, body_b, first,
              {{"Content-Type", "text/html"}, {"Last-Modified", "Mon, 16 Jun 2026 22:28:51 GMT"}}),
      page_record("http://site.test/c", 200, body_c, first, {{"Content-Type", "text/html"}})};
    for (auto& r : batch)
      r.digest = payload_digest(r.body.view());
    sink.store(batch);
    sink.flush();
  }
  // The re-crawl, added to the same file: a has the same payload, b answers
  // 304, c changed.
  {
    warc_sink sink{path, 0, true};
    sink.open({"second", {"http://site.test/"}, "arachne-test", second});
    auto a = page_record("http://site.test/a", 200, "", second,
                     {{"Content-Type", "text/html"}, {"ETag", "\"a1\""},
                      {"Content-Encoding", "gzip"}, {"Content-Length", "99"}});
    a.change = page_change::unchanged;
    a.digest = payload_digest(body_a);
    a.refers_to = first;
    auto b = page_record("http://site.test/b", 304, "", second,
                     {{"Last-Modified", "Mon, 16 Jun 2026 22:28:51 GMT"},
                      {"Date", "Tue, 22 Sep 2026 14:13:20 GMT"}});
    b.change = page_change::not_modified;
    b.digest = payload_digest(body_b);
    b.refers_to = first;
    auto c = page_record("http://site.test/c", 200, body_c2, second, {{"Content-Type", "text/html"}});
    c.change = page_change::changed;
    c.digest = payload_digest(body_c2);
    std::vector<record> batch{a, b, c};
    sink.store(batch);
    sink.flush();
  }
  // An independent reader finds every record valid.
  auto [rc, out] = check_warc({path});
  INFO(out.substr(0, 2000));
  CHECK(rc == 0);
  CHECK(out.find("\"problems\":[]") != std::string::npos);
  CHECK(out.find("\"revisit\":2") != std::string::npos);
  CHECK(out.find("\"response\":4") != std::string::npos);
  CHECK(out.find("\"request\":6") != std::string::npos);
  // No body is stored twice.
  std::ifstream in{path, std::ios::binary};
  std::string text{std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
  CHECK(count_of(text, body_a) == 1);
  CHECK(count_of(text, body_b) == 1);
  CHECK(count_of(text, body_c) == 1);
  CHECK(count_of(text, body_c2) == 1);
  // Each capture by its target and type.
  std::map<std::string, warc_record> first_response, revisit, second_response, request_to;
  for (auto& rec : read_warc(text)) {
    auto type = rec.field("WARC-Type");
    auto uri = rec.field("WARC-Target-URI");
    if (type == "response")
      (rec.field("WARC-Date") == format_timestamp(first) ? first_response : second_response)[uri] = rec;
    else if (type == "revisit")
      revisit[uri] = rec;
    else if (type == "request")
      request_to[rec.field("WARC-Concurrent-To")] = rec;
  }
  REQUIRE(first_response.size() == 3);
  REQUIRE(revisit.size() == 2);
  REQUIRE(second_response.size() == 1);
  CHECK(second_response.count("http://site.test/c") == 1);
  CHECK(second_response["http://site.test/c"].field("WARC-Payload-Digest") == payload_digest(body_c2));
  auto check_revisit = [&](const std::string& url, const std::string& profile,
                           const std::string& status_line) {
    INFO(url);
    REQUIRE(revisit.count(url) == 1);
    auto& rv = revisit[url];
    auto& original = first_response[url];
    CHECK(rv.field("WARC-Profile") == "http://netpreserve.org/warc/1.1/revisit/" + profile);
    CHECK(rv.field("WARC-Date") == format_timestamp(second));
    CHECK(rv.field("WARC-IP-Address") == "127.0.0.1");
    CHECK(rv.field("Content-Type") == "application/http;msgtype=response");
    // What it refers to is the response of the first crawl.
    CHECK(rv.field("WARC-Refers-To-Target-URI") == url);
    CHECK(rv.field("WARC-Refers-To-Target-URI") == original.field("WARC-Target-URI"));
    CHECK(rv.field("WARC-Refers-To-Date") == format_timestamp(first));
    CHECK(rv.field("WARC-Refers-To-Date") == original.field("WARC-Date"));
    CHECK(rv.field("WARC-Payload-Digest") == original.field("WARC-Payload-Digest"));
    // The block: the response head alone (no body, no Content-Length for one).
    CHECK(rv.block.rfind(status_line + "\r\n", 0) == 0);
    CHECK(rv.block.find("\r\n\r\n") == rv.block.size() - 4);
    CHECK(rv.block.find("Content-Length") == std::string::npos);
    CHECK(rv.block.find("Content-Encoding") == std::string::npos);
    CHECK(rv.field("Content-Length") == std::to_string(rv.block.size()));
    CHECK(rv.field("WARC-Block-Digest") == payload_digest(rv.block));
    // Its request beside it.
    CHECK(request_to.count(rv.field("WARC-Record-ID")) == 1);
    return rv;
  };
  auto a = check_revisit("http://site.test/a", "identical-payload-digest", "HTTP/1.1 200 OK");
  CHECK(a.field("WARC-Payload-Digest") == payload_digest(body_a));
  CHECK(a.field("WARC-Truncated") == "length"); // WARC 1.1 section 6.7.2
  CHECK(a.block.find("ETag: \"a1\"\r\n") != std::string::npos);
  auto b = check_revisit("http://site.test/b", "server-not-modified", "HTTP/1.1 304 Not Modified");
  CHECK(b.field("WARC-Payload-Digest") == payload_digest(body_b));
  CHECK(b.field("WARC-Truncated").empty()); // a 304 is whole
  CHECK(b.block.find("Last-Modified: Mon, 16 Jun 2026 22:28:51 GMT\r\n") != std::string::npos);
}

TEST_CASE("base32 encodes as RFC 4648 says", "[sinks][warc]") {
  auto enc = [](std::string s) {
    return base32(reinterpret_cast<const unsigned char*>(s.data()), s.size());
  };
  CHECK(enc("") == "");
  CHECK(enc("f") == "MY======");
  CHECK(enc("fo") == "MZXQ====");
  CHECK(enc("foo") == "MZXW6===");
  CHECK(enc("foob") == "MZXW6YQ=");
  CHECK(enc("fooba") == "MZXW6YTB");
  CHECK(enc("foobar") == "MZXW6YTBOI======");
}

TEST_CASE("a custom sink on sink_base gets every item and the final flush", "[sinks][integration]") {
  site::site_server server{{2, 16, 3, false, 0s, false}, {}};
  REQUIRE(server.listen() == "");
  server.start();
  auto csv = std::make_shared<std::string>();
  uint64_t emitted = 0;
  {
    config cfg;
    quick(cfg);
    caf::actor_system sys{cfg};
    crawl c{sys, cfg};
    std::atomic<uint64_t> n{0};
    c.on_page([&n](const page& p, context& ctx) {
      if (!xpath_string(p, "//h2[@class='name']").empty())
        ++n;
      follow_and_emit_products(p, ctx);
    });
    c.add_sink(spawn_sink(sys, std::make_unique<csv_sink>(csv)));
    auto report = c.run({front_page(server)});
    REQUIRE(report);
    emitted = n;
    CHECK(report->tally.items == emitted);
  }
  CHECK(emitted > 0);
  CHECK(std::count(csv->begin(), csv->end(), '\n') == static_cast<std::ptrdiff_t>(emitted + 1));
  CHECK(csv->size() > 9);
  CHECK(csv->substr(csv->size() - 9) == "#flushed\n");
}

namespace {

/// Throws on its second batch, like a sink whose disk filled up.
class failing_sink : public sink_base {
public:
  void store(std::vector<record>&) override {
    if (++batches_ == 2)
      throw std::runtime_error("no space left on device");
  }

private:
  int batches_ = 0;
};

} // namespace

TEST_CASE("a sink that fails mid-crawl is reported with what it lost, and the crawl stops or goes on "
          "as told",
          "[sinks][integration]") {
  site::server_options sopts;
  sopts.latency = 2ms; // a crawl long enough to be stopped in the middle
  site::site_server server{{4, 60, 4, false, 0s, false}, sopts};
  REQUIRE(server.listen() == "");
  server.start();
  auto truth = server.model().truth({}).size();
  for (auto [name, policy] : {std::pair{"stop", sink_failure_policy::stop},
                               std::pair{"continue", sink_failure_policy::continue_without}}) {
    INFO(name);
    auto records = std::make_shared<std::vector<record>>();
    crawl_report report;
    {
      config cfg;
      quick(cfg);
      cfg.crawl.run.on_sink_failure = policy;
      caf::actor_system sys{cfg};
      crawl c{sys, cfg};
      c.add_sink(sys.spawn(testing::memory_sink, records));
      c.add_sink(spawn_sink(sys, std::make_unique<failing_sink>()));
      auto r = c.run({front_page(server)});
      REQUIRE(r);
      report = *r;
    }
    REQUIRE(report.sink_failures.size() == 1);
    auto& f = report.sink_failures[0];
    INFO(f.error);
    CHECK(f.sink == 1);
    CHECK(f.error.find("no space left on device") != std::string::npos);
    CHECK(f.lost > 0);
    if (policy == sink_failure_policy::stop) {
      CHECK(report.interrupted);
      CHECK(records->size() < truth);
    } else {
      CHECK(!report.interrupted);
      CHECK(records->size() == truth); // the working sink got everything
    }
  }
}

namespace {

/// Fails on the crawl's second batch to it, once: a restarted one works.
class flaky_sink : public sink_base {
public:
  flaky_sink(std::shared_ptr<std::atomic<int>> batches, std::shared_ptr<std::vector<record>> kept)
    : batches_(std::move(batches)), kept_(std::move(kept)) {}

  void store(std::vector<record>& records) override {
    if (++*batches_ == 2)
      throw std::runtime_error("connection to the database lost");
    kept_->insert(kept_->end(), records.begin(), records.end());
  }

private:
  std::shared_ptr<std::atomic<int>> batches_;
  std::shared_ptr<std::vector<record>> kept_;
};

} // namespace

TEST_CASE("a sink restarted after a failure gets what it had not acknowledged: nothing lost",
          "[sinks][integration]") {
  site::site_server server{{3, 30, 8, false, 0s, false}, {}};
  REQUIRE(server.listen() == "");
  server.start();
  auto batches = std::make_shared<std::atomic<int>>(0);
  auto kept = std::make_shared<std::vector<record>>();
  int opened = 0;
  crawl_report report;
  {
    config cfg;
    quick(cfg);
    cfg.crawl.run.on_sink_failure = sink_failure_policy::restart;
    caf::actor_system sys{cfg};
    crawl c{sys, cfg};
    c.add_sink([&]() -> caf::expected<sink_actor> {
      ++opened;
      return spawn_sink(sys, std::make_unique<flaky_sink>(batches, kept));
    });
    auto r = c.run({front_page(server)});
    REQUIRE(r);
    report = *r;
  }
  CHECK(opened == 2);
  CHECK(!report.interrupted);
  REQUIRE(report.sink_failures.size() == 1);
  CHECK(report.sink_failures[0].restarts == 1);
  CHECK(report.sink_failures[0].working);
  CHECK(report.sink_failures[0].lost == 0);
  CHECK(report.sink_failures[0].error.find("connection to the database lost") != std::string::npos);
  std::multiset<std::string> got, want;
  for (auto& r : *kept)
    got.insert(r.url);
  for (auto& t : server.model().truth({}))
    want.insert(t.url);
  CHECK(got == want); // every URL exactly once
}

TEST_CASE("a JSONL file opened again after a failure loses its torn last line first", "[sinks]") {
  temp_dir dir{"sinks-torn"};
  auto path = (dir.path / "x.jsonl").string();
  std::ofstream{path} << "{\"a\":1}\n{\"b\":2}\n{\"torn\":";
  {
    jsonl_sink sink{path, true};
    std::vector<record> one(1);
    one[0].url = "http://x.test/";
    sink.store(one);
    sink.flush();
  }
  auto lines = read_lines(path);
  REQUIRE(lines.size() == 3);
  CHECK(lines[0] == "{\"a\":1}");
  CHECK(lines[1] == "{\"b\":2}");
  CHECK(lines[2].find("\"url\":\"http://x.test/\"") != std::string::npos);
}

TEST_CASE("open_sink rejects bad specs with one line", "[sinks]") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  for (auto spec : {"jsonl", "jsonl:", "foo:bar", "warc:x.txt", "null:x", "sqlite:/nonexistent/dir/x.db"}) {
    INFO(spec);
    auto s = open_sink(sys, spec);
    REQUIRE(!s);
    auto msg = s.error().context().get_as<std::string>(0);
    CHECK(msg.rfind(std::string{"--out="} + spec, 0) == 0);
    CHECK(msg.find('\n') == std::string::npos);
  }
}
