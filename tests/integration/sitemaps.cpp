// Sitemaps and page directives against real servers: nginx serving the
// hostile and the odd (bombs, cut files, deep indexes, other hosts, robots
// rules, X-Robots-Tag and Link headers), and the demo site's sitemaps.

#include "arachne/crawl.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>

#include <unistd.h>
#include <zlib.h>

#include "caf/actor_system.hpp"

#include "site_server.hpp"
#include "support/memory_sink.hpp"
#include "support/nginx_server.hpp"
#include "support/temp_dir.hpp"

using namespace arachne;
using namespace std::chrono_literals;

namespace {

namespace fs = std::filesystem;

using testing::nginx_server;

// Writes `head`, `filler` bytes of spaces and `tail`, gzip-compressed, to `path`.
void write_gzip(const fs::path& path, const std::string& head, std::size_t filler,
                const std::string& tail) {
  z_stream z{};
  REQUIRE(deflateInit2(&z, 9, Z_DEFLATED, 31, 9, Z_DEFAULT_STRATEGY) == Z_OK);
  std::ofstream out{path, std::ios::binary};
  char buf[65536];
  auto feed = [&](const char* data, std::size_t n, int flush) {
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data));
    z.avail_in = static_cast<uInt>(n);
    do {
      z.next_out = reinterpret_cast<Bytef*>(buf);
      z.avail_out = sizeof buf;
      deflate(&z, flush);
      out.write(buf, static_cast<std::streamsize>(sizeof buf - z.avail_out));
    } while (z.avail_out == 0);
  };
  feed(head.data(), head.size(), Z_NO_FLUSH);
  std::string spaces(1 << 20, ' ');
  for (std::size_t done = 0; done < filler; done += spaces.size())
    feed(spaces.data(), std::min(spaces.size(), filler - done), Z_NO_FLUSH);
  feed(tail.data(), tail.size(), Z_FINISH);
  deflateEnd(&z);
}

std::string urlset(const std::string& entries) {
  return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
         "<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n"
         + entries + "</urlset>\n";
}

std::string index_of(const std::vector<std::string>& locs) {
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                    "<sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n";
  for (auto& l : locs)
    out += "<sitemap><loc>" + l + "</loc></sitemap>\n";
  return out + "</sitemapindex>\n";
}

// Crawls from `seed` (no per-host delay) with `tune` applied; its records.
std::vector<record> crawl_from(const std::string& seed, const std::function<void(config&)>& tune) {
  auto records = std::make_shared<std::vector<record>>();
  config cfg;
  cfg.crawl.threads = 2;
  cfg.crawl.politeness.delay = 0ms;
  cfg.crawl.http.io_threads = 1;
  tune(cfg);
  cfg.apply();
  caf::actor_system sys{cfg};
  crawl c{sys, cfg};
  c.add_sink(sys.spawn(testing::memory_sink, records));
  REQUIRE(c.run({seed}));
  return *records;
}

// Crawls `origin`/ with `tune` applied; the records by path (one per URL).
std::map<std::string, record> crawl_by_path(const std::string& origin,
                                            const std::function<void(config&)>& tune) {
  std::map<std::string, record> out;
  for (auto& r : crawl_from(origin + "/", tune)) {
    if (r.kind == record::kind_t::item)
      continue;
    auto path = r.url.rfind(origin, 0) == 0 ? r.url.substr(origin.size()) : r.url;
    INFO(path);
    CHECK(out.emplace(path, r).second); // one record per URL
  }
  return out;
}

uint64_t refused(const record& r, const std::string& why) {
  for (auto& [reason, n] : r.sitemap.refused)
    if (reason == why)
      return n;
  return 0;
}

} // namespace

