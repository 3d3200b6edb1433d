// The frontier's state store: what survives closing and opening again, and
// how directories that are not a crawl's state are refused.

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <vector>

#include "arachne/revisit.hpp"
#include "arachne/state/journal.hpp"
#include "arachne/state/sqlite_db.hpp"
#include "support/temp_dir.hpp"

using namespace arachne;
using arachne::testing::temp_dir;
using url_state = frontier_journal::url_state;

namespace {

std::string message(const caf::error& err) {
  return err.context().match_elements<std::string>() ? err.context().get_as<std::string>(0) : "";
}

crawl_request req(std::string url, uint32_t depth = 1) {
  return crawl_request{std::move(url), depth, {}, 0, 0, 0};
}

} // namespace

TEST_CASE("a state store keeps each URL's state across closing and opening", "[journal]") {
  temp_dir dir{"journal-keep"};
  auto path = (dir.path / "state").string();
  int64_t queued = 0, taken = 0;
  {
    auto j = frontier_journal::open(path, 0, 1);
    REQUIRE(j);
    auto host = (*j)->add_host("http://a.test");
    queued = (*j)->add_url(host, req("http://a.test/1"), url_state::queued);
    taken = (*j)->add_url(host, req("http://a.test/2", 3), url_state::queued);
    auto done = (*j)->add_url(host, req("http://a.test/3"), url_state::queued);
    (*j)->add_url(0, req("http://b.test/"), url_state::taken, crawl_errc::out_of_scope, "not in --allow");
    (*j)->mark(taken, url_state::taken);
    (*j)->mark(done, url_state::done);
    CHECK((*j)->dirty());
    CHECK((*j)->commit());
    CHECK_FALSE((*j)->dirty());
  }
  auto info = check_state_dir(path);
  REQUIRE(info);
  CHECK(info->exists);
  CHECK(info->shards == 1);
  auto j = frontier_journal::open(path, 0, 1);
  REQUIRE(j);
  auto hosts = (*j)->hosts();
  REQUIRE(hosts.size() == 1);
  CHECK(hosts[0].origin == "http://a.test");
  CHECK(hosts[0].admitted == 3);
  CHECK(hosts[0].pending == 2);
  auto pending = (*j)->pending(hosts[0].id, 0, 10);
  REQUIRE(pending.size() == 2);
  CHECK(pending[0].req.id == static_cast<uint64_t>(queued));
  CHECK_FALSE(pending[0].req.resumed); // never taken up: an ordinary fetch
  CHECK(pending[1].req.url == "http://a.test/2");
  CHECK(pending[1].req.depth == 3);
  CHECK(pending[1].req.resumed); // taken up before: may have a record already
  CHECK((*j)->pending(hosts[0].id, queued, 10).size() == 1); // after a row
  auto decided = (*j)->pending(0, 0, 10);
  REQUIRE(decided.size() == 1);
  CHECK(decided[0].decided == crawl_errc::out_of_scope);
  CHECK(decided[0].why == "not in --allow");
  std::size_t urls = 0;
  (*j)->each_url([&](std::string_view, url_kind) { ++urls; });
  CHECK(urls == 4);
  auto summary = read_state(path);
  REQUIRE(summary);
  CHECK(summary->total.queued == 1);
  CHECK(summary->total.taken == 2);
  CHECK(summary->total.done == 1);
}

