// The shard's records: made, batched to the sinks with credits, and the
// URLs they stand for marked done (the state store or the guardian).

#include "frontier/shard.hpp"

#include <algorithm>
#include <set>

#include "arachne/page_directives.hpp"
#include "arachne/revisit.hpp"
#include "arachne/sitemap.hpp"

namespace arachne::shard {

using url_state = frontier_journal::url_state;

// The store stopped working (a full disk, say): the shard stops taking up
// URLs and sends no record whose URL the store could not note as taken (it
// is fetched again on resume). What was committed stays intact.
void state_failed(pointer self) {
  auto& st = self->state;
  if (st.state_error.empty())
    st.state_error = st.journal->error();
  st.stopping = true;
  st.delivery.clear_pending();
}

void commit(pointer self) {
  auto& st = self->state;
  if (st.journal && !st.journal->commit())
    state_failed(self);
}

bool tracking(const frontier_state& st) {
  return st.journal != nullptr || st.guard.active || st.view.cluster;
}

// Ticks are at least 10 ms apart, as a journal commit, a guard batch over
// the network and pump_all over every site are worth batching. One due now
// is a message to the shard itself, behind what its mailbox holds, not a
// timer: a crawl whose events come one at a time (a polite one) wakes CAF's
// clock thread for few of them.
void schedule_tick(pointer self) {
  constexpr caf::timespan tick_every = std::chrono::milliseconds(10);
  auto& st = self->state;
  if (st.tick_set)
    return;
  st.tick_set = true;
  auto due = st.last_tick + tick_every;
  if (auto now = self->clock().now(); now < due)
    return self->delayed_send(self, due - now, flush_tick_atom::value);
  self->send(self, flush_tick_atom::value);
}

// `id` is the record's URL row in the state store or its guard id (0: none).
void mark_done(pointer self, uint64_t id) {
  auto& st = self->state;
  if (id == 0)
    return;
  if (st.journal) {
    bool known = false;
    if (auto v = st.visits.find(id); v != st.visits.end()) {
      known = v->second.known();
      st.journal->finish(static_cast<int64_t>(id), v->second);
      st.visits.erase(v);
    } else {
      st.journal->mark(static_cast<int64_t>(id), url_state::done);
    }
    // In continuous mode every URL with a site comes round again.
    if (!known && st.cfg.run.continuous())
      st.journal->reschedule(static_cast<int64_t>(id), st.cfg.run.recrawl_every);
  }
  if (st.view.cluster)
    st.guard.done(id);
}

void mark_all_done(pointer self, const std::vector<uint64_t>& ids) {
  if (ids.empty())
    return;
  for (auto id : ids)
    mark_done(self, id);
  schedule_tick(self); // commits, tells the guardian
}

void add_record(pointer self, record r, uint64_t id) {
  auto& st = self->state;
  // Done marks lost with a damaged journal: any record may repeat one.
  if (st.journal && st.journal->rolled_back())
    r.resumed = true;
  if (r.noindex && st.cfg.scope.honour_noindex && r.kind == record::kind_t::page
      && !(r.status >= 300 && r.status < 400)) {
    // --honour-noindex: the page is recorded without what it holds.
    r.kind = record::kind_t::failure;
    r.error = crawl_errc::noindex;
    // No sink holds its payload: the next pass fetches and reads it anew.
    if (auto v = st.visits.find(id); v != st.visits.end()) {
      v->second.digest.clear();
      v->second.payload_at = {};
    }
    r.error_message = "the page asks not to be indexed (--honour-noindex)";
    r.title.clear();
    r.body = shared_bytes{};
    r.links.clear();
  }
  ++st.recorded;
  st.metrics.observe(r);
  if (r.kind != record::kind_t::item) {
    if (r.error == crawl_errc::none)
      ++st.pages;
    else
      ++st.failures;
  }
  st.delivery.add(std::move(r), id);
  if (st.delivery.batch_ready())
    flush_records(self);
  else
    schedule_tick(self);
}

record make_failure(const crawl_request& req, crawl_errc kind, std::string message) {
  record r;
  r.kind = record::kind_t::failure;
  r.url = req.url;
  r.method = req.opts().method;
  r.final_url = req.url;
  r.error = kind;
  r.error_message = std::move(message);
  r.depth = req.depth;
  r.fetched_at = caf::make_timestamp();
  r.resumed = req.resumed;
  r.hints = req.hints;
  return r;
}

namespace {

// What the response's headers ask of crawlers (X-Robots-Tag) and the
// canonical URL a Link header names; the parser adds a page's own.
void note_directives(const frontier_config& cfg, const fetch_result& res, record& r) {
  r.noindex = x_robots_tag(res.headers, product_token(cfg.user_agent)).noindex;
  if (auto canonical = canonical_from_headers(res.headers); !canonical.empty())
    if (auto base = parse_url(r.final_url, cfg.urls))
      if (auto u = resolve_url(*base, canonical, cfg.urls))
        r.canonical = u->str();
}

} // namespace

record make_record(const frontier_config& cfg, const crawl_request& req, const fetch_result& res) {
  auto& needs = cfg.needs;
  record r;
  r.kind = res.error == crawl_errc::none ? record::kind_t::page : record::kind_t::failure;
  r.url = req.url;
  r.method = req.opts().method;
  r.final_url = res.final_url.empty() ? req.url : res.final_url;
  r.status = res.status;
  r.error = res.error;
  r.error_message = res.error_message;
  r.depth = req.depth;
  r.fetched_at = res.fetched_at;
  r.content_type = res.content_type;
  r.bytes = res.body.size();
  r.elapsed = res.timings.total;
  r.ttfb = res.status != 0 ? res.timings.ttfb : caf::timespan{0};
  r.proxy = res.proxy;
  r.resumed = req.resumed;
  r.hints = req.hints;
  if (req.kind == url_kind::page) // (a sitemap's headers speak of the sitemap file)
    note_directives(cfg, res, r);
  // Against the last fetch (a re-crawl): unchanged or not modified, the
  // record refers to the payload fetched then and carries no copy of it.
  r.change = res.error == crawl_errc::none ? classify_change(req.visit, res.status, res.digest)
                                           : page_change::none;
  r.digest = r.change == page_change::not_modified ? req.visit.digest : res.digest;
  bool same = r.change == page_change::unchanged || r.change == page_change::not_modified;
  if (same)
    r.refers_to = req.visit.payload_at;
  // What only some sinks want travels only if one of them asked.
  if (needs.bodies && !same)
    r.body = res.body;
  if (needs.http) {
    r.headers = res.headers;
    r.request = res.request;
    r.remote_address = res.remote_address;
  }
  return r;
}

// Sends pending records to every sink while each has credit; the rest wait
// for acks (a slow sink slows the crawl, it does not grow memory).
void flush_records(pointer self) {
  auto& st = self->state;
  while (st.delivery.pending() > 0) {
    if (st.sinks.empty())
      return st.delivery.clear_pending();
    if (st.delivery.held_back())
      return;
    // A record reaches the sinks only once the store knows its URL was taken up.
    if (st.journal && !st.journal->commit())
      return state_failed(self);
    auto n = st.delivery.pending();
    // In a cluster a record goes out only once the guardian has its URL: if
    // this node dies after the sinks stored it, the guardian knows the URL.
    if (st.guard.active && (n = st.delivery.ready_upto(st.guard.acked)) == 0)
      return;
    auto out = st.delivery.take(n, tracking(st));
    for (auto i : out->to)
      send_batch(self, i, out->batch);
  }
}

// URLs whose records every sink has: done once the links their pages gave
// (sent by now) are journalled or guarded by the shards that own them.
void on_stored(pointer self, std::vector<uint64_t> ids) {
  if (ids.empty())
    return;
  flush_outboxes(self);
  auto ready = self->state.done.records_stored(std::move(ids));
  for (auto id : ready)
    mark_done(self, id);
  if (!self->state.done.links_out())
    schedule_tick(self); // commits
}

void send_batch(pointer self, std::size_t i, std::shared_ptr<const record_batch> batch) {
  auto& st = self->state;
  st.delivery.sent(i, batch);
  auto seq = batch->seq;
  auto generation = st.delivery.generation(i);
  self->request(st.sinks[i], caf::infinite, *batch)
    .then(
      [=](const ack&) {
        on_stored(self, self->state.delivery.stored(i, generation, seq));
        flush_records(self);
        feed_starved(self);
      },
      [=](caf::error& err) {
        // The sink failed (crashed, or refused the batch): the batch stays
        // unacknowledged, nothing more goes to it, and the crawl decides
        // (stop, go on without it, or restart it and send the batch again).
        // (A request that found the sink gone says only that: its DOWN
        // message, which follows, says why.)
        auto why = err == caf::sec::request_receiver_down ? std::string{}
                                                          : self->system().render(err);
        self->state.delivery.failed(i, generation, seq, why);
        flush_records(self);
        feed_starved(self);
      });
}

// Reads the store at start: hosts with their budgets and pending counts
// (their URLs stay in the store until needed), and the seen set.
void restore(pointer self) {
  auto& st = self->state;
  for (auto& row : st.journal->hosts()) {
    auto& h = st.sites[row.origin];
    h.db_id = row.id;
    h.admitted = row.admitted;
    st.sites.restore(h, row.pending);
    st.admitted += row.admitted;
  }
  st.journal->each_seen_key([&](std::string_view key) {
    st.seen_urls.insert(fingerprint(key));
    ++st.seen;
  });
  if (!st.journal->error().empty())
    state_failed(self);
}

// Takes up what the store holds: decisions made again, hosts pumped.
void resume(pointer self) {
  auto& st = self->state;
  int64_t after = 0;
  for (;;) {
    auto rows = st.journal->pending(0, after, 1024);
    if (rows.empty())
      break;
    for (auto& row : rows) {
      after = static_cast<int64_t>(row.req.id);
      row.req.resumed = true;
      ++st.resumed;
      add_record(self, make_failure(row.req, row.decided, std::move(row.why)), row.req.id);
    }
  }
  pump_all(self);
  if (st.cfg.run.continuous()) {
    st.journal->prepare_continuous(st.cfg.run.recrawl_every);
    on_due_tick(self);
  }
}

void on_due_tick(pointer self) {
  auto& st = self->state;
  if (st.stopping || !st.journal)
    return;
  // As many as the memory bound for queues leaves room for; the rest wait
  // in the store, due. Not while queued URLs wait in the store only: a
  // site reads those back in the order of their ids, past the last it has
  // in memory, which a due URL must not disturb.
  auto room = st.cfg.run.queue_memory > st.sites.in_memory()
                  && st.sites.queued() == st.sites.in_memory()
                ? st.cfg.run.queue_memory - st.sites.in_memory()
                : 0;
  std::set<std::string> origins;
  for (auto& row : st.journal->take_due(caf::make_timestamp(), std::min<uint64_t>(room, 1024))) {
    auto origin = origin_of(row.req.url);
    auto& h = st.sites[origin];
    ++st.due;
    h.spill_cursor = std::max(h.spill_cursor, static_cast<int64_t>(row.req.id));
    st.sites.push(h, std::move(row.req));
    origins.insert(std::move(origin));
  }
  if (!st.journal->error().empty())
    return state_failed(self);
  for (auto& origin : origins)
    pump(self, origin);
  if (!origins.empty())
    schedule_tick(self); // commits
  auto period = std::clamp<caf::timespan>(st.cfg.run.recrawl_min / 4, std::chrono::milliseconds(50),
                                          std::chrono::seconds(1));
  self->delayed_send(self, period, due_tick_atom::value);
}

void note_listed_again(pointer self, const crawl_request& req) {
  auto& st = self->state;
  if (!st.cfg.run.continuous() || !st.journal || req.hints.lastmod.empty())
    return;
  if (auto changed = parse_w3c_datetime(req.hints.lastmod))
    st.journal->make_due(req.url, *changed);
}

} // namespace arachne::shard
