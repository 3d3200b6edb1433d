// The HTTP client: Beast sessions on a few IO threads, one io_context each.
//
// Every request is pinned to the IO thread its host hashes to, so that all
// connections to a host live in one pool on one thread: the pools, the DNS
// cache and the sessions of a thread are touched by that thread only, and no
// locks are needed. Sessions contain no CAF code; they end by calling the
// request's callback exactly once.
//
// This file is the public face (make, fetch, stats, stop). The parts:
// transport.hpp (the shared Beast and Asio types), session.cpp and
// exchange.cpp (one request's walk), connect_tunnel.cpp and socks5.cpp (the
// proxy tunnels), dns_cache.cpp (names) and pool.cpp (idle connections).

#include "arachne/http_client.hpp"

#include "caf/sec.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <thread>
#include <utility>
#include <vector>

#include "arachne/partition.hpp"
#include "arachne/url.hpp"
#include "http/dns_cache.hpp"
#include "http/session.hpp"
#include "http/transport.hpp"

namespace arachne {

namespace {

using header_list = std::vector<std::pair<std::string, std::string>>;

// Trust anchors: the CA file, or the system store.
caf::error load_trust_anchors(ssl::context& tls, const std::string& ca_file) {
  beast::error_code ec;
  if (!ca_file.empty())
    tls.load_verify_file(ca_file, ec);
  else
    tls.set_default_verify_paths(ec);
  if (ec)
    return caf::make_error(caf::sec::invalid_argument,
                           "cannot load CA file '" + ca_file + "': " + ec.message());
  return {};
}

// --header entries: "Name: value".
caf::expected<header_list> parse_headers(const std::vector<std::string>& entries) {
  header_list out;
  for (auto& h : entries) {
    auto colon = h.find(':');
    if (colon == std::string::npos || colon == 0)
      return caf::make_error(caf::sec::invalid_argument,
                             "--header expects 'Name: value', not '" + h + "'");
    auto value = h.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    out.emplace_back(h.substr(0, colon), value);
  }
  return out;
}

caf::expected<asio::ip::address> parse_source_address(const std::string& text) {
  beast::error_code ec;
  auto a = asio::ip::make_address(text, ec);
  if (ec)
    return caf::make_error(caf::sec::invalid_argument,
                           "--source-address expects an IP address, not '" + text + "'");
  return a;
}

// One IO thread per worker; each sweeps its pool from the start.
void start_workers(http_client::impl& c, uint32_t n) {
  for (uint32_t i = 0; i < n; ++i)
    c.workers.push_back(std::make_unique<http_detail::worker>(c.overrides, c.names));
  for (auto& w : c.workers) {
    auto* raw = &c;
    auto* wp = w.get();
    asio::post(w->ioc, [raw, wp] { raw->sweep(*wp); });
    w->thread = std::thread([wp] { wp->ioc.run(); });
  }
}

// The cookie jar: the --cookie-file, then the --cookie seeds.
caf::error open_cookies(http_client::impl& c, const http_options& opts) {
  if (!opts.cookies)
    return {};
  c.cookies = std::make_unique<http_detail::cookie_store>(opts.cookie_bounds);
  if (!opts.cookie_file.empty()) {
    std::ifstream in{opts.cookie_file, std::ios::binary};
    std::stringstream text;
    text << in.rdbuf();
    if (!in)
      return caf::make_error(caf::sec::invalid_argument,
                             "--cookie-file: cannot read '" + opts.cookie_file + "'");
    if (auto err = c.cookies->load(text.str(), "--cookie-file '" + opts.cookie_file + "'"))
      return err;
  }
  return c.cookies->seed(opts.cookie_seeds);
}

std::vector<std::string> to_strings(const std::vector<tcp::endpoint>& endpoints) {
  std::vector<std::string> out;
  for (auto& ep : endpoints)
    out.push_back(ep.address().to_string());
  return out;
}

} // namespace

namespace http_detail {

/// One http_client::resolve under way on an IO thread.
struct name_query : std::enable_shared_from_this<name_query> {
  explicit name_query(worker& w) : w(w), lookup(w.resolver, w.ioc) {}
  worker& w;
  dns_lookup lookup;
};

} // namespace http_detail

caf::expected<std::unique_ptr<http_client>> http_client::make(http_options opts) {
  auto p = std::make_unique<impl>();
  if (auto err = load_trust_anchors(p->tls, opts.ca_file))
    return err;
  auto overrides = http_detail::parse_overrides(opts.resolve);
  if (!overrides)
    return overrides.error();
  p->overrides = std::move(*overrides);
  auto servers = http_detail::parse_dns_servers(opts.dns_servers);
  if (!servers)
    return servers.error();
  p->names.servers = std::move(*servers);
  auto family = http_detail::parse_ip_version(opts.ip_version);
  if (!family)
    return family.error();
  p->names.family = *family;
  if (opts.dns_min_ttl > opts.dns_max_ttl)
    return caf::make_error(caf::sec::invalid_argument,
                           "--dns-min-ttl must not be above --dns-max-ttl");
  auto headers = parse_headers(opts.headers);
  if (!headers)
    return headers.error();
  p->extra_headers = std::move(*headers);
  if (!opts.source_address.empty()) {
    auto source = parse_source_address(opts.source_address);
    if (!source)
      return source.error();
    p->source = *source;
  }
  if (auto err = open_cookies(*p, opts))
    return err;
  {
    // A resolver that cannot start fails the client now, not every fetch later.
    asio::io_context probe;
    http_detail::resolver r{probe, p->names};
    if (!r.error().empty())
      return caf::make_error(caf::sec::invalid_argument, r.error());
  }
  auto n = opts.io_threads != 0 ? opts.io_threads : std::max(1u, std::thread::hardware_concurrency());
  p->opts = std::move(opts);
  start_workers(*p, n);
  return std::unique_ptr<http_client>{new http_client(std::move(p))};
}

http_client::http_client(std::unique_ptr<impl> ptr) : impl_(std::move(ptr)) {}

http_client::~http_client() {
  stop();
}

void http_client::fetch(fetch_request req, callback done) {
  auto& c = *impl_;
  auto target = parse_url(req.url);
  // Pin the request to the IO thread that owns its host's connections.
  std::size_t index = target ? partition_hash(target->host()) % c.workers.size() : 0;
  auto& w = *c.workers[index];
  if (c.stopped || !target) {
    fetch_result res;
    res.id = req.id;
    res.url = req.url;
    res.final_url = req.url;
    res.fetched_at = caf::make_timestamp();
    if (!target) {
      auto kind = crawl_errc_of(target.error());
      res.error = kind ? *kind : crawl_errc::invalid_url;
      if (target.error().context().match_elements<std::string>())
        res.error_message = target.error().context().get_as<std::string>(0);
    } else {
      res.error = crawl_errc::cancelled;
      res.error_message = "the client is stopped";
    }
    if (c.stopped) {
      done(std::move(res)); // no IO thread is left to run it
      return;
    }
    asio::post(w.ioc, [done = std::move(done), res = std::move(res)]() mutable {
      done(std::move(res));
    });
    return;
  }
  auto s = std::make_shared<http_detail::session>(c, w, std::move(req), std::move(*target),
                                                  std::move(done));
  asio::post(w.ioc, [s] { s->start(); });
}

void http_client::resolve(const std::string& host, uint16_t port, resolved done) {
  auto& c = *impl_;
  if (c.stopped)
    return done({}, "the client is stopped");
  // The IO thread a fetch to this host runs on: its cache serves both.
  auto& w = *c.workers[partition_hash(host) % c.workers.size()];
  auto name = host.size() > 2 && host.front() == '[' ? host.substr(1, host.size() - 2) : host;
  asio::post(w.ioc, [&c, &w, name, port, done = std::move(done)]() mutable {
    if (w.stopping)
      return done({}, "the client is stopped");
    if (auto known = w.dns.find(name, port))
      return done(to_strings(*known), {});
    if (http_detail::never_resolves(name))
      return done({}, "reserved .invalid name");
    auto q = std::make_shared<http_detail::name_query>(w);
    w.queries.insert(q.get());
    auto* raw = q.get();
    q->lookup.start(name, port, http_detail::clock_type::now() + c.opts.connect_timeout, q,
                    [&c, &w, raw, name, port, done = std::move(done)](
                      const std::string& error, http_detail::resolver::answer a) {
                      w.queries.erase(raw);
                      if (!error.empty() || a.endpoints.empty())
                        return done({}, error.empty() ? "no address" : error);
                      auto ttl = std::clamp<caf::timespan>(a.ttl, c.opts.dns_min_ttl,
                                                           c.opts.dns_max_ttl);
                      w.dns.store(name, port, a.endpoints, ttl);
                      done(to_strings(a.endpoints), {});
                    });
  });
}

http_client_stats http_client::stats() const {
  http_client_stats s;
  s.requests = impl_->requests;
  s.connections_opened = impl_->opened;
  s.connections_reused = impl_->reused;
  s.idle_connections = impl_->idle;
  if (impl_->cookies)
    s.cookies = impl_->cookies->stats();
  return s;
}

std::string http_client::saved_cookies(uint64_t* version) const {
  if (!impl_->cookies) {
    if (version)
      *version = 0;
    return {};
  }
  return impl_->cookies->save(version);
}

uint64_t http_client::cookies_version() const {
  return impl_->cookies ? impl_->cookies->version() : 0;
}

caf::error http_client::restore_cookies(std::string_view netscape) {
  if (!impl_->cookies)
    return {};
  return impl_->cookies->restore(netscape);
}

void http_client::stop() {
  auto& c = *impl_;
  if (c.stopped.exchange(true))
    return;
  for (auto& w : c.workers) {
    auto* wp = w.get();
    asio::post(w->ioc, [&c, wp] {
      wp->stopping = true;
      wp->sweeper.cancel();
      // Lookups of resolve() end as cancelled (their handlers are posted).
      for (auto* q : std::vector<http_detail::name_query*>(wp->queries.begin(), wp->queries.end()))
        q->lookup.cancel();
      wp->resolver.shutdown();
      // Copy: cancelling may complete sessions, which erase themselves.
      std::vector<http_detail::session*> live(wp->sessions.begin(), wp->sessions.end());
      for (auto* s : live)
        s->cancel();
      for (auto& [key, conns] : wp->pool)
        for (auto& conn : conns) {
          conn->close();
          --c.idle;
        }
      wp->pool.clear();
      wp->idle = 0;
    });
    w->guard.reset();
  }
  for (auto& w : c.workers)
    if (w->thread.joinable())
      w->thread.join();
}

} // namespace arachne
