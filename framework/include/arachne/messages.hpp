#pragma once

// The messages Arachne's actors exchange, with their inspect() functions and
// atoms. Every type that may cross a process boundary is registered in
// `register_message_types` (config.cpp), the one place that does so.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "caf/atom.hpp"
#include "caf/meta/load_callback.hpp"
#include "caf/meta/type_name.hpp"
#include "caf/timespan.hpp"
#include "caf/timestamp.hpp"

#include "arachne/errors.hpp"
#include "arachne/metrics.hpp"
#include "arachne/request.hpp"
#include "arachne/sitemap.hpp"

namespace arachne {

// -- atoms ---------------------------------------------------------------------

using fetch_atom = caf::atom_constant<caf::atom("fetch")>;     // fetch one request
using acquire_atom = caf::atom_constant<caf::atom("acquire")>; // ask for a politeness slot
using release_atom = caf::atom_constant<caf::atom("release")>; // give a slot back with feedback
using resolve_atom = caf::atom_constant<caf::atom("resolve")>; // a host's addresses (per-IP politeness)
using ip_acq_atom = caf::atom_constant<caf::atom("ipacquire")>; // a slot for one IP address, from its owner
using ip_rel_atom = caf::atom_constant<caf::atom("iprelease")>; // ... given back
using lease_atom = caf::atom_constant<caf::atom("lease")>;     // ask for a proxy
using report_atom = caf::atom_constant<caf::atom("report")>;   // tell how a proxy did
using parse_atom = caf::atom_constant<caf::atom("parse")>;     // parse a fetched page
using seed_atom = caf::atom_constant<caf::atom("seed")>;       // add seed URLs
using stats_atom = caf::atom_constant<caf::atom("stats")>;     // ask for counters
using idle_atom = caf::atom_constant<caf::atom("idle")>;       // a shard has nothing to do
using open_atom = caf::atom_constant<caf::atom("open")>;       // a sink's crawl starts
using start_atom = caf::atom_constant<caf::atom("start")>;     // start crawling
using stop_atom = caf::atom_constant<caf::atom("stop")>;       // stop gracefully
using guard_atom = caf::atom_constant<caf::atom("guard")>;     // keep another shard's URLs
using takeover_atom = caf::atom_constant<caf::atom("takeover")>; // a dead shard's hosts move
using handoff_atom = caf::atom_constant<caf::atom("handoff")>;   // a live shard's hosts move (a join)
using join_atom = caf::atom_constant<caf::atom("join")>;         // a node asks to join a crawl
using resume_atom = caf::atom_constant<caf::atom("resume")>;     // a restarted coordinator takes a crawl up
using demand_atom = caf::atom_constant<caf::atom("demand")>;     // a shard's wish for --concurrency
using lend_atom = caf::atom_constant<caf::atom("lend")>;         // units of --concurrency to a shard
using pause_atom = caf::atom_constant<caf::atom("pause")>;       // start no request (true) or go on
using contact_atom = caf::atom_constant<caf::atom("contact")>;   // time since another process polled
using sitemap_atom = caf::atom_constant<caf::atom("sitemap")>;   // read a fetched sitemap

// -- shared payloads -----------------------------------------------------------

/// An immutable byte buffer shared between messages in one process (bodies are
/// never copied locally); it is copied only when serialised for another process.
class shared_bytes {
public:
  shared_bytes() = default;

  /// Takes ownership of `data`.
  explicit shared_bytes(std::string data)
    : data_(std::make_shared<const std::string>(std::move(data))) {}

  /// The bytes.
  std::string_view view() const noexcept {
    return data_ ? std::string_view{*data_} : std::string_view{};
  }

  /// Number of bytes.
  std::size_t size() const noexcept { return data_ ? data_->size() : 0; }

  /// True if there are no bytes.
  bool empty() const noexcept { return size() == 0; }

  friend bool operator==(const shared_bytes& x, const shared_bytes& y) noexcept {
    return x.view() == y.view();
  }

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, shared_bytes& x) {
    std::string tmp;
    if constexpr (Inspector::reads_state) {
      if (x.data_)
        tmp = *x.data_;
    }
    auto load = caf::meta::load_callback([&]() -> caf::error {
      x = shared_bytes{std::move(tmp)};
      return caf::none;
    });
    return f(caf::meta::type_name("shared_bytes"), tmp, load);
  }

private:
  std::shared_ptr<const std::string> data_;
};

