#pragma once

// A URL's request as it goes through the crawl, from a shard to a fetcher
// and to other shards: crawl_request with what it carries, its key in a
// shard's seen set, and link_batch. Part of the protocol: messages.hpp
// includes it.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "caf/error.hpp"
#include "caf/meta/load_callback.hpp"
#include "caf/meta/type_name.hpp"
#include "caf/timespan.hpp"
#include "caf/timestamp.hpp"

#include "arachne/sitemap.hpp"

namespace arachne {

/// What a sitemap said of a URL it listed (sitemaps.org's optional tags).
struct sitemap_hints {
  std::string lastmod;                            // W3C Datetime as written; empty if none
  change_freq changefreq = change_freq::unknown;
  float priority = -1;                            // 0.0 to 1.0; -1 if none

  bool empty() const noexcept {
    return lastmod.empty() && changefreq == change_freq::unknown && priority < 0;
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, sitemap_hints& x) {
  return f(caf::meta::type_name("sitemap_hints"), x.lastmod, x.changefreq, x.priority);
}

/// What a URL of the crawl is fetched for.
enum class url_kind : uint8_t {
  page,    // a page: recorded, parsed for links
  sitemap, // a sitemap: recorded, read for URLs (docs/user-guide.md, "Sitemaps")
};

/// What the state store (--state) knew of a URL from its last fetch: the
/// validators that make the next request conditional (--recrawl), and what
/// tells a changed page from an unchanged one (docs/operations.md, "Re-crawl").
struct last_visit {
  std::string etag;              // its ETag, if the last page had one
  std::string last_modified;     // its Last-Modified, if the last page had one
  std::string digest;            // the last page's payload digest ("sha1:BASE32")
  caf::timestamp fetched_at{};   // the last fetch
  caf::timestamp payload_at{};   // the fetch that gave the payload of `digest`
  uint16_t status = 0;           // of the last fetch; 0: never fetched
  uint32_t changes = 0;          // times its payload changed between fetches
  caf::timespan interval{0};     // continuous mode: the wait before it is due again; 0: none

  /// True if the URL was fetched before.
  bool known() const noexcept { return status != 0; }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, last_visit& x) {
  return f(caf::meta::type_name("last_visit"), x.etag, x.last_modified, x.digest, x.fetched_at,
           x.payload_at, x.status, x.changes, x.interval);
}

/// What a page handler followed a URL with besides its address
/// (follow_options): rare, so a request holds them out of line.
struct request_options {
  std::string label;    // crawl::route picks its page's handler by it
  std::vector<std::pair<std::string, std::string>> user_data; // for its page's handler
  std::string method;   // "POST" (with body and body_type); empty: GET
  std::string body;
  std::string body_type;

  bool empty() const noexcept {
    return label.empty() && user_data.empty() && method.empty() && body.empty()
           && body_type.empty();
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, request_options& x) {
  return f(caf::meta::type_name("request_options"), x.label, x.user_data, x.method, x.body,
           x.body_type);
}

/// A URL on its way through the crawl: a seed, a discovered link, or a retry.
struct crawl_request {
  std::string url;      // normalised absolute URL
  uint32_t depth = 0;   // links from the nearest seed
  std::string referrer; // page the link was found on; empty for seeds
  uint32_t attempt = 0; // 0 for the first try, counts retries
  uint32_t hops = 0;    // redirects that led here
  uint32_t throttled = 0; // 429 answers so far (they do not use up retries)
  uint32_t shape_run = 0; // links in a row between same-shaped URLs of its site that led
                          // here (a calendar's next month; --trap-chain)
  uint64_t id = 0;        // its row in the owning shard's state store (--state); 0 without
  bool resumed = false;   // taken up before a crash: it may have been recorded already
  url_kind kind = url_kind::page;
  uint32_t nesting = 0;   // a sitemap: the sitemap indexes above it
  std::string vouched{};  // a sitemap: a site (scheme://authority) whose URLs it may list
                          // besides its own (that of the robots.txt that named it)
  sitemap_hints hints{};  // a page a sitemap listed: what it said of it
  last_visit visit{};     // its last fetch, from the state store (a re-crawl)
  int32_t priority = 0;   // higher goes first in its site's queue (in memory)
  std::shared_ptr<const request_options> options{}; // label, data, POST; null (most): none

  /// Its options, or empty ones.
  const request_options& opts() const noexcept {
    static const request_options none;
    return options ? *options : none;
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, crawl_request& x) {
  // The options travel by value; a loaded request shares them again.
  auto o = x.opts();
  auto keep = caf::meta::load_callback([&]() -> caf::error {
    x.options = o.empty() ? nullptr : std::make_shared<const request_options>(std::move(o));
    return caf::none;
  });
  return f(caf::meta::type_name("crawl_request"), x.url, x.depth, x.referrer, x.attempt, x.hops,
           x.throttled, x.shape_run, x.id, x.resumed, x.kind, x.nesting, x.vouched, x.hints, x.visit,
           x.priority, o, keep);
}

/// The key of a request in a shard's seen set: its URL, or for a sitemap its
/// URL with a mark no URL has (a fragment), so that a sitemap a page links to
/// is still read as a sitemap; a POST's with its method and content, so that
/// POSTs of other content to one URL are other requests.
inline std::string seen_key(std::string_view url, url_kind kind, std::string_view method = {},
                            std::string_view body_type = {}, std::string_view body = {}) {
  std::string key{url};
  if (kind == url_kind::sitemap) {
    key += "#sitemap";
  } else if (!method.empty()) {
    key += '#';
    key += method;
    key += ' ';
    key += body_type;
    key += '\n';
    key += body;
  }
  return key;
}

/// The key of `req` in a shard's seen set (see above).
inline std::string seen_key(const crawl_request& req) {
  auto& o = req.opts();
  return seen_key(req.url, req.kind, o.method, o.body_type, o.body);
}

/// True if `req` is keyed by its URL alone in the seen set: a page asked with GET.
inline bool keyed_by_url(const crawl_request& req) {
  return req.kind == url_kind::page && req.opts().method.empty();
}

/// Discovered URLs for the hosts one frontier shard owns, sent in one message.
struct link_batch {
  std::vector<crawl_request> links;
  uint64_t epoch = 0; // of the sender's cluster view: an older one may send to a former owner
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, link_batch& x) {
  return f(caf::meta::type_name("link_batch"), x.links, x.epoch);
}

} // namespace arachne
