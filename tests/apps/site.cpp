#include "site_server.hpp"

#include <catch2/catch.hpp>

#include <cctype>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <tuple>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#define restrict __restrict
#include <wget.h>
#undef restrict
#include <zlib.h>

#include "arachne/html.hpp"
#include "arachne/robots.hpp"
#include "arachne/url.hpp"

namespace beast = boost::beast; // from <boost/beast.hpp>
namespace http = beast::http;   // from <boost/beast/http.hpp>
namespace asio = boost::asio;   // from <boost/asio.hpp>
namespace ssl = asio::ssl;      // from <boost/asio/ssl.hpp>
using tcp = asio::ip::tcp;

using namespace arachne;
using namespace arachne::site;

namespace {

struct answer {
  unsigned status = 0;
  std::string location;
  std::string content_type;
  std::string content_length;
  std::string content_encoding;
  std::vector<std::pair<std::string, std::string>> headers; // all of them, in order
  std::string body;
};

// The value of the first header called `name` (any case), or "".
std::string header(const answer& a, std::string_view name) {
  for (auto& [n, v] : a.headers)
    if (beast::iequals(n, name))
      return v;
  return {};
}

using field_list = std::vector<std::pair<http::field, std::string>>;

// One blocking request on a fresh connection; throws on network errors.
answer request(const std::string& ip, uint16_t port, const std::string& target,
               http::verb verb = http::verb::get, ssl::context* tls = nullptr,
               const std::string& accept_encoding = {}, const field_list& fields = {}) {
  asio::io_context ioc;
  http::request<http::empty_body> req{verb, target, 11};
  req.set(http::field::host, ip + ":" + std::to_string(port));
  req.set(http::field::connection, "close");
  if (!accept_encoding.empty())
    req.set(http::field::accept_encoding, accept_encoding);
  for (auto& [name, value] : fields)
    req.insert(name, value);
  http::response_parser<http::string_body> parser;
  parser.body_limit(1 << 20);
  if (verb == http::verb::head)
    parser.skip(true);
  beast::flat_buffer buffer;
  tcp::endpoint ep{asio::ip::make_address(ip), port};
  if (tls != nullptr) {
    beast::ssl_stream<beast::tcp_stream> stream{ioc, *tls};
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(10));
    stream.set_verify_mode(ssl::verify_peer);
    stream.set_verify_callback(ssl::host_name_verification(ip));
    beast::get_lowest_layer(stream).connect(ep);
    stream.handshake(ssl::stream_base::client);
    http::write(stream, req);
    http::read(stream, buffer, parser);
  } else {
    beast::tcp_stream stream{ioc};
    stream.expires_after(std::chrono::seconds(10));
    stream.connect(ep);
    http::write(stream, req);
    http::read(stream, buffer, parser);
  }
  auto& res = parser.get();
  answer a;
  a.status = res.result_int();
  a.location = std::string(res[http::field::location]);
  a.content_type = std::string(res[http::field::content_type]);
  a.content_length = std::string(res[http::field::content_length]);
  a.content_encoding = std::string(res[http::field::content_encoding]);
  for (auto& field : res)
    a.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  a.body = std::move(res.body());
  return a;
}

// A GET with extra request fields (conditional ones), plain or accepting gzip.
answer get_with(const std::string& ip, uint16_t port, const std::string& target,
                const field_list& fields, const std::string& accept_encoding = {}) {
  return request(ip, port, target, http::verb::get, nullptr, accept_encoding, fields);
}

std::string decode_entities(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '&') {
      auto semi = s.find(';', i);
      if (semi != std::string_view::npos) {
        auto name = s.substr(i + 1, semi - i - 1);
        const char* repl = name == "amp" ? "&" : name == "quot" ? "\"" : name == "lt" ? "<"
                                                : name == "gt"  ? ">" : nullptr;
        if (repl != nullptr) {
          out += repl;
          i = semi;
          continue;
        }
      }
    }
    out += s[i];
  }
  return out;
}

// The hrefs of <a> tags as libwget finds them, entities decoded.
std::vector<std::string> extract_links(const std::string& html) {
  std::vector<std::string> out;
  auto* parsed = wget_html_get_urls_inline(html.c_str(), nullptr, nullptr);
  REQUIRE(parsed != nullptr);
  for (int i = 0; i < wget_vector_size(parsed->uris); ++i) {
    auto* u = static_cast<wget_html_parsed_url_t*>(wget_vector_get(parsed->uris, i));
    out.push_back(decode_entities(std::string_view{u->url.p, u->url.len}));
  }
  wget_html_free_urls_inline(&parsed);
  return out;
}

// `data` decompressed from gzip; fails the test if it is not gzip.
std::string gunzip(const std::string& data) {
  z_stream s{};
  REQUIRE(inflateInit2(&s, 15 + 16) == Z_OK);
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  s.avail_in = static_cast<uInt>(data.size());
  std::string out;
  char buf[16384];
  int rc = Z_OK;
  while (rc == Z_OK) {
    s.next_out = reinterpret_cast<Bytef*>(buf);
    s.avail_out = sizeof(buf);
    rc = inflate(&s, Z_NO_FLUSH);
    out.append(buf, sizeof(buf) - s.avail_out);
  }
  inflateEnd(&s);
  REQUIRE(rc == Z_STREAM_END);
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return s;
}

// What a sitemap lists, read from the served bytes as a crawler reads them:
// gunzipped if they start with gzip's magic bytes, then the <loc>s of XML
// (an index if its root is <sitemapindex>) or else the lines of text.
struct sitemap_read {
  bool index = false;
  std::vector<std::string> urls;
};

