// The built-in sinks on whole crawls of the demo site: SQLite holds exactly
// what JSONL holds, WARC files pass an independent reader, and a custom sink
// written on sink_base gets every record.

#include "arachne/crawl.hpp"
#include "arachne/json.hpp"
#include "arachne/sink.hpp"

#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <atomic>
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
  CHECK(query(db, "PRAGMA journal_mode") == std::vector<std::string>{"wal"});
}

TEST_CASE("WARC files pass an independent reader (warcio): every record and digest valid",
          "[sinks][integration][warc]") {
  auto checker = fs::path{ARACHNE_SOURCE_DIR} / "tests/warc/check.mjs";
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
  std::string cmd = "node '" + checker.string() + "'";
  for (auto& f : files)
    cmd += " '" + f + "'";
  std::string out;
  auto* p = ::popen((cmd + " 2>&1").c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  while (std::fgets(buf, sizeof buf, p))
    out += buf;
  auto rc = ::pclose(p);
  INFO(out.substr(0, 2000));
  CHECK(rc == 0);
  CHECK(out.find("\"problems\":[]") != std::string::npos);
  CHECK(out.find("\"response\":" + std::to_string(fetched) + ",") != std::string::npos);
  CHECK(out.find("\"request\":" + std::to_string(fetched)) != std::string::npos);
  CHECK(out.find("\"warcinfo\":" + std::to_string(files.size())) != std::string::npos);
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
