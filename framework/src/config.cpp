#include "arachne/config.hpp"

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <regex>
#include <sstream>
#include <thread>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "caf/actor_system_config.hpp"
#include "caf/io/middleman.hpp"
#include "caf/openssl/manager.hpp"
#include "caf/sec.hpp"

#include "arachne/actor_types.hpp"
#include "arachne/cookies.hpp"
#include "arachne/errors.hpp"
#include "arachne/messages.hpp"

namespace arachne {

void register_message_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<shared_bytes>("arachne::shared_bytes");
  cfg.add_message_type<slot_grant>("arachne::slot_grant");
  cfg.add_message_type<crawl_request>("arachne::crawl_request");
  cfg.add_message_type<link_batch>("arachne::link_batch");
  cfg.add_message_type<frontier_stats>("arachne::frontier_stats");
  cfg.add_message_type<guard_batch>("arachne::guard_batch");
  cfg.add_message_type<concurrency_demand>("arachne::concurrency_demand");
  cfg.add_message_type<seen_url>("arachne::seen_url");
  cfg.add_message_type<takeover_batch>("arachne::takeover_batch");
  cfg.add_message_type<moved_site>("arachne::moved_site");
  cfg.add_message_type<handoff_batch>("arachne::handoff_batch");
  cfg.add_message_type<std::vector<frontier_stats>>("std::vector<arachne::frontier_stats>");
  cfg.add_message_type<fetch_request>("arachne::fetch_request");
  cfg.add_message_type<fetch_timings>("arachne::fetch_timings");
  cfg.add_message_type<redirect_hop>("arachne::redirect_hop");
  cfg.add_message_type<fetch_result>("arachne::fetch_result");
  cfg.add_message_type<slot_grant>("arachne::slot_grant");
  cfg.add_message_type<fetch_feedback>("arachne::fetch_feedback");
  cfg.add_message_type<host_policy>("arachne::host_policy");
  cfg.add_message_type<lease_request>("arachne::lease_request");
  cfg.add_message_type<proxy_lease>("arachne::proxy_lease");
  cfg.add_message_type<proxy_report>("arachne::proxy_report");
  cfg.add_message_type<proxy_stats>("arachne::proxy_stats");
  cfg.add_message_type<std::vector<proxy_stats>>("std::vector<arachne::proxy_stats>");
  cfg.add_message_type<record>("arachne::record");
  cfg.add_message_type<sink_needs>("arachne::sink_needs");
  cfg.add_message_type<parse_result>("arachne::parse_result");
  cfg.add_message_type<sitemap_result>("arachne::sitemap_result");
  cfg.add_message_type<record_batch>("arachne::record_batch");
  cfg.add_message_type<ack>("arachne::ack");
  cfg.add_message_type<crawl_info>("arachne::crawl_info");
  cfg.add_message_type<crawl_tally>("arachne::crawl_tally");
  cfg.add_message_type<node_start>("arachne::node_start");
  cfg.add_message_type<node_info>("arachne::node_info");
  cfg.add_message_type<cluster_view>("arachne::cluster_view");
  cfg.add_message_type<sink_actor>("arachne::sink_actor");
  cfg.add_message_type<stats_sink_actor>("arachne::stats_sink_actor");
  cfg.add_message_type<fetcher_actor>("arachne::fetcher_actor");
  cfg.add_message_type<rate_limiter_actor>("arachne::rate_limiter_actor");
  cfg.add_message_type<proxy_manager_actor>("arachne::proxy_manager_actor");
  cfg.add_message_type<parser_actor>("arachne::parser_actor");
  cfg.add_message_type<frontier_actor>("arachne::frontier_actor");
  cfg.add_message_type<std::vector<frontier_actor>>("std::vector<arachne::frontier_actor>");
  cfg.add_message_type<node_actor>("arachne::node_actor");
  cfg.add_message_type<join_actor>("arachne::join_actor");
  cfg.add_error_category(crawl_errc_category,
                         [](uint8_t code, caf::atom_value, const caf::message& ctx) {
                           std::string out{to_string_view(static_cast<crawl_errc>(code))};
                           if (ctx.match_elements<std::string>())
                             out += ": " + ctx.get_as<std::string>(0);
                           return out;
                         });
}

