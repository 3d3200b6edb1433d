// Whole crawls of the demo site, served in-process on loopback: what is
// recorded, how politely, and how a crawl ends.

#include "arachne/crawl.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <unistd.h>

#include "caf/actor_system.hpp"
#include "caf/stateful_actor.hpp"
#include "caf/typed_event_based_actor.hpp"

#include "site_server.hpp"
#include "support/memory_sink.hpp"
#include "support/bad_server.hpp"

using namespace arachne;
using namespace std::chrono_literals;

namespace {


struct access_entry {
  long long start_us;
  long long end_us;
  std::string host;
  std::string target;
};

std::vector<access_entry> read_access_log(const std::string& path) {
  std::vector<access_entry> out;
  std::ifstream in{path};
  for (std::string line; std::getline(in, line);) {
    std::istringstream fs{line};
    std::string start, end, host, target;
    std::getline(fs, start, '\t');
    std::getline(fs, end, '\t');
    std::getline(fs, host, '\t');
    std::getline(fs, target, '\t');
    out.push_back({std::stoll(start), std::stoll(end), host, target});
  }
  return out;
}

/// The most requests open at once in `events` (start: +1, end: -1).
int most_open(std::vector<std::pair<long long, int>> events) {
  std::sort(events.begin(), events.end()); // at equal times an end (-1) comes first
  int open = 0;
  int most = 0;
  for (auto& [t, d] : events)
    most = std::max(most, open += d);
  return most;
}

void quick(config& cfg) {
  cfg.crawl.threads = 2;
  cfg.crawl.politeness.delay = 0ms;
  cfg.crawl.http.io_threads = 1;
  cfg.crawl.scope.deny = {"/calendar/"};
  cfg.apply();
}

/// What a crawl of `server`'s site from its first front page made, with
/// `quick` settings (changed by `tune`) and the crawl set up by `setup`.
struct crawled {
  std::vector<record> records;
  crawl_report report;
};

crawled crawl_site(site::site_server& server, const std::function<void(crawl&)>& setup,
                   const std::function<void(config&)>& tune = {}) {
  auto records = std::make_shared<std::vector<record>>();
  crawled out;
  {
    config cfg;
    quick(cfg);
    if (tune) {
      tune(cfg);
      cfg.apply();
    }
    caf::actor_system sys{cfg};
    crawl c{sys, cfg};
    setup(c);
    c.add_sink(sys.spawn(testing::memory_sink, records));
    auto r = c.run({server.model().origin(0) + "/"});
    REQUIRE(r);
    out.report = *r;
  }
  out.records = std::move(*records);
  return out;
}

/// Serves `site` with an access log (one IO thread), crawls it from the
/// front pages of its first `seeds` hosts with `quick` settings changed by
/// `tune`, and returns the log.
std::vector<access_entry> crawl_logged(site::site_params site, site::server_options sopts,
                                       const std::function<void(config&)>& tune,
                                       uint32_t seeds = 1) {
  // (ctest runs test cases at once in one directory, each in its own process)
  auto log_path = "crawl-logged-access-" + std::to_string(::getpid()) + ".log";
  std::remove(log_path.c_str());
  sopts.access_log = log_path;
  sopts.threads = 1;
  site::site_server server{site, sopts};
  REQUIRE(server.listen() == "");
  server.start();
  {
    config cfg;
    quick(cfg);
    tune(cfg);
    caf::actor_system sys{cfg};
    crawl c{sys, cfg};
    std::vector<std::string> urls;
    for (uint32_t h = 0; h < seeds; ++h)
      urls.push_back(server.model().origin(h) + "/");
    REQUIRE(c.run(urls));
  }
  server.stop();
  auto log = read_access_log(log_path);
  std::remove(log_path.c_str());
  return log;
}

std::string outcome(const record& r) {
  return r.error == crawl_errc::none ? std::to_string(r.status) : to_string(r.error);
}

} // namespace