/// One HTTP header field as received or sent.
using header_field = std::pair<std::string, std::string>;

// -- frontier ------------------------------------------------------------------

// A URL's request (crawl_request, link_batch, seen_key) is in request.hpp.

/// URLs a shard admitted and URLs it finished, for its guardian: a shard on
/// another node that keeps copies until the records are stored, and hands
/// them to the new owners of their hosts if the shard's node dies.
struct guard_batch {
  std::vector<crawl_request> add; // admitted (`id` is the owner's guard id)
  std::vector<uint64_t> done;     // ids whose records every sink stored
  bool full = false;              // `add` starts the whole set anew (a new guardian)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, guard_batch& x) {
  return f(caf::meta::type_name("guard_batch"), x.add, x.done, x.full);
}

/// A URL a shard has seen, as its host's partition hash and the URL's
/// 128-bit fingerprint: enough for the host's new owner not to fetch it again.
struct seen_url {
  uint64_t host_hash = 0;
  uint64_t hi = 0;
  uint64_t lo = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, seen_url& x) {
  return f(caf::meta::type_name("seen_url"), x.host_hash, x.hi, x.lo);
}

/// What a guardian hands the new owner of a dead shard's hosts: the URLs
/// that shard had seen and finished (as fingerprints, so that they are not
/// fetched again) and those it had not finished. Sent in parts; the last
/// one says the takeover is complete.
struct takeover_batch {
  std::vector<seen_url> seen;      // seen and done: not to fetch again
  std::vector<crawl_request> urls; // not done: to fetch (again)
  bool last = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, takeover_batch& x) {
  return f(caf::meta::type_name("takeover_batch"), x.seen, x.urls, x.last);
}

/// A site that moves to a shard of a node that joined, with its page budget used.
struct moved_site {
  std::string origin;    // scheme://authority
  uint64_t admitted = 0; // URLs it admitted so far (--max-pages-per-host)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, moved_site& x) {
  return f(caf::meta::type_name("moved_site"), x.origin, x.admitted);
}

/// What a live shard hands a shard of a node that joined: the hosts that
/// shard owns now, with their queued URLs (never fetched) and seen URLs.
/// Sent in parts; the last one says the handoff is complete.
struct handoff_batch {
  std::vector<moved_site> sites;
  std::vector<seen_url> seen;      // seen: not to fetch again
  std::vector<crawl_request> urls; // queued: to fetch there
  bool last = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, handoff_batch& x) {
  return f(caf::meta::type_name("handoff_batch"), x.sites, x.seen, x.urls, x.last);
}

/// A host with URLs queued (by partition hash), as a shard tells the
/// coordinator, which may move it to balance the load.
struct host_load {
  uint64_t hash = 0;
  uint64_t queued = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, host_load& x) {
  return f(caf::meta::type_name("host_load"), x.hash, x.queued);
}

/// Links a crawl did not follow, by why (the report's "links not followed").
struct link_cuts {
  uint64_t scope = 0;      // out of scope: domains, --allow/--deny, deeper than --max-depth
  uint64_t budget = 0;     // over --max-pages or --max-pages-per-host
  uint64_t traps = 0;      // cut as traps (--trap-chain, --trap-repeats)
  uint64_t past_depth = 0; // found on pages at --max-depth, each time one is found

  /// The distinct links not followed: all but `past_depth`.
  uint64_t distinct() const noexcept { return scope + budget + traps; }