url_options settings::url_rules() const {
  url_options opts;
  if (query_mode == "sort")
    opts.query = url_options::query_mode::sort;
  else if (query_mode == "drop")
    opts.query = url_options::query_mode::drop;
  opts.strip_params = strip_params;
  opts.max_length = max_url_length;
  return opts;
}

namespace {

// General options and what a crawl covers: its scope, limits and state.
void add_crawling_options(option_set& o, settings& s) {
  o.section("General")
    .add("threads", s.threads, "actor scheduler threads; 0 = one per core")
    .add("scheduler-spin", s.scheduler.spin,
         "polls in a row by a scheduler thread out of work, before it backs off")
    .add("scheduler-backoff", s.scheduler.backoff,
         "after those, how long it polls every 50 us before it sleeps")
    .add("scheduler-wake", s.scheduler.wake,
         "how often a sleeping scheduler thread wakes to take work queued on another")
    .add("user-agent", s.http.user_agent, "User-Agent header and robots.txt token")
    .section("Crawling")
    .add("shards", s.run.shards, "frontier shards; 0 = one per thread")
    .add("concurrency", s.run.concurrency, "requests in flight in all")
    .add("parsers", s.run.parsers, "parser actors; 0 = one per thread")
    .add("max-depth", s.scope.max_depth, "links followed from the seeds; -1 = unlimited")
    .add("max-pages", s.scope.max_pages, "URLs fetched in all; 0 = unlimited")
    .add("max-pages-per-host", s.scope.max_pages_per_host,
         "URLs fetched per host (a backstop against traps); 0 = unlimited")
    .add("trap-chain", s.scope.trap_chain,
         "a trap: links in a row between URLs of one site that differ only in their numbers "
         "(a calendar's next month) are followed this far; 0 = no limit")
    .add("trap-repeats", s.scope.trap_repeats,
         "a trap: a link whose path repeats segments this many times in a row (/a/b/a/b/a/b/) "
         "is not followed; 0 = never")
    .add("allowed-domains", s.scope.allowed_domains,
         "only these hosts and their subdomains; empty = any")
    .add("allow", s.scope.allow, "URL regexes; if given, a URL must match one")
    .add("deny", s.scope.deny, "URL regexes; URLs matching one are not crawled")
    .add("retries", s.run.retries,
         "retries of transient failures (connect, timeout, reset, 5xx)")
    .add("retry-delay", s.run.retry_delay, "wait before the first retry; doubles each time")
    .add_choice("on-sink-failure", s.run.on_sink_failure,
                {{"stop", sink_failure_policy::stop},
                 {"continue", sink_failure_policy::continue_without},
                 {"restart", sink_failure_policy::restart}},
                "when a sink fails: stop the crawl gracefully, continue without it, or open it "
                "again (up to 3 times) and resend what it had not acknowledged")
    .add("follow-nofollow", s.scope.follow_nofollow,
         "follow rel=nofollow links and pages with meta robots nofollow")
    .add("honour-noindex", s.scope.honour_noindex,
         "pages that ask not to be indexed (meta robots, X-Robots-Tag) are recorded as "
         "noindex, without their content")
    .add("follow-canonical", s.scope.follow_canonical,
         "queue the URL a page names as its canonical (link rel=canonical, Link header)")
    .add("state", s.run.state_dir,
         "directory for the crawl's state (queues, seen URLs, what is done); a crawl killed "
         "at any moment resumes when run again with it; empty = no state kept")
    .add("queue-memory", s.run.queue_memory,
         "with --state: queued URLs per shard kept in memory; more wait in the state store")
    .add("recrawl", s.run.recrawl,
         "with --state: a finished crawl is crawled again, every URL it knows asked "
         "conditionally (ETag, Last-Modified) and compared with its last payload; an "
         "unfinished one is resumed first")
    .add("recrawl-every", s.run.recrawl_every,
         "with --state: keep crawling, each URL due again after this interval, halved when "
         "its page changed and grown by half when not (within --recrawl-min and "
         "--recrawl-max); 0 = one pass")
    .add("recrawl-min", s.run.recrawl_min, "continuous mode: the shortest interval of a URL")
    .add("recrawl-max", s.run.recrawl_max, "continuous mode: the longest interval of a URL");
}

// Sitemaps: where they come from, what they may give.
void add_sitemap_options(option_set& o, settings& s) {
  o.section("Sitemaps")
    .add_choice("sitemaps", s.scope.sitemaps,
                {{"on", sitemap_mode::on}, {"off", sitemap_mode::off}, {"only", sitemap_mode::only}},
                "read sitemaps (robots.txt's Sitemap lines and --sitemap): on, off, or only "
                "(their URLs and the seeds, no page links followed)")
    .add("sitemap", s.scope.sitemap_urls, "sitemap URLs to read besides robots.txt's")
    .add("sitemap-max-urls", s.scope.sitemap_max_urls,
         "URLs taken from one sitemap file; more are refused")
    .add_size("sitemap-max-size", s.scope.sitemap_max_bytes,
              "uncompressed bytes read of one sitemap file")
    .add("sitemap-max-depth", s.scope.sitemap_max_depth,
         "sitemap index levels followed; 1 = an index of sitemaps, as the protocol has it");
}

// How hard a host is pressed: gaps, concurrency, robots.txt, throttling.
void add_politeness_options(option_set& o, settings& s) {
  o.section("Politeness")
    .add("per-host-delay", s.politeness.delay, "minimum gap between request starts to one host")
    .add("per-host-jitter", s.politeness.jitter,
         "each gap is the delay times a random factor from 1 to 1 + this (never shorter)")
    .add("per-host-concurrency", s.politeness.concurrency, "requests in flight to one host")
    .add("max-crawl-delay", s.politeness.max_crawl_delay,
         "robots.txt Crawl-delay is obeyed up to this")
    .add("max-backoff", s.politeness.max_backoff,
         "longest extra gap after 429/503/timeouts, and longest Retry-After obeyed")
    .add("obey-robots", s.politeness.obey_robots, "fetch robots.txt per host and obey it")
    .add("robots-ttl", s.politeness.robots_ttl, "how long a robots.txt is obeyed before it is fetched again")
    .add("auto-throttle", s.politeness.auto_throttle,
         "fewer requests at once to a host whose answers slow down under the crawl's load")
    .add("throttle-ratio", s.politeness.throttle_ratio,
         "auto-throttle: a host answering slower than this times its fastest (plus the slack) "
         "is overloaded")
    .add("throttle-slack", s.politeness.throttle_slack,
         "auto-throttle: latency above the ratio a host may add before it counts as overloaded")
    .add("per-ip-concurrency", s.politeness.per_ip_concurrency,
         "requests in flight to one IP address, whichever hosts lead to it; 0 = per host only")
    .add("per-ip-delay", s.politeness.per_ip_delay,
         "minimum gap between request starts to one IP address; 0 = per host only");
}

// One request: timeouts, size limits, redirects, TLS, connections, DNS.
void add_fetching_options(option_set& o, settings& s) {
  o.section("Fetching")
    .add("io-threads", s.http.io_threads, "network IO threads; 0 = one per core")
    .add("source-address", s.http.source_address,
         "local IP address to connect from (a host with several); empty = any")
    .add("connect-timeout", s.http.connect_timeout, "limit for DNS lookup and TCP connect")
    .add("tls-timeout", s.http.tls_timeout, "limit for the TLS handshake")
    .add("ttfb-timeout", s.http.ttfb_timeout,
         "limit from sending the request to reading the response headers")
    .add("total-timeout", s.http.total_timeout, "limit for a whole fetch, redirects included")
    .add_size("max-header-size", s.http.max_header_bytes, "larger response headers fail as too_large")
    .add_size("max-body-size", s.http.max_body_bytes,
              "larger (decoded) bodies fail as too_large, or are cut with --truncate-body")
    .add("truncate-body", s.http.truncate_body,
         "keep the first --max-body-size bytes of a larger body and flag it, instead of failing")
    .add("max-compression-ratio", s.http.max_compression_ratio,
         "decoded/encoded size above which a compressed body is a bomb (too_large)")
    .add("max-redirects", s.http.max_redirects, "redirect hops followed; 0 = return redirects as they are")
    .add_repeatable("header", s.http.headers,
                    "extra request header 'Name: value'; repeat for more")
    .add("ca-file", s.http.ca_file, "trusted CA certificates (PEM); empty = the system store")
    .add("insecure", s.http.insecure, "do not verify TLS certificates or host names")
    .add("pool-per-host", s.http.pool_per_host, "idle keep-alive connections kept per host")
    .add("pool-size", s.http.pool_total, "idle keep-alive connections kept in all")
    .add("pool-idle-timeout", s.http.pool_idle_timeout, "close idle connections after")
    .add("dns-min-ttl", s.http.dns_min_ttl,
         "resolved addresses are kept at least this long, whatever their time to live")
    .add("dns-max-ttl", s.http.dns_max_ttl,
         "resolved addresses are kept at most this long, whatever their time to live")
    .add("dns-server", s.http.dns_servers,
         "ADDRESS[:PORT] of DNS servers to ask, in order; empty = the system's (/etc/resolv.conf)")
    .add_choice("ip-version", s.http.ip_version, {"any", "4", "6"},
                "addresses to connect to: any (IPv6 and IPv4, in RFC 6724 order), 4 or 6 only")
    .add("resolve", s.http.resolve,
         "host:port:address, to use that address for host and port (as curl --resolve)");
}

// The cookie jar: on or off, seeds, limits (docs/cookies.md).
void add_cookie_options(option_set& o, settings& s) {
  o.section("Cookies")
    .add("cookies", s.http.cookies,
         "keep the cookies servers set (RFC 6265) and send them back; off = never send any")
    .add_repeatable("cookie", s.http.cookie_seeds,
                    "a cookie to start with, 'HOST:NAME=VALUE[; attributes]': sent to HOST and "
                    "its subdomains (unless the attributes say otherwise); repeat for more")
    .add("cookie-file", s.http.cookie_file,
         "cookies to start with, from a Netscape cookie file (as curl and browser extensions "
         "export); in a cluster each node reads it at the same path")
    .add_size("max-cookie-size", s.http.cookie_bounds.max_bytes,
              "a cookie's name and value together; a larger cookie is refused")
    .add("max-cookies-per-domain", s.http.cookie_bounds.per_domain,
         "cookies kept per registrable domain; the least recently used one goes")
    .add("max-cookies", s.http.cookie_bounds.total,
         "cookies kept in one jar; the least recently used one goes")
    .add("session-per-proxy", s.proxies.session_per_proxy,
         "with --proxy: each proxy has its own cookie jar, and a ban that proxy gets retires "
         "its cookies with it");
}

// How URLs are normalised, and the proxies requests go through.
void add_url_and_proxy_options(option_set& o, settings& s) {
  o.section("URL normalisation")
    .add_choice("query", s.query_mode, {"keep", "sort", "drop"},
                "query strings: keep as found, sort parameters, or drop")
    .add("strip-params", s.strip_params,
         "query parameters to remove; 'utm_*' matches a prefix")
    .add("max-url-length", s.max_url_length, "longer URLs are recorded as invalid_url")
    .section("Proxies")
    .add("proxy", s.proxies.proxies,
         "proxy URLs: http://, https://, socks5://, socks5h:// with user:pass@ (',' as %2C), or 'direct'")
    .add("proxy-file", s.proxies.proxy_file, "more proxy URLs, one per line, '#' comments")
    .add_choice("proxy-policy", s.proxies.policy, {"round-robin", "random", "least-used", "sticky"},
                "how a proxy is chosen per request; sticky keeps one per host")
    .add("proxy-concurrency", s.proxies.per_proxy_concurrency,
         "requests in flight per proxy; 0 = unlimited")
    .add("proxy-rate", s.proxies.per_proxy_rate, "requests per second per proxy; 0 = unlimited")
    .add("proxy-wait", s.proxies.wait,
         "how long a request waits for a usable proxy before failing as proxy_exhausted")
    .add("proxy-max-failures", s.proxies.max_failures,
         "consecutive failures or timeouts that quarantine a proxy")
    .add("proxy-backoff", s.proxies.backoff,
         "first quarantine; doubled per quarantine in a row, randomized x0.5-1.5")
    .add("proxy-max-backoff", s.proxies.max_backoff, "longest quarantine")
    .add("ban-status", s.proxies.ban_status,
         "statuses that mean the proxy is banned (once another proxy gets through)")
    .add("ban-body", s.proxies.ban_body,
         "case-insensitive regex on proxied HTML that means banned; empty = off")
    .add("page-fault-after", s.proxies.page_fault_after,
         "proxies a URL is tried through; failing on all of them is the page's fault")
    .add("proxy-report", s.proxies.report_path, "write per-proxy statistics as JSON to this file");
}

// A crawl over several processes: the nodes and how they are reached.
void add_cluster_options(option_set& o, settings& s) {
  o.section("Cluster")
    .add("cluster", s.cluster.nodes,
         "HOST:PORT of each 'arachne node' to crawl on; empty = crawl in this process")
    .add("cluster-listen", s.cluster.listen,
         "HOST:PORT where nodes join the running crawl ('arachne node --join'); empty = no joins")
    .add("cluster-cert", s.cluster.cert, "this process's certificate (PEM), signed by the cluster CA")
    .add("cluster-key", s.cluster.key, "the private key of --cluster-cert (PEM)")
    .add("cluster-ca", s.cluster.ca,
         "the cluster CA (PEM): only peers with a certificate it signed are accepted")
    .add("insecure-cluster", s.cluster.insecure,
         "cluster traffic in plaintext, unauthenticated (a trusted network only)")
    .add_choice("cluster-sinks", s.cluster.sinks,
                {{"coordinator", cluster_sinks::coordinator}, {"local", cluster_sinks::local}},
                "where nodes send records: to the coordinator's --out sinks, or their own --out")
    .add("cluster-rebalance", s.cluster.rebalance,
         "move hosts with queued URLs from the busiest node to a node out of work "
         "(experimental: see docs/distributed.md)")
    .add("cluster-heartbeat", s.cluster.heartbeat, "heartbeat between cluster peers")
    .add("cluster-timeout", s.cluster.timeout, "a cluster peer silent this long is dead")
    .add("cluster-handshakes", s.cluster.handshakes,
         "TLS handshakes a process may have pending; for each one more the oldest is dropped")
    .add("cluster-resume-wait", s.cluster.resume_wait,
         "with --state: nodes keep the crawl this long if the coordinator dies, to resume it");
}

// Watching the process: Prometheus metrics and the control API.
void add_watch_options(option_set& o, settings& s) {
  o.section("Watching")
    .add("metrics", s.watch.metrics,
         "HOST:PORT serving Prometheus metrics at /metrics (PORT 0: any free port, printed); "
         "empty = none")
    .add("control-token", s.watch.token_file,
         "file holding the token of the control API (/status, /seeds, /pause, /resume, /stop "
         "on the --metrics port); empty = the API is off");
}

} // namespace