sitemap_read read_sitemap(std::string body) {
  if (body.size() >= 2 && body[0] == '\x1f' && body[1] == '\x8b')
    body = gunzip(body);
  sitemap_read out;
  out.index = body.find("<sitemapindex") != std::string::npos;
  if (out.index || body.find("<urlset") != std::string::npos) {
    for (auto at = body.find("<loc>"); at != std::string::npos; at = body.find("<loc>", at + 1)) {
      auto end = body.find("</loc>", at);
      REQUIRE(end != std::string::npos);
      out.urls.push_back(decode_entities(trim(std::string_view{body}.substr(at + 5, end - at - 5))));
    }
  } else {
    std::istringstream lines{body};
    for (std::string line; std::getline(lines, line);)
      if (!trim(line).empty())
        out.urls.emplace_back(trim(line));
  }
  return out;
}

// A polite crawl over HTTP, independent of the model: robots.txt as served
// (and the sitemaps it names, read from the served bytes), links as libwget
// finds them in the served HTML. Least depths first; a sitemap found late
// may bring a URL closer, which is then taken again (as the truth does).
// With `honour_nofollow`, a page whose X-Robots-Tag says nofollow is not followed.
struct http_crawl {
  http_crawl(const site_model& m, std::optional<uint32_t> limit, bool nofollow)
    : model(m), max_depth(limit), honour_nofollow(nofollow) {}

  const site_model& model;
  std::optional<uint32_t> max_depth;
  bool honour_nofollow;
  std::map<std::string, robots_rules> robots; // by host
  std::map<std::string, answer> fetched;      // by URL: each is fetched once
  std::map<std::string, uint32_t> depth;
  std::map<std::string, truth_entry> taken;
  std::set<std::string> sitemaps; // URLs reached as sitemaps
  std::set<std::tuple<uint32_t, uint64_t, std::string>> queue; // depth, order, URL
  uint64_t order = 0;

  void reach(const url& u, uint32_t d, bool as_sitemap) {
    bool new_sitemap = as_sitemap && sitemaps.insert(u.str()).second;
    auto [it, added] = depth.emplace(u.str(), d);
    if (!added && it->second <= d && !new_sitemap)
      return;
    it->second = std::min(it->second, d);
    queue.emplace(it->second, order++, u.str());
  }

  bool within(uint32_t d) const {
    return !max_depth || d <= *max_depth;
  }

  // The rules of `u`'s host; the first time, the sitemaps it names are reached.
  const robots_rules& rules_for(const url& u) {
    auto host = std::string{u.hostname()};
    auto i = robots.find(host);
    if (i == robots.end()) {
      auto a = request(host, model.port(), "/robots.txt");
      auto rules = a.status == 200 ? robots_rules::parse(a.body, "arachne/0.1")
                   : a.status >= 500 ? robots_rules::disallow_all() : robots_rules::allow_all();
      i = robots.emplace(host, std::move(rules)).first;
      for (auto& s : i->second.sitemaps())
        if (auto sm = parse_url(s))
          reach(*sm, 0, true);
    }
    return i->second;
  }

  const answer& get(const url& u) {
    auto i = fetched.find(u.str());
    if (i == fetched.end())
      i = fetched.emplace(u.str(), request(std::string{u.hostname()}, model.port(),
                                           std::string{u.target()})).first;
    return i->second;
  }

  // A sitemap's entries on its own host: sitemaps (an index) or pages.
  void read(const url& at, const answer& a, uint32_t d) {
    auto s = read_sitemap(a.body);
    for (auto& loc : s.urls) {
      auto u = parse_url(loc);
      if (!u || u->scheme() != at.scheme() || u->authority() != at.authority())
        continue;
      if (s.index)
        reach(*u, 0, true);
      else if (within(d + 1))
        reach(*u, d + 1, false);
    }
  }

  void take(const url& u, uint32_t d) {
    if (!max_depth && u.path().substr(0, 10) == "/calendar/")
      return;
    auto& rules = rules_for(u);
    auto& e = taken[u.str()];
    e = truth_entry{u.str(), {}, {}, d};
    if (!rules.allowed(u.target())) {
      e.outcome = "robots_denied";
      return;
    }
    auto& a = get(u);
    e.outcome = std::to_string(a.status);
    e.location = a.location;
    bool nofollow = honour_nofollow && header(a, "X-Robots-Tag").find("nofollow") != std::string::npos;
    if (!a.location.empty()) {
      if (auto next = resolve_url(u, a.location))
        reach(*next, d, false);
    } else if (a.status == 200 && sitemaps.count(u.str()) > 0) {
      read(u, a, d);
    } else if (a.status == 200 && !nofollow && within(d + 1)) {
      for (auto& href : extract_links(a.body))
        if (auto next = resolve_url(u, href))
          reach(*next, d + 1, false);
    }
  }
};

std::vector<truth_entry> crawl_over_http(const site_model& model, std::optional<uint32_t> max_depth,
                                         bool honour_nofollow = false) {
  http_crawl c{model, max_depth, honour_nofollow};
  c.reach(*parse_url(model.origin(0) + "/"), 0, false);
  while (!c.queue.empty()) {
    auto [d, order, spec] = *c.queue.begin();
    c.queue.erase(c.queue.begin());
    if (c.depth[spec] == d)
      c.take(*parse_url(spec), d);
  }
  std::vector<truth_entry> out;
  for (auto& [u, e] : c.taken)
    out.push_back(e);
  return out;
}

std::string render(const std::vector<truth_entry>& entries) {
  std::ostringstream out;
  for (auto& e : entries)
    out << e.url << ' ' << e.outcome << ' ' << e.depth << ' ' << e.location << '\n';
  return out.str();
}

} // namespace

