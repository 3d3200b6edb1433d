// DNS against a real resolver: dnsmasq on a loopback port with its own
// records answers the HTTP client's c-ares lookups; nginx listens on the
// addresses the names lead to and logs which one each request reached.

#include "arachne/crawl.hpp"
#include "arachne/http_client.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <sys/socket.h>

#include "caf/actor_system.hpp"

#include "http/resolver.hpp"
#include "support/dnsmasq.hpp"
#include "support/memory_sink.hpp"
#include "support/nginx_server.hpp"
#include "support/temp_dir.hpp"

using namespace arachne;
using namespace std::chrono_literals;

namespace {

namespace fs = std::filesystem;

using testing::dnsmasq;
using testing::nginx_server;
using testing::temp_dir;

fetch_result get(http_client& c, const std::string& url) {
  std::promise<fetch_result> p;
  fetch_request req;
  req.url = url;
  c.fetch(req, [&p](fetch_result r) { p.set_value(std::move(r)); });
  return p.get_future().get();
}

// A client that asks `dns` and opens a new connection for every request
// (so that every request needs the name's addresses).
std::unique_ptr<http_client> client_of(const dnsmasq& dns, http_options opts = {}) {
  opts.dns_servers = {dns.server()};
  opts.io_threads = 1;
  opts.pool_per_host = 0;
  opts.connect_timeout = 3s;
  auto c = http_client::make(opts);
  REQUIRE(c);
  return std::move(*c);
}

// A page served on 127.0.0.1 and 127.0.0.2, and a name, moving.test, that
// leads to the first with time to live `ttl` seconds.
struct moving_site {
  temp_dir dir;
  nginx_server server;
  dnsmasq dns;
  std::string url;

  moving_site(const std::string& name, int ttl)
    : dir(name),
      server((hello(dir.path), nginx_server{dir.path, "    listen 127.0.0.2:{port};\n"})),
      dns(dir.path / "dns", "127.0.0.1 moving.test\n", ttl),
      url("http://moving.test:" + std::to_string(server.port) + "/") {}

  static void hello(const fs::path& d) {
    fs::create_directories(d / "www");
    std::ofstream{d / "www" / "index.html"} << "hello";
  }
};

// The address nginx received the last request on.
std::string last_address(const nginx_server& server) {
  auto all = server.requests();
  REQUIRE(!all.empty());
  return all.back().server_address;
}

// The most requests nginx was answering at once, from when each began
// ($msec less $request_time) to when it ended. Both are in milliseconds, so
// a begin may be up to 2 ms off: each span is taken 2 ms shorter at either
// end (requests that short, robots.txt here, are left out), lest a request
// that began just as another ended look like an overlap.
int most_at_once(const std::vector<nginx_server::request_line>& requests) {
  constexpr double rounding = 0.002;
  std::vector<std::pair<double, int>> events; // (time, +1 begin / -1 end); ends first at a tie
  for (auto& r : requests) {
    if (r.took <= 2 * rounding)
      continue;
    events.emplace_back(r.ended - r.took + rounding, +1);
    events.emplace_back(r.ended - rounding, -1);
  }
  std::sort(events.begin(), events.end());
  int now = 0, most = 0;
  for (auto& [t, d] : events)
    most = std::max(most, now += d);
  return most;
}

// Twenty hosts on one address: names h1.test ... h20.test, all 127.0.0.1.
std::string twenty_hosts() {
  std::string out;
  for (int i = 1; i <= 20; ++i)
    out += "127.0.0.1 h" + std::to_string(i) + ".test\n";
  return out;
}

// Crawls the front page of each of `hosts` hosts (no links followed) with
// the names from `dns`; `tune` sets the politeness.
void crawl_hosts(const dnsmasq& dns, const nginx_server& server, int hosts,
                 const std::function<void(config&)>& tune) {
  config cfg;
  cfg.crawl.threads = 2;
  cfg.crawl.http.io_threads = 2;
  cfg.crawl.http.dns_servers = {dns.server()};
  cfg.crawl.politeness.delay = 0ms;
  cfg.crawl.scope.max_depth = 0;
  tune(cfg);
  cfg.apply();
  std::vector<std::string> seeds;
  for (int i = 1; i <= hosts; ++i)
    seeds.push_back("http://h" + std::to_string(i) + ".test:" + std::to_string(server.port) + "/");
  auto records = std::make_shared<std::vector<record>>();
  caf::actor_system sys{cfg};
  crawl c{sys, cfg};
  c.add_sink(sys.spawn(testing::memory_sink, records));
  REQUIRE(c.run(seeds));
  CHECK(records->size() == static_cast<std::size_t>(hosts));
  for (auto& r : *records) {
    INFO(r.url);
    CHECK(r.status == 200);
  }
}

// Pages nginx sends slowly (100 kB at 400 kB/s: about 0.25 s each), robots.txt at once.
const char* slow_pages = R"(
    location = /robots.txt { }
    location / { limit_rate 400k; limit_rate_after 0; }
)";