TEST_CASE("sitemaps on a real server: bombs and cut files end as records, limits and hosts "
          "refuse with reasons, robots.txt holds",
          "[crawl][integration][sitemap]") {
  testing::temp_dir tmp{"sitemaps"};
  auto www = tmp.path / "www";
  testing::write_file(www / "index.html", "<html><body>front</body></html>\n");
  testing::write_file(www / "a.html", "<html><body>a</body></html>\n");
  testing::write_file(www / "private" / "p.html", "private\n");
  // The server's port is known only once it runs: the files name it then.
  nginx_server server{tmp.path, "    location = /ce-bomb.xml { add_header Content-Encoding gzip; }\n"};
  auto o = server.origin();
  auto foreign = "http://127.0.0.2:" + std::to_string(server.port);
  testing::write_file(www / "robots.txt", "User-agent: *\nDisallow: /private/\n\nSitemap: " + o
                              + "/bomb.xml.gz\nSitemap: " + o + "/ce-bomb.xml\nSitemap: " + o
                              + "/big.xml\nSitemap: " + o + "/many.txt\nSitemap: " + o
                              + "/index.xml\nSitemap: not a url\n");
  // 64 MiB of spaces in a urlset: a ratio over 1000, as a .gz body and as
  // Content-Encoding.
  auto bomb_head = urlset("").substr(0, urlset("").find("</urlset>"))
                   + "<url><loc>" + o + "/bombed.html</loc></url>\n";
  write_gzip(www / "bomb.xml.gz", bomb_head, 64u << 20, "</urlset>\n");
  fs::copy_file(www / "bomb.xml.gz", www / "ce-bomb.xml");
  // Over --sitemap-max-size (2 MiB; 1 KiB an entry): cut, what was read
  // before counts (up to --sitemap-max-urls).
  std::string big;
  for (int i = 0; i < 2500; ++i)
    big += "<url><loc>" + o + "/big/" + std::to_string(i) + "</loc></url>" + std::string(1000, ' ')
           + "\n";
  testing::write_file(www / "big.xml", urlset(big));
  // Over --sitemap-max-urls (100): the rest refused.
  std::string many;
  for (int i = 0; i < 150; ++i)
    many += o + "/many/" + std::to_string(i) + "\n";
  testing::write_file(www / "many.txt", many);
  // An index: a part, an index of indexes (over --sitemap-max-depth=1), a
  // disallowed sitemap, one on another host.
  testing::write_file(www / "index.xml", index_of({o + "/pages.xml", o + "/nested.xml", o + "/private/secret.xml",
                                     foreign + "/foreign.xml"}));
  testing::write_file(www / "nested.xml", index_of({o + "/deep.xml"}));
  testing::write_file(www / "deep.xml", urlset("<url><loc>" + o + "/deep.html</loc></url>\n"));
  testing::write_file(www / "private" / "secret.xml", urlset("<url><loc>" + o + "/secret.html</loc></url>\n"));
  testing::write_file(www / "pages.xml",
        urlset("<url><loc>" + o + "/a.html</loc><lastmod>2026-11-01</lastmod>"
               "<changefreq>daily</changefreq><priority>0.8</priority></url>\n"
               "<url><loc>" + o + "/private/p.html</loc></url>\n"
               "<url><loc>" + foreign + "/b.html</loc></url>\n"
               "<url><loc>c.html</loc></url>\n"
               "<url><loc>" + o + "/a.html</loc></url>\n"));

  auto got = crawl_by_path(o, [](config& cfg) {
    cfg.crawl.scope.sitemap_max_bytes = 2 * 1024 * 1024;
    cfg.crawl.scope.sitemap_max_urls = 100;
    cfg.crawl.scope.sitemap_max_depth = 1;
  });

  // Bombs: records of kind too_large, whichever way the gzip came.
  REQUIRE(got.count("/bomb.xml.gz") == 1);
  CHECK(got["/bomb.xml.gz"].error == crawl_errc::too_large);
  CHECK(got["/bomb.xml.gz"].error_message.find("ratio") != std::string::npos);
  CHECK(got["/bomb.xml.gz"].sitemap.read);
  REQUIRE(got.count("/ce-bomb.xml") == 1);
  // (The fetcher decodes what arrived at once: here the 2 MiB limit comes
  // before the ratio is judged, which needs more than 1 MiB of output.)
  CHECK(got["/ce-bomb.xml"].error == crawl_errc::too_large);
  // Cut at --sitemap-max-size: a too_large record; what came before is crawled.
  REQUIRE(got.count("/big.xml") == 1);
  CHECK(got["/big.xml"].error == crawl_errc::too_large);
  CHECK(got["/big.xml"].error_message.find("--sitemap-max-size") != std::string::npos);
  CHECK(got["/big.xml"].sitemap.urls == 100);
  CHECK(refused(got["/big.xml"], "more than 100 URLs in one sitemap") > 1000);
  CHECK(refused(got["/big.xml"], "more than 100 URLs in one sitemap") < 2400);
  // --sitemap-max-urls: 100 taken, 50 refused with the reason.
  REQUIRE(got.count("/many.txt") == 1);
  CHECK(got["/many.txt"].error == crawl_errc::none);
  CHECK(got["/many.txt"].sitemap.urls == 100);
  CHECK(refused(got["/many.txt"], "more than 100 URLs in one sitemap") == 50);
  // The index: three sitemaps given, the foreign one refused.
  auto& index = got["/index.xml"];
  CHECK(index.sitemap.read);
  CHECK(index.sitemap.index);
  CHECK(index.sitemap.urls == 3);
  CHECK(refused(index, "on another site than the sitemap") == 1);
  CHECK(got["/nested.xml"].sitemap.urls == 0);
  CHECK(refused(got["/nested.xml"], "a sitemap index nested deeper than --sitemap-max-depth") == 1);
  CHECK(got["/private/secret.xml"].error == crawl_errc::robots_denied);
  // The part: what it says of a page is in the page's record.
  auto& part = got["/pages.xml"];
  CHECK(part.sitemap.urls == 3); // a.html twice (the crawl deduplicates), private/p.html
  CHECK(refused(part, "on another site than the sitemap") == 1);
  CHECK(refused(part, "not an absolute http(s) URL") == 1);
  auto& a = got["/a.html"];
  CHECK(a.status == 200);
  CHECK(a.depth == 1);
  CHECK(a.hints.lastmod == "2026-11-01");
  CHECK(a.hints.changefreq == change_freq::daily);
  CHECK(a.hints.priority == Approx(0.8));
  CHECK(got["/private/p.html"].error == crawl_errc::robots_denied);
  CHECK(got["not a url"].error == crawl_errc::invalid_url);
  // On the wire: nothing disallowed, nothing of another host, nothing past
  // the depth limit; each URL once.
  std::map<std::string, int> hits;
  for (auto& t : server.targets())
    ++hits[t];
  for (auto& [target, n] : hits) {
    INFO(target);
    CHECK(n == 1);
    CHECK(target.rfind("/private/", 0) != 0);
  }
  CHECK(hits.count("/deep.xml") == 0);
  CHECK(hits.count("/a.html") == 1);
  std::size_t big_fetched = 0;
  std::size_t many_fetched = 0;
  for (auto& [target, n] : hits) {
    big_fetched += target.rfind("/big/", 0) == 0;
    many_fetched += target.rfind("/many/", 0) == 0;
  }
  CHECK(big_fetched == 100);
  CHECK(many_fetched == 100);
}