TEST_CASE("site pages are 15-30 KB of HTML with 20-60 links, the same for the same seed",
          "[site]") {
  site_model model{{3, 40, 7, false, std::chrono::seconds(1)}, 8080};
  site_model same{{3, 40, 7, false, std::chrono::seconds(1)}, 8080};
  site_model other{{3, 40, 8, false, std::chrono::seconds(1)}, 8080};
  int differing = 0;
  for (uint32_t h = 0; h < 3; ++h) {
    for (uint32_t k = 0; k < 40; ++k) {
      auto path = model.page_path(k);
      auto page = model.respond(h, path);
      INFO("host " << h << " page " << path);
      REQUIRE(page.status == 200);
      CHECK(page.body.size() >= 15000);
      CHECK(page.body.size() <= 30000);
      auto links = model.links(h, path);
      CHECK(links.size() >= 20);
      CHECK(links.size() <= 60);
      // What a link extractor finds resolves to exactly the model's links.
      auto base = parse_url(model.origin(h) + path);
      REQUIRE(base);
      auto resolved = [&](const std::vector<std::string>& hrefs) {
        std::set<std::string> out;
        for (auto& href : hrefs)
          if (auto u = resolve_url(*base, href))
            out.insert(u->str());
        return out;
      };
      CHECK(resolved(extract_links(page.body)) == resolved(links));
      // Arachne's own scanner finds exactly the links the model wrote.
      std::vector<std::string> scanned;
      for (auto& l : scan_html(page.body).links)
        scanned.push_back(l.href);
      CHECK(scanned == links);
      CHECK(same.respond(h, path).body == page.body);
      differing += other.respond(h, path).body != page.body;
    }
  }
  CHECK(differing == 120);
}

TEST_CASE("site links cover every kind the crawler must handle", "[site]") {
  site_model model{{4, 60, 1, false, std::chrono::seconds(1)}, 8080};
  std::map<std::string, int> kinds;
  for (uint32_t h = 0; h < 4; ++h)
    for (uint32_t k = 0; k < 60; ++k)
      for (auto& href : model.links(h, model.page_path(k))) {
        if (href.rfind("http://", 0) == 0)
          ++kinds[href.find(model.host_address(h)) == 7 ? "absolute" : "cross-host"];
        else if (href.rfind("//", 0) == 0)
          ++kinds["scheme-relative"];
        else if (href.find('#') != std::string::npos)
          ++kinds["fragment"];
        else if (href.find("ref=") != std::string::npos)
          ++kinds["query-variant"];
        else if (href.rfind("/missing/", 0) == 0)
          ++kinds["404"];
        else if (href.rfind("/old/", 0) == 0 || href.rfind("/moved/", 0) == 0)
          ++kinds["redirect"];
        else if (href == "/loop/a")
          ++kinds["loop"];
        else if (href.rfind("/calendar/", 0) == 0)
          ++kinds["trap"];
        else if (href.find(':') != std::string::npos)
          ++kinds["not-http"];
        else if (href[0] != '/' && href[0] != ' ')
          ++kinds["relative"];
      }
  for (auto kind : {"absolute", "cross-host", "scheme-relative", "fragment", "query-variant",
                    "404", "redirect", "loop", "trap", "not-http", "relative"}) {
    INFO(kind);
    CHECK(kinds[kind] > 0);
  }
}

TEST_CASE("site answers robots.txt, redirects, the loop, 404 and HEAD over HTTP", "[site]") {
  site_server server{{10, 20, 1, false, std::chrono::milliseconds(1500)}, {}};
  REQUIRE(server.listen() == "");
  server.start();
  auto& m = server.model();
  auto port = server.port();
  REQUIRE(port != 0);
  auto ip = [&](uint32_t h) { return m.host_address(h); };
  // robots.txt: rules on most hosts, Crawl-delay on some, none on others.
  auto r0 = request(ip(0), port, "/robots.txt");
  CHECK(r0.status == 200);
  CHECK(r0.content_type == "text/plain");
  CHECK(r0.body.find("Disallow: /private/") != std::string::npos);
  CHECK(request(ip(1), port, "/robots.txt").body.find("Crawl-delay: 1.5") != std::string::npos);
  CHECK(request(ip(4), port, "/robots.txt").status == 404);
  // Pages and their variants.
  auto front = request(ip(0), port, "/");
  CHECK(front.status == 200);
  CHECK(front.content_type == "text/html; charset=utf-8");
  CHECK(request(ip(0), port, "/articles/5.html").status == 200);
  CHECK(request(ip(0), port, "/catalog/item?id=6&ref=nav").status == 200);
  CHECK(request(ip(0), port, "/docs/7/").status == 200);
  CHECK(request(ip(0), port, "/p/8").status == 200);
  CHECK(request(ip(0), port, "/p/5").status == 404);  // page 5 lives under /articles/
  CHECK(request(ip(0), port, "/p/08").status == 404); // one spelling per page
  CHECK(request(ip(0), port, "/p/20").status == 404); // past the last page
  CHECK(request(ip(0), port, "/missing/3").status == 404);
  // Redirects: absolute and relative Location, a chain, a loop.
  auto old4 = request(ip(2), port, "/old/4");
  CHECK(old4.status == 301);
  CHECK(old4.location == m.origin(2) + "/p/4");
  auto old5 = request(ip(2), port, "/old/5");
  CHECK(old5.location == "/articles/5.html");
  auto moved = request(ip(2), port, "/moved/5");
  CHECK(moved.status == 302);
  CHECK(moved.location == "../old/5");
  CHECK(request(ip(3), port, "/loop/a").location == "/loop/b");
  CHECK(request(ip(3), port, "/loop/b").location == "a");
  // The calendar never ends.
  auto cal = request(ip(0), port, "/calendar/9000/12/");
  CHECK(cal.status == 200);
  CHECK(cal.body.find("/calendar/9001/1/") != std::string::npos);
  // HEAD: the headers of a GET, no body.
  auto head = request(ip(0), port, "/p/8", http::verb::head);
  CHECK(head.status == 200);
  CHECK(head.body.empty());
  CHECK(head.content_length == std::to_string(request(ip(0), port, "/p/8").body.size()));
  CHECK(request(ip(0), port, "/", http::verb::post).status == 405);
  server.stop();
}