config::config() {
  register_message_types(*this);
  add_crawling_options(options_, crawl);
  add_sitemap_options(options_, crawl);
  add_politeness_options(options_, crawl);
  add_fetching_options(options_, crawl);
  add_url_and_proxy_options(options_, crawl);
  add_cookie_options(options_, crawl);
  add_cluster_options(options_, crawl);
  add_watch_options(options_, crawl);
  crawl_options_ = options_.size();
  apply();
}

namespace {

// --metrics is HOST:PORT; --control-token names a readable file with a
// token in it (its first line, spaces around it dropped), and needs --metrics.
std::string check_watch(settings::watch_options& w) {
  if (!w.metrics.empty()) {
    auto colon = w.metrics.rfind(':');
    char* end = nullptr;
    auto port = colon == std::string::npos ? 0 : std::strtoul(w.metrics.c_str() + colon + 1, &end, 10);
    if (colon == std::string::npos || colon == 0 || colon + 1 == w.metrics.size() || *end != '\0'
        || port > 65535)
      return "option --metrics expects HOST:PORT, not '" + w.metrics + "'";
  }
  if (w.token_file.empty())
    return {};
  if (w.metrics.empty())
    return "--control-token needs --metrics=HOST:PORT (the API is served there)";
  std::ifstream in{w.token_file};
  if (!in)
    return "--control-token: cannot read '" + w.token_file + "'";
  std::string line;
  std::getline(in, line);
  auto b = line.find_first_not_of(" \t\r");
  auto e = line.find_last_not_of(" \t\r");
  if (b == std::string::npos)
    return "--control-token: '" + w.token_file + "' holds no token (its first line is empty)";
  w.token = line.substr(b, e - b + 1);
  if (w.token.size() < 16)
    return "--control-token: the token in '" + w.token_file + "' is too short (16 characters at least)";
  return {};
}

// Every --cookie seed and the --cookie-file are usable (a scratch jar takes them).
std::string check_cookies(const http_options& http) {
  if (http.cookie_bounds.max_bytes == 0 || http.cookie_bounds.per_domain == 0
      || http.cookie_bounds.total == 0)
    return "--max-cookie-size, --max-cookies-per-domain and --max-cookies must be at least 1";
  if (!http.cookies) {
    if (!http.cookie_seeds.empty() || !http.cookie_file.empty())
      return "--cookie and --cookie-file need --cookies=on";
    return {};
  }
  auto reason = [](const caf::error& err) {
    return err.context().match_elements<std::string>() ? err.context().get_as<std::string>(0)
                                                       : std::string{"invalid"};
  };
  cookie_jar jar{http.cookie_bounds};
  auto now = cookie_jar::clock::now();
  if (!http.cookie_file.empty()) {
    std::ifstream in{http.cookie_file, std::ios::binary};
    std::stringstream text;
    text << in.rdbuf();
    if (!in)
      return "--cookie-file: cannot read '" + http.cookie_file + "'";
    if (auto added = jar.load_netscape(text.str(), now); !added)
      return "--cookie-file '" + http.cookie_file + "': " + reason(added.error());
  }
  for (auto& seed : http.cookie_seeds)
    if (auto err = jar.seed(seed, now))
      return "--cookie: " + reason(err);
  return {};
}

} // namespace