  link_cuts& operator+=(const link_cuts& x) noexcept {
    scope += x.scope;
    budget += x.budget;
    traps += x.traps;
    past_depth += x.past_depth;
    return *this;
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, link_cuts& x) {
  return f(caf::meta::type_name("link_cuts"), x.scope, x.budget, x.traps, x.past_depth);
}

/// Counters of one frontier shard, for progress and the final report.
struct frontier_stats {
  uint64_t shard = 0;       // shard id
  uint64_t hosts = 0;       // hosts owned
  uint64_t seen = 0;        // distinct URLs seen
  uint64_t queued = 0;      // waiting to be fetched
  uint64_t in_flight = 0;   // handed to fetchers, no record yet
  uint64_t recorded = 0;    // ended in a record
  uint64_t pages = 0;       // records with a response
  uint64_t failures = 0;    // records with an error
  uint64_t bytes = 0;       // body bytes fetched
  link_cuts cut;            // links not followed (not recorded), by why
  uint64_t items_dropped = 0; // items the item pipeline dropped
  uint64_t batches_sent = 0;     // link batches sent to shards (itself included)
  uint64_t batches_received = 0; // link batches received
  bool idle = false;        // nothing queued, in flight or unacknowledged
  std::vector<std::string> sink_errors; // per sink: why it failed, or empty
  std::vector<uint64_t> sink_lost;      // per sink: records it did not acknowledge
  std::string state_error;  // why its state store (--state) failed, or empty
  uint64_t resumed = 0;     // URLs taken up again after a crash (--state)
  uint64_t reowned = 0;     // URLs it guarded for a dead node, handed to their new owners
  uint64_t guarded = 0;     // URLs it keeps for other shards now
  uint64_t guard_batches = 0; // batches sent to its guardian
  uint64_t moved_hosts = 0; // sites it handed to shards of a node that joined
  uint64_t moved_urls = 0;  // ... and their queued URLs
  uint64_t budget = 0;      // units of --concurrency it holds
  uint64_t revisits = 0;    // pages fetched again that a state store knew (--recrawl)
  uint64_t changed = 0;     // ... whose payload changed
  uint64_t unchanged = 0;   // ... the same: a 304 or an identical payload
  uint64_t not_modified = 0; // ... of them answered 304
  uint64_t gone = 0;        // ... now 404 or 410
  uint64_t due = 0;         // URLs that came due again (--recrawl-every)
  bool moving = false;      // hosts are being handed to or from it
  std::vector<host_load> busiest; // in a cluster: its hosts with most URLs queued that
                                  // never moved, most first (a few)
  record_metrics records;   // its records' counts and distributions (/metrics)
  host_states site_states;  // its sites by what they wait for (at most a second old)
  std::vector<std::pair<std::string, uint64_t>> longest_queues; // ... its sites with most URLs
                                                               // queued, most first (10)
  std::vector<uint64_t> sink_unacked; // per sink: record batches not acknowledged yet
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, frontier_stats& x) {
  return f(caf::meta::type_name("frontier_stats"), x.shard, x.hosts, x.seen, x.queued,
           x.in_flight, x.recorded, x.pages, x.failures, x.bytes, x.cut, x.items_dropped,
           x.batches_sent,
           x.batches_received, x.idle, x.sink_errors, x.sink_lost, x.state_error, x.resumed,
           x.reowned, x.guarded, x.guard_batches, x.moved_hosts, x.moved_urls, x.budget,
           x.revisits, x.changed, x.unchanged, x.not_modified, x.gone, x.due, x.moving, x.busiest,
           x.records, x.site_states, x.longest_queues, x.sink_unacked);
}

/// What a shard could use of --concurrency, said to the other shards when it
/// changes much (they water-fill --concurrency by these, docs/user-guide.md).
struct concurrency_demand {
  uint64_t epoch = 0;  // the cluster view it is said under
  uint64_t shard = 0;  // the shard that says it
  uint32_t demand = 0; // requests it could keep in flight
  uint64_t budget = 0; // units of --concurrency it holds
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, concurrency_demand& x) {
  return f(caf::meta::type_name("concurrency_demand"), x.epoch, x.shard, x.demand, x.budget);
}

// -- fetcher -------------------------------------------------------------------

/// One HTTP request for a fetcher.
struct fetch_request {
  uint64_t id = 0;                   // chosen by the requester, echoed in the result
  std::string url;                   // normalised absolute URL
  std::string proxy;                 // proxy URL from a lease; empty for direct
  uint64_t lease = 0;                // the proxy lease to report back on; 0 if none
  std::vector<header_field> headers; // extra request headers
  bool follow_redirects = true;      // false: a redirect is the result
  std::string session;               // sticky proxy policy key; empty: the host
  bool keep_request = false;         // return the request head as sent (for WARC)
  uint64_t max_body_bytes = 0;       // 0: the fetcher's limit; else this one, the body cut there
  bool digest = false;               // compute a 200's payload digest (`fetch_result::digest`)
  std::string jar;                   // the cookie session (--session-per-proxy); empty: the crawl's jar
  uint64_t jar_generation = 0;       // the session's generation: a newer one starts an empty jar
  std::string redirected_from;       // the URL whose redirect led here; a redirect back to it
                                     // that set a cookie is followed at once (docs/cookies.md)
  std::string method;                // "POST" sends `body`; empty: GET
  std::string body;                  // the request's content (POST)
  std::string body_type;             // its Content-Type
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fetch_request& x) {
  return f(caf::meta::type_name("fetch_request"), x.id, x.url, x.proxy, x.lease, x.headers,
           x.follow_redirects, x.session, x.keep_request, x.max_body_bytes, x.digest, x.jar,
           x.jar_generation, x.redirected_from, x.method, x.body, x.body_type);
}

/// Where the time of one fetch went.
struct fetch_timings {
  caf::timespan dns{0};
  caf::timespan connect{0};
  caf::timespan tls{0};
  caf::timespan ttfb{0};   // request written to first response byte
  caf::timespan total{0};
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fetch_timings& x) {
  return f(caf::meta::type_name("fetch_timings"), x.dns, x.connect, x.tls, x.ttfb, x.total);
}

/// One hop of a redirect chain.
struct redirect_hop {
  std::string url;     // the URL that answered with a redirect
  uint16_t status = 0; // 301, 302, 303, 307 or 308
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, redirect_hop& x) {
  return f(caf::meta::type_name("redirect_hop"), x.url, x.status);
}

/// Whose fault a failed proxied fetch was, for the proxy manager's judgement.
enum class proxy_fault : uint8_t {
  none,   // not a proxy matter (direct, a response, or the target's own failure)
  proxy,  // the proxy itself: unreachable, timed out, bad reply, rejected credentials
  tunnel, // the proxy could not reach the target (CONNECT refused, SOCKS5 error), or
          // answered a forwarded request with 401 (the site's or the proxy's?):
          // the proxy's or the target's fault, decided by trying other proxies
  unusable, // the proxy itself, for the whole run: its TLS certificate failed verification
};

/// What one fetch produced: a response or a failure, never nothing.
struct fetch_result {
  uint64_t id = 0;                   // the request's id
  std::string url;                   // requested URL
  std::string final_url;             // after redirects
  uint16_t status = 0;               // 0 if no response
  std::vector<header_field> headers; // response headers as received
  shared_bytes body;                 // decoded body
  bool truncated = false;            // body cut at the size limit
  std::string content_type;          // media type without parameters
  std::string charset;               // declared charset, if any
  std::vector<redirect_hop> redirects;
  fetch_timings timings;
  uint64_t wire_bytes = 0;           // bytes received on the wire
  std::string remote_address;        // peer address:port
  std::string proxy;                 // proxy used, credentials masked; empty if direct
  crawl_errc error = crawl_errc::none;
  std::string error_message;         // human-readable detail of `error`
  proxy_fault fault = proxy_fault::none;
  caf::timestamp fetched_at{};
  std::string request;               // the last hop's request head as sent, if asked
  std::string digest;                // a 200's payload digest (payload_digest), if asked
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fetch_result& x) {
  return f(caf::meta::type_name("fetch_result"), x.id, x.url, x.final_url, x.status,
           x.headers, x.body, x.truncated, x.content_type, x.charset, x.redirects, x.timings,
           x.wire_bytes, x.remote_address, x.proxy, x.error, x.error_message, x.fault,
           x.fetched_at, x.request, x.digest);
}

// -- rate limiter --------------------------------------------------------------

/// Permission to send one request to a host now.
struct slot_grant {
  std::string host;    // host key
  uint64_t token = 0;  // returned with the release
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, slot_grant& x) {
  return f(caf::meta::type_name("slot_grant"), x.host, x.token);
}

/// How a request to a host went, so the limiter can adapt its pace.
struct fetch_feedback {
  uint16_t status = 0;               // 0 if no response
  crawl_errc error = crawl_errc::none;
  caf::timespan latency{0};          // time to first byte
  caf::timespan retry_after{0};      // from a Retry-After header; 0 if none
  caf::timespan busy{0};             // request sent to response read; 0 if not sent
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fetch_feedback& x) {
  return f(caf::meta::type_name("fetch_feedback"), x.status, x.error, x.latency,
           x.retry_after, x.busy);
}

/// Politeness a host asks for (robots.txt Crawl-delay) or a user configured.
struct host_policy {
  caf::timespan delay{0};      // minimum gap between request starts
  uint32_t concurrency = 0;    // requests in flight at once; 0 keeps the default
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, host_policy& x) {
  return f(caf::meta::type_name("host_policy"), x.delay, x.concurrency);
}

// -- proxy manager -------------------------------------------------------------

/// A fetcher's request for a proxy for one URL.
struct lease_request {
  std::string host;              // target host (the sticky policy's key by default)
  std::vector<uint32_t> exclude; // pool indexes this URL has already been tried through
  std::string session;           // if set, the sticky policy's key instead of the host
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, lease_request& x) {
  return f(caf::meta::type_name("lease_request"), x.host, x.exclude, x.session);
}

/// A proxy (or the direct route) lent for one request.
struct proxy_lease {
  uint64_t id = 0;       // lease id, reported back; 0: every proxy was excluded
  uint32_t proxy = 0;    // index in the pool
  std::string url;       // proxy URL with credentials; "direct" for the direct route
  std::string label;     // the same URL with credentials masked, for records
  uint64_t generation = 0; // the proxy's session; a ban starts the next (its cookies retired)
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, proxy_lease& x) {
  return f(caf::meta::type_name("proxy_lease"), x.id, x.proxy, x.url, x.label, x.generation);
}

/// How a request through a proxy went.
enum class proxy_outcome : uint8_t {
  ok,           // the proxy carried the request (whatever the page's status)
  failed,       // connect, tunnel or protocol failure at the proxy
  timeout,      // the proxy did not answer in time
  banned,       // the target answered as if the proxy's address is banned
  auth,         // the proxy rejected our credentials
  inconclusive, // a ban-like answer or refused tunnel, judged once other proxies tried
  unusable,     // the proxy cannot serve this run (`why` says why): retired
};

/// The report a fetcher sends after using a lease, or later to confirm an
/// inconclusive one (then `lease` is 0).
struct proxy_report {
  uint64_t lease = 0;
  uint32_t proxy = 0;    // index in the pool
  proxy_outcome outcome = proxy_outcome::ok;
  caf::timespan latency{0};
  std::string host;      // target host
  std::string why;       // with `unusable`: the failure that retires the proxy
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, proxy_report& x) {
  return f(caf::meta::type_name("proxy_report"), x.lease, x.proxy, x.outcome, x.latency,
           x.host, x.why);
}

/// Health and counters of one proxy.
struct proxy_stats {
  std::string label;    // masked proxy URL
  std::string state;    // active, quarantined or probing
  uint64_t requests = 0;  // leases given
  uint64_t successes = 0;
  uint64_t failures = 0;  // proxy failures, timeouts and rejected credentials
  uint64_t bans = 0;
  uint64_t quarantines = 0;
  uint32_t in_flight = 0;
  caf::timespan median_latency{0}; // of successful requests
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, proxy_stats& x) {
  return f(caf::meta::type_name("proxy_stats"), x.label, x.state, x.requests, x.successes,
           x.failures, x.bans, x.quarantines, x.in_flight, x.median_latency);
}

// -- parser and sinks ----------------------------------------------------------

/// A named value of an item a page handler emits.
using item_field = std::pair<std::string, std::string>;

/// A sitemap's record: what reading it gave (`read` is false in any other record).
struct sitemap_report {
  bool read = false;     // the record is a sitemap's, and it was read
  bool index = false;    // a sitemap index: its URLs are sitemaps
  uint64_t urls = 0;     // URLs it gave the crawl (which deduplicates them)
  std::vector<std::pair<std::string, uint64_t>> refused; // why -> how many entries
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, sitemap_report& x) {
  return f(caf::meta::type_name("sitemap_report"), x.read, x.index, x.urls, x.refused);
}

/// What became of a page fetched before (--recrawl), in its record.
enum class page_change : uint8_t {
  none,         // not fetched before (or no state store)
  changed,      // fetched again: its payload differs from the last one
  unchanged,    // fetched again: the same payload (its digest equals the last one)
  not_modified, // the server answered the conditional request with 304
  gone,         // it had a page; now 404 or 410
};

/// The name of `c` in records ("changed", "not_modified", ...; "" for none).
const char* to_string(page_change c) noexcept;

/// What a sink stores: the outcome of one URL, or an item a page handler emitted.
struct record {
  enum class kind_t : uint8_t { page, failure, item };
  kind_t kind = kind_t::page;
  std::string url;
  std::string final_url;
  uint16_t status = 0;
  crawl_errc error = crawl_errc::none;
  std::string error_message;
  uint32_t depth = 0;
  caf::timestamp fetched_at{};
  std::string content_type;
  uint64_t bytes = 0;
  caf::timespan elapsed{0};
  caf::timespan ttfb{0};            // request written to first response byte (0: no response)
  std::string proxy;                // masked
  std::string title;
  std::vector<item_field> fields;   // items only
  // Only when a sink asks for them (`sink_needs`); empty otherwise:
  shared_bytes body;                // the decoded response body (bodies)
  std::vector<header_field> headers; // response headers as received (http)
  std::string request;              // the request head as sent (http)
  std::string remote_address;       // the peer's address:port (http)
  std::vector<std::string> links;   // a page's outgoing links, normalised (links)
  bool resumed = false;             // fetched again after a crash: may be recorded twice
  // What the page asked of crawlers, and what a sitemap said of it:
  bool noindex = false;             // meta robots or X-Robots-Tag noindex (or none)
  std::string canonical;            // its rel=canonical URL (HTML or Link header), normalised
  sitemap_hints hints;              // from the sitemap that listed it
  sitemap_report sitemap;           // a sitemap's record: what reading it gave
  // With a state store (--state), what the last fetch of the URL says:
  std::string digest;               // payload digest of its page (a 304's: the page it refers to)
  page_change change = page_change::none;
  caf::timestamp refers_to{};       // unchanged or not_modified: when that payload was fetched
  std::string method;               // "POST" for a POST request; empty: GET
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, record& x) {
  return f(caf::meta::type_name("record"), x.kind, x.url, x.final_url, x.status, x.error,
           x.error_message, x.depth, x.fetched_at, x.content_type, x.bytes, x.elapsed, x.ttfb,
           x.proxy, x.title, x.fields, x.body, x.headers, x.request, x.remote_address, x.links,
           x.resumed, x.noindex, x.canonical, x.hints, x.sitemap, x.digest, x.change,
           x.refers_to, x.method);
}

/// What a sink wants records to carry beyond the basics: its answer to
/// `open`. The crawl adds a field only if some sink asks for it.
struct sink_needs {
  bool bodies = false; // `record::body`
  bool http = false;   // `record::headers`, `record::request`, `record::remote_address`
  bool links = false;  // `record::links`