void slow_site(const fs::path& www) {
  fs::create_directories(www);
  std::ofstream{www / "robots.txt"} << "User-agent: *\nAllow: /\n";
  std::ofstream{www / "index.html"} << "<title>slow</title>" << std::string(100000, ' ');
}

} // namespace

TEST_CASE("the DNS server and IP version options read addresses and families, and refuse the rest",
          "[dns]") {
  using http_detail::parse_dns_servers;
  CHECK(*parse_dns_servers({"127.0.0.1:5353", "[::1]:53", "8.8.8.8"})
        == "127.0.0.1:5353,[::1]:53,8.8.8.8");
  CHECK(*parse_dns_servers({}) == "");
  CHECK_FALSE(parse_dns_servers({"dns.example:53"})); // a name: who would resolve it?
  CHECK_FALSE(parse_dns_servers({"127.0.0.1:0"}));
  CHECK_FALSE(parse_dns_servers({"[::1"}));
  CHECK(*http_detail::parse_ip_version("any") == AF_UNSPEC);
  CHECK(*http_detail::parse_ip_version("6") == AF_INET6);
  CHECK_FALSE(http_detail::parse_ip_version("5"));
  http_options bad;
  bad.dns_servers = {"nowhere"};
  CHECK_FALSE(http_client::make(bad));
}

TEST_CASE("resolved addresses are kept for their time to live, and a changed record is used once "
          "it expired",
          "[dns][integration]") {
  moving_site site{"dns-ttl", 2};
  auto& [dir, server, dns, url] = site;
  http_options opts;
  opts.dns_min_ttl = 0s;
  auto c = client_of(dns, opts);

  auto first = get(*c, url);
  REQUIRE(first.status == 200);
  auto looked_up = std::chrono::steady_clock::now();
  CHECK(last_address(server) == "127.0.0.1");
  CHECK(dns.queries("moving.test") == 1);
  dns.set_hosts("127.0.0.2 moving.test\n");
  // Within the 2 s the answer holds: the old address, no new query.
  REQUIRE(get(*c, url).status == 200);
  REQUIRE(std::chrono::steady_clock::now() - looked_up < 2s); // (what the check below relies on)
  CHECK(last_address(server) == "127.0.0.1");
  CHECK(dns.queries("moving.test") == 1);
  // After it: asked again, the new address.
  std::this_thread::sleep_until(looked_up + 2500ms);
  REQUIRE(get(*c, url).status == 200);
  CHECK(last_address(server) == "127.0.0.2");
  CHECK(dns.queries("moving.test") == 2);
}

TEST_CASE("a minimum DNS time to live keeps an answer longer than its own", "[dns][integration]") {
  moving_site site{"dns-min-ttl", 1};
  auto& [dir, server, dns, url] = site;
  http_options opts;
  opts.dns_min_ttl = 30s;
  auto c = client_of(dns, opts);
  REQUIRE(get(*c, url).status == 200);
  dns.set_hosts("127.0.0.2 moving.test\n");
  std::this_thread::sleep_for(1500ms); // past the record's own 1 s
  REQUIRE(get(*c, url).status == 200);
  CHECK(last_address(server) == "127.0.0.1");
  CHECK(dns.queries("moving.test") == 1);
}

TEST_CASE("every address of a name is kept: a dead one falls over to the next, in either family",
          "[dns][integration]") {
  temp_dir dir{"dns-fallover"};
  fs::create_directories(dir.path / "www");
  std::ofstream{dir.path / "www" / "index.html"} << "hello";
  // nginx on IPv4 only: the name's IPv6 address refuses connections. (RFC
  // 6724 puts ::1 before 127.0.0.1, so the dead address is tried first.)
  nginx_server server{dir.path};
  dnsmasq dns{dir.path / "dns", "::1 both.test\n127.0.0.1 both.test\n", 60};
  auto url = "http://both.test:" + std::to_string(server.port) + "/";

  auto any = get(*client_of(dns), url);
  CHECK(any.status == 200);
  CHECK(any.remote_address == "127.0.0.1:" + std::to_string(server.port));

  http_options only6;
  only6.ip_version = "6";
  auto six = get(*client_of(dns, only6), url);
  CHECK(six.error == crawl_errc::connect_failed);
  CHECK(dns.queries("both.test", "A") == 1); // (the IPv6-only client asked for AAAA only)

  http_options only4;
  only4.ip_version = "4";
  CHECK(get(*client_of(dns, only4), url).status == 200);
}

