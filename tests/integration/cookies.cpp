// Cookies against a real server: nginx answers a request without its consent
// cookie with a redirect to a consent page that sets it, as many sites do,
// and logs the Host and Cookie of every request it answers.

#include "arachne/crawl.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "caf/actor_system.hpp"

#include "support/memory_sink.hpp"
#include "support/nginx_server.hpp"
#include "support/temp_dir.hpp"

using namespace arachne;
using namespace std::chrono_literals;

namespace {

namespace fs = std::filesystem;

using testing::nginx_server;
using testing::temp_dir;

std::string html_page(const std::string& title, const std::vector<std::string>& links) {
  std::string out = "<!doctype html><html><head><title>" + title + "</title></head><body>\n";
  for (auto& l : links)
    out += "<a href=\"" + l + "\">" + l + "</a>\n";
  return out + "</body></html>\n";
}

// Every page but robots.txt and the consent page itself needs the consent
// cookie; without it, a redirect to /consent, which sets it and sends the
// visitor back.
const char* consent_wall = R"(
    location = /robots.txt { }
    location = /consent {
      add_header Set-Cookie "consent=yes; Path=/; Max-Age=3600";
      return 302 $arg_back;
    }
    location / {
      if ($cookie_consent != "yes") { return 302 /consent?back=$uri; }
    }
)";

// Ten pages in a ring behind the consent wall.
void consent_site(const fs::path& www) {
  testing::write_file(www / "robots.txt", "User-agent: *\nAllow: /\n");
  std::vector<std::string> all;
  for (int i = 0; i < 10; ++i)
    all.push_back("/p" + std::to_string(i) + ".html");
  testing::write_file(www / "index.html", html_page("home", {all[0], all[5]}));
  for (int i = 0; i < 10; ++i)
    testing::write_file(www / ("p" + std::to_string(i) + ".html"),
          html_page("page " + std::to_string(i), {all[(i + 1) % 10]}));
}

struct crawl_out {
  std::map<std::string, record> by_url;
  crawl_report report;
};

crawl_out run(const std::vector<std::string>& seeds, const std::function<void(config&)>& tune) {
  auto records = std::make_shared<std::vector<record>>();
  crawl_out out;
  config cfg;
  cfg.crawl.threads = 2;
  cfg.crawl.http.io_threads = 2;
  cfg.crawl.politeness.delay = 0ms;
  tune(cfg);
  cfg.apply();
  {
    caf::actor_system sys{cfg};
    crawl c{sys, cfg};
    c.add_sink(sys.spawn(testing::memory_sink, records));
    auto report = c.run(seeds);
    REQUIRE(report);
    out.report = *report;
  }
  for (auto& r : *records) {
    INFO(r.url);
    CHECK(out.by_url.emplace(r.url, r).second);
  }
  return out;
}

} // namespace

TEST_CASE("a site that redirects visitors without its consent cookie to a consent page is crawled "
          "completely",
          "[cookies][integration]") {
  temp_dir dir{"cookies-consent"};
  consent_site(dir.path / "www");
  nginx_server server{dir.path, consent_wall};
  auto origin = server.origin();

  auto out = run({origin + "/"}, [](config&) {});
  // The home page sent the crawler to the consent page, which set the cookie
  // and sent it back: that record ends at the home page, with its content.
  // Every other page came at once, with its content.
  CHECK(out.by_url.size() == 12);
  REQUIRE(out.by_url.count(origin + "/") == 1);
  CHECK(out.by_url.at(origin + "/").status == 302);
  REQUIRE(out.by_url.count(origin + "/consent?back=/") == 1);
  auto& consent = out.by_url.at(origin + "/consent?back=/");
  CHECK(consent.status == 200);
  CHECK(consent.final_url == origin + "/");
  CHECK(consent.title == "home");
  for (int i = 0; i < 10; ++i) {
    auto u = origin + "/p" + std::to_string(i) + ".html";
    INFO(u);
    REQUIRE(out.by_url.count(u) == 1);
    CHECK(out.by_url.at(u).status == 200);
    CHECK(out.by_url.at(u).title == "page " + std::to_string(i));
  }
  CHECK(out.report.cookies.stored >= 1);
  // The wall was met once (the first page); every page after it came with
  // the cookie at the first request.
  int walls = 0;
  for (auto& r : server.requests()) {
    if (r.target.rfind("/consent", 0) == 0)
      ++walls;
    if (r.target.rfind("/p", 0) == 0) {
      INFO(r.target);
      CHECK(r.cookie == "consent=yes");
      CHECK(r.status == 200);
    }
  }
  CHECK(walls == 1);
}

