#include "proxy_manager/proxy_manager.hpp"

#include <algorithm>
#include <cmath>
#include <optional>

#include "caf/actor_cast.hpp"
#include "caf/send.hpp"

#include "arachne/errors.hpp"
#include "arachne/partition.hpp"

namespace arachne {

const char* to_string(proxy_health x) noexcept {
  switch (x) {
    case proxy_health::active:
      return "active";
    case proxy_health::quarantined:
      return "quarantined";
    case proxy_health::retired:
      return "retired";
    default:
      return "probing";
  }
}

namespace {

using time_point = caf::actor_clock::time_point;
using self_ptr = proxy_manager_impl::stateful_pointer<proxy_manager_state>;

constexpr std::size_t latency_window = 256;

bool excluded(const lease_request& req, uint32_t index) {
  return std::find(req.exclude.begin(), req.exclude.end(), index) != req.exclude.end();
}

/// Ends quarantines that are over: the proxy's next lease is its probe.
void wake_up(proxy_manager_state& st, time_point now) {
  for (auto& e : st.pool)
    if (e.health == proxy_health::quarantined && now >= e.until)
      e.health = proxy_health::probing;
}

bool usable(const proxy_manager_state& st, const proxy_entry& e, time_point now) {
  switch (e.health) {
    case proxy_health::quarantined:
    case proxy_health::retired:
      return false;
    case proxy_health::probing:
      return e.in_flight == 0;
    default:
      return (st.opts.per_proxy_concurrency == 0 || e.in_flight < st.opts.per_proxy_concurrency)
             && now >= e.next_lease;
  }
}

/// The pool index the policy picks for `req`, or -1 if none is usable now.
int64_t pick(proxy_manager_state& st, const lease_request& req, time_point now) {
  auto n = st.pool.size();
  auto ok = [&](std::size_t i) {
    return !excluded(req, static_cast<uint32_t>(i)) && usable(st, st.pool[i], now);
  };
  const auto& policy = st.opts.policy;
  if (policy == "random") {
    std::vector<std::size_t> candidates;
    for (std::size_t i = 0; i < n; ++i)
      if (ok(i))
        candidates.push_back(i);
    if (candidates.empty())
      return -1;
    std::uniform_int_distribution<std::size_t> dist{0, candidates.size() - 1};
    return static_cast<int64_t>(candidates[dist(st.rng)]);
  }
  if (policy == "least-used") {
    int64_t best = -1;
    for (std::size_t i = 0; i < n; ++i) {
      if (!ok(i))
        continue;
      auto& e = st.pool[i];
      if (best < 0)
        best = static_cast<int64_t>(i);
      auto& b = st.pool[static_cast<std::size_t>(best)];
      if (e.in_flight < b.in_flight
          || (e.in_flight == b.in_flight && e.stats.requests < b.stats.requests))
        best = static_cast<int64_t>(i);
    }
    return best;
  }
  if (policy == "sticky") {
    // Rendezvous hashing of (host or session, proxy): a key keeps its proxy
    // while that proxy is usable, and only the keys of a resting proxy move.
    int64_t best = -1;
    uint64_t best_score = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (!ok(i))
        continue;
      auto& key = req.session.empty() ? req.host : req.session;
      auto score = partition_hash(key + '\n' + st.pool[i].spec.url);
      if (best < 0 || score > best_score) {
        best = static_cast<int64_t>(i);
        best_score = score;
      }
    }
    return best;
  }
  // round-robin
  for (std::size_t k = 0; k < n; ++k) {
    auto i = (st.cursor + k) % n;
    if (ok(i)) {
      st.cursor = i + 1;
      return static_cast<int64_t>(i);
    }
  }
  return -1;
}

proxy_lease lend(proxy_manager_state& st, std::size_t index, time_point now) {
  auto& e = st.pool[index];
  ++e.in_flight;
  ++e.stats.requests;
  if (st.opts.per_proxy_rate > 0) {
    auto gap = std::chrono::duration_cast<caf::timespan>(
      std::chrono::duration<double>(1.0 / st.opts.per_proxy_rate));
    e.next_lease = std::max(now, e.next_lease) + gap;
  }
  proxy_lease l;
  l.id = ++st.next_lease;
  l.proxy = static_cast<uint32_t>(index);
  l.url = e.spec.url;
  l.label = e.spec.label;
  l.generation = e.generation;
  st.leases.emplace(l.id, l.proxy);
  return l;
}

void quarantine(proxy_manager_state& st, proxy_entry& e, time_point now) {
  ++e.quarantine_streak;
  ++e.stats.quarantines;
  e.failure_streak = 0;
  // Randomized exponential back-off: base x 2^(k-1) x [0.5, 1.5), capped.
  auto exponent = std::min<uint32_t>(e.quarantine_streak - 1, 30);
  auto base = std::chrono::duration<double>(st.opts.backoff).count() * std::ldexp(1.0, static_cast<int>(exponent));
  std::uniform_real_distribution<double> spread{0.5, 1.5};
  auto rest = std::min(base * spread(st.rng), std::chrono::duration<double>(st.opts.max_backoff).count());
  e.health = proxy_health::quarantined;
  e.until = now + std::chrono::duration_cast<caf::timespan>(std::chrono::duration<double>(rest));
}

/// True if the URL has been tried through every proxy that could take it: no
/// entry outside `req.exclude` exists, or (for a URL already tried somewhere)
/// all of those are resting. Its last answer is then the page's own.
bool all_excluded(const proxy_manager_state& st, const lease_request& req) {
  for (std::size_t i = 0; i < st.pool.size(); ++i)
    if (!excluded(req, static_cast<uint32_t>(i)) && st.pool[i].health != proxy_health::retired
        && (req.exclude.empty() || st.pool[i].health != proxy_health::quarantined))
      return false;
  return true;
}

/// Why no lease can ever come if every proxy is retired (a permanent
/// condition: each waiting URL ends at once), or nothing.
std::optional<caf::error> all_retired(const proxy_manager_state& st) {
  std::string why;
  for (auto& e : st.pool) {
    if (e.health != proxy_health::retired)
      return std::nullopt;
    if (why.size() < 400)
      why += (why.empty() ? "" : "; ") + e.stats.label + " " + e.retired_why;
  }
  return make_error(crawl_errc::proxy_exhausted, "every proxy is retired: " + why);
}

void arm_timer(self_ptr self, time_point now) {
  auto& st = self->state;
  if (st.waiting.empty())
    return;
  // The earliest moment something may change without a report: a wait ends,
  // a quarantine ends, a rate cap lifts.
  auto next = st.waiting.front().deadline;
  for (auto& w : st.waiting)
    next = std::min(next, w.deadline);
  for (auto& e : st.pool) {
    if (e.health == proxy_health::quarantined)
      next = std::min(next, e.until);
    else if (e.health == proxy_health::active && e.next_lease > now)
      next = std::min(next, e.next_lease);
  }
  if (st.wake_at != time_point{} && st.wake_at <= next && st.wake_at > now)
    return; // an earlier (or equal) timer is already set
  st.wake_at = next;
  auto delay = std::max(next - now, caf::actor_clock::duration_type{0});
  self->delayed_send(caf::actor_cast<proxy_manager_impl>(self), delay, wake_atom::value);
}

/// Serves waiting leases in order, fails those past their deadline.
void serve(self_ptr self) {
  auto& st = self->state;
  auto now = self->clock().now();
  wake_up(st, now);
  if (auto none = all_retired(st)) {
    for (auto& w : st.waiting)
      w.promise.deliver(*none);
    st.waiting.clear();
    return;
  }
  for (auto i = st.waiting.begin(); i != st.waiting.end();) {
    if (all_excluded(st, i->request)) {
      i->promise.deliver(proxy_lease{});
      i = st.waiting.erase(i);
      continue;
    }
    if (auto index = pick(st, i->request, now); index >= 0) {
      i->promise.deliver(lend(st, static_cast<std::size_t>(index), now));
      i = st.waiting.erase(i);
      continue;
    }
    if (now >= i->deadline) {
      i->promise.deliver(make_error(crawl_errc::proxy_exhausted,
                                    "no usable proxy within "
                                      + std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(st.opts.wait).count())
                                      + " ms"));
      i = st.waiting.erase(i);
      continue;
    }
    ++i;
  }
  arm_timer(self, now);
}