TEST_CASE("a name the server does not know fails as dns_failed, and a dead server in time",
          "[dns][integration]") {
  temp_dir dir{"dns-fail"};
  dnsmasq dns{dir.path / "dns", "127.0.0.1 known.test\n", 60};
  auto unknown = get(*client_of(dns), "http://unknown.test/");
  CHECK(unknown.error == crawl_errc::dns_failed);
  CHECK(unknown.error_message.find("unknown.test") != std::string::npos);
  // Nobody answers on this port: the lookup ends at --connect-timeout.
  http_options opts;
  opts.dns_servers = {"127.0.0.1:9"};
  opts.io_threads = 1;
  opts.connect_timeout = 1s;
  auto c = http_client::make(opts);
  REQUIRE(c);
  auto started = std::chrono::steady_clock::now();
  auto silent = get(**c, "http://known.test/");
  CHECK(silent.error == crawl_errc::dns_failed);
  CHECK(std::chrono::steady_clock::now() - started < 10s);
  // A client stopped while a lookup waits ends it as cancelled, at once.
  opts.connect_timeout = 30s;
  auto waiting = http_client::make(opts);
  REQUIRE(waiting);
  std::promise<fetch_result> p;
  fetch_request req;
  req.url = "http://known.test/";
  (*waiting)->fetch(req, [&p](fetch_result r) { p.set_value(std::move(r)); });
  std::this_thread::sleep_for(200ms);
  started = std::chrono::steady_clock::now();
  (*waiting)->stop();
  auto stopped = p.get_future().get();
  CHECK(stopped.error == crawl_errc::cancelled);
  CHECK(std::chrono::steady_clock::now() - started < 2s);
}

TEST_CASE("twenty hosts on one address with a per-IP concurrency of 2 never have more than 2 "
          "requests at nginx at once; per host alone they have many",
          "[dns][politeness][integration]") {
  temp_dir dir{"dns-per-ip"};
  slow_site(dir.path / "www");
  nginx_server server{dir.path, slow_pages};
  dnsmasq dns{dir.path / "dns", twenty_hosts(), 60};

  crawl_hosts(dns, server, 20, [](config& cfg) { cfg.crawl.politeness.per_ip_concurrency = 2; });
  auto shared = server.requests();
  CHECK(shared.size() == 40); // a robots.txt and a front page per host
  CHECK(most_at_once(shared) <= 2);
  CHECK(most_at_once(shared) == 2); // (and the two were used)

  // Per host only (the default), the same crawl has them at once.
  crawl_hosts(dns, server, 20, [](config&) {});
  auto all = server.requests();
  std::vector<nginx_server::request_line> alone(all.begin() + 40, all.end());
  CHECK(most_at_once(alone) > 4);
}

TEST_CASE("hosts on one address with a per-IP delay start their requests that far apart",
          "[dns][politeness][integration]") {
  temp_dir dir{"dns-per-ip-delay"};
  fs::create_directories(dir.path / "www");
  std::ofstream{dir.path / "www" / "robots.txt"} << "User-agent: *\nAllow: /\n";
  std::ofstream{dir.path / "www" / "index.html"} << "<title>quick</title>";
  nginx_server server{dir.path};
  dnsmasq dns{dir.path / "dns", twenty_hosts(), 60};
  crawl_hosts(dns, server, 6, [](config& cfg) { cfg.crawl.politeness.per_ip_delay = 300ms; });
  auto requests = server.requests();
  REQUIRE(requests.size() == 12);
  std::vector<double> starts;
  for (auto& r : requests)
    starts.push_back(r.ended - r.took);
  std::sort(starts.begin(), starts.end());
  // nginx sees a request a little after the crawler starts it, and not
  // always equally late: a third of the gap is left for that.
  for (std::size_t i = 1; i < starts.size(); ++i) {
    INFO(i);
    CHECK(starts[i] - starts[i - 1] >= 0.2);
  }
}