TEST_CASE("without cookies the same site never lets the crawler past its consent page",
          "[cookies][integration]") {
  temp_dir dir{"cookies-off"};
  consent_site(dir.path / "www");
  nginx_server server{dir.path, consent_wall};
  auto out = run({server.origin() + "/"}, [](config& cfg) { cfg.crawl.http.cookies = false; });
  // The home page and the consent page redirect to each other; no page is reached.
  CHECK(out.by_url.size() == 2);
  for (auto& [u, r] : out.by_url)
    CHECK(r.status == 302);
  for (auto& r : server.requests()) {
    CHECK(r.cookie.empty());
    CHECK(r.target.rfind("/p", 0) != 0);
  }
}

TEST_CASE("a seeded login cookie reaches its domain and subdomains, and no other host",
          "[cookies][integration]") {
  temp_dir dir{"cookies-seed"};
  auto www = dir.path / "www";
  testing::write_file(www / "robots.txt", "User-agent: *\nAllow: /\n");
  // The same files under every name: pages link across the three hosts.
  nginx_server server{dir.path};
  auto port = std::to_string(server.port);
  auto at = [&](const std::string& host, const std::string& path) {
    return "http://" + host + ":" + port + path;
  };
  testing::write_file(www / "index.html", html_page("home", {at("www.shop.test", "/a.html"), at("other.test", "/b.html"),
                                          "/account/orders.html"}));
  testing::write_file(www / "a.html", html_page("a", {at("shop.test", "/account/orders.html")}));
  testing::write_file(www / "b.html", html_page("b", {at("other.test", "/account/orders.html")}));
  testing::write_file(www / "account" / "orders.html", html_page("orders", {}));

  auto out = run({at("shop.test", "/")}, [&](config& cfg) {
    for (auto host : {"shop.test", "www.shop.test", "other.test"})
      cfg.crawl.http.resolve.push_back(std::string{host} + ":" + port + ":127.0.0.1");
    cfg.crawl.http.cookie_seeds = {"shop.test:login=s3cr3t; Path=/account",
                                   "shop.test:theme=dark"};
  });
  CHECK(out.by_url.size() == 5); // three hosts' robots.txt are not records
  int to_shop = 0, to_other = 0;
  for (auto& r : server.requests()) {
    INFO(r.host << r.target);
    if (r.host == "shop.test" || r.host == "www.shop.test") {
      ++to_shop;
      CHECK(r.cookie == (r.target.rfind("/account/", 0) == 0 ? "login=s3cr3t; theme=dark"
                                                             : "theme=dark"));
    } else {
      ++to_other;
      CHECK(r.host == "other.test");
      CHECK(r.cookie.empty());
    }
  }
  CHECK(to_shop >= 5);
  CHECK(to_other >= 3);
}

TEST_CASE("cookies a crawl received are kept in its state and sent again by the next run",
          "[cookies][integration]") {
  temp_dir dir{"cookies-state"};
  consent_site(dir.path / "www");
  nginx_server server{dir.path, consent_wall};
  auto state = (dir.path / "state").string();
  auto first = run({server.origin() + "/"}, [&](config& cfg) { cfg.crawl.run.state_dir = state; });
  CHECK(first.by_url.size() == 12);
  REQUIRE(fs::exists(fs::path{state} / "cookies.txt"));
  auto before = server.requests().size();
  auto second = run({server.origin() + "/"}, [&](config& cfg) {
    cfg.crawl.run.state_dir = state;
    cfg.crawl.run.recrawl = true;
  });
  CHECK(second.by_url.size() == 12);
  // Now the home page is a page: the second pass never met the wall, every
  // request carried the cookie.
  REQUIRE(second.by_url.count(server.origin() + "/") == 1);
  CHECK(second.by_url.at(server.origin() + "/").status == 200);
  auto all = server.requests();
  REQUIRE(all.size() > before + 10);
  for (auto i = before; i < all.size(); ++i) {
    INFO(all[i].target);
    CHECK(all[i].cookie == "consent=yes");
    if (all[i].target.rfind("/p", 0) == 0)
      CHECK(all[i].status == 304); // unchanged since the first pass, and not the wall's 302
  }
}