TEST_CASE("page directives on a real server: X-Robots-Tag and meta for us or all, canonical "
          "from HTML and Link, base href",
          "[crawl][integration][directives]") {
  testing::temp_dir tmp{"directives"};
  auto www = tmp.path / "www";
  testing::write_file(www / "index.html",
        "<a href=/noindex.html>1</a> <a href=/agent.html>2</a> <a href=/other-agent.html>3</a>"
        " <a href=/meta-agent.html>4</a> <a href=/canon.html>5</a> <a href=/html-canon.html>6</a>"
        " <a href=/doc.txt>7</a>\n");
  testing::write_file(www / "noindex.html", "<title>secret</title><a href=/after-noindex.html>x</a>\n");
  testing::write_file(www / "after-noindex.html", "x\n");
  testing::write_file(www / "agent.html", "<a href=/hidden-1.html>x</a>\n");
  testing::write_file(www / "other-agent.html", "<a href=/shown.html>x</a>\n");
  testing::write_file(www / "shown.html", "x\n");
  testing::write_file(www / "meta-agent.html",
        "<meta name=\"Arachne\" content=\"noindex, nofollow\"><a href=/hidden-2.html>x</a>\n");
  testing::write_file(www / "canon.html", "canon\n");
  testing::write_file(www / "html-canon.html",
        "<head><base href=\"/sub/\"><link rel=\"canonical\" href=\"/canon-2.html\"></head>"
        "<a href=\"x.html\">x</a>\n");
  testing::write_file(www / "sub" / "x.html", "x\n");
  testing::write_file(www / "canonical-target.html", "c\n");
  testing::write_file(www / "canon-2.html", "c\n");
  testing::write_file(www / "doc.txt", "not html\n");
  nginx_server server{
    tmp.path, "    location = /noindex.html { add_header X-Robots-Tag \"noindex\"; }\n"
              "    location = /agent.html { add_header X-Robots-Tag \"arachne: nofollow\"; }\n"
              "    location = /other-agent.html {\n"
              "      add_header X-Robots-Tag \"googlebot: nofollow, noindex\"; }\n"
              "    location = /canon.html {\n"
              "      add_header Link \"</canonical-target.html>; rel=\\\"canonical\\\"\"; }\n"
              "    location = /doc.txt { add_header X-Robots-Tag \"none\"; }\n"};
  auto o = server.origin();

  SECTION("recorded, not followed") {
    auto got = crawl_by_path(o, [](config& cfg) { cfg.crawl.http.user_agent = "Arachne/1.0"; });
    CHECK(got["/noindex.html"].noindex);
    CHECK(got["/noindex.html"].error == crawl_errc::none);
    CHECK(got["/noindex.html"].title == "secret");
    CHECK(got.count("/after-noindex.html") == 1); // noindex is not nofollow
    CHECK(got.count("/hidden-1.html") == 0);      // X-Robots-Tag for us: nofollow
    CHECK(got.count("/shown.html") == 1);         // ... for another crawler: nothing
    CHECK(!got["/other-agent.html"].noindex);
    CHECK(got["/meta-agent.html"].noindex);       // meta for us
    CHECK(got.count("/hidden-2.html") == 0);
    CHECK(got["/canon.html"].canonical == o + "/canonical-target.html");
    CHECK(got.count("/canonical-target.html") == 0);
    CHECK(got["/html-canon.html"].canonical == o + "/canon-2.html");
    CHECK(got.count("/canon-2.html") == 0);
    CHECK(got.count("/sub/x.html") == 1); // resolved against <base href>
    CHECK(got["/doc.txt"].noindex);       // not HTML: the header still counts
  }

  SECTION("--honour-noindex keeps noindex pages out of the sinks; --follow-canonical queues "
          "canonical URLs") {
    auto got = crawl_by_path(o, [](config& cfg) {
      cfg.crawl.scope.honour_noindex = true;
      cfg.crawl.scope.follow_canonical = true;
    });
    auto& n = got["/noindex.html"];
    CHECK(n.kind == record::kind_t::failure);
    CHECK(n.error == crawl_errc::noindex);
    CHECK(n.status == 200);
    CHECK(n.title.empty());
    CHECK(got.count("/after-noindex.html") == 1);
    CHECK(got["/doc.txt"].error == crawl_errc::noindex);
    CHECK(got["/canonical-target.html"].status == 200);
    CHECK(got["/canon-2.html"].status == 200);
  }
}

