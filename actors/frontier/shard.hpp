#pragma once

// The frontier shard's actor, inside: the functions its handlers call, in
// four files by concern. Not part of any interface.
//   records.cpp     records to the sinks, what is done, the state store
//   scheduling.cpp  admitting URLs, sites, robots.txt, fetching, the budget
//   sitemaps.cpp    sitemaps read for URLs, what pages ask of crawlers
//   replicating.cpp links to other shards, guardians, takeovers, handoffs,
//                   cluster views

#include <string>
#include <string_view>

#include "frontier/frontier.hpp"

namespace arachne::shard {

using pointer = frontier_impl::stateful_pointer<frontier_state>;

/// The site of URL `u`: scheme://authority.
std::string origin_of(std::string_view u);

// -- records.cpp ---------------------------------------------------------------

/// Adds a record for the sinks; `id`: its URL's store row or guard id (0: none).
void add_record(pointer self, record r, uint64_t id = 0);

/// A record of a URL that ended without a page.
record make_failure(const crawl_request& req, crawl_errc kind, std::string message);

/// A record of a fetch's outcome, with what its headers ask of crawlers
/// (X-Robots-Tag, a canonical Link).
record make_record(const frontier_config& cfg, const crawl_request& req, const fetch_result& res);

/// Sends waiting records to the sinks while each has credit.
void flush_records(pointer self);

/// Sends one batch to sink `i`, kept until the sink acknowledges it.
void send_batch(pointer self, std::size_t i, std::shared_ptr<const record_batch> batch);

/// A URL is done: its record is in every sink, its links with their owners.
void mark_done(pointer self, uint64_t id);

/// Marks done URLs the done marks released (and has them committed).
void mark_all_done(pointer self, const std::vector<uint64_t>& ids);

/// Commits the state store, if any; on failure stops the shard.
void commit(pointer self);

/// The state store stopped working: the shard stops taking up URLs.
void state_failed(pointer self);

/// True while URLs are tracked until done (a state store or a guardian).
bool tracking(const frontier_state& st);

/// Flushes outgoing links and records at the next tick (10 ms).
void schedule_tick(pointer self);

/// Reads the state store at start: sites, budgets, the seen set.
void restore(pointer self);

/// Takes up what the state store holds, once the shard is wired up.
void resume(pointer self);

/// Continuous mode (--recrawl-every): queues the URLs that are due again,
/// and looks again after a while.
void on_due_tick(pointer self);

/// Continuous mode: a URL seen before, listed again by a sitemap: due now
/// if its lastmod is newer than its last fetch.
void note_listed_again(pointer self, const crawl_request& req);

// -- scheduling.cpp ------------------------------------------------------------

/// A URL arrives (seed, link, redirect target, takeover): held, or admitted
/// if not seen before.
void admit(pointer self, crawl_request req, bool seed);

/// A URL that ends without a fetch (out of scope, say), recorded with why.
void record_decision(pointer self, const crawl_request& req, crawl_errc kind, std::string why);

/// A URL not seen before (already added to the seen set). A `handed` one
/// was admitted by the shard that owned its host before a node joined.
void admit_new(pointer self, crawl_request req, bool seed, bool handed = false);

/// Adds a page's URL (or a seen key, `seen_key`) to the seen set; false if it was there.
bool note_seen(frontier_state& st, std::string_view url);

/// Adds a URL of either kind to the seen set; false if it was there.
bool note_seen(frontier_state& st, const crawl_request& req);

/// A URL found in this shard (a link, a sitemap's URL): admitted if its
/// host is this shard's and it was not seen, else sent to its owner.
void take_url(pointer self, crawl_request req);

/// Adds URLs another shard had seen to the seen set.
void add_seen(frontier_state& st, const std::vector<seen_url>& seen);

/// After any change to a site or to what is under way: its next slot, the
/// sites in line for the budget, the demand to the other shards.
void pump(pointer self, const std::string& origin);

/// Gives every site with work a chance again.
void pump_all(pointer self);

/// A unit of the budget may have come free: the sites in line take it in turn.
void feed_starved(pointer self);

/// Gives a slot back to the rate limiter.
void release(pointer self, const std::string& origin, const slot_grant& grant, fetch_feedback fb);

/// A URL that waited out its back-off.
void retry(pointer self, crawl_request req);

/// robots.txt of `origin` is to be fetched again.
void retry_robots(pointer self, const std::string& origin);

/// At a tick: this shard's demand to the others, lends.
void say_demand(pointer self);

/// Another shard's demand and budget, as it said them under this view.
void take_demand(pointer self, uint64_t shard, uint32_t demand, uint64_t budget);

/// Units another shard lent this one under this view.
void take_lend(pointer self, uint64_t units);

// -- sitemaps.cpp ----------------------------------------------------------------

/// robots.txt of site `h` was read: the sitemaps it names go to the crawl.
void take_sitemaps(pointer self, const host_entry& h);

/// Hands a fetched sitemap to a parser; its record (made now) is sent with
/// what reading it gave, and its URLs go to the shards that own their hosts.
void read_sitemap(pointer self, crawl_request req, fetch_result& res);

/// Settles a parsed page's record: what it asked of crawlers (noindex,
/// canonical) and, with --follow-canonical, its canonical URL queued.
void settle_directives(pointer self, record& page, parse_result& pr);

/// With --follow-canonical: queues the canonical URL a record names.
void queue_canonical(pointer self, const record& page);

// -- replicating.cpp -----------------------------------------------------------

/// Sends a link to the shard that owns its host (batched).
void route(pointer self, crawl_request req);

/// Sends the links waiting for `peer`.
void flush_outbox(pointer self, std::size_t peer);

/// Sends the links waiting for every peer.
void flush_outboxes(pointer self);

/// True if the host of `origin` is another shard's now (a node joined).
bool moved(const frontier_state& st, std::string_view origin);

/// The fetcher for the next request (the shard's fetchers in turn).
fetcher_actor next_fetcher(frontier_state& st);

/// True if hosts share a budget per IP address (--per-ip-concurrency or
/// --per-ip-delay).
bool per_ip(const frontier_state& st);

/// True if the site's address must be known before its next request (per
/// IP); a lookup is then under way, and pumps the site when it is over.
bool needs_address(pointer self, const std::string& origin, host_entry& h);

/// The site's next slot: its host's, then (per IP) its address's from the
/// address's owner; `then` gets the host's grant.
void acquire(pointer self, const std::string& origin,
             std::function<void(const slot_grant&)> then);

/// A new view: IP slots asked of shards that left go on without them, and
/// those lent to shards that left are given back.
void on_ip_owners_gone(pointer self, const cluster_view& view);

/// True if `url`'s host belonged to a dead shard whose takeover has not arrived.
bool awaits_takeover(const frontier_state& st, std::string_view url);

/// Sends the guardian what it should know; `then` (if given) runs once it
/// has it, or with false if it went away.
void flush_guard(pointer self, std::function<void(bool)> then);

/// Runs `then` once the guardian has every URL admitted so far: at once
/// without a guardian, else when the guard batch of the next tick is
/// acknowledged (with false if the guardian went away).
void once_guarded(pointer self, std::function<void(bool)> then);

/// Hands the moved hosts over once no request to them is under way.
void try_handoff(pointer self);

/// Sends URLs to the shard at index `k` that owns their hosts now.
void hand_over(pointer self, std::size_t k, handoff_batch batch);

/// Admits the URLs that waited for a takeover or a handoff.
void admit_held(pointer self);

/// Links from another shard (or seeds routed there), acknowledged once
/// journalled and guarded.
caf::typed_response_promise<ack> on_link_batch(pointer self, link_batch& batch);

/// As a guardian: what shard `owner` says of its URLs.
ack on_guard(pointer self, uint64_t owner, guard_batch& batch);

/// Part of a dead shard's URLs, from its guardian.
void on_takeover(pointer self, uint64_t dead, takeover_batch& batch);

/// Part of the hosts of a live shard that this one owns now.
caf::typed_response_promise<ack> on_handoff(pointer self, uint64_t from, handoff_batch& batch);

/// The moved hosts' delay has passed: hand them over if they are quiet.
void on_handoff_tick(pointer self, uint64_t epoch);

/// A new cluster view.
caf::result<caf::ok_atom> on_view(pointer self, cluster_view& view);

} // namespace arachne::shard
