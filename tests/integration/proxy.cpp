// Fetches and whole crawls through real proxies on loopback: tinyproxy (HTTP
// and CONNECT, Basic credentials), microsocks (SOCKS5, user/password) and
// Arachne's own test proxy (credentials with 407, TLS, and a banning mode).

#include "arachne/crawl.hpp"
#include "arachne/http_client.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include <unistd.h>

#include "caf/actor_system.hpp"

#include "site_server.hpp"
#include "support/bad_server.hpp"
#include "support/memory_sink.hpp"
#include "support/nginx_server.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"
#include "support/test_proxy.hpp"
#include "tls_material.hpp"

using namespace arachne;
using namespace std::chrono_literals;
using testing::bad_server;
using testing::child_process;
using testing::test_proxy;
using testing::test_proxy_options;
using testing::temp_dir;

namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in{p};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1))
    ++n;
  return n;
}

/// tinyproxy on a free loopback port, optionally with Basic credentials.
struct tinyproxy {
  fs::path dir;
  uint16_t port = 0;
  std::string user, pass;
  std::unique_ptr<child_process> proc;

  bool via = false; // name itself in a Via header (else none is added)
  std::string name;

  tinyproxy(const fs::path& base, const std::string& n, std::string u = {}, std::string p = {},
            bool add_via = false)
    : dir(base / n), user(std::move(u)), pass(std::move(p)), via(add_via), name(n) {
    fs::create_directories(dir);
    fs::permissions(dir, fs::perms::all);
    // The port was free a moment ago; if another process took it since,
    // tinyproxy exits and we try another.
    for (int attempt = 0; attempt < 5 && !started(); ++attempt)
      start();
    REQUIRE(started());
  }

  bool started() { return proc && proc->alive(); }

  void start() {
    port = testing::free_port();
    std::ofstream conf{dir / "tinyproxy.conf"};
    if (::geteuid() == 0)
      conf << "User nobody\nGroup nogroup\n";
    conf << "Port " << port << "\nListen 127.0.0.1\nTimeout 30\nMaxClients 200\n"
         << "Allow 127.0.0.1\n"
         << (via ? "ViaProxyName \"" + name + "\"\n" : std::string{"DisableViaHeader Yes\n"})
         << "LogLevel Connect\n"
         << "LogFile \"" << (dir / "tinyproxy.log").string() << "\"\n";
    if (!user.empty())
      conf << "BasicAuth " << user << " " << pass << "\n";
    conf.close();
    proc = std::make_unique<child_process>(
      std::vector<std::string>{"tinyproxy", "-d", "-c", (dir / "tinyproxy.conf").string()},
      (dir / "stdout.log").string());
    if (!proc->started() || !testing::wait_for_port(port)) {
      proc.reset();
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }

  std::string url(bool with_credentials = true) const {
    auto creds = with_credentials && !user.empty() ? user + ":" + pass + "@" : std::string{};
    return "http://" + creds + "127.0.0.1:" + std::to_string(port);
  }

  /// Requests tinyproxy logged ("Request (file descriptor N): GET http://...").
  std::string log() const { return slurp(dir / "tinyproxy.log"); }
  std::size_t requests() const { return count_of(log(), "Request (file descriptor"); }
};

/// microsocks on a free loopback port, optionally with user/password.
struct microsocks {
  uint16_t port = 0;
  std::string user, pass;
  std::unique_ptr<child_process> proc;