TEST_CASE("a state store keeps sitemaps and what sitemaps said of pages, apart from pages",
          "[journal][sitemap]") {
  temp_dir dir{"journal-sitemaps"};
  auto path = (dir.path / "state").string();
  {
    auto j = frontier_journal::open(path, 0, 1);
    REQUIRE(j);
    auto host = (*j)->add_host("http://a.test");
    auto map = req("http://a.test/sitemap.xml", 0);
    map.kind = url_kind::sitemap;
    map.nesting = 1;
    map.vouched = "b.test";
    (*j)->add_url(host, map, url_state::queued);
    auto page = req("http://a.test/p");
    page.hints = {"2026-11-01", change_freq::weekly, 0.25f};
    page.shape_run = 7; // (trap defence: its chain goes on where it stopped)
    page.priority = -3;
    page.options = std::make_shared<const request_options>(request_options{
      "product",
      {{"from", "http://a.test/list?page=2"}, {"odd\tkey\\", "two\nlines"}, {"", ""}},
      "POST",
      std::string{"q=1\0binary", 10},
      "application/x-www-form-urlencoded"});
    (*j)->add_url(host, page, url_state::queued);
    CHECK((*j)->commit());
  }
  auto j = frontier_journal::open(path, 0, 1);
  REQUIRE(j);
  auto hosts = (*j)->hosts();
  REQUIRE(hosts.size() == 1);
  CHECK(hosts[0].admitted == 1); // a sitemap is not a page of the budget
  CHECK(hosts[0].pending == 2);
  auto pending = (*j)->pending(hosts[0].id, 0, 10);
  REQUIRE(pending.size() == 2);
  CHECK(pending[0].req.kind == url_kind::sitemap);
  CHECK(pending[0].req.nesting == 1);
  CHECK(pending[0].req.vouched == "b.test");
  CHECK(pending[1].req.kind == url_kind::page);
  CHECK(pending[1].req.hints.lastmod == "2026-11-01");
  CHECK(pending[1].req.hints.changefreq == change_freq::weekly);
  CHECK(pending[1].req.hints.priority == Approx(0.25));
  CHECK(pending[0].req.shape_run == 0);
  CHECK(pending[1].req.shape_run == 7);
  auto& o = pending[1].req.opts();
  CHECK(o.label == "product"); // (a request's data survives the store)
  CHECK(o.user_data
        == std::vector<std::pair<std::string, std::string>>{
          {"from", "http://a.test/list?page=2"}, {"odd\tkey\\", "two\nlines"}, {"", ""}});
  CHECK(pending[1].req.priority == -3);
  CHECK(o.method == "POST");
  CHECK(o.body == std::string{"q=1\0binary", 10});
  CHECK(o.body_type == "application/x-www-form-urlencoded");
  std::vector<std::string> keys;
  (*j)->each_seen_key([&](std::string_view k) { keys.emplace_back(k); });
  CHECK(keys == std::vector<std::string>{seen_key(pending[0].req), seen_key(pending[1].req)});
  CHECK(keys[1] != pending[1].req.url); // (a POST is keyed by its content too)
  CHECK(pending[0].req.options == nullptr); // (none: nothing out of line)
  std::vector<std::pair<std::string, url_kind>> urls;
  (*j)->each_url([&](std::string_view u, url_kind k) { urls.emplace_back(u, k); });
  CHECK(urls == std::vector<std::pair<std::string, url_kind>>{
                  {"http://a.test/sitemap.xml", url_kind::sitemap}, {"http://a.test/p", url_kind::page}});
}

