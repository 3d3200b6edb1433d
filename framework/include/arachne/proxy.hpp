#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "caf/expected.hpp"
#include "caf/timespan.hpp"

namespace arachne {

/// How a request reaches its target.
enum class proxy_kind : uint8_t {
  direct,  // no proxy
  http,    // HTTP proxy: absolute-form requests, CONNECT tunnels for https targets
  https,   // the same over TLS to the proxy
  socks5,  // SOCKS5 (RFC 1928), target names resolved here
  socks5h, // SOCKS5, target names resolved by the proxy
};

/// One member of a proxy pool, parsed from `scheme://[user:pass@]host[:port]`
/// or the word `direct`.
struct proxy_spec {
  proxy_kind kind = proxy_kind::direct;
  std::string host;     // without brackets for IPv6 literals
  uint16_t port = 0;
  std::string username; // percent-decoded
  std::string password; // percent-decoded
  std::string url;      // canonical URL with credentials (the fetcher's input)
  std::string label;    // the same URL with credentials masked, for output

  bool has_credentials() const noexcept { return !username.empty() || !password.empty(); }
};

/// Parses a proxy URL. Default ports: http 80, https 443, socks5(h) 1080.
/// Errors are `crawl_errc::invalid_url` with a one-line reason that never
/// repeats the credentials.
caf::expected<proxy_spec> parse_proxy(std::string_view text);

/// The URL with its credentials replaced by `***`; text that is not a proxy
/// URL comes back with everything before the last '@' masked.
std::string mask_proxy(std::string_view text);

/// Reads a proxy file: one URL per line; blank lines and `#` comments skipped.
/// Errors name the file and line.
caf::expected<std::vector<std::string>> read_proxy_file(const std::string& path);

/// How proxies are chosen, judged and rested; every field is an option.
struct proxy_options {
  std::vector<std::string> proxies;  // proxy URLs (or `direct`); empty: no proxies
  std::string proxy_file;            // more URLs, one per line
  std::string policy = "round-robin"; // round-robin | random | least-used | sticky
  uint32_t per_proxy_concurrency = 0; // leases in flight per proxy; 0 = unlimited
  double per_proxy_rate = 0;          // leases per second per proxy; 0 = unlimited
  caf::timespan wait = std::chrono::seconds(30); // a lease waits this long for a usable proxy
  uint32_t max_failures = 2;          // consecutive proxy failures before quarantine
  caf::timespan backoff = std::chrono::seconds(10);     // first quarantine, doubled each time
  caf::timespan max_backoff = std::chrono::minutes(10); // quarantine cap
  std::vector<std::string> ban_status = {"403", "407", "429"}; // statuses that mean "banned"
  std::string ban_body = "captcha";  // case-insensitive regex on proxied HTML; empty = off
  uint32_t page_fault_after = 3;      // a URL failing on this many proxies is the page's fault
  std::string report_path;           // per-proxy JSON report at the end; empty = none
  bool session_per_proxy = false;    // one cookie jar per proxy; a ban retires it (docs/cookies.md)
};

} // namespace arachne