TEST_CASE("a crawl of the demo site records exactly its truth, fetching each URL once",
          "[crawl][integration]") {
  auto log_path = std::string{"crawl-truth-access.log"};
  std::remove(log_path.c_str());
  site::server_options sopts;
  sopts.access_log = log_path;
  site::site_server server{{8, 40, 5, false, 0s}, sopts};
  REQUIRE(server.listen() == "");
  server.start();
  auto records = std::make_shared<std::vector<record>>();
  crawl_report report;
  {
    config cfg;
    quick(cfg);
    caf::actor_system sys{cfg};
    crawl c{sys, cfg};
    c.add_sink(sys.spawn(testing::memory_sink, records));
    auto r = c.run({server.model().origin(0) + "/"});
    REQUIRE(r);
    report = *r;
  }
  server.stop();
  auto truth = server.model().truth({});
  std::set<std::string> expected;
  for (auto& e : truth)
    expected.insert(e.url + " " + e.outcome);
  std::set<std::string> got;
  std::set<std::string> urls;
  for (auto& r : *records) {
    got.insert(r.url + " " + outcome(r));
    CHECK(urls.insert(r.url).second); // one record per URL
  }
  CHECK(got == expected);
  CHECK(records->size() == truth.size());
  CHECK(report.tally.records == truth.size());
  CHECK(!report.interrupted);
  // The server saw each URL once, and robots.txt once per host.
  std::map<std::string, int> hits;
  for (auto& e : read_access_log(log_path))
    ++hits[e.host + e.target];
  int robots = 0;
  for (auto& [key, n] : hits) {
    INFO(key);
    CHECK(n == 1);
    robots += key.find("/robots.txt") != std::string::npos;
  }
  CHECK(robots == 8);
  std::remove(log_path.c_str());
}

TEST_CASE("a crawl never asks a host faster than its delay or Crawl-delay",
          "[crawl][integration][politeness]") {
  auto log_path = std::string{"crawl-politeness-access.log"};
  std::remove(log_path.c_str());
  site::server_options sopts;
  sopts.access_log = log_path;
  // Host 1 (127.0.1.2) declares Crawl-delay: 0.3; the others have none.
  site::site_server server{{3, 12, 2, false, 300ms}, sopts};
  REQUIRE(server.listen() == "");
  server.start();
  {
    config cfg;
    quick(cfg);
    cfg.crawl.politeness.delay = 100ms;
    cfg.crawl.politeness.jitter = 0.5;
    cfg.crawl.politeness.concurrency = 1;
    cfg.crawl.scope.max_pages_per_host = 8;
    caf::actor_system sys{cfg};
    crawl c{sys, cfg};
    REQUIRE(c.run({server.model().origin(0) + "/"}));
  }
  server.stop();
  std::map<std::string, std::vector<access_entry>> by_host;
  for (auto& e : read_access_log(log_path))
    by_host[e.host].push_back(e);
  REQUIRE(by_host.size() == 3);
  // The client spaces the moments requests go out; the server stamps the
  // moment it has read one. What lies between (loopback, the server's event
  // loop) can delay one stamp more than the next, by milliseconds, not by a
  // large part of a delay: 15% of slack.
  for (auto& [host, entries] : by_host) {
    INFO(host);
    CHECK(entries.size() >= 5);
    std::sort(entries.begin(), entries.end(),
              [](auto& x, auto& y) { return x.start_us < y.start_us; });
    long long min_gap_us = host == "127.0.1.2" ? 300000 : 100000;
    for (std::size_t i = 1; i < entries.size(); ++i) {
      CHECK(entries[i].start_us - entries[i - 1].start_us >= min_gap_us * 85 / 100);
      CHECK(entries[i].start_us >= entries[i - 1].end_us); // one at a time
    }
  }
  std::remove(log_path.c_str());
}