TEST_CASE("a crawl of the demo site fetches each page only its sitemaps list once, and "
          "neither disallowed nor foreign entries",
          "[crawl][integration][sitemap]") {
  auto log_path = "sitemaps-access-" + std::to_string(::getpid()) + ".log";
  std::remove(log_path.c_str());
  site::server_options sopts;
  sopts.access_log = log_path;
  site::site_server server{{5, 40, 3, false, 0s, false}, sopts};
  REQUIRE(server.listen() == "");
  server.start();
  auto& m = server.model();
  REQUIRE(m.has_sitemaps(3));
  REQUIRE(!m.has_sitemaps(4));
  auto records = crawl_from(m.origin(0) + "/", [](config&) {});
  server.stop();
  std::map<std::string, int> hits; // host address + target
  {
    std::ifstream in{log_path};
    for (std::string line; std::getline(in, line);) {
      auto a = line.find('\t');
      auto b = line.find('\t', a + 1);
      auto c = line.find('\t', b + 1);
      auto d = line.find('\t', c + 1);
      ++hits[line.substr(b + 1, c - b - 1) + line.substr(c + 1, d - c - 1)];
    }
  }
  std::remove(log_path.c_str());
  std::map<std::string, record> by_url;
  for (auto& r : records) {
    INFO(r.url);
    CHECK(by_url.emplace(r.url, r).second); // one record per URL
  }
  auto o = m.origin(3);
  auto host = m.host_address(3);
  // Every page only the sitemaps list: recorded once, fetched once, with
  // what the gzipped XML part said of it (the text part says nothing).
  auto archive = m.archive_pages();
  REQUIRE(archive >= 4);
  for (uint32_t k = 0; k < archive; ++k) {
    auto path = "/archive/" + std::to_string(k);
    INFO(path);
    REQUIRE(by_url.count(o + path) == 1);
    auto& r = by_url[o + path];
    CHECK(r.status == 200);
    CHECK(r.depth == 1);
    CHECK(hits[host + path] == 1);
    CHECK(r.hints.lastmod.empty() == (k >= archive / 2));
  }
  CHECK(by_url[o + "/archive/0"].noindex);                   // X-Robots-Tag
  CHECK(by_url[o + "/archive/0"].canonical == o + "/");      // Link header
  CHECK(by_url[o + "/archive/2"].canonical == o + "/");      // <link rel=canonical>
  // Disallowed: recorded, never fetched.
  CHECK(by_url[o + "/private/5"].error == crawl_errc::robots_denied);
  CHECK(hits.count(host + "/private/5") == 0);
  // Another host's entry: refused with the reason, neither fetched nor recorded.
  auto& part = by_url[o + "/sitemaps/pages.xml.gz"];
  CHECK(part.sitemap.read);
  CHECK(refused(part, "on another site than the sitemap") == 1);
  CHECK(part.sitemap.urls == archive / 2 + 2);
  CHECK(by_url.count(m.origin(4) + "/archive/0") == 0);
  CHECK(hits.count(m.host_address(4) + "/archive/0") == 0);
  auto& index = by_url[o + "/sitemap.xml"];
  CHECK(index.sitemap.index);
  CHECK(index.sitemap.urls == 2);
  CHECK(by_url[o + "/sitemaps/archive.txt"].sitemap.urls == archive - archive / 2);
  CHECK(hits[host + "/sitemap.xml"] == 1);
}