void judge(self_ptr self, const proxy_report& rep) {
  auto& st = self->state;
  if (rep.proxy >= st.pool.size())
    return;
  auto now = self->clock().now();
  auto& e = st.pool[rep.proxy];
  if (rep.lease != 0) {
    auto i = st.leases.find(rep.lease);
    if (i == st.leases.end())
      return; // unknown or already reported
    st.leases.erase(i);
    if (e.in_flight > 0)
      --e.in_flight;
  }
  switch (rep.outcome) {
    case proxy_outcome::ok:
      ++e.stats.successes;
      e.failure_streak = 0;
      e.quarantine_streak = 0;
      if (e.health == proxy_health::probing)
        e.health = proxy_health::active;
      if (e.latencies.size() < latency_window) {
        e.latencies.push_back(rep.latency);
      } else {
        e.latencies[e.latency_pos] = rep.latency;
        e.latency_pos = (e.latency_pos + 1) % latency_window;
      }
      break;
    case proxy_outcome::failed:
    case proxy_outcome::timeout:
      ++e.stats.failures;
      ++e.failure_streak;
      if (e.health == proxy_health::probing
          || (e.health == proxy_health::active && e.failure_streak >= std::max(1u, st.opts.max_failures)))
        quarantine(st, e, now);
      break;
    case proxy_outcome::auth:
      // Rejected credentials are wrong for the whole run: no rest cures them.
      ++e.stats.failures;
      e.health = proxy_health::retired;
      e.retired_why = "rejected the credentials";
      break;
    case proxy_outcome::unusable:
      // Its certificate fails verification: no rest cures that either.
      ++e.stats.failures;
      e.health = proxy_health::retired;
      e.retired_why = rep.why.empty() ? std::string{"is unusable"} : rep.why;
      break;
    case proxy_outcome::banned:
      ++e.stats.bans;
      ++e.generation; // the session's cookies are what got it banned, perhaps: retired
      if (e.health != proxy_health::quarantined)
        quarantine(st, e, now);
      break;
    case proxy_outcome::inconclusive:
      break;
  }
}

