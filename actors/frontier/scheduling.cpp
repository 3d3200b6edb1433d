// The shard's scheduling: URLs admitted into their sites' queues, robots.txt
// fetched and obeyed, slots asked of the rate limiter within the shard's
// share of --concurrency, fetches handed out, and their outcomes carried out
// as the fetch policy says. Per-IP politeness is in per_ip.cpp.

#include "frontier/shard.hpp"

#include <algorithm>

#include "arachne/http_semantics.hpp"
#include "arachne/revisit.hpp"
#include "arachne/traps.hpp"
#include "parser/parser.hpp"

namespace arachne::shard {

using url_state = frontier_journal::url_state;

namespace {

std::string_view target_of(std::string_view u) {
  auto scheme = u.find("://");
  if (scheme == std::string_view::npos)
    return "/";
  auto slash = u.find('/', scheme + 3);
  return slash == std::string_view::npos ? std::string_view{"/"} : u.substr(slash);
}

// Why a URL is out of scope, or empty; `cut` says which count a link out of
// scope goes to. Depth and the URL patterns choose pages: a sitemap is read
// whatever they say (its URLs meet them). The trap heuristics judge links
// and redirect targets, not seeds.
std::string out_of_scope(frontier_state& st, const crawl_request& req, bool seed,
                         uint64_t link_cuts::*& cut) {
  auto& scope = st.cfg.scope;
  cut = &link_cuts::scope;
  bool page = req.kind == url_kind::page;
  if (page && scope.max_depth >= 0 && req.depth > static_cast<uint64_t>(scope.max_depth))
    return "deeper than --max-depth";
  if (!scope.allowed_domains.empty()) {
    auto host = url_host(req.url);
    bool ok = false;
    for (auto& d : scope.allowed_domains) {
      if (host == d || (host.size() > d.size() && host.substr(host.size() - d.size()) == d
                        && host[host.size() - d.size() - 1] == '.')) {
        ok = true;
        break;
      }
    }
    if (!ok)
      return "host not in --allowed-domains";
  }
  if (!page)
    return {};
  if (!st.allow.empty()
      && std::none_of(st.allow.begin(), st.allow.end(),
                      [&](const std::regex& re) { return std::regex_search(req.url, re); }))
    return "matches no --allow pattern";
  for (auto& re : st.deny)
    if (std::regex_search(req.url, re))
      return "matches a --deny pattern";
  if (seed)
    return {};
  cut = &link_cuts::traps;
  if (scope.trap_chain != 0 && req.shape_run > scope.trap_chain)
    return "a trap: more than " + std::to_string(scope.trap_chain)
           + " links in a row between URLs of one shape (--trap-chain)";
  if (scope.trap_repeats >= 2 && repeats_segments(req.url, scope.trap_repeats))
    return "a trap: path segments repeated " + std::to_string(scope.trap_repeats)
           + " times in a row (--trap-repeats)";
  return {};
}

// True if admitting one more URL of site `h` would go over --max-pages
// (this shard's part of it) or --max-pages-per-host.
bool over_budget(const frontier_state& st, const host_entry& h) {
  auto& scope = st.cfg.scope;
  auto shards = std::max<std::size_t>(1, st.peers.size());
  auto budget = scope.max_pages == 0 ? 0 : (scope.max_pages + shards - 1) / shards;
  return (budget != 0 && st.admitted >= budget)
         || (scope.max_pages_per_host != 0 && h.admitted >= scope.max_pages_per_host);
}

// A URL not admitted: recorded if a seed, redirect target or sitemap, else
// counted as `cut`.
void refuse(pointer self, const crawl_request& req, bool seed, std::string why,
            uint64_t link_cuts::*cut) {
  if (seed || req.hops > 0 || req.kind == url_kind::sitemap)
    record_decision(self, req, crawl_errc::out_of_scope, std::move(why));
  else
    ++(self->state.cut.*cut);
}

// Brings a site's next URLs from the store into memory.
void refill(pointer self, host_entry& h) {
  auto& st = self->state;
  auto want = std::max<std::size_t>(16, 2 * st.cfg.politeness.concurrency);
  auto rows = st.journal->pending(h.db_id, h.spill_cursor, std::min<uint64_t>(h.spilled(), want));
  if (rows.empty()) // (only if the store failed)
    return st.sites.forget_spilled(h);
  for (auto& row : rows) {
    h.spill_cursor = static_cast<int64_t>(row.req.id);
    if (row.req.resumed)
      ++st.resumed;
    st.sites.refill(h, std::move(row.req));
  }
}

// The requests this shard has under way or asked for.
uint64_t busy(const frontier_state& st) {
  return st.in_flight + st.acquiring;
}

} // namespace

// In the store a decided URL is a taken row of no host, recorded again on
// resume if the crash came before its record was in every sink.
void record_decision(pointer self, const crawl_request& req, crawl_errc kind, std::string why) {
  auto& st = self->state;
  uint64_t id = 0;
  if (st.journal)
    id = static_cast<uint64_t>(st.journal->add_url(0, req, url_state::taken, kind, why));
  add_record(self, make_failure(req, kind, std::move(why)), id);
}

std::string origin_of(std::string_view u) {
  auto scheme = u.find("://");
  auto slash = scheme == std::string_view::npos ? u.size() : u.find('/', scheme + 3);
  return std::string{u.substr(0, slash)};
}

// -- admitting URLs --------------------------------------------------------------

bool note_seen(frontier_state& st, std::string_view url) {
  auto fp = fingerprint(url);
  if (!st.seen_urls.insert(fp))
    return false;
  if (st.view.cluster) {
    // In a cluster its fingerprint is kept by host too, to move with the
    // host if a node joins. (Only for its own hosts: one it decided about
    // for another owner, a redirect target, say, does not move with that
    // owner's hosts.)
    auto hash = partition_hash(url_host(url));
    if (st.partition.owner_index_of_hash(hash) == st.index)
      st.seen_by_host[hash].push_back(fp);
  }
  return true;
}

bool note_seen(frontier_state& st, const crawl_request& req) {
  return keyed_by_url(req) ? note_seen(st, req.url) : note_seen(st, seen_key(req));
}

void add_seen(frontier_state& st, const std::vector<seen_url>& seen) {
  for (auto& u : seen) {
    url_fingerprint fp{u.hi, u.lo};
    if (!st.seen_urls.insert(fp))
      continue;
    ++st.seen;
    if (st.view.cluster)
      st.seen_by_host[u.host_hash].push_back(fp);
  }
}

void admit(pointer self, crawl_request req, bool seed) {
  auto& st = self->state;
  // In a cluster, a URL for a host this shard does not own comes from a
  // shard with a newer view (a node was lost): it waits for that view. One
  // for a host of a lost shard waits for the lost shard's takeover.
  // A shard that joined holds every URL until the shards that owned its
  // hosts handed them over.
  if (st.view.cluster
      && (st.partition.owner(url_host(req.url)) != st.id || !st.awaiting_handoff.empty()
          || (!st.awaiting_takeover.empty() && awaits_takeover(st, req.url)))) {
    st.held.emplace_back(std::move(req), seed);
    return;
  }
  if (note_seen(st, req))
    admit_new(self, std::move(req), seed);
  else
    note_listed_again(self, req);
}

void take_url(pointer self, crawl_request req) {
  auto& st = self->state;
  if (st.partition.owner_index(url_host(req.url)) != st.index)
    return route(self, std::move(req));
  // (A host of a lost shard: wait for what that shard had done.)
  if (!st.awaiting_handoff.empty()
      || (!st.awaiting_takeover.empty() && awaits_takeover(st, req.url))) {
    st.held.emplace_back(std::move(req), false);
    return;
  }
  if (note_seen(st, req))
    admit_new(self, std::move(req), false);
  else
    note_listed_again(self, req);
}

// Decisions on seeds and redirect targets are recorded; links out of scope
// are only counted. A `handed` URL's scope and budgets were applied where
// it was admitted first.
void admit_new(pointer self, crawl_request req, bool seed, bool handed) {
  auto& st = self->state;
  ++st.seen;
  uint64_t link_cuts::*cut = nullptr;
  if (auto why = handed ? std::string{} : out_of_scope(st, req, seed, cut); !why.empty())
    return refuse(self, req, seed, std::move(why), cut);
  auto origin = origin_of(req.url);
  auto& h = st.sites[origin];
  bool page = req.kind == url_kind::page; // (a sitemap is not a page of the budget)
  if (!handed && page && over_budget(st, h))
    return refuse(self, req, seed, "over the page budget", &link_cuts::budget);
  if (!handed && page) { // (a handed one's site brings its count)
    ++h.admitted;
    ++st.admitted;
  }
  if (st.journal) {
    if (h.db_id == 0)
      h.db_id = st.journal->add_host(h.origin);
    req.id = static_cast<uint64_t>(st.journal->add_url(h.db_id, req, url_state::queued));
    // Over the memory bound, a site's new URLs wait in the store only.
    if (h.spilled() > 0 || st.sites.in_memory() >= st.cfg.run.queue_memory) {
      st.sites.spill(h);
      return pump(self, origin);
    }
    h.spill_cursor = static_cast<int64_t>(req.id);
  }
  if (st.view.cluster)
    st.guard.admit(req);
  st.sites.push(h, std::move(req));
  pump(self, origin);
}

// -- fetch outcomes --------------------------------------------------------------

namespace {

fetch_feedback feedback_of(const fetch_result& res) {
  fetch_feedback fb;
  fb.status = res.status;
  fb.error = res.error;
  fb.latency = res.timings.ttfb;
  auto& t = res.timings;
  if (t.total > t.dns + t.connect + t.tls)
    fb.busy = t.total - t.dns - t.connect - t.tls;
  if (res.status == 429 || res.status == 503)
    fb.retry_after = parse_retry_after(header_value(res.headers, "retry-after"),
                                       caf::make_timestamp());
  return fb;
}

// A page's link: to this shard's own site (checked against the seen set
// right here, before a request is built: most links were seen before), or
// to the shard that owns its host.
// `run`: the page's shape_run. `with`: the label, data and priority the
// handler followed it with, if any.
void take_link(pointer self, std::string_view link, uint32_t depth, const std::string& from,
               uint32_t run, crawl_request* with = nullptr) {
  auto& st = self->state;
  auto req = [&] {
    crawl_request r{std::string{link}, depth, from, 0, 0, 0};
    r.shape_run = same_shape(link, from) ? run + 1 : 0;
    if (with != nullptr) {
      r.priority = with->priority;
      r.options = with->options;
    }
    return r;
  };
  if (st.partition.owner_index(url_host(link)) != st.index || !st.awaiting_handoff.empty()
      || (!st.awaiting_takeover.empty() && awaits_takeover(st, link)))
    return take_url(self, req());
  if (with == nullptr || keyed_by_url(*with) ? note_seen(st, link) : note_seen(st, seen_key(*with)))
    admit_new(self, req(), false);
}

// A link that is no usable URL: recorded as invalid_url, once (its text
// is its key in the seen set: no usable URL has that text).
void record_invalid_link(pointer self, const std::string& text, const std::string& why,
                         uint32_t depth, const std::string& from) {
  auto& st = self->state;
  if (!note_seen(st, text))
    return;
  ++st.seen;
  record_decision(self, crawl_request{text, depth, from, 0, 0, 0}, crawl_errc::invalid_url,
                  "a link on " + from + " that is not a usable URL: " + why);
}

// A parsed page: its record (made when the fetch ended) gets the title,
// links and what the page asks of crawlers; the links go to their shards
// (none with --sitemaps=only).
void on_parsed(pointer self, record page, uint64_t id, uint32_t run, parse_result& pr) {
  auto& st = self->state;
  page.title = std::move(pr.title);
  if (st.cfg.needs.links)
    page.links = pr.links.strings();
  settle_directives(self, page, pr);
  auto depth = page.depth;
  auto from = page.url;
  bool withheld = page.noindex && st.cfg.scope.honour_noindex; // (its items too)
  add_record(self, std::move(page), id);
  if (!withheld)
    for (auto& item : pr.items)
      add_record(self, std::move(item));
  auto& scope = st.cfg.scope;
  if (scope.sitemaps != sitemap_mode::only
      && (scope.max_depth < 0 || depth < static_cast<uint64_t>(scope.max_depth))) {
    for (std::size_t i = 0; i < pr.links.size(); ++i)
      take_link(self, pr.links[i], depth + 1u, from, run);
    for (auto& r : pr.requests)
      take_link(self, r.url, depth + 1u, from, run, &r);
    for (auto& [text, why] : pr.invalid)
      record_invalid_link(self, text, why, depth + 1u, from);
  } else if (scope.sitemaps != sitemap_mode::only) {
    st.cut.past_depth += pr.links.size() + pr.requests.size();
  }
  st.items_dropped += pr.items_dropped;
  --st.in_flight;
  pump(self, origin_of(from));
}

// Records the outcome of a redirect and routes its target, unless the
// chain from the seed or link is too long; an unusable Location ends there.
void follow_redirect(pointer self, const crawl_request& req, const fetch_result& res) {
  auto& st = self->state;
  add_record(self, make_record(st.cfg, req, res), req.id);
  auto location = header_value(res.headers, "location");
  auto base = parse_url(res.final_url.empty() ? req.url : res.final_url, st.cfg.urls);
  if (!base)
    return;
  auto target = resolve_url(*base, location, st.cfg.urls);
  if (!target)
    return;
  crawl_request next{target->str(), req.depth, req.url, 0, req.hops + 1, 0};
  // A sitemap's target is the sitemap, read where it moved to.
  next.kind = req.kind;
  next.nesting = req.nesting;
  next.vouched = req.vouched;
  next.hints = req.hints;
  next.shape_run = req.shape_run;
  next.priority = req.priority;
  next.options = req.options;
  // A POST stays one after 307 and 308; after 301, 302 and 303 its target
  // is fetched with GET, as browsers do (RFC 9110 15.4).
  if (!req.opts().method.empty() && res.status != 307 && res.status != 308) {
    auto get = req.opts();
    get.method.clear();
    get.body.clear();
    get.body_type.clear();
    next.options = get.empty() ? nullptr : std::make_shared<const request_options>(std::move(get));
  }
  if (next.hops <= st.cfg.max_redirects)
    return route(self, std::move(next));
  if (note_seen(st, next)) {
    ++st.seen;
    record_decision(self, next, crawl_errc::too_many_redirects,
                    "more than " + std::to_string(st.cfg.max_redirects)
                      + " redirects from a seed or link");
  }
}

// Hands an HTML page to a parser; its record (made now) is sent with the
// links the parser finds.
void parse(pointer self, crawl_request req, fetch_result& res) {
  if (req.kind == url_kind::sitemap)
    return read_sitemap(self, std::move(req), res);
  auto& st = self->state;
  auto origin = origin_of(req.url);
  auto& p = st.parsers[st.next_parser++ % st.parsers.size()];
  // The record is made now; the request and result move to the parser.
  auto page = std::make_shared<record>(make_record(st.cfg, req, res));
  auto id = req.id;
  auto run = req.shape_run;
  self->request(p, caf::infinite, parse_atom::value, std::move(req), std::move(res))
    .then([=](parse_result& pr) { on_parsed(self, std::move(*page), id, run, pr); },
          [=](caf::error& err) {
            auto r = std::move(*page);
            r.error_message = "parser failed: " + self->system().render(err);
            add_record(self, std::move(r), id);
            --self->state.in_flight;
            pump(self, origin);
          });
}

// Waits out a transient failure's back-off, then fetches again.
void back_off(pointer self, crawl_request req) {
  auto& st = self->state;
  ++req.attempt;
  std::uniform_real_distribution<double> jitter{1.0, 1.5};
  auto wait = st.policy.retry_wait(req.attempt, jitter(st.rng));
  ++st.waiting_retry;
  self->delayed_send(self, wait, retry_atom::value, std::move(req));
}

// A fetch that ends the URL's visit: what it said is kept for the next
// pass (stored when the URL is done), and a re-crawl counts what changed.
void note_visit(pointer self, const crawl_request& req, const fetch_result& res,
                page_change change) {
  auto& st = self->state;
  if (!st.journal || req.id == 0)
    return;
  if (req.visit.known()) {
    ++st.revisits;
    switch (change) {
      case page_change::changed: ++st.changed; break;
      case page_change::unchanged: ++st.unchanged; break;
      case page_change::not_modified: ++st.unchanged; ++st.not_modified; break;
      case page_change::gone: ++st.gone; break;
      default: break;
    }
  }
  auto& next = st.visits[req.id];
  next = next_visit(req.visit, res.status, res.headers, res.digest, res.fetched_at, change);
  auto& run = st.cfg.run;
  if (run.continuous())
    next.interval = next_interval(req.visit, change, run.recrawl_every, run.recrawl_min,
                                  run.recrawl_max);
}

void on_fetched(pointer self, crawl_request req, const slot_grant& grant, fetch_result& res) {
  auto& st = self->state;
  auto origin = origin_of(req.url);
  release(self, origin, grant, feedback_of(res));
  st.bytes += res.body.size();
  auto& site = st.sites[origin];
  bool unreachable = is_unreachable(res);
  if (!unreachable)
    site.unreachable = 0;
  auto change = res.error == crawl_errc::none ? classify_change(req.visit, res.status, res.digest)
                                              : page_change::none;
  // An unchanged page (or sitemap) is not read again: its links are known.
  bool parsable = (req.kind == url_kind::sitemap || is_html(res)) && !st.parsers.empty()
                  && change != page_change::unchanged;
  auto action = st.policy.decide(req, res, st.stopping, site.dead != crawl_errc::none, parsable);
  if (action != fetch_action::retry && action != fetch_action::requeue_throttled)
    note_visit(self, req, res, change);
  // A site that fails to connect or resolve too often in a row is dead: its
  // other URLs end with that failure, unfetched (retries wait and count later).
  if (unreachable && action != fetch_action::retry && site.dead == crawl_errc::none
      && ++site.unreachable >= unreachable_limit)
    site.dead = res.error;
  if (action == fetch_action::parse)
    return parse(self, std::move(req), res);
  --st.in_flight;
  switch (action) {
    case fetch_action::requeue_throttled:
      ++req.throttled;
      st.sites.push(site, std::move(req));
      return pump(self, origin);
    case fetch_action::retry:
      return back_off(self, std::move(req));
    case fetch_action::retries_exhausted: {
      auto r = make_record(st.cfg, req, res);
      r.error = crawl_errc::retries_exhausted;
      r.error_message = retries_exhausted_message(res, req.attempt);
      add_record(self, std::move(r), req.id);
      break;
    }
    case fetch_action::follow_redirect:
      follow_redirect(self, req, res);
      break;
    case fetch_action::record:
    case fetch_action::parse: {
      auto r = make_record(st.cfg, req, res);
      queue_canonical(self, r); // (a PDF's Link header, say)
      add_record(self, std::move(r), req.id);
      break;
    }
  }
  pump(self, origin);
}

void fetch(pointer self, crawl_request req, slot_grant grant) {
  auto& st = self->state;
  ++st.in_flight;
  fetch_request fr;
  fr.id = ++st.next_fetch_id;
  fr.url = req.url;
  fr.follow_redirects = false; // redirect targets go back through the frontier
  if (req.hops > 0)
    fr.redirected_from = req.referrer; // (the consent-page pattern: docs/cookies.md)
  fr.keep_request = st.cfg.needs.http;
  if (req.kind == url_kind::sitemap) // (read up to --sitemap-max-size)
    fr.max_body_bytes = st.cfg.scope.sitemap_max_bytes;
  // With a state store: the payload digest, kept to tell changes on the next
  // pass, and a conditional request for a URL fetched before.
  fr.digest = st.journal != nullptr;
  fr.headers = conditional_headers(req.visit);
  fr.method = req.opts().method;
  fr.body = req.opts().body;
  fr.body_type = req.opts().body_type;
  self->request(next_fetcher(st), caf::infinite, fetch_atom::value, std::move(fr))
    .then([=](fetch_result& res) mutable { on_fetched(self, std::move(req), grant, res); },
          [=](caf::error& err) {
            // The fetcher itself failed (it never answers with an error):
            // the URL still gets its record.
            auto& s = self->state;
            release(self, origin_of(req.url), grant, fetch_feedback{});
            add_record(self,
                       make_failure(req, crawl_errc::cancelled,
                                    "fetcher failed: " + self->system().render(err)),
                       req.id);
            --s.in_flight;
            pump(self, origin_of(req.url));
          });
}

// -- robots.txt ------------------------------------------------------------------

// robots.txt could not be had (5xx, 429, network): complete disallow
// assumed until retried. Retries back off like a page's; the site's URLs
// wait meanwhile (the fetch still counts as under way, so the shard is not
// idle). True if it is tried again.
bool robots_unreachable(pointer self, host_entry& h, const fetch_result& res) {
  auto& st = self->state;
  auto why = res.error != crawl_errc::none ? to_string(res.error) + ": " + res.error_message
                                           : "status " + std::to_string(res.status);
  if (h.robots_failures < st.cfg.run.retries && !st.stopping) {
    auto wait = st.cfg.run.retry_delay * (1u << std::min(h.robots_failures, 10u));
    ++h.robots_failures;
    self->delayed_send(self, wait, robots_retry_atom::value, h.origin);
    return true;
  }
  h.rules = robots_rules::disallow_all();
  h.robots_problem = "robots.txt unavailable after " + std::to_string(h.robots_failures + 1)
                     + " tries (" + why + "): everything disallowed";
  // A site that could not be reached is the URLs' cause, not a robots.txt
  // that said no: their records say connect_failed, tls_failed, ...
  h.robots_cause = res.error == crawl_errc::http_status || res.error == crawl_errc::cancelled
                     ? crawl_errc::none
                     : res.error;
  return false;
}

void on_robots(pointer self, const std::string& origin, const slot_grant& grant,
               fetch_result& res) {
  auto& st = self->state;
  auto fb = feedback_of(res);
  fb.latency = {}; // (robots.txt says nothing of how the host copes with pages)
  release(self, origin, grant, std::move(fb));
  --st.in_flight;
  auto& h = st.sites[origin];
  auto outcome = classify_robots_fetch(res.status, res.error);
  if (outcome == robots_status::parsed) {
    h.rules = robots_rules::parse(res.body.view(), st.cfg.user_agent);
    if (auto delay = h.rules.crawl_delay())
      self->send(st.limiter, caf::put_atom::value, std::string{url_host(origin)},
                 host_policy{*delay, 0});
    h.robots_problem.clear();
    h.robots_cause = crawl_errc::none;
    take_sitemaps(self, h);
  } else if (outcome == robots_status::unavailable) {
    h.rules = robots_rules::allow_all(); // RFC 9309: unavailable means allowed
    h.robots_problem.clear();
    h.robots_cause = crawl_errc::none;
  } else if (robots_unreachable(self, h, res)) {
    return feed_starved(self); // (its unit of the budget is free)
  }
  h.robots_failures = 0;
  h.robots_expires = self->clock().now() + st.cfg.politeness.robots_ttl;
  h.robots = host_entry::robots_t::ready;
  --st.robots_fetching;
  pump(self, origin);
}

void fetch_robots(pointer self, const std::string& origin) {
  auto& st = self->state;
  auto& h = st.sites[origin];
  h.robots = host_entry::robots_t::fetching;
  ++st.robots_fetching;
  ++h.acquiring;
  ++st.acquiring;
  acquire(self, origin, [=](const slot_grant& grant) {
    auto& s = self->state;
    auto& site = s.sites[origin];
    --site.acquiring;
    ++site.granted;
    --s.acquiring;
    ++s.in_flight; // (robots.txt counts against --concurrency like any request)
    fetch_request fr;
    fr.id = ++s.next_fetch_id;
    fr.url = site.origin + "/robots.txt";
    fr.follow_redirects = true; // RFC 9309: follow up to five
    fr.max_body_bytes = robots_max_bytes; // and read the first 500 KiB of a larger file
    self->request(next_fetcher(s), caf::infinite, fetch_atom::value, std::move(fr))
      .then([=](fetch_result& res) { on_robots(self, origin, grant, res); },
            [=](caf::error&) {
              fetch_result failed; // treated as unreachable: disallow
              failed.error = crawl_errc::cancelled;
              on_robots(self, origin, grant, failed);
            });
  });
}

// -- slots -----------------------------------------------------------------------

// Why a URL of site `h` ends unfetched (the site is dead, robots.txt
// disallows it), or nothing.
std::optional<std::pair<crawl_errc, std::string>> unfetched(const frontier_state& st,
                                                            const host_entry& h,
                                                            const crawl_request& req) {
  if (h.dead != crawl_errc::none)
    return std::make_pair(h.dead, "not fetched: the last " + std::to_string(unreachable_limit)
                                    + " fetches from " + h.origin + " could not be reached");
  if (st.cfg.politeness.obey_robots && !h.rules.allowed(target_of(req.url))) {
    if (h.robots_problem.empty())
      return std::make_pair(crawl_errc::robots_denied, std::string{"disallowed by robots.txt"});
    return std::make_pair(h.robots_cause != crawl_errc::none ? h.robots_cause
                                                             : crawl_errc::robots_denied,
                          h.robots_problem);
  }
  return std::nullopt;
}

void on_grant(pointer self, const std::string& origin, const slot_grant& grant) {
  auto& st = self->state;
  auto& h = st.sites[origin];
  ++h.granted;
  --h.acquiring;
  --st.acquiring;
  if (h.queue().empty() && h.spilled() > 0 && !st.stopping)
    refill(self, h);
  if (h.queue().empty() || st.stopping || moved(st, origin))
    return release(self, origin, grant, fetch_feedback{});
  auto req = st.sites.pop(h);
  if (st.journal && !req.resumed && req.attempt == 0 && req.throttled == 0)
    st.journal->mark(static_cast<int64_t>(req.id), url_state::taken);
  if (auto why = unfetched(st, h, req)) {
    release(self, origin, grant, fetch_feedback{});
    add_record(self, make_failure(req, why->first, std::move(why->second)), req.id);
    return pump(self, origin);
  }
  fetch(self, std::move(req), grant);
  pump(self, origin); // the site's next slot
}

// Asks the rate limiter for the site's next slot, within its per-host
// concurrency, the shard's share of --concurrency and while the sinks keep
// up. One request for a slot at a time per site (its grant asks for the
// next): a request the limiter holds back (the site's delay) keeps at most
// one unit of the budget from sites that could go now. Sites take the
// budget in turn: with others in line for it, a site goes behind them.
void pump_site(pointer self, const std::string& origin) {
  auto& st = self->state;
  if (st.stopping || st.paused || moved(st, origin)) // (a moved host waits for its handoff)
    return;
  auto& h = st.sites[origin];
  if (!h.has_work())
    return;
  // A robots.txt older than --robots-ttl is fetched again before more requests.
  if (h.robots == host_entry::robots_t::ready && st.cfg.politeness.robots_ttl.count() > 0
      && self->clock().now() >= h.robots_expires)
    h.robots = host_entry::robots_t::unknown;
  bool robots = st.cfg.politeness.obey_robots && h.robots != host_entry::robots_t::ready;
  if (robots ? h.robots == host_entry::robots_t::fetching
             : h.acquiring > 0 || h.granted >= st.cfg.politeness.concurrency)
    return; // (robots.txt, the grant or a release pumps again)
  bool held_back = busy(st) >= st.budget.usable()
                   || st.delivery.pending() >= st.cfg.max_pending_records
                   || (st.sites.waiting() > 0 && !st.feeding_starved);
  if (held_back)
    return st.sites.wait_for_budget(h); // (pump feeds the sites in line next)
  if (needs_address(self, origin, h))
    return; // (the lookup pumps the site again)
  if (robots)
    return fetch_robots(self, origin);
  ++h.acquiring;
  ++st.acquiring;
  acquire(self, origin, [=](const slot_grant& grant) { on_grant(self, origin, grant); });
}

} // namespace


fetcher_actor next_fetcher(frontier_state& st) {
  return st.fetchers[st.next_fetcher++ % st.fetchers.size()];
}

void release(pointer self, const std::string& origin, const slot_grant& grant,
             fetch_feedback fb) {
  auto& st = self->state;
  self->send(st.limiter, release_atom::value, grant, std::move(fb));
  if (auto i = st.ip_grants.find(grant.token); i != st.ip_grants.end()) {
    self->send(i->second.first, ip_rel_atom::value, i->second.second);
    st.ip_grants.erase(i);
  }
  if (auto h = st.sites.find(origin); h != nullptr && h->granted > 0)
    --h->granted;
  if (!st.handoff_to.empty())
    try_handoff(self);
}

void retry(pointer self, crawl_request req) {
  auto& st = self->state;
  --st.waiting_retry;
  auto origin = origin_of(req.url);
  if (st.stopping) {
    // With a state store it stays taken and is fetched on resume.
    if (!st.journal)
      add_record(self, make_failure(req, crawl_errc::cancelled, "the crawl stopped"));
    return;
  }
  if (moved(st, origin) && st.sites.find(origin) == nullptr) {
    // Its host went to a node that joined meanwhile.
    handoff_batch b;
    b.urls.push_back(std::move(req));
    return hand_over(self, st.partition.owner_index(url_host(origin)), std::move(b));
  }
  st.sites.push(st.sites[origin], std::move(req));
  pump(self, origin);
}

void retry_robots(pointer self, const std::string& origin) {
  auto& st = self->state;
  --st.robots_fetching;
  if (auto h = st.sites.find(origin)) {
    h->robots = host_entry::robots_t::unknown;
    pump(self, origin); // fetches robots.txt again if the site has work
  }
}

// -- the budget ------------------------------------------------------------------

namespace {

// Lends units of --concurrency this shard does not use to shards that wait
// for them (concurrency_budget decides; the units only move).
void rebalance(pointer self) {
  auto& st = self->state;
  auto out = st.budget.rebalance(busy(st), st.sites.waiting());
  for (auto& l : out.to_send)
    self->send(st.peers[l.to], lend_atom::value, st.epoch, l.units);
  if (out.tick)
    schedule_tick(self);
}

// Tells the other shards this shard's demand if it changed much (at the
// next tick), or lends what it no longer uses.
void note_demand(pointer self) {
  auto& st = self->state;
  if (st.peers.size() > 1 && st.budget.note(busy(st), st.sites.waiting()))
    schedule_tick(self);
}

} // namespace

void take_demand(pointer self, uint64_t shard, uint32_t demand, uint64_t budget) {
  if (!self->state.budget.take_demand(shard, demand, budget))
    return;
  rebalance(self);
  feed_starved(self); // (its share may have grown)
}

void take_lend(pointer self, uint64_t units) {
  self->state.budget.take_lend(units);
  schedule_tick(self);
  feed_starved(self);
}

void say_demand(pointer self) {
  auto& st = self->state;
  if (st.peers.size() <= 1)
    return;
  rebalance(self);
  auto demand = st.budget.say(busy(st), st.sites.waiting());
  if (!demand)
    return;
  for (std::size_t k = 0; k < st.peers.size(); ++k)
    if (k != st.index)
      self->send(st.peers[k], demand_atom::value,
                 concurrency_demand{st.epoch, st.id, *demand, st.budget.held()});
}

void pump(pointer self, const std::string& origin) {
  pump_site(self, origin);
  feed_starved(self);
  note_demand(self);
}

void feed_starved(pointer self) {
  auto& st = self->state;
  if (st.feeding_starved || st.stopping)
    return;
  st.feeding_starved = true;
  while (st.sites.waiting() > 0 && busy(st) < st.budget.usable()
         && st.delivery.pending() < st.cfg.max_pending_records)
    if (auto next = st.sites.next_waiting())
      pump(self, *next);
  st.feeding_starved = false;
}

void pump_all(pointer self) {
  // (pump makes no site: the iteration holds)
  for (auto& [origin, h] : self->state.sites)
    if (h.has_work() && h.acquiring == 0)
      pump(self, origin);
}

} // namespace arachne::shard