TEST_CASE("continuous mode: done URLs come back when due, soonest first, and a sitemap's "
          "lastmod makes one due now",
          "[journal][recrawl]") {
  temp_dir dir{"journal-due"};
  auto path = (dir.path / "state").string();
  auto j = frontier_journal::open(path, 0, 1);
  REQUIRE(j);
  auto host = (*j)->add_host("http://a.test");
  // (A fetch's next due time counts from when it is stored: now.)
  auto t0 = caf::make_timestamp();
  using std::chrono::seconds;
  auto done = [&](const char* url, caf::timestamp fetched, caf::timespan interval) {
    auto id = (*j)->add_url(host, req(url), url_state::taken);
    last_visit v;
    v.status = 200;
    v.digest = payload_digest(url);
    v.fetched_at = fetched;
    v.payload_at = fetched;
    v.interval = interval;
    (*j)->finish(id, v);
    return id;
  };
  auto a = done("http://a.test/a", t0, seconds(100));         // due at t0 + 100
  auto b = done("http://a.test/b", t0, seconds(10));          // due at t0 + 10
  auto c = done("http://a.test/c", t0, caf::timespan{0});     // fetched before continuous mode
  auto queued = (*j)->add_url(host, req("http://a.test/d"), url_state::queued);
  CHECK((*j)->commit());
  (*j)->prepare_continuous(seconds(50)); // c: due at t0 + 50
  CHECK((*j)->take_due(t0 + seconds(5), 10).empty());
  auto first = (*j)->take_due(t0 + seconds(60), 10);
  REQUIRE(first.size() == 2);
  CHECK(first[0].req.id == static_cast<uint64_t>(b)); // soonest first
  CHECK(first[1].req.id == static_cast<uint64_t>(c));
  CHECK(first[1].req.visit.interval == seconds(50));
  CHECK(first[0].req.visit.digest == payload_digest("http://a.test/b"));
  // Queued again (pending with the one never fetched), not due twice.
  CHECK((*j)->pending(host, 0, 10).size() == 3);
  CHECK((*j)->take_due(t0 + seconds(60), 10).empty());
  // A sitemap says /a changed after its fetch: due now; one before it: no news.
  CHECK_FALSE((*j)->make_due("http://a.test/a", t0 - seconds(1)));
  CHECK_FALSE((*j)->make_due("http://a.test/b", t0 + seconds(1))); // (queued already)
  CHECK((*j)->make_due("http://a.test/a", t0 + seconds(1)));
  auto now = (*j)->take_due(t0 + seconds(60), 10);
  REQUIRE(now.size() == 1);
  CHECK(now[0].req.id == static_cast<uint64_t>(a));
  // A URL that ended without a fetch that says anything of it (robots.txt
  // denied it, say) comes round again too; one decided without a fetch not.
  (*j)->mark(queued, url_state::done);
  (*j)->reschedule(queued, seconds(30));
  auto decided = (*j)->add_url(0, req("http://b.test/"), url_state::done, crawl_errc::out_of_scope,
                               "why");
  (*j)->reschedule(decided, seconds(30));
  CHECK((*j)->take_due(t0 + seconds(20), 10).empty());
  auto unfetched = (*j)->take_due(t0 + seconds(3600), 10);
  REQUIRE(unfetched.size() == 1);
  CHECK(unfetched[0].req.id == static_cast<uint64_t>(queued));
  CHECK_FALSE(unfetched[0].req.visit.known()); // asked plainly
}

TEST_CASE("a state store written before sitemaps opens and reads its URLs as pages",
          "[journal][sitemap]") {
  temp_dir dir{"journal-old"};
  auto path = (dir.path / "state").string();
  {
    auto j = frontier_journal::open(path, 0, 1);
    REQUIRE(j);
    (*j)->add_url((*j)->add_host("http://a.test"), req("http://a.test/1"), url_state::queued);
    CHECK((*j)->commit());
  }
  { // As the first format had it: no sitemap columns.
    sqlite_db db{(dir.path / "state" / "shard-0.db").string(), false};
    for (auto* column :
         {"kind", "nesting", "vouched", "lastmod", "changefreq", "priority", "shape_run", "label",
          "user_data", "queue_priority", "method", "body_type", "body"})
      db.exec((std::string{"ALTER TABLE urls DROP COLUMN "} + column).c_str());
    db.exec("DROP TABLE visits");
  }
  auto j = frontier_journal::open(path, 0, 1);
  REQUIRE(j);
  auto hosts = (*j)->hosts();
  REQUIRE(hosts.size() == 1);
  auto pending = (*j)->pending(hosts[0].id, 0, 10);
  REQUIRE(pending.size() == 1);
  CHECK(pending[0].req.url == "http://a.test/1");
  CHECK(pending[0].req.kind == url_kind::page);
  CHECK(pending[0].req.hints.priority < 0);
  CHECK(pending[0].req.shape_run == 0);
  CHECK_FALSE(pending[0].req.visit.known());
}