TEST_CASE("a crawl keeps at most --per-host-concurrency requests in flight per host",
          "[crawl][integration][politeness]") {
  site::server_options sopts;
  sopts.latency = 30ms;
  auto log = crawl_logged({2, 20, 3, false, 0s}, sopts,
                          [](config& cfg) { cfg.crawl.politeness.concurrency = 3; });
  std::map<std::string, std::vector<std::pair<long long, int>>> events;
  for (auto& e : log) {
    events[e.host].push_back({e.start_us, +1});
    events[e.host].push_back({e.end_us, -1});
  }
  for (auto& [host, ev] : events) {
    auto most = most_open(ev);
    INFO(host);
    CHECK(most <= 3);
    CHECK(most >= 2); // the crawl did use the concurrency it may
  }
}

TEST_CASE("the shards share --concurrency by demand, and never exceed it together",
          "[crawl][integration][politeness]") {
  // Two sites and four shards: at least two shards have nothing to do. An
  // even split (2 each) would keep at most 4 requests in flight; shared by
  // demand, the two sites' shards get all 8.
  site::server_options sopts;
  sopts.latency = 30ms;
  auto log = crawl_logged({2, 60, 5, false, 0s}, sopts, [](config& cfg) {
    cfg.crawl.run.shards = 4;
    cfg.crawl.run.concurrency = 8;
    cfg.crawl.politeness.concurrency = 4;
  }, 2);
  std::vector<std::pair<long long, int>> all;
  std::map<std::string, std::vector<std::pair<long long, int>>> by_host;
  for (auto& e : log) {
    for (auto* ev : {&all, &by_host[e.host]}) {
      ev->push_back({e.start_us, +1});
      ev->push_back({e.end_us, -1});
    }
  }
  REQUIRE(by_host.size() == 2);
  for (auto& [host, ev] : by_host) {
    INFO(host);
    CHECK(most_open(ev) <= 4);
  }
  auto most = most_open(all);
  CHECK(most <= 8);
  CHECK(most > 4);
}

TEST_CASE("auto-throttle keeps fewer requests at a host that slows down under them",
          "[crawl][integration][politeness]") {
  // The site answers in 10ms plus 20ms per request it is already answering.
  // Mean requests at once over the second half of each crawl, from the
  // access log: with auto-throttle the crawl keeps the host near its fast
  // answers; without, it keeps (nearly) all 8 it may. The site must be the slower
  // side: under a sanitizer (TSan makes the crawler several times slower)
  // its times are longer.
#if defined(__SANITIZE_THREAD__)
  static constexpr int slower = 20;
#elif defined(__SANITIZE_ADDRESS__)
  static constexpr int slower = 3;
#else
  static constexpr int slower = 1;
#endif
  auto mean_busy = [](bool throttle) {
    site::server_options sopts;
    sopts.latency = 10ms * slower;
    sopts.load_latency = 20ms * slower;
    auto log = crawl_logged({1, 60, 7, false, 0s}, sopts, [&](config& cfg) {
      cfg.crawl.politeness.concurrency = 8;
      cfg.crawl.politeness.auto_throttle = throttle;
      cfg.crawl.politeness.throttle_slack = 10ms * slower;
    });
    std::sort(log.begin(), log.end(),
              [](const access_entry& x, const access_entry& y) { return x.start_us < y.start_us; });
    REQUIRE(log.size() > 60);
    auto half = log.begin() + static_cast<std::ptrdiff_t>(log.size() / 2);
    long long busy = 0;
    long long end = 0;
    for (auto i = half; i != log.end(); ++i) {
      busy += i->end_us - i->start_us;
      end = std::max(end, i->end_us);
    }
    return static_cast<double>(busy) / static_cast<double>(end - half->start_us);
  };
  auto with = mean_busy(true);
  auto without = mean_busy(false);
  INFO("mean requests at once: " << with << " with auto-throttle, " << without << " without");
  CHECK(with < 4.0);             // at most half of --per-host-concurrency
  CHECK(with < 0.6 * without);  // (without: 7.4 in Release; under TSan the crawler is slower)
}