std::string settings::check() {
  if (scheduler.wake < std::chrono::milliseconds(1))
    return "option --scheduler-wake expects a duration of at least 1ms";
  if (auto err = check_watch(watch); !err.empty())
    return err;
  if (scope.sitemaps == sitemap_mode::off && !scope.sitemap_urls.empty())
    return "--sitemap needs --sitemaps=on or --sitemaps=only";
  for (auto& u : scope.sitemap_urls)
    if (auto parsed = parse_url(u, url_rules()); !parsed)
      return "--sitemap: '" + u + "' is not a usable URL ("
             + (parsed.error().context().match_elements<std::string>()
                  ? parsed.error().context().get_as<std::string>(0)
                  : std::string{"invalid"})
             + ")";
  if (!(politeness.throttle_ratio >= 1.0))
    return "option --throttle-ratio expects a number of at least 1";
  if (scope.trap_repeats == 1)
    return "option --trap-repeats expects 0 (never) or a number of at least 2";
  if (cluster.handshakes == 0)
    return "option --cluster-handshakes expects a number of at least 1";
  // Proxies: every URL parses, the file is read into the list.
  if (!proxies.proxy_file.empty()) {
    auto more = read_proxy_file(proxies.proxy_file);
    if (!more)
      return more.error().context().match_elements<std::string>()
               ? more.error().context().get_as<std::string>(0)
               : "cannot read --proxy-file";
    proxies.proxies.insert(proxies.proxies.end(), more->begin(), more->end());
    proxies.proxy_file.clear();
  }
  for (auto& p : proxies.proxies)
    if (auto spec = parse_proxy(p); !spec)
      return "--proxy: " + spec.error().context().get_as<std::string>(0);
  for (auto& code : proxies.ban_status) {
    char* end = nullptr;
    auto n = std::strtoul(code.c_str(), &end, 10);
    if (code.empty() || *end != '\0' || n < 100 || n > 599)
      return "--ban-status: '" + code + "' is not an HTTP status";
  }
  try {
    std::regex check{proxies.ban_body, std::regex::ECMAScript | std::regex::icase};
  } catch (const std::regex_error& e) {
    return "--ban-body: invalid pattern '" + proxies.ban_body + "': " + e.what();
  }
  return check_cookies(http);
}

