#include "site_server.hpp"

#include <catch2/catch.hpp>

#include <deque>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#define restrict __restrict
#include <wget.h>
#undef restrict

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
  std::string body;
};

// One blocking request on a fresh connection; throws on network errors.
answer request(const std::string& ip, uint16_t port, const std::string& target,
               http::verb verb = http::verb::get, ssl::context* tls = nullptr) {
  asio::io_context ioc;
  http::request<http::empty_body> req{verb, target, 11};
  req.set(http::field::host, ip + ":" + std::to_string(port));
  req.set(http::field::connection, "close");
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
  a.body = std::move(res.body());
  return a;
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

// A polite breadth-first crawl over HTTP, independent of the model: robots.txt
// as served, links as libwget finds them in the served HTML.
std::vector<truth_entry> crawl_over_http(const site_model& model, std::optional<uint32_t> max_depth) {
  auto port = model.port();
  std::unordered_map<std::string, robots_rules> robots;
  auto rules_for = [&](const url& u) -> const robots_rules& {
    auto host = std::string{u.hostname()};
    auto i = robots.find(host);
    if (i == robots.end()) {
      auto a = request(host, port, "/robots.txt");
      auto rules = a.status == 200 ? robots_rules::parse(a.body, "arachne/0.1")
                   : a.status >= 500 ? robots_rules::disallow_all() : robots_rules::allow_all();
      i = robots.emplace(host, std::move(rules)).first;
    }
    return i->second;
  };
  std::map<std::string, uint32_t> depth;
  std::set<std::string> done;
  std::deque<std::pair<url, uint32_t>> queue;
  auto reach = [&](url u, uint32_t d, bool front) {
    auto [it, added] = depth.emplace(u.str(), d);
    if (!added && it->second <= d)
      return;
    it->second = d;
    front ? queue.emplace_front(std::move(u), d) : queue.emplace_back(std::move(u), d);
  };
  reach(*parse_url(model.origin(0) + "/"), 0, false);
  std::vector<truth_entry> out;
  while (!queue.empty()) {
    auto [u, d] = queue.front();
    queue.pop_front();
    if (depth[u.str()] != d || !done.insert(u.str()).second)
      continue;
    if (!max_depth && u.path().substr(0, 10) == "/calendar/")
      continue;
    truth_entry e{u.str(), {}, {}, d};
    if (!rules_for(u).allowed(u.target())) {
      e.outcome = "robots_denied";
      out.push_back(e);
      continue;
    }
    auto a = request(std::string{u.hostname()}, port, std::string{u.target()});
    e.outcome = std::to_string(a.status);
    e.location = a.location;
    if (!a.location.empty()) {
      if (auto next = resolve_url(u, a.location))
        reach(*next, d, true);
    } else if (a.status == 200 && (!max_depth || d < *max_depth)) {
      for (auto& href : extract_links(a.body))
        if (auto next = resolve_url(u, href))
          reach(*next, d + 1, false);
    }
    out.push_back(e);
  }
  std::sort(out.begin(), out.end(), [](auto& x, auto& y) { return x.url < y.url; });
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