  sink_needs& operator|=(const sink_needs& other) noexcept {
    bodies = bodies || other.bodies;
    http = http || other.http;
    links = links || other.links;
    return *this;
  }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, sink_needs& x) {
  return f(caf::meta::type_name("sink_needs"), x.bodies, x.http, x.links);
}

/// URLs packed into one buffer: a page's links go from a parser to its
/// shard in two allocations however many there are, and the shard makes a
/// string only of those it has not seen.
class url_list {
public:
  void push_back(std::string_view u) {
    text_ += u;
    ends_.push_back(static_cast<uint32_t>(text_.size()));
  }

  void reserve(std::size_t count, std::size_t bytes) {
    ends_.reserve(count);
    text_.reserve(bytes);
  }

  std::size_t size() const noexcept { return ends_.size(); }
  bool empty() const noexcept { return ends_.empty(); }

  /// The i-th URL (i < size()); a list read from a peer that is not
  /// consistent gives empty or cut views, never memory outside the buffer.
  std::string_view operator[](std::size_t i) const noexcept {
    std::size_t end = std::min<std::size_t>(ends_[i], text_.size());
    std::size_t begin = i == 0 ? 0 : std::min<std::size_t>(ends_[i - 1], end);
    return std::string_view{text_}.substr(begin, end - begin);
  }