std::string config::parse_args(const std::vector<std::string>& args) {
  auto res = options_.parse(args);
  help_requested = res.help;
  markdown_help_requested = res.markdown;
  positional = std::move(res.positional);
  if (!res.error.empty())
    return res.error;
  if (auto err = crawl.check(); !err.empty())
    return err;
  apply();
  return {};
}

caf::error config::parse(int argc, char** argv, const char* ini_file) {
  std::vector<std::string> ours;
  std::vector<std::string> cafs;
  for (int i = 1; i < argc; ++i) {
    std::string a{argv[i]};
    auto name_end = a.find('=');
    if (a.rfind("--", 0) == 0 && a.substr(0, name_end).find('.') != std::string::npos)
      cafs.push_back(std::move(a));
    else
      ours.push_back(std::move(a));
  }
  if (auto err = parse_args(ours); !err.empty())
    return caf::make_error(caf::sec::invalid_argument, std::move(err));
  if (help_requested) {
    if (markdown_help_requested)
      options_.print_markdown(std::cout);
    else
      options_.print_help(std::cout);
    cli_helptext_printed = true;
    return caf::none;
  }
  return caf::actor_system_config::parse(std::move(cafs), ini_file);
}

void config::enable_network() {
  if (network_)
    return;
  network_ = true;
  load<caf::io::middleman>();
}