TEST_CASE("a URL done with what its fetch said brings it back in the next pass",
          "[journal][recrawl]") {
  temp_dir dir{"journal-visit"};
  auto path = (dir.path / "state").string();
  last_visit v;
  v.etag = "\"abc\"";
  v.last_modified = "Sun, 06 Dec 2026 10:00:00 GMT";
  v.digest = "sha1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
  v.fetched_at = caf::timestamp{std::chrono::milliseconds{1796000000123}};
  v.payload_at = caf::timestamp{std::chrono::milliseconds{1795000000456}};
  v.status = 200;
  v.changes = 3;
  {
    auto j = frontier_journal::open(path, 0, 1);
    REQUIRE(j);
    CHECK((*j)->pass() == 1);
    auto host = (*j)->add_host("http://a.test");
    auto page = (*j)->add_url(host, req("http://a.test/1"), url_state::queued);
    auto gone = (*j)->add_url(host, req("http://a.test/2"), url_state::queued);
    auto decided = (*j)->add_url(0, req("http://b.test/"), url_state::taken,
                                 crawl_errc::out_of_scope, "why");
    CHECK_FALSE((*j)->finished());
    (*j)->finish(page, v);
    (*j)->mark(gone, url_state::done);
    (*j)->mark(decided, url_state::done);
    CHECK((*j)->commit());
    CHECK((*j)->finished());
  }
  auto summary = read_state(path);
  REQUIRE(summary);
  CHECK(summary->pass == 1);
  CHECK(summary->finished);
  auto j = frontier_journal::open(path, 0, 1);
  REQUIRE(j);
  auto host = (*j)->hosts().at(0).id;
  CHECK((*j)->pending(host, 0, 10).empty());
  // The next pass queues every URL with a host; a decided one stays decided.
  REQUIRE((*j)->start_pass(2));
  CHECK((*j)->pass() == 2);
  CHECK_FALSE((*j)->finished());
  auto again = (*j)->pending(host, 0, 10);
  REQUIRE(again.size() == 2);
  auto& w = again[0].req.visit;
  CHECK(w.etag == v.etag);
  CHECK(w.last_modified == v.last_modified);
  CHECK(w.digest == v.digest);
  CHECK(w.fetched_at == v.fetched_at);
  CHECK(w.payload_at == v.payload_at);
  CHECK(w.status == 200);
  CHECK(w.changes == 3);
  CHECK_FALSE(again[0].req.resumed); // (queued, not taken up before a crash)
  CHECK_FALSE(again[1].req.visit.known()); // marked done without a fetch
  CHECK((*j)->pending(0, 0, 10).empty());
  // A URL handed to another shard brings what its last fetch said.
  auto moved = req("http://a.test/3");
  moved.visit = v;
  auto id = (*j)->add_url(host, moved, url_state::queued);
  auto rows = (*j)->pending(host, again[1].req.id, 10);
  REQUIRE(rows.size() == 1);
  CHECK(rows[0].req.id == static_cast<uint64_t>(id));
  CHECK(rows[0].req.visit.digest == v.digest);
  CHECK(rows[0].req.visit.etag == v.etag);
}

TEST_CASE("directories that are not a crawl's state are refused with one line", "[journal]") {
  temp_dir dir{"journal-refuse"};
  SECTION("a missing or empty directory is a new state") {
    auto info = check_state_dir((dir.path / "new").string());
    REQUIRE(info);
    CHECK_FALSE(info->exists);
  }
  SECTION("a directory with other files") {
    std::ofstream{dir.path / "notes.txt"} << "mine";
    auto info = check_state_dir(dir.path.string());
    REQUIRE_FALSE(info);
    CHECK(message(info.error()).find("not an Arachne state directory") != std::string::npos);
  }
  SECTION("a file that is not a database") {
    std::ofstream{dir.path / "shard-0.db"} << std::string(5000, 'x');
    auto info = check_state_dir(dir.path.string());
    REQUIRE_FALSE(info);
    CHECK(message(info.error()).find("is not an Arachne state file") != std::string::npos);
    CHECK_FALSE(frontier_journal::open(dir.path.string(), 0, 1));
  }
  SECTION("another shard count") {
    REQUIRE(frontier_journal::open(dir.path.string(), 0, 1));
    auto j = frontier_journal::open(dir.path.string(), 0, 3);
    REQUIRE_FALSE(j);
    CHECK(message(j.error()).find("--shards=1") != std::string::npos);
  }
  SECTION("a missing shard file beside URLs") {
    auto j = frontier_journal::open(dir.path.string(), 0, 2);
    REQUIRE(j);
    (*j)->add_url((*j)->add_host("http://a.test"), req("http://a.test/1"), url_state::queued);
    REQUIRE((*j)->commit());
    auto info = check_state_dir(dir.path.string());
    REQUIRE_FALSE(info);
    CHECK(message(info.error()).find("misses") != std::string::npos);
  }
  SECTION("a missing shard file beside empty ones (killed while making them)") {
    REQUIRE(frontier_journal::open(dir.path.string(), 0, 2));
    auto info = check_state_dir(dir.path.string());
    REQUIRE(info);
    CHECK(info->exists);
    CHECK(info->shards == 2);
    CHECK(frontier_journal::open(dir.path.string(), 1, 2));
  }
}

