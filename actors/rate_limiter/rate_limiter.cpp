#include "rate_limiter/rate_limiter.hpp"

#include <algorithm>

#include "caf/actor_cast.hpp"

namespace arachne {

namespace {

using pointer = rate_limiter_impl::stateful_pointer<rate_limiter_state>;

host_pace& pace_of(pointer self, const std::string& host) {
  auto& st = self->state;
  auto i = st.hosts.find(host);
  if (i == st.hosts.end()) {
    host_pace p;
    p.delay = st.opts.delay;
    p.concurrency = std::max(1u, st.opts.concurrency);
    p.limit = p.concurrency;
    i = st.hosts.emplace(host, std::move(p)).first;
  }
  return i->second;
}

// Grants slots to waiting requests while the host allows; otherwise sets a
// timer for when it will.
void serve(pointer self, const std::string& host) {
  auto& p = pace_of(self, host);
  auto& st = self->state;
  while (!p.waiting.empty() && p.in_flight < std::min(p.concurrency, p.limit)) {
    auto now = self->clock().now();
    auto start = std::max(p.next_start, p.blocked_until);
    if (now < start) {
      if (!p.timer_set) {
        p.timer_set = true;
        self->delayed_send(self, start - now, due_atom::value, host);
      }
      return;
    }
    auto gap = p.delay + p.penalty;
    if (st.opts.jitter > 0 && gap.count() > 0) {
      std::uniform_real_distribution<double> extra{0.0, st.opts.jitter};
      gap += caf::timespan{static_cast<int64_t>(static_cast<double>(gap.count()) * extra(st.rng))};
    }
    p.next_start = now + gap;
    ++p.in_flight;
    auto rp = std::move(p.waiting.front());
    p.waiting.pop_front();
    rp.deliver(slot_grant{host, ++st.next_token});
  }
}

// Auto-throttle, per answer (time to first byte): a host whose answers take
// much longer than its fastest is taken as overloaded by the requests it
// already has. Once per (smoothed) answer time its cap on requests at once
// drops by a quarter (at least one), down to one. A host answering close to
// its fastest gets one more request at once per answer time, up to the
// configured concurrency. Hosts that are far away but not loaded (slow from
// the first answer on) are not slowed: only the rise over the fastest
// counts. It adds no delay: answers measured late because the crawler itself
// is short of CPU look like a slow host, and cost at most the concurrency.
void throttle(pointer self, host_pace& p, caf::timespan latency) {
  auto& opts = self->state.opts;
  auto now = self->clock().now();
  p.fastest = p.fastest.count() == 0 ? latency : std::min(p.fastest, latency);
  p.smooth = p.smooth.count() == 0 ? latency : (p.smooth * 3 + latency) / 4;
  auto scaled = [&](double ratio) {
    return caf::timespan{static_cast<int64_t>(static_cast<double>(p.fastest.count()) * ratio)};
  };
  bool overloaded = p.smooth > scaled(opts.throttle_ratio) + opts.throttle_slack;
  bool easy = p.smooth <= scaled(1.0 + (opts.throttle_ratio - 1.0) / 2) + opts.throttle_slack / 2;
  if (p.throttled && now - p.changed < p.smooth)
    return; // (the last change has not shown in the answers yet)
  if (overloaded && p.limit > 1) {
    p.limit -= std::max(1u, p.limit / 4);
    p.changed = now;
    p.throttled = true;
  } else if (easy && p.limit < p.concurrency) {
    ++p.limit;
    p.changed = now;
  }
}

// 429 and 503 double the penalty (at least 1s) and honour Retry-After;
// timeouts and broken connections grow it by half (at least 500ms); any other
// answer halves it, so a host that recovers is paced normally again soon.
void adapt(pointer self, host_pace& p, const fetch_feedback& fb) {
  using namespace std::chrono;
  auto cap = self->state.opts.max_backoff;
  auto now = self->clock().now();
  if (fb.status == 429 || fb.status == 503) {
    p.penalty = std::min<caf::timespan>(std::max<caf::timespan>(p.penalty * 2, seconds(1)), cap);
    if (fb.retry_after.count() > 0)
      p.blocked_until = std::max(p.blocked_until, now + std::min(fb.retry_after, cap));
    // The pause starts now, not after the gap granted before the news.
    p.next_start = std::max(p.next_start, now + p.delay + p.penalty);
  } else if (fb.error == crawl_errc::timeout || fb.error == crawl_errc::connection_reset
             || fb.error == crawl_errc::connect_failed) {
    p.penalty = std::min<caf::timespan>(std::max<caf::timespan>(p.penalty * 3 / 2, milliseconds(500)), cap);
    p.next_start = std::max(p.next_start, now + p.delay + p.penalty);
  } else {
    if (self->state.opts.auto_throttle && fb.latency.count() > 0 && fb.status > 0 && fb.status < 500)
      throttle(self, p, fb.latency);
    if (p.penalty.count() > 0) {
      p.penalty /= 2;
      if (p.penalty < milliseconds(10))
        p.penalty = caf::timespan{0};
    }
  }
}

} // namespace

rate_limiter_impl::behavior_type rate_limiter(rate_limiter_impl::stateful_pointer<rate_limiter_state> self,
                                              politeness_options opts, uint64_t seed) {
  self->state.opts = opts;
  self->state.rng.seed(static_cast<std::minstd_rand::result_type>(seed % 2147483646 + 1));
  return {
    [=](acquire_atom, const std::string& host) -> caf::typed_response_promise<slot_grant> {
      auto rp = self->make_response_promise<slot_grant>();
      pace_of(self, host).waiting.push_back(rp);
      serve(self, host);
      return rp;
    },
    [=](release_atom, const slot_grant& grant, const fetch_feedback& fb) {
      auto& p = pace_of(self, grant.host);
      if (p.in_flight > 0)
        --p.in_flight;
      // The gap counts from when the request really went out: a request
      // that left late must not bring the next one closer to it. The
      // release arrives after the response, so this start is never early.
      if (fb.busy.count() > 0)
        p.next_start = std::max(p.next_start, self->clock().now() - fb.busy + p.delay + p.penalty);
      adapt(self, p, fb);
      serve(self, grant.host);
    },
    [=](caf::put_atom, const std::string& host, const host_policy& policy) {
      auto& p = pace_of(self, host);
      auto crawl_delay = std::min(policy.delay, self->state.opts.max_crawl_delay);
      auto delay = std::max(self->state.opts.delay, crawl_delay);
      // A longer delay applies to the gap already running, too.
      if (delay > p.delay && p.next_start != caf::actor_clock::time_point{})
        p.next_start += delay - p.delay;
      p.delay = delay;
      if (policy.concurrency > 0)
        p.concurrency = p.limit = policy.concurrency;
      serve(self, host);
    },
    [=](due_atom, const std::string& host) {
      pace_of(self, host).timer_set = false;
      serve(self, host);
    },
  };
}

} // namespace arachne
