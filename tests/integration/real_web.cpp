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
#include "support/process.hpp"
#include "support/temp_dir.hpp"

using namespace arachne;
using namespace std::chrono_literals;

namespace {

namespace fs = std::filesystem;

/// nginx on a free loopback port serving `dir/www`, logging each request
/// line exactly as it arrived (`$request`) to `dir/access.log`.
struct nginx_server {
  fs::path dir;
  uint16_t port = 0;
  std::unique_ptr<testing::child_process> proc;

  explicit nginx_server(fs::path d) : dir(std::move(d)) {
    auto program = testing::find_program("nginx");
    if (program.empty() && fs::exists("/usr/sbin/nginx"))
      program = "/usr/sbin/nginx";
    REQUIRE(!program.empty()); // scripts/install-deps installs nginx-light
    fs::create_directories(dir / "tmp");
    // The port was free a moment ago; if it was taken since, nginx exits
    // and another is tried.
    for (int attempt = 0; attempt < 5 && !(proc && proc->alive()); ++attempt) {
      port = testing::free_port();
      write_config();
      proc = std::make_unique<testing::child_process>(
        std::vector<std::string>{program, "-p", dir.string(), "-c", (dir / "nginx.conf").string()},
        (dir / "stdout.log").string());
      if (!proc->started() || !testing::wait_for_port(port))
        proc.reset();
    }
    REQUIRE((proc && proc->alive()));
  }

  void write_config() {
    auto tmp = (dir / "tmp").string();
    std::ofstream conf{dir / "nginx.conf"};
    conf << "daemon off;\nmaster_process off;\nworker_processes 1;\n"
         << "pid " << (dir / "nginx.pid").string() << ";\n"
         << "error_log " << (dir / "error.log").string() << ";\n"
         << "events { worker_connections 64; }\n"
         << "http {\n"
         << "  log_format wire '$request';\n"
         << "  access_log " << (dir / "access.log").string() << " wire;\n"
         << "  client_body_temp_path " << tmp << "; proxy_temp_path " << tmp << ";\n"
         << "  fastcgi_temp_path " << tmp << "; uwsgi_temp_path " << tmp << ";\n"
         << "  scgi_temp_path " << tmp << ";\n"
         << "  types { text/html html; text/plain txt; }\n"
         << "  server {\n    listen 127.0.0.1:" << port << ";\n"
         << "    root " << (dir / "www").string() << ";\n  }\n}\n";
  }

  std::string origin() const { return "http://127.0.0.1:" + std::to_string(port); }

  /// The request targets nginx logged ("GET /a%2Fb HTTP/1.1" -> "/a%2Fb").
  std::multiset<std::string> targets() const {
    std::multiset<std::string> out;
    std::ifstream in{dir / "access.log"};
    for (std::string line; std::getline(in, line);) {
      auto first = line.find(' ');
      auto last = line.rfind(' ');
      if (first != std::string::npos && last > first)
        out.insert(line.substr(first + 1, last - first - 1));
    }
    return out;
  }
};

/// Crawls `server` from its front page (no per-host delay) and returns each
/// URL's outcome by path: the status, or the failure kind.
std::map<std::string, std::string> crawl_outcomes(const nginx_server& server) {
  auto records = std::make_shared<std::vector<record>>();
  {
    config cfg;
    cfg.crawl.threads = 2;
    cfg.crawl.politeness.delay = 0ms;
    cfg.crawl.http.io_threads = 1;
    cfg.apply();
    caf::actor_system sys{cfg};
    crawl c{sys, cfg};
    c.add_sink(sys.spawn(testing::memory_sink, records));
    REQUIRE(c.run({server.origin() + "/"}));
  }
  std::map<std::string, std::string> outcome;
  for (auto& r : *records)
    outcome[r.url.substr(server.origin().size())]
      = r.error == crawl_errc::none ? std::to_string(r.status) : to_string(r.error);
  REQUIRE(outcome.size() == records->size()); // one record per URL
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
