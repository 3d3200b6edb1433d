#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "caf/timespan.hpp"

namespace arachne::site {

/// What the synthetic web looks like; the same parameters give the same web.
struct site_params {
  uint32_t hosts = 10;                                    // distinct loopback hosts
  uint32_t pages = 50;                                    // pages per host
  uint64_t seed = 1;                                      // varies links and text
  bool tls = false;                                       // https:// instead of http://
  caf::timespan crawl_delay = std::chrono::seconds(1);   // for hosts that declare one; 0 = none do
  bool trap = true;                                       // front pages link the endless calendar
};

/// The most hosts a site can have (127.0.1.1 ... 127.0.255.254).
constexpr uint32_t max_hosts = 254u * 255u;

/// One answer of the site to a request.
struct response {
  uint16_t status = 200;
  std::string content_type;
  std::string location; // for redirects, as sent
  std::vector<std::pair<std::string, std::string>> headers; // extra response headers
  bool compressible = false; // the server gzips it (Content-Encoding) for clients that accept gzip
  std::string etag;          // of a 200: `entity_tag(body)`; the server adds -gz when it gzips
  std::string last_modified; // of a 200: the site's `last_modified()` as an IMF-fixdate
  std::string body;
};

/// One URL a sitemap lists, with what it says of it (empty strings for tags it leaves out).
struct sitemap_entry {
  std::string loc;        // absolute URL
  std::string lastmod;    // W3C date, e.g. 2026-11-03; empty in a text sitemap
  std::string changefreq; // daily, weekly, ...; empty in an index or a text sitemap
  std::string priority;   // 0.0 to 1.0; empty in an index or a text sitemap
};

/// A sitemap as the model knows it, before it is written as XML or text.
struct sitemap_info {
  bool index = false;                 // a sitemap index: its entries are sitemaps
  std::vector<sitemap_entry> entries; // in the order it lists them
};

/// `data` gzip-compressed (RFC 1952) with no time in the header: the same bytes every time.
std::string gzip(std::string_view data);

/// The strong entity tag (RFC 9110 section 8.8.3) of `body`: its 64-bit
/// FNV-1a hash as 16 lower-case hex digits, in double quotes.
std::string entity_tag(std::string_view body);

/// `t` (seconds since 1970-01-01 UTC) as an IMF-fixdate: "Thu, 01 Jan 2026 00:00:00 GMT".
std::string http_date(int64_t t);

/// An HTTP-date in any of RFC 9110's three formats (section 5.6.7) as
/// seconds since 1970-01-01 UTC; `nullopt` if `s` is not exactly one.
std::optional<int64_t> parse_http_date(std::string_view s);

/// Appends `s` to `out` as HTML text (&, ", < and > escaped).
void append_escaped(std::string& out, std::string_view s);

/// One URL of the truth: what a polite crawler records for it.
struct truth_entry {
  std::string url;      // normalised
  std::string outcome;  // HTTP status ("200", "301", ...) or "robots_denied"
  std::string location; // redirect target as sent, if any
  uint32_t depth = 0;   // shortest distance from a seed or a sitemap (a redirect hop costs 0)
};

/// What `site_model::truth` explores.
struct truth_options {
  std::vector<std::string> seeds;        // default: the front page of host 0
  std::string user_agent = "arachne";    // robots.txt token
  std::optional<uint32_t> max_depth;     // without one, the calendar trap is left out
  bool sitemaps = true; // read robots.txt Sitemap lines as a crawler with sitemaps on does
};

/// A deterministic synthetic web of `hosts` loopback hosts with `pages` pages
/// each: realistic HTML with relative, absolute, cross-host, fragment, query
/// and duplicate links, 404s, redirects, a redirect loop, an endless calendar,
/// and robots.txt rules (some with Crawl-delay). Immutable once the port is set.
class site_model {
public:
  explicit site_model(site_params params, uint16_t port = 0);

  /// Sets the port every host listens on (it appears in absolute links).
  void set_port(uint16_t port) noexcept { port_ = port; }

  const site_params& params() const noexcept { return params_; }
  uint16_t port() const noexcept { return port_; }

  /// The loopback address of host `h` (127.0.1.1 for host 0).
  std::string host_address(uint32_t h) const;

  /// The host serving `address`, if any.
  std::optional<uint32_t> host_index(std::string_view address) const;

  /// `http://127.0.1.1:PORT` (or https).
  std::string origin(uint32_t h) const;

  /// The path of page `k` ("/" for page 0).
  std::string page_path(uint32_t k) const;

  /// Answers a request for `target` (path and query) on host `h`; a 200
  /// carries its validators (ETag and Last-Modified).
  response respond(uint32_t h, std::string_view target) const;

  /// When every page of the site last changed, in seconds since 1970-01-01
  /// UTC: 2026-01-01 00:00:00 less `seed % 1000` days (a date in the past,
  /// as RFC 9110 section 8.8.2.1 asks, and before the sitemaps' lastmod).
  int64_t last_modified() const noexcept;

  /// The links a page carries, as its HTML writes them (entities decoded);
  /// empty for targets that are not HTML pages.
  std::vector<std::string> links(uint32_t h, std::string_view target) const;

  /// The robots.txt of host `h`; `nullopt` if it has none (404).
  std::optional<std::string> robots_txt(uint32_t h) const;

  /// True if host `h` names a sitemap in its robots.txt and serves sitemaps and archive pages.
  bool has_sitemaps(uint32_t h) const noexcept { return h % 5 == 3; }

  /// How many archive pages (/archive/0, ...) a host with sitemaps has: max(4, pages / 4).
  uint32_t archive_pages() const noexcept;

  /// The sitemap at `target` on host `h`; `nullopt` if it serves none there.
  std::optional<sitemap_info> sitemap(uint32_t h, std::string_view target) const;

  /// Every URL a polite crawler reaches from the seeds under robots.txt, sorted.
  std::vector<truth_entry> truth(const truth_options& opts) const;

private:
  struct page_info;
  struct truth_search;
  page_info describe(uint32_t h, std::string_view target) const;
  response make_response(uint32_t h, std::string_view target) const;
  response sitemap_response(uint32_t h, std::string_view target) const;

  site_params params_;
  uint16_t port_ = 0;
};

} // namespace arachne::site
