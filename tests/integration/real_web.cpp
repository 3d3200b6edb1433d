// Crawls of pages as the real web writes them, served by a real web server
// (nginx) on loopback: what goes on the wire.

#include "arachne/crawl.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <thread>

#include "caf/actor_system.hpp"

#include "support/memory_sink.hpp"
#include "support/nginx_server.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

using namespace arachne;
using namespace std::chrono_literals;

namespace {

namespace fs = std::filesystem;

using testing::nginx_server;

/// Crawls `server` from its front page (no per-host delay); its records.
std::vector<record> crawl_records(const nginx_server& server) {
  auto records = std::make_shared<std::vector<record>>();
  config cfg;
  cfg.crawl.threads = 2;
  cfg.crawl.politeness.delay = 0ms;
  cfg.crawl.http.io_threads = 1;
  cfg.apply();
  caf::actor_system sys{cfg};
  crawl c{sys, cfg};
  c.add_sink(sys.spawn(testing::memory_sink, records));
  REQUIRE(c.run({server.origin() + "/"}));
  return *records;
}

/// Crawls `server` from its front page (no per-host delay) and returns each
/// URL's outcome by path: the status, or the failure kind.
std::map<std::string, std::string> crawl_outcomes(const nginx_server& server) {
  auto records = crawl_records(server);
  std::map<std::string, std::string> outcome;
  for (auto& r : records)
    outcome[r.url.substr(server.origin().size())]
      = r.error == crawl_errc::none ? std::to_string(r.status) : to_string(r.error);
  REQUIRE(outcome.size() == records.size()); // one record per URL
  return outcome;
}

} // namespace

TEST_CASE("a crawl requests links with reserved escapes byte for byte as linked, and robots "
          "rules match them in one encoding",
          "[crawl][integration][url]") {
  testing::temp_dir tmp{"real-web"};
  fs::create_directories(tmp.path / "www");
  // RFC 3986 reserved characters escaped in paths and queries: each is a
  // resource of its own (/a%2Fb is not /a/b). Escapes of unreserved
  // characters (%7E) are the characters themselves, in links and in
  // robots.txt alike.
  const std::vector<std::string> as_linked{
    "/a%2Fb",    "/a/b",          "/x%3By%3Dz",          "/p%3A%40%24%2C%21%27%28%29%2A",
    "/q?v=%26%2B%3D%23%3F", "/s%2F%3F%23", "/%5B%5D%7C", "/q?path=%2Fx%2Fy"};
  {
    std::ofstream page{tmp.path / "www" / "index.html"};
    page << "<html><body>\n";
    for (auto& href : as_linked)
      page << "<a href=\"" << href << "\">x</a>\n";
    page << "<a href=\"/%7Eplain\">unreserved, escaped</a>\n"
         << "<a href=\"/lower%2fcase\">lower-case hex</a>\n"
         << "<a href=\"/~secret/page\">disallowed as %7E</a>\n"
         << "<a href=\"/%7esecret/other\">disallowed, escaped in the link too</a>\n"
         << "<a href=\"/open%2Fsecret\">not under /~secret/</a>\n"
         << "</body></html>\n";
    std::ofstream robots{tmp.path / "www" / "robots.txt"};
    robots << "User-agent: *\nDisallow: /%7Esecret/\n";
  }
  nginx_server server{tmp.path};
  auto outcome = crawl_outcomes(server);
  // On the wire: each link once, as linked; unreserved escapes decoded, hex
  // upper case; nothing under /~secret/.
  std::multiset<std::string> expected{"/robots.txt", "/", "/~plain", "/lower%2Fcase",
                                      "/open%2Fsecret"};
  expected.insert(as_linked.begin(), as_linked.end());
  CHECK(server.targets() == expected);
  // Every URL has its record; the two under /~secret/ are robots-denied.
  CHECK(outcome.size() == expected.size() + 1); // robots.txt has none; two denied
  CHECK(outcome["/~secret/page"] == "robots_denied");
  CHECK(outcome["/~secret/other"] == "robots_denied");
  CHECK(outcome["/"] == "200");
  CHECK(outcome["/a%2Fb"] == "404");
}

TEST_CASE("a robots.txt larger than the fetcher's body limit is read as far as RFC 9309 asks",
          "[crawl][integration][robots]") {
  // 9 MiB, over the default --max-body of 8 MiB: its first 500 KiB are
  // fetched once and obeyed (section 2.5); a rule past them is not read.
  testing::temp_dir tmp{"real-web-robots"};
  fs::create_directories(tmp.path / "www" / "private");
  {
    std::ofstream page{tmp.path / "www" / "index.html"};
    page << "<a href=\"/a.html\">a</a> <a href=\"/private/b.html\">b</a>\n";
    std::ofstream{tmp.path / "www" / "a.html"} << "a\n";
    std::ofstream{tmp.path / "www" / "private" / "b.html"} << "b\n";
    std::ofstream robots{tmp.path / "www" / "robots.txt"};
    robots << "User-agent: *\nDisallow: /private/\n";
    std::string comment = "# " + std::string(1022, 'x') + "\n";
    for (int i = 0; i < 9 * 1024; ++i)
      robots << comment;
    robots << "Disallow: /\n";
  }
  nginx_server server{tmp.path};
  auto outcome = crawl_outcomes(server);
  CHECK(server.targets() == std::multiset<std::string>{"/robots.txt", "/", "/a.html"});
  CHECK(outcome == std::map<std::string, std::string>{
                     {"/", "200"}, {"/a.html", "200"}, {"/private/b.html", "robots_denied"}});
}

TEST_CASE("links that are no usable URL are recorded as invalid_url, once, cut after "
          "--max-url-length",
          "[crawl][integration][url]") {
  testing::temp_dir tmp{"real-web-invalid"};
  fs::create_directories(tmp.path / "www");
  auto long_path = "/" + std::string(100 * 1024, 'a');
  {
    std::ofstream page{tmp.path / "www" / "index.html"};
    page << "<a href=\"http://exa mple.test/\">a space in the host</a>\n"
         << "<a href=\"http://[::1/\">an IPv6 address not closed</a>\n"
         << "<a href=\"" << long_path << "\">100 KB</a>\n"
         << "<a href=\"mailto:someone@example.test\">no URL of the crawl</a>\n"
         << "<a href=\"/b.html\">b</a>\n";
    std::ofstream{tmp.path / "www" / "b.html"} << "<a href=\"http://exa mple.test/\">again</a>\n";
  }
  nginx_server server{tmp.path};
  auto records = crawl_records(server);
  std::map<std::string, record> invalid;
  for (auto& r : records)
    if (r.error == crawl_errc::invalid_url)
      CHECK(invalid.emplace(r.url, r).second); // once, though two pages link it
  REQUIRE(invalid.size() == 3);
  CHECK(invalid.count("http://exa mple.test/") == 1);
  CHECK(invalid.count("http://[::1/") == 1);
  auto cut = long_path.substr(0, 2048) + "...";
  REQUIRE(invalid.count(cut) == 1);
  CHECK(invalid[cut].error_message.find("a link on " + server.origin() + "/ that is not a usable URL")
        == 0);
  CHECK(invalid[cut].depth == 1);
  CHECK(records.size() == 2 + 3); // the pages, the invalid links; no mailto:
  CHECK(server.targets() == std::multiset<std::string>{"/robots.txt", "/", "/b.html"});
}
