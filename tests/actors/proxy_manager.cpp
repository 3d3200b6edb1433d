// The proxy manager under CAF's deterministic scheduler: policies, quarantine
// and probing, waiting leases. Time moves only when the test advances it.

#include "proxy_manager/proxy_manager.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/scheduler/test_coordinator.hpp"

#include "arachne/config.hpp"
#include "arachne/errors.hpp"

using namespace arachne;
using namespace std::chrono_literals;

namespace {

/// What a lease request came back with.
struct answer {
  proxy_lease lease;
  caf::error error;
};

struct fixture {
  config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::scheduler::test_coordinator* sched = nullptr;
  proxy_manager_impl manager;
  caf::actor probe;
  std::vector<answer> answers;
  std::vector<proxy_stats> last_stats;

  explicit fixture(proxy_options opts, std::size_t pool_size = 3) {
    cfg.set("scheduler.policy", caf::atom("testing"));
    sys = std::make_unique<caf::actor_system>(cfg);
    sched = &dynamic_cast<caf::scheduler::test_coordinator&>(sys->scheduler());
    std::vector<proxy_spec> pool;
    for (std::size_t i = 0; i < pool_size; ++i)
      pool.push_back(*parse_proxy("http://u:pw@10.0.0." + std::to_string(i + 1) + ":3128"));
    manager = sys->spawn(proxy_manager, pool, opts, uint64_t{7});
    // Asks for leases on the test's behalf and keeps the answers in order.
    probe = sys->spawn([this](caf::event_based_actor* self) -> caf::behavior {
      return {
        [=](lease_atom, lease_request& req) {
          self->request(manager, caf::infinite, lease_atom::value, std::move(req))
            .then([=](proxy_lease& l) { answers.push_back({std::move(l), {}}); },
                  [=](caf::error& e) { answers.push_back({{}, std::move(e)}); });
        },
        [=](stats_atom) {
          self->request(manager, caf::infinite, stats_atom::value)
            .then([=](std::vector<proxy_stats>& xs) { last_stats = std::move(xs); });
        },
      };
    });
  }