TEST_CASE("a crawl with --sitemaps=only fetches the seeds and what sitemaps list, no page links, --sitemap "
          "names more, --sitemaps=off reads none",
          "[crawl][integration][sitemap]") {
  testing::temp_dir tmp{"sitemaps-only"};
  auto www = tmp.path / "www";
  testing::write_file(www / "index.html", "<a href=/linked.html>x</a>\n");
  testing::write_file(www / "linked.html", "x\n");
  testing::write_file(www / "listed.html", "<a href=/linked-from-listed.html>x</a>\n");
  testing::write_file(www / "linked-from-listed.html", "x\n");
  testing::write_file(www / "named.html", "x\n");
  nginx_server server{tmp.path};
  auto o = server.origin();
  testing::write_file(www / "robots.txt", "User-agent: *\nAllow: /\n\nSitemap: " + o + "/sitemap.txt\n");
  testing::write_file(www / "sitemap.txt", o + "/listed.html\n");
  testing::write_file(www / "named.xml", urlset("<url><loc>" + o + "/named.html</loc></url>\n"));
  auto paths = [](const std::map<std::string, record>& got) {
    std::set<std::string> out;
    for (auto& [path, r] : got)
      out.insert(path);
    return out;
  };
  SECTION("only") {
    auto got = crawl_by_path(o, [&](config& cfg) {
      cfg.crawl.scope.sitemaps = sitemap_mode::only;
      cfg.crawl.scope.sitemap_urls = {o + "/named.xml"};
    });
    CHECK(paths(got) == std::set<std::string>{"/", "/sitemap.txt", "/listed.html", "/named.xml",
                                              "/named.html"});
  }
  SECTION("on") {
    auto got = crawl_by_path(o, [&](config& cfg) { cfg.crawl.scope.sitemap_urls = {o + "/named.xml"}; });
    CHECK(paths(got) == std::set<std::string>{"/", "/linked.html", "/sitemap.txt", "/listed.html",
                                              "/linked-from-listed.html", "/named.xml",
                                              "/named.html"});
    CHECK(got["/linked-from-listed.html"].depth == 2);
  }
  SECTION("off") {
    auto got = crawl_by_path(o, [&](config& cfg) { cfg.crawl.scope.sitemaps = sitemap_mode::off; });
    CHECK(paths(got) == std::set<std::string>{"/", "/linked.html"});
  }
}
