// Content encodings in a crawl against a real server: nginx serves bodies
// compressed beforehand with brotli and zstd (Debian's nginx compresses only
// gzip itself) under their Content-Encoding; pages decode and are parsed,
// bombs and corrupt bodies end as records.

#include "arachne/crawl.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>

#include "caf/actor_system.hpp"

#include "support/codings.hpp"
#include "support/memory_sink.hpp"
#include "support/nginx_server.hpp"
#include "support/temp_dir.hpp"

using namespace arachne;
using namespace std::chrono_literals;

namespace {

namespace fs = std::filesystem;

// Files under /br/ go out as "Content-Encoding: br", under /zstd/ as zstd,
// all as text/html.
const char* coded_locations = R"(
    location /br/ { types { } default_type text/html; add_header Content-Encoding br; }
    location /zstd/ { types { } default_type text/html; add_header Content-Encoding zstd; }
)";

} // namespace

TEST_CASE("a crawl decodes brotli and zstd pages and follows their links; bombs and corrupt bodies "
          "end as records",
          "[encodings][integration]") {
  testing::temp_dir dir{"encodings"};
  auto www = dir.path / "www";
  testing::write_file(www / "robots.txt", "User-agent: *\nAllow: /\n");
  testing::write_file(www / "index.html", "<a href=\"/br/page.html\">b</a> <a href=\"/zstd/page.html\">z</a>"
                            "<a href=\"/br/bomb.html\">b</a> <a href=\"/zstd/bomb.html\">z</a>"
                            "<a href=\"/zstd/corrupt.html\">c</a>");
  auto html = [](const std::string& title, const std::string& link) {
    return "<html><head><title>" + title + "</title></head><body><a href=\"" + link
           + "\">next</a>" + std::string(20000, ' ') + "</body></html>";
  };
  testing::write_file(www / "br" / "page.html", testing::compress_brotli(html("in brotli", "/from-br.html"), 11));
  testing::write_file(www / "zstd" / "page.html", testing::compress_zstd(html("in zstd", "/from-zstd.html")));
  std::string zeros(64u << 20, '\0');
  testing::write_file(www / "br" / "bomb.html", testing::compress_brotli(zeros, 5));
  testing::write_file(www / "zstd" / "bomb.html", testing::compress_zstd(zeros, 20));
  testing::write_file(www / "zstd" / "corrupt.html", "\x28\xb5\x2f\xfd not really zstd");
  testing::write_file(www / "from-br.html", "<title>reached from brotli</title>");
  testing::write_file(www / "from-zstd.html", "<title>reached from zstd</title>");
  testing::nginx_server server{dir.path, coded_locations};

  auto records = std::make_shared<std::vector<record>>();
  {
    config cfg;
    cfg.crawl.threads = 2;
    cfg.crawl.http.io_threads = 1;
    cfg.crawl.politeness.delay = 0ms;
    cfg.apply();
    caf::actor_system sys{cfg};
    crawl c{sys, cfg};
    c.add_sink(sys.spawn(testing::memory_sink, records));
    REQUIRE(c.run({server.origin() + "/"}));
  }
  std::map<std::string, record> got;
  for (auto& r : *records)
    got[r.url.substr(server.origin().size())] = r;
  REQUIRE(got.size() == 8);
  CHECK(got["/br/page.html"].title == "in brotli");
  CHECK(got["/zstd/page.html"].title == "in zstd");
  CHECK(got["/from-br.html"].title == "reached from brotli");
  CHECK(got["/from-zstd.html"].title == "reached from zstd");
  for (auto path : {"/br/bomb.html", "/zstd/bomb.html"}) {
    INFO(path);
    CHECK(got[path].error == crawl_errc::too_large);
    CHECK(got[path].error_message.find("bomb") != std::string::npos);
  }
  CHECK(got["/zstd/corrupt.html"].error == crawl_errc::decode_failed);
}
