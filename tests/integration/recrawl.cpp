// Re-crawl (--recrawl) against a real server: nginx sends ETag and
// Last-Modified for its files and answers conditional requests with 304
// (RFC 9110 section 13), so a second pass over an unchanged site costs
// headers only.

#include "arachne/crawl.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include "caf/actor_system.hpp"

#include "arachne/state/journal.hpp"
#include "support/memory_sink.hpp"
#include "support/nginx_server.hpp"
#include "support/temp_dir.hpp"

using namespace arachne;
using namespace std::chrono_literals;

namespace {

namespace fs = std::filesystem;

using testing::nginx_server;
using testing::temp_dir;

constexpr int page_count = 80;

std::string page_name(int i) {
  return "/p" + std::to_string(i) + ".html";
}

// A page of about 8 KiB: its number, `version`, and links to `links`.
std::string html_page(int i, int version, const std::vector<std::string>& links = {}) {
  std::string out = "<!doctype html><html><head><title>page " + std::to_string(i) + " v"
                    + std::to_string(version) + "</title></head><body>\n";
  for (auto& l : links)
    out += "<a href=\"" + l + "\">" + l + "</a>\n";
  for (int line = 0; out.size() < 8192; ++line)
    out += "<p>page " + std::to_string(i) + " version " + std::to_string(version) + " line "
           + std::to_string(line) + " of text that makes the page the size of a real one</p>\n";
  return out + "</body></html>\n";
}

// Moves a file's modification time (nginx's ETag and Last-Modified) on, as
// an edit a while later would.
void touch_later(const fs::path& path) {
  fs::last_write_time(path, fs::last_write_time(path) + 1h);
}

struct pass_result {
  std::map<std::string, record> by_path; // one per URL
  crawl_report report;
  std::vector<nginx_server::request_line> requests; // what nginx answered in this pass
};

// Two scheduler threads, no per-host delay, the state in `state`.
void quick(config& cfg, const fs::path& state) {
  cfg.crawl.threads = 2;
  cfg.crawl.politeness.delay = 0ms;
  cfg.crawl.http.io_threads = 1;
  cfg.crawl.run.state_dir = state.string();
}

// Runs a continuous crawl of `server`/ with the state in `state` and `tune`
// applied until `enough` says so (polled every 50 ms, at most 20 s), then
// stops it; its records go to `records`.
crawl_report run_continuous(const nginx_server& server, const fs::path& state,
                            const std::function<void(config&)>& tune,
                            const std::function<bool()>& enough,
                            std::shared_ptr<std::vector<record>> records = nullptr) {
  caf::expected<crawl_report> report{caf::error{}};
  config cfg;
  quick(cfg, state);
  tune(cfg);
  cfg.apply();
  caf::actor_system sys{cfg};
  crawl c{sys, cfg};
  if (!records)
    records = std::make_shared<std::vector<record>>();
  c.add_sink(sys.spawn(testing::memory_sink, records));
  std::thread runner{[&] { report = c.run({server.origin() + "/"}); }};
  for (int i = 0; i < 400 && !enough(); ++i)
    std::this_thread::sleep_for(50ms);
  c.stop();
  runner.join();
  REQUIRE(report);
  return *report;
}

// How often nginx answered `target` (from request `from` on).
int count(const nginx_server& server, const std::string& target, std::size_t from = 0) {
  auto all = server.requests();
  int n = 0;
  for (std::size_t i = from; i < all.size(); ++i)
    n += all[i].target == target;
  return n;
}


// Crawls `server`/ with the state in `state`; `recrawl` as --recrawl.
pass_result crawl_pass(const nginx_server& server, const fs::path& state, bool recrawl) {
  auto before = server.requests().size();
  auto records = std::make_shared<std::vector<record>>();
  pass_result out;
  {
    config cfg;
    quick(cfg, state);
    cfg.crawl.run.recrawl = recrawl;
    cfg.apply();
    caf::actor_system sys{cfg};
    crawl c{sys, cfg};
    c.add_sink(sys.spawn(testing::memory_sink, records));
    auto report = c.run({server.origin() + "/"});
    REQUIRE(report);
    out.report = *report;
  }
  auto origin = server.origin();
  for (auto& r : *records) {
    auto path = r.url.rfind(origin, 0) == 0 ? r.url.substr(origin.size()) : r.url;
    INFO(path);
    CHECK(out.by_path.emplace(path, r).second);
  }
  auto all = server.requests();
  out.requests.assign(all.begin() + static_cast<std::ptrdiff_t>(before), all.end());
  return out;
}

// A time as the state store keeps it: in milliseconds.
int64_t ms(caf::timestamp t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

uint64_t bytes_of(const std::vector<nginx_server::request_line>& requests) {
  uint64_t n = 0;
  for (auto& r : requests)
    n += r.bytes;
  return n;
}

} // namespace

TEST_CASE("a re-crawl asks every known page conditionally: unchanged pages cost a 304, changed "
          "ones are fetched and parsed, deleted ones are gone, new ones crawled",
          "[recrawl][integration]") {
  temp_dir dir{"recrawl"};
  auto www = dir.path / "nginx" / "www";
  std::vector<std::string> links;
  for (int i = 1; i <= page_count; ++i)
    links.push_back(page_name(i));
  testing::write_file(www / "index.html", html_page(0, 1, links));
  for (int i = 1; i <= page_count; ++i)
    testing::write_file(www / page_name(i).substr(1), html_page(i, 1));
  nginx_server server{dir.path / "nginx"};
  auto state = dir.path / "state";

  // The first pass: every page a 200, with nginx's validators kept.
  auto first = crawl_pass(server, state, false);
  REQUIRE(first.by_path.size() == page_count + 1);
  for (auto& [path, r] : first.by_path) {
    INFO(path);
    CHECK(r.status == 200);
    CHECK(r.change == page_change::none);
    CHECK(r.digest.rfind("sha1:", 0) == 0);
  }
  CHECK(first.report.pass == 1);

  // Between the passes: two pages edited (one links a new page), two
  // deleted, one touched without a change of content.
  testing::write_file(www / "p1.html", html_page(1, 2, {"/new.html"}));
  touch_later(www / "p1.html");
  testing::write_file(www / "p2.html", html_page(2, 2));
  touch_later(www / "p2.html");
  testing::write_file(www / "new.html", html_page(99, 1));
  fs::remove(www / "p3.html");
  fs::remove(www / "p4.html");
  touch_later(www / "p5.html"); // a new ETag and date, the same bytes

  auto second = crawl_pass(server, state, true);
  CHECK(second.report.pass == 2);

  { // every known page is asked conditionally, with the validators nginx gave
    std::set<std::string> asked;
    for (auto& q : second.requests) {
      if (q.target == "/robots.txt")
        continue; // (it had none: robots.txt is fetched anew each run)
      INFO(q.target);
      if (q.target == "/new.html") {
        CHECK(q.if_none_match.empty()); // never fetched before
        continue;
      }
      CHECK(!q.if_none_match.empty());
      CHECK(!q.if_modified_since.empty());
      asked.insert(q.target);
    }
    CHECK(asked.size() == page_count + 1); // the index and every page, once each
    CHECK(second.requests.size() == page_count + 3); // + robots.txt and the new page
  }

  { // unchanged pages cost a 304 and are recorded as not modified, without a body
    for (auto& [path, r] : second.by_path) {
      if (path == "/index.html" || path == "/" || (path.size() > 2 && path[1] == 'p'
                                                   && std::atoi(path.c_str() + 2) > 5)) {
        INFO(path);
        CHECK(r.status == 304);
        CHECK(r.change == page_change::not_modified);
        CHECK(r.digest == first.by_path.at(path).digest); // (the page it refers to)
        CHECK(ms(r.refers_to) == ms(first.by_path.at(path).fetched_at));
        CHECK(r.title.empty()); // not parsed
      }
    }
    CHECK(second.report.not_modified == page_count - 5 + 1);
  }

  { // changed pages are fetched and parsed again; the new page they link is crawled
    for (auto* path : {"/p1.html", "/p2.html"}) {
      INFO(path);
      auto& r = second.by_path.at(path);
      CHECK(r.status == 200);
      CHECK(r.change == page_change::changed);
      CHECK(r.digest != first.by_path.at(path).digest);
      CHECK(r.title.find(" v2") != std::string::npos);
    }
    REQUIRE(second.by_path.count("/new.html") == 1);
    auto& fresh = second.by_path.at("/new.html");
    CHECK(fresh.status == 200);
    CHECK(fresh.change == page_change::none);
    CHECK(second.report.changed == 2);
  }

  { // a touched page with the same bytes is a 200 recorded as unchanged, by its digest
    auto& r = second.by_path.at("/p5.html");
    CHECK(r.status == 200);
    CHECK(r.change == page_change::unchanged);
    CHECK(r.digest == first.by_path.at("/p5.html").digest);
    CHECK(ms(r.refers_to) == ms(first.by_path.at("/p5.html").fetched_at));
    CHECK(second.report.unchanged == second.report.not_modified + 1);
  }

  { // deleted pages are recorded with their status and as gone
    for (auto* path : {"/p3.html", "/p4.html"}) {
      INFO(path);
      auto& r = second.by_path.at(path);
      CHECK(r.status == 404);
      CHECK(r.change == page_change::gone);
    }
    CHECK(second.report.gone == 2);
    CHECK(second.report.revisits == page_count + 1);
  }

  { // the second pass moves at most 10% of the first pass's bytes
    auto one = bytes_of(first.requests);
    auto two = bytes_of(second.requests);
    INFO(one << " bytes in the first pass, " << two << " in the second");
    CHECK(two * 10 <= one);
  }

  { // a third pass finds nothing changed: the new page and the edited ones are 304s now
    auto third = crawl_pass(server, state, true);
    CHECK(third.report.pass == 3);
    CHECK(third.report.changed == 0);
    CHECK(third.report.gone == 0); // (a 404 again is no news)
    for (auto* path : {"/p1.html", "/p2.html", "/new.html", "/p5.html"}) {
      INFO(path);
      CHECK(third.by_path.at(path).change == page_change::not_modified);
    }
    CHECK(third.by_path.at("/p3.html").status == 404);
    CHECK(third.by_path.at("/p3.html").change == page_change::none);
  }
}

TEST_CASE("without --recrawl a finished crawl's state ends at once; --recrawl without a "
          "finished crawl resumes it",
          "[recrawl][integration]") {
  temp_dir dir{"recrawl-plain"};
  auto www = dir.path / "nginx" / "www";
  testing::write_file(www / "index.html", html_page(0, 1, {"/p1.html"}));
  testing::write_file(www / "p1.html", html_page(1, 1));
  nginx_server server{dir.path / "nginx"};
  auto state = dir.path / "state";
  auto first = crawl_pass(server, state, true); // (--recrawl on a new state: a first crawl)
  CHECK(first.report.pass == 1);
  CHECK(first.by_path.size() == 2);
  auto again = crawl_pass(server, state, false);
  CHECK(again.by_path.empty());
  CHECK(again.requests.empty());
  auto summary = read_state(state.string());
  REQUIRE(summary);
  CHECK(summary->pass == 1);
  CHECK(summary->finished);
}

TEST_CASE("continuous mode: every URL is due again after its own interval, shorter for a page "
          "that changes than for one that does not, until the crawl is stopped",
          "[recrawl][integration]") {
  temp_dir dir{"recrawl-continuous"};
  auto www = dir.path / "nginx" / "www";
  testing::write_file(www / "index.html", html_page(0, 1, {"/p1.html", "/p2.html"}));
  testing::write_file(www / "p1.html", html_page(1, 1));
  testing::write_file(www / "p2.html", html_page(2, 1));
  nginx_server server{dir.path / "nginx"};
  auto records = std::make_shared<std::vector<record>>();
  int k = 0;
  auto report = run_continuous(
    server, dir.path / "state",
    [](config& cfg) {
      cfg.crawl.run.recrawl_every = 400ms;
      cfg.crawl.run.recrawl_min = 200ms;
      cfg.crawl.run.recrawl_max = 1600ms;
    },
    [&] {
      // p1 changes every 100 ms for 5 s (a new text, a later date); p2 never.
      if (++k % 2 == 0) {
        auto v = 1 + k / 2;
        // (Written aside and renamed: nginx never serves half a file.)
        testing::write_file(www / "p1.new", html_page(1, v));
        fs::last_write_time(www / "p1.new", fs::last_write_time(www / "p2.html") + std::chrono::hours(v));
        fs::rename(www / "p1.new", www / "p1.html");
      }
      return k >= 100;
    },
    records);
  std::map<std::string, int> fetches;
  std::map<std::string, int> conditional;
  for (auto& q : server.requests()) {
    ++fetches[q.target];
    conditional[q.target] += !q.if_none_match.empty();
  }
  INFO("p1 fetched " << fetches["/p1.html"] << " times, p2 " << fetches["/p2.html"] << ", / "
                     << fetches["/"]);
  // Unchanged, p2's interval grows 400, 600, 900, 1350, 1600 ms: about 6 fetches in 5 s;
  // p1's stays at the 200 ms minimum: many more.
  CHECK(fetches["/p2.html"] >= 3);
  CHECK(fetches["/p2.html"] <= 10);
  CHECK(fetches["/p1.html"] >= fetches["/p2.html"] + 4);
  CHECK(conditional["/p2.html"] == fetches["/p2.html"] - 1); // all but the first
  int p2_not_modified = 0;
  int p1_changed = 0;
  for (auto& r : *records) {
    p2_not_modified += r.url == server.origin() + "/p2.html"
                       && r.change == page_change::not_modified;
    p1_changed += r.url == server.origin() + "/p1.html" && r.change == page_change::changed;
  }
  CHECK(p2_not_modified == fetches["/p2.html"] - 1);
  CHECK(p1_changed >= 3);
  CHECK(report.due >= static_cast<uint64_t>(fetches["/p1.html"] + fetches["/p2.html"] - 2));
  CHECK(report.interrupted);
}

TEST_CASE("continuous mode: a sitemap's lastmod newer than a URL's last fetch makes it due at "
          "once; an older one does not",
          "[recrawl][integration]") {
  temp_dir dir{"recrawl-lastmod"};
  auto www = dir.path / "nginx" / "www";
  testing::write_file(www / "index.html", html_page(0, 1, {"/p1.html", "/p2.html"}));
  testing::write_file(www / "p1.html", html_page(1, 1));
  testing::write_file(www / "p2.html", html_page(2, 1));
  nginx_server server{dir.path / "nginx"};
  auto state = dir.path / "state";
  // The first run fetches every page once: each is due again in a minute.
  auto slow = [](config& cfg) { // (each URL due again in a minute)
    cfg.crawl.run.recrawl_every = std::chrono::minutes(1);
    cfg.crawl.run.recrawl_min = std::chrono::seconds(1);
    cfg.crawl.run.recrawl_max = std::chrono::minutes(2);
  };
  run_continuous(server, state, slow, [&] {
    return count(server, "/p1.html") == 1 && count(server, "/p2.html") == 1;
  });
  REQUIRE(count(server, "/p1.html") == 1);
  // The second names a sitemap it has not read: p1 changed after its fetch
  // (a date to come), p2 long before it.
  testing::write_file(www / "s.xml",
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n<url><loc>"
          + server.origin() + "/p1.html</loc><lastmod>2099-01-01</lastmod></url>\n<url><loc>"
          + server.origin() + "/p2.html</loc><lastmod>2001-01-01</lastmod></url>\n</urlset>\n");
  auto from = server.requests().size();
  auto report = run_continuous(
    server, state,
    [&](config& cfg) {
      slow(cfg);
      cfg.crawl.scope.sitemap_urls = {server.origin() + "/s.xml"};
    },
    [&] { return count(server, "/p1.html", from) > 0; });
  // (p2 and the front page are due in a minute: not in this run.)
  CHECK(count(server, "/s.xml", from) == 1);
  CHECK(count(server, "/p1.html", from) == 1);
  CHECK(count(server, "/p2.html", from) == 0);
  CHECK(count(server, "/", from) == 0);
  auto all = server.requests();
  for (std::size_t i = from; i < all.size(); ++i)
    if (all[i].target == "/p1.html") {
      CHECK(!all[i].if_none_match.empty()); // asked conditionally
      CHECK(all[i].status == 304);
    }
  CHECK(report.due == 1);
}