  microsocks(const fs::path& base, const std::string& name, std::string u = {}, std::string p = {})
    : user(std::move(u)), pass(std::move(p)) {
    // As for tinyproxy: another port if this one was taken meanwhile.
    for (int attempt = 0; attempt < 5 && !(proc && proc->alive()); ++attempt) {
      port = testing::free_port();
      std::vector<std::string> argv{"microsocks", "-i", "127.0.0.1", "-p", std::to_string(port)};
      if (!user.empty())
        argv.insert(argv.end(), {"-u", user, "-P", pass});
      proc = std::make_unique<child_process>(argv, (base / (name + ".log")).string());
      if (!proc->started() || !testing::wait_for_port(port))
        proc.reset();
      else
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    REQUIRE((proc && proc->alive()));
  }

  /// `scheme://[user:pass@]127.0.0.1:PORT`, credentials percent-encoded.
  std::string url(const std::string& scheme, const std::string& password_in_url) const {
    auto creds = user.empty() ? std::string{} : user + ":" + password_in_url + "@";
    return scheme + "://" + creds + "127.0.0.1:" + std::to_string(port);
  }
};

http_options quick_options();

/// An HTTP and an HTTPS test server on 127.0.0.1, and a client trusting the
/// HTTPS one's CA (written to `dir`).
struct targets {
  site::tls_material tls;
  bad_server plain;
  bad_server secure;
  std::unique_ptr<http_client> client;

  explicit targets(const fs::path& dir)
    : tls(site::make_tls_material(loopback_tls())), secure(tls) {
    auto ca = (dir / "ca.pem").string();
    std::ofstream{ca} << tls.ca_pem;
    auto opts = quick_options();
    opts.ca_file = ca;
    client = std::move(*http_client::make(opts));
  }