TEST_CASE("site truth equals a polite BFS over its own pages", "[site]") {
  site_server server{{12, 30, 3, false, std::chrono::seconds(1)}, {}};
  REQUIRE(server.listen() == "");
  server.start();
  auto& m = server.model();
  truth_options unlimited;
  auto truth = m.truth(unlimited);
  auto crawled = crawl_over_http(m, std::nullopt);
  CHECK(truth.size() > 12 * 30);
  CHECK(render(crawled) == render(truth));
  // Every host is reached, robots.txt denies some URLs, and each outcome occurs.
  std::set<std::string> hosts;
  std::map<std::string, int> outcomes;
  for (auto& e : truth) {
    hosts.insert(std::string{parse_url(e.url)->hostname()});
    ++outcomes[e.outcome];
  }
  CHECK(hosts.size() == 12);
  for (auto o : {"200", "301", "302", "404", "robots_denied"}) {
    INFO(o);
    CHECK(outcomes[o] > 0);
  }
  // Hosts 3 and 8 name sitemaps, which list archive pages no page links.
  for (uint32_t h : {3u, 8u}) {
    INFO("host " << h);
    auto reached = [&](const std::string& u) {
      return std::any_of(truth.begin(), truth.end(), [&](auto& e) { return e.url == u; });
    };
    CHECK(reached(m.origin(h) + "/sitemaps/pages.xml.gz"));
    CHECK(reached(m.origin(h) + "/archive/" + std::to_string(m.archive_pages() - 1)));
  }
  // /archive/1 says "X-Robots-Tag: arachne: nofollow", which the truth does
  // not model: it links only what is reached as closely without it.
  CHECK(render(crawl_over_http(m, std::nullopt, true)) == render(truth));
  // With a depth limit the trap is entered, and cut, at that depth.
  truth_options shallow;
  shallow.max_depth = 3;
  auto limited = m.truth(shallow);
  CHECK(render(crawl_over_http(m, 3u)) == render(limited));
  CHECK(std::any_of(limited.begin(), limited.end(),
                    [](auto& e) { return e.url.find("/calendar/") != std::string::npos; }));
  CHECK(std::all_of(limited.begin(), limited.end(), [](auto& e) { return e.depth <= 3; }));
  server.stop();
}