TEST_CASE("one crawl at a time holds a state directory", "[journal]") {
  temp_dir dir{"journal-lock"};
  auto path = dir.path.string();
  REQUIRE(frontier_journal::open(path, 0, 1));
  {
    auto first = state_dir_lock::acquire(path);
    REQUIRE(first);
    auto second = state_dir_lock::acquire(path);
    REQUIRE_FALSE(second);
    CHECK(message(second.error()).find("in use by another crawl") != std::string::npos);
    CHECK_FALSE(check_state_dir(path));           // as another crawl sees it
    CHECK(check_state_dir(path, false));          // as the holder sees it
    CHECK(read_state(path));                      // reading is fine while it runs
  }
  CHECK(state_dir_lock::acquire(path)); // released with its holder
}

namespace {

// Copies shard 0's file and its WAL as a crash would leave them (the store
// still open: nothing checkpointed), into `to`.
void crash_image(const std::filesystem::path& from, const std::filesystem::path& to) {
  std::filesystem::create_directories(to);
  for (auto* name : {"shard-0.db", "shard-0.db-wal"})
    std::filesystem::copy_file(from / name, to / name);
}

// Where frame `frame` (from 0) of a WAL starts: a 32-byte header, then
// frames of a 24-byte header and a 4096-byte page.
std::size_t frame_at(std::size_t frame) {
  return 32 + frame * (24 + 4096);
}

// Flips the byte at `offset` of the WAL in `to`.
void flip(const std::filesystem::path& to, std::size_t offset) {
  std::fstream f{to / "shard-0.db-wal", std::ios::in | std::ios::out | std::ios::binary};
  auto pos = static_cast<std::streamoff>(offset);
  f.seekg(pos);
  char c = 0;
  f.get(c);
  f.seekp(pos);
  f.put(static_cast<char>(c ^ 0x5a));
}

} // namespace