namespace {

bool readable_key(const std::string& path) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio{BIO_new_file(path.c_str(), "r"), &BIO_free};
  if (!bio)
    return false;
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key{
    PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr), &EVP_PKEY_free};
  return key != nullptr;
}

// The cluster's certificate, key and CA load, and the key is the
// certificate's: checked at start, so that a wrong pair is one line and exit
// 2, not a process that hangs or aborts at its first peer.
std::string check_tls_files(const cluster_options& c) {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx{SSL_CTX_new(TLS_method()), &SSL_CTX_free};
  if (!ctx)
    return "cannot make a TLS context";
  ERR_clear_error();
  std::string err;
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), c.cert.c_str()) != 1)
    err = "--cluster-cert: '" + c.cert + "' holds no PEM certificate";
  else if (!readable_key(c.key))
    err = "--cluster-key: '" + c.key + "' holds no PEM private key";
  else if (SSL_CTX_use_PrivateKey_file(ctx.get(), c.key.c_str(), SSL_FILETYPE_PEM) != 1
           || SSL_CTX_check_private_key(ctx.get()) != 1)
    err = "--cluster-key: '" + c.key + "' is not the private key of --cluster-cert '" + c.cert + "'";
  else if (SSL_CTX_load_verify_locations(ctx.get(), c.ca.c_str(), nullptr) != 1)
    err = "--cluster-ca: '" + c.ca + "' holds no PEM certificate";
  ERR_clear_error();
  return err;
}

} // namespace