caf::timespan median(std::vector<caf::timespan> xs) {
  if (xs.empty())
    return caf::timespan{0};
  auto mid = xs.begin() + static_cast<std::ptrdiff_t>(xs.size() / 2);
  std::nth_element(xs.begin(), mid, xs.end());
  return *mid;
}

} // namespace

proxy_manager_actor spawn_proxy_manager(caf::actor_system& sys, const proxy_options& opts) {
  if (opts.proxies.empty())
    return {};
  std::vector<proxy_spec> pool;
  for (auto& p : opts.proxies)
    if (auto spec = parse_proxy(p))
      pool.push_back(std::move(*spec));
  std::random_device rd;
  return sys.spawn(proxy_manager, std::move(pool), opts, (static_cast<uint64_t>(rd()) << 32) | rd());
}

proxy_manager_impl::behavior_type
proxy_manager(proxy_manager_impl::stateful_pointer<proxy_manager_state> self,
              std::vector<proxy_spec> pool, proxy_options opts, uint64_t seed) {
  auto& st = self->state;
  st.opts = std::move(opts);
  st.rng.seed(seed);
  for (auto& spec : pool) {
    proxy_entry e;
    e.stats.label = spec.label;
    e.spec = std::move(spec);
    st.pool.push_back(std::move(e));
  }
  return {
    [=](lease_atom, lease_request& req) -> caf::typed_response_promise<proxy_lease> {
      auto rp = self->make_response_promise<proxy_lease>();
      auto& st = self->state;
      auto now = self->clock().now();
      wake_up(st, now);
      if (auto none = all_retired(st)) {
        rp.deliver(*none);
      } else if (all_excluded(st, req)) {
        rp.deliver(proxy_lease{});
      } else if (auto index = pick(st, req, now); index >= 0) {
        rp.deliver(lend(st, static_cast<std::size_t>(index), now));
      } else if (st.opts.wait.count() <= 0) {
        rp.deliver(make_error(crawl_errc::proxy_exhausted, "no usable proxy"));
      } else {
        st.waiting.push_back(waiting_lease{rp, std::move(req), now + st.opts.wait});
        arm_timer(self, now);
      }
      return rp;
    },
    [=](report_atom, proxy_report& rep) {
      judge(self, rep);
      if (!self->state.waiting.empty())
        serve(self);
    },
    [=](wake_atom) {
      auto now = self->clock().now();
      if (self->state.wake_at <= now)
        self->state.wake_at = {};
      serve(self);
    },
    [=](stats_atom) {
      std::vector<proxy_stats> out;
      auto now = self->clock().now();
      wake_up(self->state, now);
      for (auto& e : self->state.pool) {
        auto s = e.stats;
        s.state = to_string(e.health);
        s.in_flight = e.in_flight;
        s.median_latency = median(e.latencies);
        out.push_back(std::move(s));
      }
      return out;
    },
  };
}

} // namespace arachne