TEST_CASE("a crawl retries transient failures and records what remains", "[crawl][integration]") {
  testing::bad_server bad;
  auto records = std::make_shared<std::vector<record>>();
  {
    config cfg;
    quick(cfg);
    cfg.crawl.run.retries = 2;
    cfg.crawl.run.retry_delay = 10ms;
    cfg.crawl.politeness.max_backoff = 20ms;
    caf::actor_system sys{cfg};
    crawl c{sys, cfg};
    c.add_sink(sys.spawn(testing::memory_sink, records));
    auto report = c.run({bad.url("/status/503"), "http://127.0.0.2:1/", "not a url",
                         bad.url("/status/404")});
    REQUIRE(report);
  }
  std::map<std::string, record> by_url;
  for (auto& r : *records)
    by_url[r.url] = r;
  REQUIRE(by_url.size() == 4);
  CHECK(by_url[bad.url("/status/503")].status == 503);
  // Its robots.txt cannot be fetched either: RFC 9309 says assume disallow,
  // and the record says what kept it away.
  CHECK(by_url["http://127.0.0.2:1/"].error == crawl_errc::connect_failed);
  CHECK(by_url["http://127.0.0.2:1/"].error_message.find("robots.txt unavailable")
        != std::string::npos);
  CHECK(by_url["not a url"].error == crawl_errc::invalid_url);
  CHECK(by_url[bad.url("/status/404")].status == 404);
}

TEST_CASE("a crawl gives up on a host that keeps failing after its retries",
          "[crawl][integration]") {
  auto records = std::make_shared<std::vector<record>>();
  {
    config cfg;
    quick(cfg);
    cfg.crawl.politeness.obey_robots = false;
    cfg.crawl.run.retries = 2;
    cfg.crawl.run.retry_delay = 10ms;
    cfg.crawl.politeness.max_backoff = 20ms;
    caf::actor_system sys{cfg};
    crawl c{sys, cfg};
    c.add_sink(sys.spawn(testing::memory_sink, records));
    std::vector<std::string> seeds;
    for (int i = 0; i < 8; ++i)
      seeds.push_back("http://127.0.0.2:1/page" + std::to_string(i));
    REQUIRE(c.run(seeds));
  }
  // Every URL gets its record: the first ones after their retries, the rest
  // without a fetch once the site has proved unreachable.
  REQUIRE(records->size() == 8);
  int exhausted = 0;
  int skipped = 0;
  for (auto& r : *records) {
    if (r.error == crawl_errc::retries_exhausted) {
      ++exhausted;
      CHECK(r.error_message.find("connect_failed after 2 retries") == 0);
    } else {
      CHECK(r.error == crawl_errc::connect_failed);
      skipped += r.error_message.find("could not be reached") != std::string::npos;
    }
  }
  CHECK(exhausted >= 3);
  CHECK(skipped >= 1);
}

TEST_CASE("a crawl stops gracefully and flushes what it recorded", "[crawl][integration]") {
  site::site_server server{{4, 40, 1, false, 0s}, {}};
  REQUIRE(server.listen() == "");
  server.start();
  auto records = std::make_shared<std::vector<record>>();
  crawl_report report;
  {
    config cfg;
    quick(cfg);
    cfg.crawl.politeness.delay = 100ms;
    caf::actor_system sys{cfg};
    crawl c{sys, cfg};
    c.add_sink(sys.spawn(testing::memory_sink, records));
    c.on_progress([&](const crawl_progress& p) {
      if (p.recorded >= 5)
        c.stop();
    }, 10ms);
    auto r = c.run({server.model().origin(0) + "/"});
    REQUIRE(r);
    report = *r;
  }
  server.stop();
  CHECK(report.interrupted);
  CHECK(records->size() >= 5);
  CHECK(records->size() < server.model().truth({}).size());
  CHECK(report.tally.records == records->size());
}