std::string config::enable_cluster() {
  auto& c = crawl.cluster;
  if (!c.insecure) {
    if (c.cert.empty() || c.key.empty() || c.ca.empty())
      return "cluster traffic needs --cluster-cert, --cluster-key and --cluster-ca "
             "(see 'arachne cluster-ca'), or --insecure-cluster";
    for (auto* f : {&c.cert, &c.key, &c.ca})
      if (std::ifstream in{*f}; !in)
        return "cannot read '" + *f + "'";
    if (auto err = check_tls_files(c); !err.empty())
      return err;
  } else if (!c.cert.empty() || !c.key.empty() || !c.ca.empty()) {
    return "--insecure-cluster excludes --cluster-cert, --cluster-key and --cluster-ca";
  }
  enable_network();
  if (!c.insecure && !tls_) {
    tls_ = true;
    load<caf::openssl::manager>();
    openssl_certificate = c.cert;
    openssl_key = c.key;
    openssl_cafile = c.ca;
  }
  set("middleman.heartbeat-interval", c.heartbeat);
  set("middleman.connection-timeout", c.timeout);
  return {};
}

std::vector<std::string> config::crawl_args() const {
  return options_.to_args({"threads", "scheduler-spin", "scheduler-backoff", "scheduler-wake",
                           "shards", "parsers", "io-threads", "source-address", "state",
                           "queue-memory", "recrawl", "recrawl-every", "recrawl-min", "recrawl-max",
                           "proxy-file", "proxy-report", "cluster", "cluster-listen", "cluster-cert", "cluster-key",
                           "cluster-ca", "insecure-cluster", "cluster-sinks", "cluster-rebalance", "cluster-heartbeat",
                           "cluster-timeout", "cluster-handshakes", "cluster-resume-wait", "metrics", "control-token"},
                          crawl_options_);
}

void config::apply() {
  auto n = crawl.threads;
  if (n == 0)
    n = std::max(1u, std::thread::hardware_concurrency());
  set("scheduler.max-threads", static_cast<size_t>(n));
  auto& sched = crawl.scheduler;
  constexpr auto moderate_sleep = std::chrono::microseconds(50);
  set("work-stealing.aggressive-poll-attempts", static_cast<size_t>(sched.spin));
  set("work-stealing.moderate-poll-attempts",
      static_cast<size_t>(sched.backoff / moderate_sleep));
  set("work-stealing.moderate-sleep-duration", caf::timespan{moderate_sleep});
  set("work-stealing.relaxed-sleep-duration", sched.wake);
}

} // namespace arachne