  static site::tls_request loopback_tls() {
    site::tls_request req;
    req.ip_names = {"127.0.0.1"};
    return req;
  }
};

http_options quick_options() {
  http_options opts;
  opts.io_threads = 2;
  opts.connect_timeout = 3s;
  opts.tls_timeout = 3s;
  opts.ttfb_timeout = 5s;
  opts.total_timeout = 10s;
  return opts;
}

fetch_result get(http_client& c, const std::string& url, const std::string& proxy) {
  std::promise<fetch_result> p;
  auto f = p.get_future();
  fetch_request req;
  req.url = url;
  req.proxy = proxy;
  c.fetch(req, [&p](fetch_result r) { p.set_value(std::move(r)); });
  REQUIRE(f.wait_for(30s) == std::future_status::ready);
  return f.get();
}

std::string outcome(const record& r) {
  return r.error == crawl_errc::none ? std::to_string(r.status) : to_string(r.error);
}

/// Runs a crawl with `cfg` from `seeds`, returns its records and report.
std::pair<std::vector<record>, crawl_report>
run_crawl(config& cfg, const std::vector<std::string>& seeds,
          std::function<void(const crawl_progress&)> on_progress = {}) {
  auto records = std::make_shared<std::vector<record>>();
  crawl_report report;
  {
    caf::actor_system sys{cfg};
    crawl c{sys, cfg};
    c.add_sink(sys.spawn(testing::memory_sink, records));
    if (on_progress)
      c.on_progress(on_progress, 50ms);
    auto r = c.run(seeds);
    REQUIRE(r);
    report = *r;
  }
  return {*records, report};
}

/// Runs a crawl whose every proxy is to be retired at its first use: its URLs
/// end in seconds (not after --proxy-wait, 30 s here, what such a proxy used
/// to cost every URL), each as proxy_exhausted saying so, every proxy retired.
std::vector<record> crawl_to_retirement(config& cfg, const std::vector<std::string>& seeds) {
  cfg.crawl.proxies.wait = 30s;
  auto start = std::chrono::steady_clock::now();
  auto [records, report] = run_crawl(cfg, seeds);
  auto took = std::chrono::steady_clock::now() - start;
  CHECK(took < 5s);
  CHECK(records.size() == seeds.size());
  for (auto& r : records) {
    CHECK(r.error == crawl_errc::proxy_exhausted);
    CHECK(r.error_message.find("every proxy is retired") != std::string::npos);
  }
  CHECK(report.proxies.size() == cfg.crawl.proxies.proxies.size());
  for (auto& p : report.proxies)
    CHECK(p.state == "retired");
  return records;
}

void crawl_settings(config& cfg) {
  cfg.crawl.threads = 2;
  cfg.crawl.http.io_threads = 1;
  cfg.crawl.http.connect_timeout = 3s;
  cfg.crawl.http.ttfb_timeout = 5s;
  cfg.crawl.politeness.delay = 0ms;
  cfg.crawl.scope.deny = {"/calendar/"};
  cfg.crawl.run.retry_delay = 100ms;
}

/// The URLs of page records with their outcome, checking each is recorded once.
std::map<std::string, std::string> outcomes_once(const std::vector<record>& records) {
  std::map<std::string, std::string> out;
  for (auto& r : records) {
    if (r.kind == record::kind_t::item)
      continue;
    CHECK(out.count(r.url) == 0);
    out[r.url] = outcome(r);
  }
  return out;
}

std::map<std::string, std::string> truth_of(const site::site_server& server) {
  std::map<std::string, std::string> out;
  for (auto& t : server.model().truth({}))
    out[t.url] = t.outcome;
  return out;
}

} // namespace

TEST_CASE("proxy URLs parse with their kind, port and percent-decoded credentials, and mask them",
          "[proxy]") {
  auto p = parse_proxy("http://alice:s%40cret%3Ax@proxy.example:3128");
  REQUIRE(p);
  CHECK(p->kind == proxy_kind::http);
  CHECK(p->host == "proxy.example");
  CHECK(p->port == 3128);
  CHECK(p->username == "alice");
  CHECK(p->password == "s@cret:x");
  CHECK(p->label == "http://***@proxy.example:3128");
  CHECK(p->url == "http://alice:s%40cret%3Ax@proxy.example:3128");
  CHECK(parse_proxy("SOCKS5H://[::1]:1081")->kind == proxy_kind::socks5h);
  CHECK(parse_proxy("socks5h://[::1]:1081")->host == "::1");
  CHECK(parse_proxy("socks5://h")->port == 1080);
  CHECK(parse_proxy("https://h")->port == 443);
  CHECK(parse_proxy("direct")->kind == proxy_kind::direct);
  for (auto bad : {"ftp://h:1", "h:3128", "http://", "http://h:0", "http://h:99999", "http://h:x",
                   "http://h:1/path", "http://u:p%zz@h:1", "http://:p@h:1", "http://[::1:1"}) {
    INFO(bad);
    auto r = parse_proxy(bad);
    REQUIRE(!r);
    CHECK(crawl_errc_of(r.error()) == crawl_errc::invalid_url);
  }
  // Errors never repeat the password.
  auto err = parse_proxy("http://alice:topsecret@h:bad");
  REQUIRE(!err);
  CHECK(err.error().context().get_as<std::string>(0).find("topsecret") == std::string::npos);
  CHECK(mask_proxy("http://a:b@h:1") == "http://***@h:1");
  // A password may hold '/', '?' or '#': still masked, in errors too.
  CHECK(mask_proxy("http://u:pa/ss?w#d@h:1") == "http://***@h:1");
  auto slashed = parse_proxy("http://u:pa/ssw0rd@h:bad");
  REQUIRE(!slashed);
  CHECK(slashed.error().context().get_as<std::string>(0).find("ssw0rd") == std::string::npos);
  auto ok = parse_proxy("http://u:pa%2Fss@h:1");
  REQUIRE(ok);
  CHECK(ok->password == "pa/ss");
  CHECK(mask_proxy("http://h:1") == "http://h:1");
}

TEST_CASE("a proxy file takes one URL per line with comments, and bad lines are named",
          "[proxy]") {
  temp_dir dir{"proxy-file"};
  auto path = (dir.path / "proxies.txt").string();
  std::ofstream{path} << "# pool\n\nhttp://u:pa#ss@127.0.0.1:1  # first\n  socks5h://127.0.0.1:2\ndirect\n";
  auto list = read_proxy_file(path);
  REQUIRE(list);
  CHECK(*list == std::vector<std::string>{"http://u:pa#ss@127.0.0.1:1", "socks5h://127.0.0.1:2",
                                          "direct"});
  std::ofstream{path} << "http://127.0.0.1:1\nnot a proxy\n";
  auto bad = read_proxy_file(path);
  REQUIRE(!bad);
  CHECK(bad.error().context().get_as<std::string>(0).find(":2:") != std::string::npos);
  auto parse = [](const std::string& arg) { return config{}.parse_args({arg}); };
  CHECK(parse("--proxy-file=" + path).find(":2: bad proxy") != std::string::npos);
  CHECK(parse("--proxy=gopher://x:1").find("unsupported scheme") != std::string::npos);
  CHECK(parse("--ban-status=abc") != "");
  CHECK(parse("--ban-body=([") != "");
  CHECK(parse("--proxy=socks5h://u:p@127.0.0.1:1080") == "");
}

TEST_CASE("the HTTP client reaches HTTP and HTTPS targets through tinyproxy, microsocks and an "
          "https:// proxy, with and without credentials",
          "[proxy][integration]") {
  temp_dir dir{"proxy-kinds"};
  targets t{dir.path};
  auto& [tls, plain, secure, client] = t;

  tinyproxy open_tp{dir.path, "tp-open"};
  tinyproxy auth_tp{dir.path, "tp-auth", "alice", "wonderland"};
  microsocks open_ms{dir.path, "ms-open"};
  microsocks auth_ms{dir.path, "ms-auth", "bob", "p@ss:w rd"};
  test_proxy_options ours_opts;
  ours_opts.username = "carol";
  ours_opts.password = "secret";
  test_proxy ours{ours_opts};
  test_proxy_options tls_opts;
  tls_opts.tls = tls;
  test_proxy ours_tls{tls_opts};

  struct route {
    std::string proxy;
    uint16_t port;
  };
  std::vector<route> routes{
    {open_tp.url(), open_tp.port},
    {auth_tp.url(), auth_tp.port},
    {open_ms.url("socks5", ""), open_ms.port},
    {open_ms.url("socks5h", ""), open_ms.port},
    {auth_ms.url("socks5", "p%40ss%3Aw%20rd"), auth_ms.port},
    {auth_ms.url("socks5h", "p%40ss%3Aw%20rd"), auth_ms.port},
    {ours.url(), ours.port()},
    {ours_tls.url(), ours_tls.port()},
  };
  for (auto& r : routes) {
    for (auto* target : {&plain, &secure}) {
      auto url = target->url("/ok");
      INFO(r.proxy << " -> " << url);
      auto res = get(*client, url, r.proxy);
      CHECK(res.error == crawl_errc::none);
      CHECK(res.error_message == "");
      CHECK(res.status == 200);
      CHECK(std::string{res.body.view()}.rfind("hello", 0) == 0);
      CHECK(res.remote_address == "127.0.0.1:" + std::to_string(r.port));
      CHECK(res.proxy == mask_proxy(parse_proxy(r.proxy)->url));
      CHECK(res.proxy.find("wonderland") == std::string::npos);
      CHECK(res.fault == proxy_fault::none);
    }
  }
  // The proxies saw the requests: absolute-form for http, CONNECT for https.
  auto log = auth_tp.log();
  CHECK(log.find("GET http://127.0.0.1:" + std::to_string(plain.port()) + "/ok") != std::string::npos);
  CHECK(log.find("CONNECT 127.0.0.1:" + std::to_string(secure.port())) != std::string::npos);
  CHECK(ours.requests() == 2);
  CHECK(ours_tls.requests() == 2);
  // Keep-alive connections are pooled per (proxy, target): a second request
  // through the same proxy reuses, one through another proxy does not.
  auto before = client->stats().connections_opened;
  get(*client, plain.url("/ok"), ours.url());
  CHECK(client->stats().connections_opened == before);
  get(*client, plain.url("/ok"), open_tp.url());
  get(*client, plain.url("/ok"), "");
  CHECK(client->stats().connections_opened >= before + 1);
  // TLS to an https:// proxy is verified like any other: an untrusted proxy
  // certificate fails at the proxy, which is then unusable for the run.
  auto untrusted = std::move(*http_client::make(quick_options()));
  auto bad = get(*untrusted, plain.url("/ok"), ours_tls.url());
  CHECK(bad.error == crawl_errc::tls_failed);
  CHECK(bad.fault == proxy_fault::unusable);
  CHECK(bad.error_message.find("TLS handshake with proxy") != std::string::npos);
  // (The test CA is not trusted here.)
  INFO(bad.error_message);
  CHECK(bad.error_message.find("certificate verify failed (unable to get local issuer certificate;")
        != std::string::npos);
  // A target's certificate failing is the target's, with the same detail.
  auto direct = get(*untrusted, secure.url("/ok"), "");
  CHECK(direct.error == crawl_errc::tls_failed);
  CHECK(direct.fault == proxy_fault::none);
  CHECK(direct.error_message.find("certificate verify failed (") != std::string::npos);
}

TEST_CASE("wrong or missing proxy credentials fail as proxy_auth_failed, never echoing them",
          "[proxy][integration]") {
  temp_dir dir{"proxy-auth"};
  targets t{dir.path};
  auto& [tls, plain, secure, client] = t;
  tinyproxy tp{dir.path, "tp", "alice", "wonderland"};
  microsocks ms{dir.path, "ms", "bob", "right"};
  test_proxy_options po;
  po.username = "carol";
  po.password = "secret";
  test_proxy ours{po};
  auto wrong_tp = "http://alice:wrongpw1@127.0.0.1:" + std::to_string(tp.port);
  auto wrong_ours = "http://carol:wrongpw2@127.0.0.1:" + std::to_string(ours.port());
  auto wrong_ms = ms.url("socks5", "wrongpw3");
  auto none_ms = "socks5://127.0.0.1:" + std::to_string(ms.port);
  struct attempt {
    std::string proxy;
    std::string url;
  };
  for (auto& a : std::vector<attempt>{{wrong_tp, secure.url("/ok")},   // 401 to CONNECT
                                      {wrong_ours, plain.url("/ok")},  // 407 forwarding
                                      {wrong_ours, secure.url("/ok")}, // 407 to CONNECT
                                      {wrong_ms, plain.url("/ok")},
                                      {none_ms, secure.url("/ok")}}) {
    INFO(a.proxy << " -> " << a.url);
    auto res = get(*client, a.url, a.proxy);
    CHECK(res.error == crawl_errc::proxy_auth_failed);
    CHECK(res.fault == proxy_fault::proxy);
    CHECK(res.error_message.find("wrongpw") == std::string::npos);
    CHECK(res.proxy.find("wrongpw") == std::string::npos);
  }
  // tinyproxy 1.11 answers a forwarded request with bad credentials 401, as a
  // site could: the response comes back, marked for the fetcher to judge by
  // trying other proxies.
  auto res = get(*client, plain.url("/ok"), wrong_tp);
  CHECK(res.status == 401);
  CHECK(res.fault == proxy_fault::tunnel);
}

TEST_CASE("an unreachable proxy is the proxy's failure, not the page's", "[proxy][integration]") {
  auto client = std::move(*http_client::make(quick_options()));
  bad_server plain;
  auto closed = testing::free_port();
  for (auto proxy : {"http://127.0.0.1:" + std::to_string(closed),
                     "socks5://127.0.0.1:" + std::to_string(closed),
                     std::string{"http://proxy.invalid:3128"}}) {
    INFO(proxy);
    auto res = get(*client, plain.url("/ok"), proxy);
    CHECK(res.error == crawl_errc::proxy_failed);
    CHECK(res.fault == proxy_fault::proxy);
  }
}

TEST_CASE("a crawl through two tinyproxies round-robin records the truth and rotates per request",
          "[proxy][integration][crawl]") {
  temp_dir dir{"proxy-rotation"};
  site::site_server server{{4, 12, 3, false, 0s, false}, {}};
  REQUIRE(server.listen() == "");
  server.start();
  tinyproxy a{dir.path, "a"};
  tinyproxy b{dir.path, "b"};
  config cfg;
  crawl_settings(cfg);
  cfg.crawl.proxies.proxies = {a.url(), b.url()};
  auto [records, report] = run_crawl(cfg, {"http://" + server.model().host_address(0) + ":"
                                           + std::to_string(server.port()) + "/"});
  CHECK(outcomes_once(records) == truth_of(server));
  for (auto& r : records)
    if (r.status != 0) // fetched (robots-denied URLs are not)
      CHECK((r.proxy == a.url() || r.proxy == b.url()));
  // Each proxy carried about half (keep-alive does not pin a host to one).
  auto na = a.requests();
  auto nb = b.requests();
  INFO("a=" << na << " b=" << nb);
  std::size_t fetched = 0;
  for (auto& r : records)
    fetched += r.status != 0;
  CHECK(na + nb >= fetched);
  CHECK(na * 10 >= (na + nb) * 4);
  CHECK(nb * 10 >= (na + nb) * 4);
  REQUIRE(report.proxies.size() == 2);
  CHECK(report.proxies[0].successes + report.proxies[1].successes == na + nb);
  CHECK(report.proxies[0].state == "active");
}

TEST_CASE("a proxy killed mid-crawl is quarantined and the crawl completes through the others",
          "[proxy][integration][crawl]") {
  temp_dir dir{"proxy-kill"};
  site::server_options sopts;
  sopts.latency = 5ms;
  site::site_server server{{4, 25, 5, false, 0s, false}, sopts};
  REQUIRE(server.listen() == "");
  server.start();
  tinyproxy a{dir.path, "a"};
  tinyproxy b{dir.path, "b"};
  microsocks c{dir.path, "c", "u", "p"};
  config cfg;
  crawl_settings(cfg);
  cfg.crawl.proxies.proxies = {a.url(), b.url(), c.url("socks5h", "p")};
  bool killed = false;
  auto [records, report] =
    run_crawl(cfg, {"http://" + server.model().host_address(0) + ":" + std::to_string(server.port()) + "/"},
              [&](const crawl_progress& p) {
                if (!killed && p.recorded >= 20) {
                  a.proc->kill();
                  killed = true;
                }
              });
  REQUIRE(killed);
  CHECK(outcomes_once(records) == truth_of(server));
  REQUIRE(report.proxies.size() == 3);
  CHECK(report.proxies[0].state != "active");
  CHECK(report.proxies[0].failures >= 1);
  CHECK(report.proxies[0].quarantines >= 1);
  CHECK(report.proxies[1].state == "active");
  CHECK(report.proxies[2].state == "active");
  CHECK(report.proxies[2].successes > 0);
}

TEST_CASE("a banning proxy is quarantined, while a page that refuses everyone keeps its 403",
          "[proxy][integration][crawl]") {
  temp_dir dir{"proxy-ban"};
  site::site_server server{{3, 15, 9, false, 0s, false}, {}};
  REQUIRE(server.listen() == "");
  server.start();
  bad_server refusing;
  test_proxy_options bo;
  bo.ban_after = 4;
  bo.ban_status = 429;
  test_proxy banning{bo};
  tinyproxy good{dir.path, "good"};
  microsocks socks{dir.path, "socks"};
  config cfg;
  crawl_settings(cfg);
  cfg.crawl.proxies.proxies = {banning.url(), good.url(), socks.url("socks5", "")};
  auto front = "http://" + server.model().host_address(0) + ":" + std::to_string(server.port()) + "/";
  auto forbidden = refusing.url("/forbidden");
  auto [records, report] = run_crawl(cfg, {front, forbidden});
  auto got = outcomes_once(records);
  auto want = truth_of(server);
  want[forbidden] = "403";
  CHECK(got == want); // no ban answer reached a record
  REQUIRE(report.proxies.size() == 3);
  CHECK(banning.bans() >= 1);
  CHECK(report.proxies[0].bans >= 1);
  CHECK(report.proxies[0].state != "active");
  // The 403 page was tried through several proxies and blamed on none.
  CHECK(report.proxies[1].bans == 0);
  CHECK(report.proxies[2].bans == 0);
  CHECK(report.proxies[1].state == "active");
  CHECK(report.proxies[2].state == "active");
  for (auto& r : records)
    if (r.url == forbidden)
      CHECK(r.error == crawl_errc::none);
}

TEST_CASE("with --session-per-proxy each proxy sends back only the cookies set through it",
          "[proxy][integration][crawl][cookies]") {
  temp_dir dir{"proxy-sessions"};
  // Each answer sets a cookie naming the proxy it came through (its Via).
  auto www = dir.path / "www";
  fs::create_directories(www);
  std::ofstream{www / "robots.txt"} << "User-agent: *\nAllow: /\n";
  for (int i = 0; i < 30; ++i) {
    std::ofstream page{www / ("p" + std::to_string(i) + ".html")};
    page << "<a href=\"/p" << (i + 1) % 30 << ".html\">next</a> <a href=\"/p" << (i * 7 + 3) % 30
         << ".html\">other</a>";
  }
  testing::nginx_server server{dir.path,
                               "    location / { add_header Set-Cookie \"via=$http_via; Path=/\"; }\n"};
  tinyproxy a{dir.path, "a", {}, {}, true};
  tinyproxy b{dir.path, "b", {}, {}, true};
  auto crawl_through_both = [&](bool sessions) {
    auto before = server.requests().size();
    config cfg;
    crawl_settings(cfg);
    cfg.crawl.proxies.proxies = {a.url(), b.url()};
    cfg.crawl.proxies.session_per_proxy = sessions;
    auto [records, report] = run_crawl(cfg, {server.origin() + "/p0.html"});
    CHECK(records.size() == 30);
    auto all = server.requests();
    return std::vector<testing::nginx_server::request_line>(all.begin() + static_cast<std::ptrdiff_t>(before),
                                                             all.end());
  };
  // Sessions: a request carries no cookie, or the one its own proxy got.
  auto requests = crawl_through_both(true);
  std::size_t with_cookie = 0;
  std::set<std::string> vias;
  for (auto& r : requests) {
    INFO(r.target << " via " << r.via << " cookie " << r.cookie);
    REQUIRE(!r.via.empty());
    vias.insert(r.via);
    if (r.cookie.empty())
      continue;
    ++with_cookie;
    CHECK(r.cookie == "via=" + r.via);
  }
  CHECK(vias.size() == 2);
  // Only each proxy's first requests (those in flight before its first
  // answer came back) had none.
  CHECK(with_cookie + 4 >= requests.size());
  // One jar for the crawl: cookies set through one proxy go out through the other.
  std::size_t crossed = 0;
  for (auto& r : crawl_through_both(false))
    crossed += !r.cookie.empty() && r.cookie != "via=" + r.via;
  CHECK(crossed > 0);
}

TEST_CASE("proxies that reject the credentials are retired at once and the crawl's URLs end in seconds",
          "[proxy][integration][crawl]") {
  temp_dir dir{"proxy-retired"};
  site::site_server server{{3, 5, 3, false, 0s, false}, {}};
  REQUIRE(server.listen() == "");
  server.start();
  test_proxy_options po;
  po.username = "carol";
  po.password = "secret";
  test_proxy ours{po};
  microsocks ms{dir.path, "ms", "bob", "right"};
  config cfg;
  crawl_settings(cfg);
  cfg.crawl.politeness.obey_robots = false;
  // Wrong passwords: a 407 to a forwarded request and a refused SOCKS5 login.
  // (tinyproxy's 401 to a forwarded request could be the site's: it is judged
  // by trying other proxies, see "wrong or missing proxy credentials".)
  cfg.crawl.proxies.proxies = {"http://carol:wrongpw1@127.0.0.1:" + std::to_string(ours.port()),
                               ms.url("socks5", "wrongpw2")};
  std::vector<std::string> seeds;
  for (int h = 0; h < 3; ++h)
    seeds.push_back("http://" + server.model().host_address(static_cast<uint32_t>(h)) + ":"
                    + std::to_string(server.port()) + "/");
  for (auto& r : crawl_to_retirement(cfg, seeds)) {
    CHECK(r.error_message.find("rejected the credentials") != std::string::npos);
    CHECK(r.error_message.find("wrongpw") == std::string::npos);
  }
}

TEST_CASE("tinyproxy refusing the credentials to CONNECT retires it: HTTPS URLs end in seconds",
          "[proxy][integration][crawl]") {
  temp_dir dir{"proxy-retired-tls"};
  targets t{dir.path};
  tinyproxy tp{dir.path, "tp", "alice", "wonderland"};
  config cfg;
  crawl_settings(cfg);
  cfg.crawl.politeness.obey_robots = false;
  cfg.crawl.http.ca_file = (dir.path / "ca.pem").string();
  cfg.crawl.proxies.proxies = {"http://alice:wrongpw1@127.0.0.1:" + std::to_string(tp.port)};
  for (auto& r : crawl_to_retirement(cfg, {t.secure.url("/ok"), t.secure.url("/chunked")}))
    CHECK(r.error_message.find("wrongpw") == std::string::npos);
}

TEST_CASE("an https:// proxy whose certificate fails verification is retired at once: URLs end "
          "in seconds",
          "[proxy][integration][crawl]") {
  temp_dir dir{"proxy-retired-cert"};
  targets t{dir.path};
  test_proxy_options po;
  po.tls = t.tls; // a certificate of the test CA, which this crawl does not trust
  test_proxy untrusted{po};
  config cfg;
  crawl_settings(cfg);
  cfg.crawl.politeness.obey_robots = false;
  cfg.crawl.proxies.proxies = {untrusted.url()};
  for (auto& r : crawl_to_retirement(cfg, {t.plain.url("/ok"), t.plain.url("/chunked")}))
    CHECK(r.error_message.find("every proxy is retired: " + mask_proxy(untrusted.url())
                               + " certificate verify failed (unable to get local issuer certificate;")
          != std::string::npos);
  CHECK(untrusted.requests() == 0);
}

TEST_CASE("with every proxy down, requests wait for the bound, then fail as proxy_exhausted",
          "[proxy][integration][crawl]") {
  bad_server plain;
  config cfg;
  crawl_settings(cfg);
  cfg.crawl.politeness.obey_robots = false;
  cfg.crawl.proxies.proxies = {"http://127.0.0.1:" + std::to_string(testing::free_port()),
                               "socks5://127.0.0.1:" + std::to_string(testing::free_port())};
  cfg.crawl.proxies.max_failures = 1;
  cfg.crawl.proxies.wait = 1s;
  auto start = std::chrono::steady_clock::now();
  auto [records, report] = run_crawl(cfg, {plain.url("/ok"), plain.url("/chunked")});
  auto took = std::chrono::steady_clock::now() - start;
  REQUIRE(records.size() == 2);
  for (auto& r : records) {
    CHECK(r.error == crawl_errc::proxy_exhausted);
    CHECK(r.error_message.find("no usable proxy") != std::string::npos);
  }
  CHECK(took >= 1s);
  CHECK(took < 20s);
  CHECK(report.proxies[0].state == "quarantined");
  CHECK(report.proxies[1].state == "quarantined");
}