TEST_CASE("a page handler follows what it chooses and emits items", "[crawl][integration]") {
  site::site_server server{{2, 30, 1, false, 0s}, {}};
  REQUIRE(server.listen() == "");
  server.start();
  auto got = crawl_site(server, [](crawl& c) {
    c.on_page([](const page& p, context& ctx) {
      // Follow only catalog links; emit every product's name and price.
      for (auto& url : extract_links(p))
        if (url.find("/catalog/item?id=") != std::string::npos && url.find("ref=") == std::string::npos)
          ctx.follow(url);
      auto price = xpath_string(p, "//span[@class='price']");
      if (!price.empty())
        ctx.emit({p.url(), {{"name", xpath_string(p, "//h2[@class='name']")}, {"price", price}}});
    });
  });
  server.stop();
  int items = 0;
  for (auto& r : got.records) {
    if (r.kind == record::kind_t::item) {
      ++items;
      REQUIRE(r.fields.size() == 2);
      CHECK(r.fields[0].second.rfind("Product ", 0) == 0);
      CHECK(r.fields[1].second.find('.') != std::string::npos);
      CHECK(r.url.find("/catalog/item?id=") != std::string::npos);
    } else if (r.depth > 0) {
      CHECK(r.url.find("/catalog/item?id=") != std::string::npos);
    }
  }
  CHECK(items >= 10);
}

TEST_CASE("requests carry a label and data to their own handler, across shards; the item "
          "pipeline checks, changes and drops items",
          "[crawl][integration]") {
  site::site_server server{{3, 30, 1, false, 0s}, {}};
  REQUIRE(server.listen() == "");
  server.start();
  auto got = crawl_site(server, [](crawl& c) {
    // Listing pages: follow products with a label and where they were found.
    c.on_page([](const page& p, context& ctx) {
      for (auto& url : extract_links(p)) {
        if (url.find("/catalog/item?id=") != std::string::npos)
          ctx.follow(url, {"product", {{"listed_on", p.url()}, {"depth", std::to_string(p.depth())}}, 1});
        else if (url.find("/p/") != std::string::npos)
          ctx.follow(url);
      }
    });
    // Product pages: their own handler, with the listing's data.
    c.route("product", [](const page& p, context& ctx) {
      ctx.emit({p.url(),
                {{"name", css_string(p, "h2.name")},
                 {"price", css_string(p, "span.price")},
                 {"listed_on", std::string{p.data("listed_on")}},
                 {"label", p.label()},
                 {"listed_depth", std::string{p.data("depth")}},
                 {"depth", std::to_string(p.depth())}}});
    });
    // The pipeline: drop what costs less than 100, then upper-case the name.
    c.pipeline([](item& it) { return std::stod(it.fields[1].second) >= 100; });
    c.pipeline([](item& it) {
      for (auto& ch : it.fields[0].second)
        ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
      return true;
    });
  }, [](config& cfg) { cfg.crawl.run.shards = 4; }); // (links go to other shards as messages)
  server.stop();
  auto& report = got.report;
  std::set<std::string> hosts;
  int items = 0;
  for (auto& r : got.records) {
    if (r.kind != record::kind_t::item)
      continue;
    ++items;
    hosts.insert(std::string{url_host(r.url)});
    REQUIRE(r.fields.size() == 6);
    CHECK(r.fields[0].second.rfind("PRODUCT ", 0) == 0);       // changed by the pipeline
    CHECK(std::stod(r.fields[1].second) >= 100);               // none dropped got through
    CHECK(r.fields[2].second.rfind("http://", 0) == 0);        // the listing's URL...
    CHECK(r.fields[2].second != r.url);
    CHECK(r.fields[3].second == "product");                    // its label
    CHECK(std::stoi(r.fields[4].second) + 1 == std::stoi(r.fields[5].second)); // a link down
  }
  CHECK(items >= 10);
  CHECK(hosts.size() >= 2); // (products of other hosts: their shards got the data)
  CHECK(report.tally.items == static_cast<uint64_t>(items));
  CHECK(report.items_dropped > 0); // (the site is the same for the same seed: some are cheap)
}

