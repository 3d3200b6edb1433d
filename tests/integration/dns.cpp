// DNS against a real resolver: dnsmasq on a loopback port with its own
// records answers the HTTP client's c-ares lookups; nginx listens on the
// addresses the names lead to and logs which one each request reached.

#include "arachne/http_client.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <string>
#include <thread>

#include <sys/socket.h>

#include "http/resolver.hpp"
#include "support/dnsmasq.hpp"
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

// The address nginx received the last request on.
std::string last_address(const nginx_server& server) {
  auto all = server.requests();
  REQUIRE(!all.empty());
  return all.back().server_address;
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
  temp_dir dir{"dns-ttl"};
  fs::create_directories(dir.path / "www");
  std::ofstream{dir.path / "www" / "index.html"} << "hello";
  nginx_server server{dir.path, "    listen 127.0.0.2:{port};\n"};
  dnsmasq dns{dir.path / "dns", "127.0.0.1 moving.test\n", 2};
  auto url = "http://moving.test:" + std::to_string(server.port) + "/";
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
  temp_dir dir{"dns-min-ttl"};
  fs::create_directories(dir.path / "www");
  std::ofstream{dir.path / "www" / "index.html"} << "hello";
  nginx_server server{dir.path, "    listen 127.0.0.2:{port};\n"};
  dnsmasq dns{dir.path / "dns", "127.0.0.1 moving.test\n", 1};
  auto url = "http://moving.test:" + std::to_string(server.port) + "/";
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