  std::vector<std::string> strings() const {
    std::vector<std::string> out;
    out.reserve(size());
    for (std::size_t i = 0; i < size(); ++i)
      out.emplace_back((*this)[i]);
    return out;
  }

  template <class Inspector>
  friend typename Inspector::result_type inspect(Inspector& f, url_list& x) {
    return f(caf::meta::type_name("url_list"), x.text_, x.ends_);
  }

private:
  std::string text_;
  std::vector<uint32_t> ends_; // where each URL ends in text_
};

/// What a parser found on a page.
struct parse_result {
  uint64_t id = 0;                 // the fetch's id
  url_list links;                  // absolute, normalised, deduplicated within the page
  std::vector<record> items;       // emitted by the page handler
  std::string title;
  bool nofollow = false;           // meta robots or X-Robots-Tag nofollow
  bool noindex = false;            // meta robots or X-Robots-Tag noindex
  std::string canonical;           // rel=canonical (HTML, else Link header), normalised
  /// Links that are no usable URL (invalid_url), each once: as written (cut
  /// after --max-url-length characters) and why.
  std::vector<std::pair<std::string, std::string>> invalid;
  /// URLs the handler followed with a label, data or a priority (url
  /// absolute and normalised; depth and referrer are the shard's to set).
  std::vector<crawl_request> requests;
  uint64_t items_dropped = 0;      // items the item pipeline dropped
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, parse_result& x) {
  return f(caf::meta::type_name("parse_result"), x.id, x.links, x.items, x.title, x.nofollow,
           x.noindex, x.canonical, x.invalid, x.requests, x.items_dropped);
}

/// What a parser read in a fetched sitemap.
struct sitemap_result {
  uint64_t id = 0;                   // the fetch's id
  bool index = false;                // a sitemap index: `urls` are sitemaps
  url_list urls;                     // accepted: absolute, normalised, on an allowed host
  std::vector<sitemap_hints> hints;  // per URL of a urlset (empty for an index)
  std::vector<std::pair<std::string, uint64_t>> refused; // why -> how many entries
  crawl_errc error = crawl_errc::none; // reading stopped (too large, a bomb, corrupt)
  std::string error_message;           // ... and why; what was read before counts
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, sitemap_result& x) {
  return f(caf::meta::type_name("sitemap_result"), x.id, x.index, x.urls, x.hints, x.refused,
           x.error, x.error_message);
}

/// Records for a sink; answered with an `ack` that returns one credit.
struct record_batch {
  uint64_t seq = 0; // increasing per sender
  std::vector<record> records;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, record_batch& x) {
  return f(caf::meta::type_name("record_batch"), x.seq, x.records);
}

/// A sink has taken a batch over; the sender may send one more.
struct ack {
  uint64_t seq = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, ack& x) {
  return f(caf::meta::type_name("ack"), x.seq);
}

/// What a sink learns when a crawl starts.
struct crawl_info {
  std::string crawl_id;
  std::vector<std::string> seeds;
  std::string user_agent;
  caf::timestamp started_at{};
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, crawl_info& x) {
  return f(caf::meta::type_name("crawl_info"), x.crawl_id, x.seeds, x.user_agent, x.started_at);
}

/// Totals of the records a crawl produced, for its report.
struct crawl_tally {
  uint64_t records = 0;
  uint64_t pages = 0;    // with a response
  uint64_t failures = 0; // with an error
  uint64_t items = 0;
  uint64_t bytes = 0;
  std::vector<std::pair<uint16_t, uint64_t>> statuses;    // status -> records
  std::vector<std::pair<std::string, uint64_t>> errors;   // kind -> records
  std::vector<std::pair<std::string, uint64_t>> top_hosts; // most records first
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, crawl_tally& x) {
  return f(caf::meta::type_name("crawl_tally"), x.records, x.pages, x.failures, x.items, x.bytes,
           x.statuses, x.errors, x.top_hosts);
}

// -- cluster -------------------------------------------------------------------

// The cluster messages (node_start, node_info, cluster_view) carry actor
// handles, so they live in actor_types.hpp next to the interfaces they name.

} // namespace arachne