TEST_CASE("a POST is a request like any other, one per URL and content", "[crawl][integration]") {
  site::site_server server{{1, 10, 1, false, 0s}, {}};
  REQUIRE(server.listen() == "");
  server.start();
  auto got = crawl_site(server, [](crawl& c) {
    c.on_page([](const page& p, context& ctx) {
      if (p.url().back() != '/') // (the front page only)
        return;
      auto search = [&](const std::string& q) {
        follow_options o;
        o.label = "search";
        o.method = "POST";
        o.body = form_body({{"q", q}, {"page", "1"}});
        o.data = {{"q", q}};
        ctx.follow("/search", std::move(o));
      };
      search("red shoes");
      search("caf&beast");
      search("red shoes"); // (the same request again: one)
      ctx.follow("/search"); // a GET of the same URL: another request (a 404)
      follow_options raw;
      raw.method = "POST";
      raw.body = R"({"q":"json"})";
      raw.body_type = "application/json";
      raw.label = "search";
      ctx.follow("/search", std::move(raw));
    });
    c.route("search", [](const page& p, context& ctx) {
      ctx.emit({p.url(), {{"query", css_string(p, "p.query")}, {"type", css_string(p, "p.type")},
                          {"asked", std::string{p.data("q")}}}});
      for (auto& url : extract_links(p))
        ctx.follow(url);
    });
  });
  server.stop();
  auto search = server.model().origin(0) + "/search";
  int posts = 0;
  int gets = 0;
  std::multiset<std::string> answers;
  bool result_followed = false;
  for (auto& r : got.records) {
    if (r.kind == record::kind_t::item) {
      answers.insert(r.fields[0].second + "|" + r.fields[1].second + "|" + r.fields[2].second);
    } else if (r.url == search) {
      (r.method == "POST" ? posts : gets) += 1;
      if (r.method == "POST")
        CHECK(r.status == 200);
      else
        CHECK(r.status == 404);
    } else if (r.url == server.model().origin(0) + "/p/1") {
      result_followed = true;
    }
  }
  CHECK(posts == 3);
  CHECK(gets == 1);
  CHECK(answers == std::multiset<std::string>{
                     "q=red+shoes&page=1|application/x-www-form-urlencoded|red shoes",
                     "q=caf%26beast&page=1|application/x-www-form-urlencoded|caf&beast",
                     R"({"q":"json"}|application/json|)"});
  CHECK(result_followed);
}

TEST_CASE("a page handler selects with CSS, and one that throws loses only that page's work",
          "[crawl][integration]") {
  site::site_server server{{2, 30, 1, false, 0s}, {}};
  REQUIRE(server.listen() == "");
  server.start();
  auto got = crawl_site(server, [](crawl& c) {
    c.on_page([](const page& p, context& ctx) {
      for (auto& url : css(p, "a::attr(href)"))
        ctx.follow(url);
      auto price = css_string(p, "span.price");
      if (price.empty())
        return;
      ctx.emit({p.url(), {{"name", css_string(p, "h2.name")}, {"price", price}}});
      // A product page whose id ends in 2 uses a selector css cannot read.
      if (p.url().back() == '2')
        css(p, "span:hover");
    });
  });
  server.stop();
  int items = 0;
  int pages_ending_2 = 0;
  for (auto& r : got.records) {
    if (r.kind == record::kind_t::item) {
      ++items;
      CHECK(r.fields[0].second.rfind("Product ", 0) == 0);
      CHECK(r.url.back() != '2'); // (its item was lost with the throw)
    } else if (r.kind == record::kind_t::page && r.status == 200
               && r.url.find("/catalog/item?id=") != std::string::npos && r.url.back() == '2') {
      ++pages_ending_2; // (the page itself is recorded)
    }
  }
  CHECK(items >= 10);
  CHECK(pages_ending_2 >= 1);
}