  ~fixture() {
    caf::anon_send_exit(probe, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(manager, caf::exit_reason::user_shutdown);
    sched->run();
  }

  void ask(const std::string& host, std::vector<uint32_t> exclude = {}) {
    caf::anon_send(probe, lease_atom::value, lease_request{host, std::move(exclude), {}});
    sched->run();
  }

  /// Leases one proxy and returns it (the test fails if none comes).
  proxy_lease lease(const std::string& host = "a.test", std::vector<uint32_t> exclude = {}) {
    auto before = answers.size();
    ask(host, std::move(exclude));
    REQUIRE(answers.size() == before + 1);
    REQUIRE(!answers.back().error);
    return answers.back().lease;
  }

  void report(const proxy_lease& l, proxy_outcome outcome, std::string why = {}) {
    caf::anon_send(manager, report_atom::value,
                   proxy_report{l.id, l.proxy, outcome, 10ms, "a.test", std::move(why)});
    sched->run();
  }

  void advance(caf::timespan d) {
    sched->clock().advance_time(d);
    sched->run();
  }

  std::vector<proxy_stats> stats() {
    last_stats.clear();
    caf::anon_send(probe, stats_atom::value);
    sched->run();
    REQUIRE(!last_stats.empty());
    return last_stats;
  }
};

proxy_options policy(std::string name) {
  proxy_options o;
  o.policy = std::move(name);
  o.backoff = 10s;
  o.max_backoff = 80s;
  o.wait = 5s;
  return o;
}

} // namespace

TEST_CASE("round-robin lends the proxies in turn, skipping excluded ones", "[proxy_manager]") {
  fixture f{policy("round-robin")};
  std::vector<uint32_t> order;
  for (int i = 0; i < 6; ++i) {
    auto l = f.lease();
    order.push_back(l.proxy);
    f.report(l, proxy_outcome::ok);
  }
  CHECK(order == std::vector<uint32_t>{0, 1, 2, 0, 1, 2});
  CHECK(f.lease("a.test", {1, 2}).proxy == 0);
  // Labels never carry the credentials; the URL for the fetcher does.
  auto l = f.lease();
  CHECK(l.label.find("pw") == std::string::npos);
  CHECK(l.url.find("u:pw@") != std::string::npos);
}

TEST_CASE("sticky keeps a host on one proxy and moves only the hosts of a resting proxy",
          "[proxy_manager]") {
  auto opts = policy("sticky");
  opts.max_failures = 1;
  fixture f{opts, 4};
  std::map<std::string, uint32_t> home;
  for (int h = 0; h < 20; ++h) {
    auto host = "h" + std::to_string(h) + ".test";
    auto first = f.lease(host);
    f.report(first, proxy_outcome::ok);
    auto second = f.lease(host);
    f.report(second, proxy_outcome::ok);
    CHECK(first.proxy == second.proxy);
    home[host] = first.proxy;
  }
  std::set<uint32_t> used;
  for (auto& [host, p] : home)
    used.insert(p);
  CHECK(used.size() >= 3); // 20 hosts spread over the pool
  // Proxy 0 fails and rests: its hosts move, the others stay.
  auto victim = home.begin()->second;
  for (auto& [host, p] : home) {
    if (p != victim)
      continue;
    auto l = f.lease(host);
    REQUIRE(l.proxy == victim);
    f.report(l, proxy_outcome::failed);
    break;
  }
  for (auto& [host, p] : home) {
    auto l = f.lease(host);
    if (p == victim)
      CHECK(l.proxy != victim);
    else
      CHECK(l.proxy == p);
    f.report(l, proxy_outcome::ok);
  }
}

TEST_CASE("sticky keys by the session instead of the host when a request names one",
          "[proxy_manager]") {
  fixture f{policy("sticky"), 8};
  std::set<uint32_t> by_host, by_session;
  for (int h = 0; h < 16; ++h) {
    auto host = "h" + std::to_string(h) + ".test";
    auto l = f.lease(host);
    by_host.insert(l.proxy);
    f.report(l, proxy_outcome::ok);
    caf::anon_send(f.probe, lease_atom::value, lease_request{host, {}, "basket-7"});
    f.sched->run();
    REQUIRE(!f.answers.back().error);
    by_session.insert(f.answers.back().lease.proxy);
    f.report(f.answers.back().lease, proxy_outcome::ok);
  }
  CHECK(by_host.size() > 1);     // hosts spread over the pool
  CHECK(by_session.size() == 1); // one session, one proxy, whatever the host
}

TEST_CASE("least-used lends the proxy with the fewest requests in flight", "[proxy_manager]") {
  fixture f{policy("least-used")};
  auto a = f.lease();
  auto b = f.lease();
  auto c = f.lease();
  CHECK(std::set<uint32_t>{a.proxy, b.proxy, c.proxy}.size() == 3);
  f.report(b, proxy_outcome::ok);
  CHECK(f.lease().proxy == b.proxy); // the only one with nothing in flight
}

TEST_CASE("random spreads leases over the whole pool", "[proxy_manager]") {
  fixture f{policy("random")};
  std::map<uint32_t, int> counts;
  for (int i = 0; i < 300; ++i) {
    auto l = f.lease();
    ++counts[l.proxy];
    f.report(l, proxy_outcome::ok);
  }
  REQUIRE(counts.size() == 3);
  for (auto& [p, n] : counts)
    CHECK(n > 60); // 100 expected each
}

TEST_CASE("failures quarantine a proxy after the streak limit, and a successful probe re-admits it",
          "[proxy_manager]") {
  auto opts = policy("round-robin");
  opts.max_failures = 2;
  fixture f{opts, 2};
  // One failure is forgiven (a success resets the streak)...
  auto l = f.lease();
  REQUIRE(l.proxy == 0);
  f.report(l, proxy_outcome::failed);
  f.report(f.lease(), proxy_outcome::ok); // proxy 1
  l = f.lease();
  REQUIRE(l.proxy == 0);
  f.report(l, proxy_outcome::ok);
  // ...two in a row are not; timeouts count like failures, not like bans.
  f.report(f.lease(), proxy_outcome::ok); // proxy 1
  f.report(f.lease(), proxy_outcome::timeout); // proxy 0
  f.report(f.lease(), proxy_outcome::ok); // proxy 1
  f.report(f.lease(), proxy_outcome::failed); // proxy 0
  auto st = f.stats();
  CHECK(st[0].state == "quarantined");
  CHECK(st[0].failures == 3);
  CHECK(st[0].bans == 0);
  // While it rests, everything goes to proxy 1.
  for (int i = 0; i < 4; ++i) {
    auto x = f.lease();
    CHECK(x.proxy == 1);
    f.report(x, proxy_outcome::ok);
  }
  // The first rest is 10 s x [0.5, 1.5): over after 15 s. Then one probe at a time.
  f.advance(15s);
  CHECK(f.stats()[0].state == "probing");
  auto probe = f.lease("a.test", {1});
  CHECK(probe.proxy == 0);
  auto before = f.answers.size();
  f.ask("a.test", {1}); // a second lease must wait for the probe's outcome
  CHECK(f.answers.size() == before);
  f.report(probe, proxy_outcome::ok);
  REQUIRE(f.answers.size() == before + 1); // the waiting lease got the re-admitted proxy
  CHECK(f.answers.back().lease.proxy == 0);
  CHECK(f.stats()[0].state == "active");
}

TEST_CASE("a ban quarantines at once, and each quarantine in a row rests longer", "[proxy_manager]") {
  auto opts = policy("round-robin");
  fixture f{opts, 2};
  auto l = f.lease();
  REQUIRE(l.proxy == 0);
  f.report(l, proxy_outcome::banned);
  auto st = f.stats();
  CHECK(st[0].state == "quarantined");
  CHECK(st[0].bans == 1);
  // First rest < 15 s; a failed probe doubles it (10..30 s, so still resting after 5 s more).
  f.advance(15s);
  auto probe = f.lease("a.test", {1});
  REQUIRE(probe.proxy == 0);
  f.report(probe, proxy_outcome::failed);
  CHECK(f.stats()[0].state == "quarantined");
  f.advance(9s);
  CHECK(f.stats()[0].state == "quarantined");
  f.advance(22s);
  CHECK(f.stats()[0].state == "probing");
  CHECK(f.stats()[0].quarantines == 2);
}

TEST_CASE("a ban starts the proxy's next session; failures and timeouts do not", "[proxy_manager]") {
  auto opts = policy("round-robin");
  opts.max_failures = 1;
  fixture f{opts, 2};
  auto first = f.lease();
  REQUIRE(first.proxy == 0);
  auto session = first.generation;
  f.report(first, proxy_outcome::failed); // quarantined, but its cookies are not to blame
  f.advance(60s);
  auto probe = f.lease("a.test", {1});
  REQUIRE(probe.proxy == 0);
  CHECK(probe.generation == session);
  f.report(probe, proxy_outcome::banned); // its session is retired
  f.advance(120s);
  auto next = f.lease("a.test", {1});
  REQUIRE(next.proxy == 0);
  CHECK(next.generation == session + 1);
  f.report(next, proxy_outcome::ok);
  // A ban confirmed later (lease 0, as the fetcher sends it) retires it too.
  f.report(proxy_lease{0, 0, {}, {}, 0}, proxy_outcome::banned);
  f.advance(600s);
  CHECK(f.lease("a.test", {1}).generation == session + 2);
}

TEST_CASE("inconclusive reports release the lease without judging the proxy", "[proxy_manager]") {
  auto opts = policy("round-robin");
  opts.max_failures = 1;
  fixture f{opts, 2};
  for (int i = 0; i < 6; ++i)
    f.report(f.lease(), proxy_outcome::inconclusive);
  auto st = f.stats();
  CHECK(st[0].state == "active");
  CHECK(st[1].state == "active");
  CHECK(st[0].in_flight == 0);
  // A later confirmation (lease 0) judges the proxy.
  caf::anon_send(f.manager, report_atom::value,
                 proxy_report{0, 1, proxy_outcome::banned, 0ms, "a.test", ""});
  f.sched->run();
  CHECK(f.stats()[1].state == "quarantined");
}

TEST_CASE("with no usable proxy a lease waits, then fails as proxy_exhausted", "[proxy_manager]") {
  auto opts = policy("round-robin");
  opts.per_proxy_concurrency = 1;
  opts.wait = 3s;
  fixture f{opts, 2};
  auto a = f.lease();
  auto b = f.lease();
  f.ask("a.test"); // both busy: waits
  CHECK(f.answers.size() == 2);
  f.report(a, proxy_outcome::ok);
  REQUIRE(f.answers.size() == 3);
  CHECK(f.answers[2].lease.proxy == a.proxy);
  // Both busy again; this one waits out its bound.
  f.ask("a.test");
  f.advance(2s);
  CHECK(f.answers.size() == 3);
  f.advance(1s);
  REQUIRE(f.answers.size() == 4);
  CHECK(crawl_errc_of(f.answers[3].error) == crawl_errc::proxy_exhausted);
  // Every proxy excluded: an empty lease at once (the URL has been tried everywhere).
  f.report(b, proxy_outcome::ok);
  f.ask("a.test", {0, 1});
  REQUIRE(f.answers.size() == 5);
  CHECK(f.answers[4].lease.id == 0);
}

TEST_CASE("rejected credentials retire a proxy for good; with every proxy retired, leases fail at once",
          "[proxy_manager]") {
  auto opts = policy("round-robin");
  opts.per_proxy_concurrency = 1;
  opts.wait = 30s;
  fixture f{opts, 2};
  auto a = f.lease();
  auto b = f.lease();
  f.ask("a.test"); // both busy: waits (up to 30 s)
  REQUIRE(f.answers.size() == 2);
  f.report(a, proxy_outcome::auth);
  CHECK(f.stats()[a.proxy].state == "retired");
  CHECK(f.answers.size() == 2); // (proxy b is busy, not retired: still waiting)
  f.advance(20s);
  CHECK(f.answers.size() == 2);
  f.report(b, proxy_outcome::auth);
  // The last one gone: the waiting lease fails now, not after its 30 s, saying why.
  REQUIRE(f.answers.size() == 3);
  CHECK(crawl_errc_of(f.answers[2].error) == crawl_errc::proxy_exhausted);
  auto why = f.answers[2].error.context().get_as<std::string>(0);
  CHECK(why.find("every proxy is retired") != std::string::npos);
  CHECK(why.find("rejected the credentials") != std::string::npos);
  CHECK(why.find("pw") == std::string::npos); // (masked labels only)
  // And so does every new one, hours later too: no rest ends a retirement.
  f.advance(std::chrono::hours(2));
  CHECK(f.stats()[a.proxy].state == "retired");
  f.ask("b.test");
  REQUIRE(f.answers.size() == 4);
  CHECK(crawl_errc_of(f.answers[3].error) == crawl_errc::proxy_exhausted);
}

TEST_CASE("an unusable proxy (its certificate fails verification) is retired for good, saying why",
          "[proxy_manager]") {
  auto opts = policy("round-robin");
  opts.wait = 30s;
  fixture f{opts, 2};
  auto a = f.lease();
  f.report(a, proxy_outcome::unusable,
           "TLS handshake with proxy https://127.0.0.1:1: certificate verify failed (certificate has expired)");
  CHECK(f.stats()[a.proxy].state == "retired");
  f.advance(std::chrono::hours(2));
  // Only the other proxy is lent now, hours later too.
  auto b = f.lease();
  CHECK(b.proxy != a.proxy);
  f.report(b, proxy_outcome::unusable, "");
  f.ask("a.test");
  REQUIRE(!f.answers.empty());
  auto& last = f.answers.back();
  CHECK(crawl_errc_of(last.error) == crawl_errc::proxy_exhausted);
  auto why = last.error.context().get_as<std::string>(0);
  CHECK(why.find("certificate verify failed (certificate has expired)") != std::string::npos);
  CHECK(why.find("is unusable") != std::string::npos); // (the one reported without a reason)
}

TEST_CASE("the per-proxy rate cap spaces leases of one proxy", "[proxy_manager]") {
  auto opts = policy("round-robin");
  opts.per_proxy_rate = 2; // one lease per 500 ms
  fixture f{opts, 1};
  f.report(f.lease(), proxy_outcome::ok);
  f.ask("a.test");
  CHECK(f.answers.size() == 1);
  f.advance(499ms);
  CHECK(f.answers.size() == 1);
  f.advance(1ms);
  CHECK(f.answers.size() == 2);
}
