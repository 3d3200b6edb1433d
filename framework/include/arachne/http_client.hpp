#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "caf/expected.hpp"
#include "caf/timespan.hpp"

#include "arachne/cookies.hpp"
#include "arachne/messages.hpp"

namespace arachne {

/// How the HTTP client fetches: identity, TLS, limits, pooling and DNS. Every
/// field is a command-line option (see `config`).
struct http_options {
  // -- identity ----------------------------------------------------------------
  std::string user_agent = "arachne/0.1";
  std::vector<std::string> headers; // extra "Name: value" request headers

  // -- TLS ---------------------------------------------------------------------
  std::string ca_file;   // trust anchors (PEM); empty: the system store
  bool insecure = false; // skip certificate and host-name verification

  // -- limits ------------------------------------------------------------------
  caf::timespan connect_timeout = std::chrono::seconds(10); // DNS and TCP connect
  caf::timespan tls_timeout = std::chrono::seconds(10);     // TLS handshake
  caf::timespan ttfb_timeout = std::chrono::seconds(30);    // request sent to headers read
  caf::timespan total_timeout = std::chrono::seconds(60);   // the whole fetch, redirects included
  uint64_t max_header_bytes = 64 * 1024;
  uint64_t max_body_bytes = 8 * 1024 * 1024;                // after decoding
  bool truncate_body = false;     // over the limit: keep the first bytes and flag, not fail
  uint32_t max_compression_ratio = 200; // decoded/encoded bytes above which a body is a bomb
  uint32_t max_redirects = 5;     // 0: redirects are returned, not followed

  // -- connections -------------------------------------------------------------
  uint32_t io_threads = 0;                                  // 0: one per core
  std::string source_address; // local IP address connections are made from; empty: any
  uint32_t pool_per_host = 8;                               // idle connections per key
  uint32_t pool_total = 1024;                               // idle connections overall
  caf::timespan pool_idle_timeout = std::chrono::seconds(30);

  // -- DNS (c-ares) ------------------------------------------------------------
  caf::timespan dns_min_ttl = std::chrono::seconds(1); // answers kept at least this long
  caf::timespan dns_max_ttl = std::chrono::hours(1);   // ... and at most this long
  std::vector<std::string> dns_servers; // "ADDRESS[:PORT]"; empty: the system's (/etc/resolv.conf)
  std::string ip_version = "any";       // any | 4 | 6: the addresses connected to
  std::vector<std::string> resolve; // "host:port:address" overrides, as curl's --resolve

  // -- cookies (docs/cookies.md) -----------------------------------------------
  bool cookies = true;                   // keep a cookie jar (RFC 6265)
  std::vector<std::string> cookie_seeds; // "HOST:NAME=VALUE[; attributes]"
  std::string cookie_file;               // a Netscape cookie file the jar starts with
  cookie_limits cookie_bounds;           // per cookie, per domain, in all
};

/// Counters of an `http_client`, for tests and progress.
struct http_client_stats {
  uint64_t requests = 0;            // fetches finished
  uint64_t connections_opened = 0;  // TCP connections made
  uint64_t connections_reused = 0;  // requests sent on a pooled connection
  uint64_t idle_connections = 0;    // in the pools now
  cookie_stats cookies;             // Set-Cookie headers stored, refused, ...
};

/// A non-blocking HTTP/1.1 client on its own IO threads (Beast and Asio
/// inside; none of it shows here). Thread-safe; callbacks run on IO threads
/// and must only hand the result on (e.g. `caf::anon_send` to an actor).
class http_client {
public:
  /// What `fetch` calls exactly once per request.
  using callback = std::function<void(fetch_result)>;

  /// Starts the IO threads; fails for unreadable CA files or bad --resolve entries.
  static caf::expected<std::unique_ptr<http_client>> make(http_options opts);

  ~http_client();

  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  /// Fetches `req.url` (following redirects as configured) and calls `done`
  /// with the result: a response or a failure, never nothing.
  void fetch(fetch_request req, callback done);

  /// What `resolve` calls exactly once (on an IO thread): the addresses in
  /// the order a connection tries them, or none and why.
  using resolved = std::function<void(std::vector<std::string> addresses, std::string error)>;

  /// Resolves `host` (as in a URL: IPv6 in brackets) as a fetch to `port`
  /// would, through the same cache, without connecting.
  void resolve(const std::string& host, uint16_t port, resolved done);

  /// Counters, summed over the IO threads.
  http_client_stats stats() const;

  /// The crawl's cookie jar as a Netscape cookie file (empty without
  /// cookies); `version`, if given, gets a number that changes with the jar.
  std::string saved_cookies(uint64_t* version = nullptr) const;

  /// The number `saved_cookies` would give now.
  uint64_t cookies_version() const;

  /// Puts cookies saved by `saved_cookies` back in the crawl's jar; those it
  /// holds already (seeded on the command line) win.
  caf::error restore_cookies(std::string_view netscape);

  /// Closes idle connections, finishes no new work and joins the IO threads;
  /// requests still in flight end as `cancelled`. Called by the destructor.
  void stop();

  /// The implementation, opaque here.
  struct impl;

private:
  explicit http_client(std::unique_ptr<impl> ptr);

  std::unique_ptr<impl> impl_;
};

} // namespace arachne