// SQLite replays a WAL up to its first bad frame and drops the rest,
// committed transactions too, without a word (sqlite.org/fileformat2.html,
// "WAL file format"): URLs done before came back as never fetched.
TEST_CASE("a state whose journal (WAL) lost committed changes says so, and marks the pass",
          "[journal]") {
  temp_dir dir{"journal-wal"};
  auto live = dir.path / "live";
  auto j = frontier_journal::open(live.string(), 0, 1);
  REQUIRE(j);
  auto host = (*j)->add_host("http://a.test");
  std::vector<int64_t> ids;
  for (int i = 0; i < 3; ++i) {
    ids.push_back((*j)->add_url(host, req("http://a.test/" + std::to_string(i)), url_state::queued));
    REQUIRE((*j)->commit()); // one transaction each
  }
  (*j)->mark(ids[0], url_state::done);
  REQUIRE((*j)->commit());
  SECTION("an intact journal: nothing to say, nothing lost") {
    crash_image(live, dir.path / "intact");
    auto info = check_state_dir((dir.path / "intact").string(), false);
    REQUIRE(info);
    CHECK(info->notes.empty());
    auto again = frontier_journal::open((dir.path / "intact").string(), 0, 1);
    REQUIRE(again);
    CHECK_FALSE((*again)->rolled_back());
    CHECK((*again)->pending((*again)->hosts().at(0).id, 0, 10).size() == 2);
  }
  SECTION("the first frame damaged: every later commit is lost, and said once") {
    auto image = dir.path / "damaged";
    crash_image(live, image);
    flip(image, frame_at(0) + 24 + 100);
    auto info = check_state_dir(image.string(), false);
    REQUIRE(info);
    REQUIRE(info->notes.size() == 1);
    CHECK(info->notes[0].find("shard-0.db-wal' (its journal) was damaged: frame 1 of ")
          != std::string::npos);
    CHECK(info->notes[0].find("committed change(s) after it are lost") != std::string::npos);
    auto later = check_state_dir(image.string(), false);
    REQUIRE(later);
    CHECK(later->notes.empty()); // (SQLite has dropped the log)
    auto again = frontier_journal::open(image.string(), 0, 1);
    REQUIRE(again);
    CHECK((*again)->rolled_back());
    SECTION("until the next pass") {
      REQUIRE((*again)->start_pass(2));
      CHECK_FALSE((*again)->rolled_back());
    }
  }
  SECTION("only the last frame damaged (a kill between its header and page): not a loss") {
    auto image = dir.path / "torn";
    crash_image(live, image);
    auto frames = (std::filesystem::file_size(image / "shard-0.db-wal") - 32) / (24 + 4096);
    REQUIRE(frames >= 2);
    flip(image, frame_at(frames - 1) + 24 + 100);
    auto info = check_state_dir(image.string(), false);
    REQUIRE(info);
    CHECK(info->notes.empty());
  }
  SECTION("its header damaged: the whole log is lost") {
    auto image = dir.path / "header";
    crash_image(live, image);
    flip(image, 12); // (the checkpoint sequence number, in the header)
    auto info = check_state_dir(image.string(), false);
    REQUIRE(info);
    REQUIRE(info->notes.size() == 1);
    CHECK(info->notes[0].find("its header is damaged") != std::string::npos);
  }
}

// Found by fuzz/journal: a file whose numbers are out of range (a bad sector,
// another program's writes) overflowed the nanoseconds of a time read from it
// (undefined behaviour), and an unknown error kind or change frequency went on
// into tables indexed by kind. They are read as the nearest sane value.
TEST_CASE("a state file's out-of-range numbers are read within range", "[journal]") {
  temp_dir dir{"journal-range"};
  auto path = (dir.path / "state").string();
  {
    auto j = frontier_journal::open(path, 0, 1);
    REQUIRE(j);
    auto id = (*j)->add_url((*j)->add_host("http://a.test"), req("http://a.test/1"), url_state::queued);
    last_visit v;
    v.status = 200;
    v.fetched_at = caf::make_timestamp();
    (*j)->finish(id, v);
    REQUIRE((*j)->commit());
  }
  {
    sqlite_db db{(dir.path / "state" / "shard-0.db").string(), false};
    db.exec("UPDATE urls SET state = 0, decided = 200, changefreq = 99");
    db.exec("UPDATE visits SET fetched_at = 9223372036854775807, payload_at = -5, "
            "interval_ms = 9223372036854775807");
  }
  auto j = frontier_journal::open(path, 0, 1);
  REQUIRE(j);
  auto pending = (*j)->pending((*j)->hosts().at(0).id, 0, 10);
  REQUIRE(pending.size() == 1);
  auto& p = pending[0];
  CHECK(p.decided == crawl_errc::none); // fetched, not decided by an unknown kind
  CHECK(p.req.hints.changefreq == change_freq::unknown);
  auto year_2256 = caf::timestamp{std::chrono::hours{24 * 365 * 286}};
  CHECK(p.req.visit.fetched_at > caf::make_timestamp());
  CHECK(p.req.visit.fetched_at < year_2256);
  CHECK(p.req.visit.payload_at.time_since_epoch().count() == 0);
  CHECK(p.req.visit.interval > std::chrono::hours{24 * 365 * 200});
  CHECK(p.req.visit.interval.count() > 0);
}