TEST_CASE("site serves the sitemaps its robots.txt names: an index, a gzip urlset, a text list",
          "[site]") {
  site_server server{{10, 20, 1, false, std::chrono::seconds(1)}, {}};
  REQUIRE(server.listen() == "");
  server.start();
  auto& m = server.model();
  auto port = server.port();
  auto ip = m.host_address(3);
  auto o = m.origin(3);
  REQUIRE(m.has_sitemaps(3));
  REQUIRE(m.archive_pages() == 5); // max(4, 20 / 4)
  CHECK(request(ip, port, "/robots.txt").body.find("Sitemap: " + o + "/sitemap.xml\n")
        != std::string::npos);
  // The index lists two sitemaps; plain unless the client accepts gzip.
  auto index = request(ip, port, "/sitemap.xml");
  CHECK(index.status == 200);
  CHECK(index.content_type == "application/xml");
  CHECK(index.content_encoding.empty());
  CHECK(header(index, "Vary") == "Accept-Encoding");
  CHECK(index.body.find("<sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">")
        != std::string::npos);
  auto parts = read_sitemap(index.body);
  CHECK(parts.index);
  CHECK(parts.urls == std::vector<std::string>{o + "/sitemaps/pages.xml.gz", o + "/sitemaps/archive.txt"});
  auto zipped = request(ip, port, "/sitemap.xml", http::verb::get, nullptr, "gzip, deflate");
  CHECK(zipped.status == 200);
  CHECK(zipped.content_encoding == "gzip");
  CHECK(zipped.content_type == "application/xml");
  CHECK(gunzip(zipped.body) == index.body);
  CHECK(request(ip, port, "/sitemap.xml", http::verb::get, nullptr, "identity").content_encoding == "");
  CHECK(request(ip, port, "/sitemap.xml", http::verb::get, nullptr, "br, gzip;q=0").content_encoding == "");
  // The urlset is a .gz file: gzip bytes, no Content-Encoding, the same bytes every time.
  auto pages = request(ip, port, "/sitemaps/pages.xml.gz", http::verb::get, nullptr, "gzip, deflate");
  CHECK(pages.status == 200);
  CHECK(pages.content_type == "application/gzip");
  CHECK(pages.content_encoding.empty());
  REQUIRE(pages.body.size() > 18);
  CHECK(pages.body.substr(0, 2) == "\x1f\x8b");
  CHECK(pages.body.substr(4, 4) == std::string(4, '\0')); // no time in the header
  CHECK(pages.body == request(ip, port, "/sitemaps/pages.xml.gz").body);
  auto urlset = gunzip(pages.body);
  CHECK(urlset.find("<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">")
        != std::string::npos);
  for (auto tag : {"<lastmod>2026-11-0", "<changefreq>", "<priority>"}) {
    INFO(tag);
    std::size_t n = 0;
    for (auto at = urlset.find(tag); at != std::string::npos; at = urlset.find(tag, at + 1))
      ++n;
    CHECK(n == 5);
  }
  auto listed = read_sitemap(pages.body);
  CHECK(!listed.index);
  // Half the archive, a page links reach too, a page robots.txt disallows,
  // and a page of another host (which a crawler must refuse).
  CHECK(listed.urls == std::vector<std::string>{o + "/archive/0", o + "/archive/1", o + m.page_path(1),
                                                o + "/private/5", m.origin(4) + "/archive/0"});
  // The text sitemap: the other half, a URL a line.
  auto text = request(ip, port, "/sitemaps/archive.txt");
  CHECK(text.status == 200);
  CHECK(text.content_type == "text/plain");
  CHECK(text.body == o + "/archive/2\n" + o + "/archive/3\n" + o + "/archive/4\n");
  // The model knows them as served.
  auto known = m.sitemap(3, "/sitemaps/pages.xml.gz");
  REQUIRE(known);
  CHECK(!known->index);
  REQUIRE(known->entries.size() == 5);
  CHECK(known->entries[2].loc == o + m.page_path(1));
  CHECK(urlset.find("<lastmod>" + known->entries[2].lastmod + "</lastmod>") != std::string::npos);
  // Hosts whose robots.txt names no sitemap serve none, nor an archive.
  for (uint32_t h : {0u, 2u, 4u}) {
    INFO("host " << h);
    CHECK(!m.has_sitemaps(h));
    CHECK(!m.sitemap(h, "/sitemap.xml"));
    for (auto target : {"/sitemap.xml", "/sitemaps/pages.xml.gz", "/sitemaps/archive.txt", "/archive/0"})
      CHECK(request(m.host_address(h), port, target).status == 404);
  }
  server.stop();
}

TEST_CASE("site archive pages ask things of crawlers in headers and in HTML", "[site]") {
  site_server server{{10, 20, 1, false, std::chrono::seconds(1)}, {}};
  REQUIRE(server.listen() == "");
  server.start();
  auto& m = server.model();
  auto port = server.port();
  auto ip = m.host_address(8);
  auto o = m.origin(8);
  auto a0 = request(ip, port, "/archive/0");
  CHECK(a0.status == 200);
  CHECK(a0.content_type == "text/html; charset=utf-8");
  CHECK(header(a0, "X-Robots-Tag") == "noindex");
  CHECK(header(a0, "Link") == "<" + o + "/>; rel=\"canonical\"");
  auto a1 = request(ip, port, "/archive/1");
  CHECK(a1.status == 200);
  CHECK(header(a1, "X-Robots-Tag") == "arachne: nofollow");
  CHECK(header(a1, "Link").empty());
  auto a2 = request(ip, port, "/archive/2");
  CHECK(a2.status == 200);
  CHECK(header(a2, "X-Robots-Tag").empty());
  CHECK(a2.body.find("<link rel=\"canonical\" href=\"/\">") < a2.body.find("</head>"));
  CHECK(request(ip, port, "/archive/4").status == 200);
  CHECK(request(ip, port, "/archive/5").status == 404); // past the archive
  CHECK(request(ip, port, "/archive/01").status == 404);
  // Each links the front page and one regular page; /archive/1 links page 1.
  CHECK(m.links(8, "/archive/1") == std::vector<std::string>{"/", m.page_path(1)});
  for (uint32_t n = 0; n < m.archive_pages(); ++n) {
    auto target = "/archive/" + std::to_string(n);
    INFO(target);
    auto links = m.links(8, target);
    REQUIRE(links.size() == 2);
    CHECK(links[0] == "/");
    std::vector<std::string> anchors; // (a canonical <link> is not one)
    for (auto& l : scan_html(request(ip, port, target).body).links)
      if (l.kind == html_link::kind_t::anchor)
        anchors.push_back(l.href);
    CHECK(anchors == links);
  }
  server.stop();
}

TEST_CASE("site truth reaches the sitemaps robots.txt names and the pages they list on their host",
          "[site]") {
  site_model m{{10, 20, 1, false, std::chrono::seconds(1)}, 8080};
  auto truth = m.truth({});
  std::map<std::string, truth_entry> by_url;
  for (auto& e : truth)
    by_url[e.url] = e;
  auto outcome = [&](const std::string& u) {
    auto i = by_url.find(u);
    return i == by_url.end() ? std::string{"absent"} : i->second.outcome + " " + std::to_string(i->second.depth);
  };
  for (uint32_t h : {3u, 8u}) {
    INFO("host " << h);
    auto o = m.origin(h);
    // Sitemaps at depth 0, what they list one level down.
    for (auto s : {"/sitemap.xml", "/sitemaps/pages.xml.gz", "/sitemaps/archive.txt"})
      CHECK(outcome(o + s) == "200 0");
    for (uint32_t n = 0; n < m.archive_pages(); ++n)
      CHECK(outcome(o + "/archive/" + std::to_string(n)) == "200 1");
    CHECK(outcome(o + m.page_path(1)) == "200 1");
    CHECK(outcome(o + "/private/5") == "robots_denied 1");
    // The next host's /archive/0, which this host's sitemap lists, is refused.
    REQUIRE(!m.has_sitemaps(h + 1));
    CHECK(outcome(m.origin(h + 1) + "/archive/0") == "absent");
  }
  // Without sitemaps: none of them, and the same outcomes for the rest, at
  // the same depth or deeper (a sitemap's entries are one level down).
  truth_options off;
  off.sitemaps = false;
  auto without = m.truth(off);
  std::set<std::string> without_urls;
  for (auto& e : without) {
    INFO(e.url);
    without_urls.insert(e.url);
    CHECK(e.url.find("/sitemap") == std::string::npos);
    CHECK(e.url.find("/archive/") == std::string::npos);
    REQUIRE(by_url.count(e.url) == 1);
    CHECK(by_url[e.url].outcome == e.outcome);
    CHECK(by_url[e.url].depth <= e.depth);
  }
  for (auto& e : truth) {
    INFO(e.url);
    if (without_urls.count(e.url) == 0)
      CHECK((e.url.find("/sitemap") != std::string::npos || e.url.find("/archive/") != std::string::npos
             || e.url.find("/private/5") != std::string::npos));
  }
  CHECK(truth.size() >= without.size() + 2 * (3 + m.archive_pages()));
  // A depth limit cuts a sitemap's pages, not the sitemaps.
  truth_options front;
  front.seeds = {m.origin(3) + "/"};
  front.max_depth = 0;
  std::vector<std::string> urls;
  for (auto& e : m.truth(front))
    urls.push_back(e.url);
  auto o = m.origin(3);
  CHECK(urls == std::vector<std::string>{o + "/", o + "/sitemap.xml", o + "/sitemaps/archive.txt",
                                         o + "/sitemaps/pages.xml.gz"});
}

TEST_CASE("site HTTP dates: IMF-fixdate out, RFC 9110's three formats in (section 5.6.7)",
          "[site]") {
  // RFC 9110's example, in each of its formats.
  CHECK(http_date(784111777) == "Sun, 06 Nov 1994 08:49:37 GMT");
  CHECK(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT") == 784111777);
  CHECK(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT") == 784111777);
  CHECK(parse_http_date("Sun Nov  6 08:49:37 1994") == 784111777);
  CHECK(http_date(0) == "Thu, 01 Jan 1970 00:00:00 GMT");
  CHECK(http_date(951782400) == "Tue, 29 Feb 2000 00:00:00 GMT");
  for (int64_t t : {0ll, 68255999ll, 951868799ll, 1767225600ll, 4102444800ll, 253402300799ll}) {
    INFO(t);
    CHECK(parse_http_date(http_date(t)) == t);
  }
  for (auto bad : {"", "Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 6 Nov 1994 08:49:37 GMT",
                   "sun, 06 Nov 1994 08:49:37 GMT", "Sun, 31 Nov 1994 08:49:37 GMT",
                   "Sun, 06 Nov 1994 24:00:00 GMT", "Sun, 06 Nov 1994 08:49:37 GMT, x",
                   " Sun, 06 Nov 1994 08:49:37 GMT", "1994-11-06T08:49:37Z"}) {
    INFO(bad);
    CHECK(!parse_http_date(bad));
  }
  // The site's date: 2026-01-01 less seed % 1000 days, the same for every page.
  CHECK(http_date(site_model{{1, 5, 0, false, {}}}.last_modified()) == "Thu, 01 Jan 2026 00:00:00 GMT");
  CHECK(http_date(site_model{{1, 5, 1, false, {}}}.last_modified()) == "Wed, 31 Dec 2025 00:00:00 GMT");
  CHECK(http_date(site_model{{1, 5, 999, false, {}}}.last_modified()) == "Sat, 08 Apr 2023 00:00:00 GMT");
  CHECK(site_model{{1, 5, 1000, false, {}}}.last_modified() == site_model{{1, 5, 0, false, {}}}.last_modified());
}

TEST_CASE("site sends ETag and Last-Modified with every 200 and only then (RFC 9110 section 8.8)",
          "[site]") {
  site_server server{{10, 20, 1, false, std::chrono::seconds(1)}, {}};
  REQUIRE(server.listen() == "");
  server.start();
  auto& m = server.model();
  auto port = server.port();
  auto date = http_date(m.last_modified());
  for (auto& [h, target] : std::vector<std::pair<uint32_t, std::string>>{
         {0, "/"}, {0, "/p/8"}, {0, "/robots.txt"}, {0, "/private/2"}, {0, "/calendar/2026/1/"},
         {3, "/sitemap.xml"}, {3, "/sitemaps/pages.xml.gz"}, {3, "/sitemaps/archive.txt"},
         {3, "/archive/0"}}) {
    INFO(h << " " << target);
    auto a = request(m.host_address(h), port, target);
    REQUIRE(a.status == 200);
    // A strong tag: the FNV-1a hash of the body, 16 hex digits in quotes.
    auto etag = header(a, "ETag");
    CHECK(etag == entity_tag(a.body));
    REQUIRE(etag.size() == 18);
    CHECK(etag.find_first_not_of("0123456789abcdef", 1) == 17);
    CHECK(header(a, "Last-Modified") == date);
    // The same again (the model is deterministic), and with HEAD.
    CHECK(header(request(m.host_address(h), port, target), "ETag") == etag);
    CHECK(header(request(m.host_address(h), port, target, http::verb::head), "ETag") == etag);
  }
  CHECK(header(request(m.host_address(0), port, "/"), "ETag")
        != header(request(m.host_address(1), port, "/"), "ETag"));
  for (auto target : {"/missing/1", "/old/4", "/moved/5"}) {
    INFO(target);
    auto a = request(m.host_address(0), port, target);
    CHECK(a.status != 200);
    CHECK(header(a, "ETag").empty());
    CHECK(header(a, "Last-Modified").empty());
  }
  // With the response cache the validators are kept with the body.
  server_options cached;
  cached.cache_bytes = 1 << 20;
  site_server again{{10, 20, 1, false, std::chrono::seconds(1)}, cached};
  REQUIRE(again.listen() == "");
  again.start();
  auto first = request("127.0.1.1", again.port(), "/p/8");
  auto second = request("127.0.1.1", again.port(), "/p/8");
  CHECK(header(first, "ETag") == entity_tag(first.body));
  CHECK(header(second, "ETag") == header(first, "ETag"));
  CHECK(header(second, "Last-Modified") == date);
  again.stop();
  server.stop();
}

TEST_CASE("site answers 304 to If-None-Match naming its ETag, weakly compared (RFC 9110 "
          "sections 13.1.2 and 8.8.3.2)",
          "[site]") {
  auto log_path = std::string{"site-304-test.log"};
  std::remove(log_path.c_str());
  server_options opts;
  opts.access_log = log_path;
  site_server server{{10, 20, 1, false, std::chrono::seconds(1)}, opts};
  REQUIRE(server.listen() == "");
  server.start();
  auto& m = server.model();
  auto port = server.port();
  auto ip = m.host_address(0);
  auto full = request(ip, port, "/p/8");
  REQUIRE(full.status == 200);
  auto etag = header(full, "ETag");
  REQUIRE(!etag.empty());
  // The current tag: 304, no content, the same validators.
  auto same = get_with(ip, port, "/p/8", {{http::field::if_none_match, etag}});
  CHECK(same.status == 304);
  CHECK(same.body.empty());
  CHECK(same.content_length.empty()); // not "0": that would not be the 200's length
  CHECK(header(same, "ETag") == etag);
  CHECK(header(same, "Last-Modified") == header(full, "Last-Modified"));
  CHECK(same.content_type.empty());
  // Weak comparison: W/ is ignored; the tag may be anywhere in a list; * matches.
  CHECK(get_with(ip, port, "/p/8", {{http::field::if_none_match, "W/" + etag}}).status == 304);
  CHECK(get_with(ip, port, "/p/8", {{http::field::if_none_match, "\"a,b\", W/\"x\" ," + etag}}).status
        == 304);
  CHECK(get_with(ip, port, "/p/8",
                 {{http::field::if_none_match, "\"x\""}, {http::field::if_none_match, etag}})
          .status == 304);
  CHECK(get_with(ip, port, "/p/8", {{http::field::if_none_match, "*"}}).status == 304);
  CHECK(request(ip, port, "/p/8", http::verb::head, nullptr, {},
                {{http::field::if_none_match, etag}})
          .status == 304);
  // Another tag, another page's tag, a malformed list: the page, in full.
  for (auto other : {std::string{"\"0000000000000000\""}, header(request(ip, port, "/p/4"), "ETag"),
                     etag.substr(1), std::string{"W/"}}) {
    INFO(other);
    auto a = get_with(ip, port, "/p/8", {{http::field::if_none_match, other}});
    CHECK(a.status == 200);
    CHECK(a.body == full.body);
    CHECK(header(a, "ETag") == etag);
  }
  // Only a 200 is ever made conditional.
  CHECK(get_with(ip, port, "/missing/1", {{http::field::if_none_match, "*"}}).status == 404);
  CHECK(get_with(ip, port, "/old/4", {{http::field::if_none_match, "*"}}).status == 301);
  // A 304 ends at its header: the same connection carries the next answer.
  {
    asio::io_context ioc;
    beast::tcp_stream stream{ioc};
    stream.expires_after(std::chrono::seconds(10));
    stream.connect(tcp::endpoint{asio::ip::make_address(ip), port});
    beast::flat_buffer buffer;
    std::vector<http::response<http::string_body>> answers;
    for (auto& tag : {etag, std::string{"\"other\""}}) {
      http::request<http::empty_body> req{http::verb::get, "/p/8", 11};
      req.set(http::field::host, ip + ":" + std::to_string(port));
      req.set(http::field::if_none_match, tag);
      http::write(stream, req);
      answers.emplace_back();
      http::read(stream, buffer, answers.back());
    }
    CHECK(answers[0].result_int() == 304);
    CHECK(answers[0].body().empty());
    CHECK(answers[0].keep_alive());
    CHECK(answers[1].result_int() == 200);
    CHECK(answers[1].body() == full.body);
  }
  server.stop();
  // The access log has the 304 with no bytes of body.
  std::ifstream in{log_path};
  std::size_t not_modified = 0;
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> fields;
    std::istringstream fs{line};
    for (std::string f; std::getline(fs, f, '\t');)
      fields.push_back(f);
    REQUIRE(fields.size() == 7);
    if (fields[4] == "304") {
      ++not_modified;
      CHECK(fields[5] == "0");
    }
  }
  CHECK(not_modified == 7);
  std::remove(log_path.c_str());
}

TEST_CASE("site answers 304 to If-Modified-Since not before Last-Modified, unless If-None-Match "
          "is sent (RFC 9110 sections 13.1.3 and 13.2.2)",
          "[site]") {
  site_server server{{10, 20, 1, false, std::chrono::seconds(1)}, {}};
  REQUIRE(server.listen() == "");
  server.start();
  auto& m = server.model();
  auto port = server.port();
  auto ip = m.host_address(0);
  auto full = request(ip, port, "/articles/5.html");
  REQUIRE(full.status == 200);
  auto modified = header(full, "Last-Modified");
  auto t = parse_http_date(modified);
  REQUIRE(t);
  auto since = [&](const std::string& date) {
    return get_with(ip, port, "/articles/5.html", {{http::field::if_modified_since, date}});
  };
  // The date it was sent with, or later: not modified.
  auto same = since(modified);
  CHECK(same.status == 304);
  CHECK(same.body.empty());
  CHECK(header(same, "ETag") == header(full, "ETag"));
  CHECK(header(same, "Last-Modified") == modified);
  CHECK(since(http_date(*t + 86400)).status == 304);
  // The obsolete formats of the same date count too (section 5.6.7).
  auto day = http_date(*t); // "Wed, 31 Dec 2025 00:00:00 GMT"
  REQUIRE(day == "Wed, 31 Dec 2025 00:00:00 GMT");
  CHECK(since("Wednesday, 31-Dec-25 00:00:00 GMT").status == 304);
  CHECK(since("Wed Dec 31 00:00:00 2025").status == 304);
  // A day, or a second, earlier: modified since, the page in full.
  auto earlier = since(http_date(*t - 86400));
  CHECK(earlier.status == 200);
  CHECK(earlier.body == full.body);
  CHECK(since(http_date(*t - 1)).status == 200);
  // Not an HTTP-date: ignored.
  CHECK(since("yesterday").status == 200);
  CHECK(since("2025-12-31").status == 200);
  // If-None-Match decides when present: a stale tag wins over a current date.
  CHECK(get_with(ip, port, "/articles/5.html",
                 {{http::field::if_none_match, "\"0000000000000000\""},
                  {http::field::if_modified_since, modified}})
          .status == 200);
  CHECK(get_with(ip, port, "/articles/5.html",
                 {{http::field::if_none_match, header(full, "ETag")},
                  {http::field::if_modified_since, http_date(*t - 86400)}})
          .status == 304);
  // Only a 200 is ever made conditional.
  CHECK(get_with(ip, port, "/missing/1", {{http::field::if_modified_since, modified}}).status
        == 404);
  server.stop();
}

TEST_CASE("site gives a gzip-encoded answer its own ETag, matched only by itself (RFC 9110 "
          "section 8.8.3)",
          "[site]") {
  site_server server{{10, 20, 1, false, std::chrono::seconds(1)}, {}};
  REQUIRE(server.listen() == "");
  server.start();
  auto& m = server.model();
  auto port = server.port();
  auto ip = m.host_address(3);
  REQUIRE(m.has_sitemaps(3));
  auto plain = request(ip, port, "/sitemap.xml");
  auto zipped = request(ip, port, "/sitemap.xml", http::verb::get, nullptr, "gzip");
  REQUIRE(plain.status == 200);
  REQUIRE(zipped.content_encoding == "gzip");
  auto tag = header(plain, "ETag");
  auto gz_tag = header(zipped, "ETag");
  CHECK(tag == entity_tag(plain.body));
  CHECK(gz_tag == tag.substr(0, 17) + "-gz\"");
  CHECK(header(zipped, "Last-Modified") == header(plain, "Last-Modified"));
  // Each representation's tag makes only that representation 304.
  auto gz_same = get_with(ip, port, "/sitemap.xml", {{http::field::if_none_match, gz_tag}}, "gzip");
  CHECK(gz_same.status == 304);
  CHECK(gz_same.body.empty());
  CHECK(gz_same.content_encoding.empty());
  CHECK(header(gz_same, "ETag") == gz_tag);
  CHECK(header(gz_same, "Vary") == "Accept-Encoding");
  auto gz_other = get_with(ip, port, "/sitemap.xml", {{http::field::if_none_match, tag}}, "gzip");
  CHECK(gz_other.status == 200);
  CHECK(gunzip(gz_other.body) == plain.body);
  CHECK(get_with(ip, port, "/sitemap.xml", {{http::field::if_none_match, gz_tag}}).status == 200);
  auto plain_same = get_with(ip, port, "/sitemap.xml", {{http::field::if_none_match, tag}});
  CHECK(plain_same.status == 304);
  CHECK(header(plain_same, "ETag") == tag);
  CHECK(header(plain_same, "Vary") == "Accept-Encoding");
  // A .gz file is no encoding: one representation, one tag, whatever the client accepts.
  auto file = request(ip, port, "/sitemaps/pages.xml.gz", http::verb::get, nullptr, "gzip");
  CHECK(header(file, "ETag") == entity_tag(file.body));
  CHECK(get_with(ip, port, "/sitemaps/pages.xml.gz", {{http::field::if_none_match, header(file, "ETag")}})
          .status == 304);
  server.stop();
}

TEST_CASE("site binds only its hosts' addresses", "[site]") {
  site_server server{{2, 5, 1, false, std::chrono::seconds(1)}, {}};
  REQUIRE(server.listen() == "");
  server.start();
  CHECK(request("127.0.1.2", server.port(), "/").status == 200);
  CHECK_THROWS(request("127.0.0.1", server.port(), "/"));
  CHECK_THROWS(request("127.0.1.3", server.port(), "/"));
  // A second site cannot take the same port on the same addresses.
  site_server clash{{2, 5, 1, false, std::chrono::seconds(1)}, {}};
  CHECK(clash.listen(server.port()).find("cannot listen on 127.0.1.1") == 0);
  server.stop();
}

TEST_CASE("site serves HTTPS that verifies against its CA only", "[site][tls]") {
  site_server server{{3, 5, 1, true, std::chrono::seconds(1)}, {}};
  REQUIRE(server.listen() == "");
  server.start();
  REQUIRE(server.tls() != nullptr);
  CHECK(server.model().origin(1).rfind("https://127.0.1.2:", 0) == 0);
  ssl::context trusting{ssl::context::tls_client};
  trusting.add_certificate_authority(asio::buffer(server.tls()->ca_pem));
  auto a = request("127.0.1.2", server.port(), "/", http::verb::get, &trusting);
  CHECK(a.status == 200);
  CHECK(a.body.find("https://127.0.1.") != std::string::npos);
  ssl::context empty{ssl::context::tls_client};
  CHECK_THROWS(request("127.0.1.2", server.port(), "/", http::verb::get, &empty));
  server.stop();
}

TEST_CASE("site writes an access log line per response", "[site]") {
  auto path = std::string{"site-access-test.log"};
  std::remove(path.c_str());
  server_options opts;
  opts.access_log = path;
  {
    site_server server{{2, 5, 1, false, std::chrono::seconds(1)}, opts};
    REQUIRE(server.listen() == "");
    server.start();
    request("127.0.1.1", server.port(), "/");
    request("127.0.1.2", server.port(), "/missing/1");
    server.stop();
    CHECK(server.responses() == 2);
  }
  std::ifstream in{path};
  std::vector<std::vector<std::string>> lines;
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> fields;
    std::istringstream fs{line};
    for (std::string f; std::getline(fs, f, '\t');)
      fields.push_back(f);
    lines.push_back(fields);
  }
  REQUIRE(lines.size() == 2);
  REQUIRE(lines[0].size() == 7);
  CHECK(lines[0][2] == "127.0.1.1");
  CHECK(lines[0][3] == "/");
  CHECK(lines[0][4] == "200");
  CHECK(std::stoll(lines[0][1]) >= std::stoll(lines[0][0]));
  CHECK(lines[1][2] == "127.0.1.2");
  CHECK(lines[1][4] == "404");
  std::remove(path.c_str());
}
