// The rate limiter under CAF's deterministic scheduler: time moves only when
// the test advances it.

#include "rate_limiter/rate_limiter.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "caf/actor_system.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/scheduler/test_coordinator.hpp"

#include "arachne/config.hpp"

using namespace arachne;
using namespace std::chrono_literals;

namespace {

struct grant_log_entry {
  std::string host;
  caf::timespan at; // since the fixture started
  slot_grant grant;
};

struct fixture {
  config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::scheduler::test_coordinator* sched = nullptr;
  caf::actor_clock::time_point t0;
  std::vector<grant_log_entry> grants;
  rate_limiter_impl limiter;
  caf::actor probe;

  explicit fixture(politeness_options opts) {
    cfg.set("scheduler.policy", caf::atom("testing"));
    sys = std::make_unique<caf::actor_system>(cfg);
    sched = &dynamic_cast<caf::scheduler::test_coordinator&>(sys->scheduler());
    t0 = sched->clock().now();
    limiter = sys->spawn(rate_limiter, opts, uint64_t{42});
    // Asks for slots on the test's behalf and logs when they are granted.
    probe = sys->spawn([this](caf::event_based_actor* self) -> caf::behavior {
      return {
        [=](acquire_atom, const std::string& host) {
          self->request(limiter, caf::infinite, acquire_atom::value, host)
            .then([=](const slot_grant& g) {
              grants.push_back({host, sched->clock().now() - t0, g});
            });
        },
      };
    });
  }

  ~fixture() {
    caf::anon_send_exit(probe, caf::exit_reason::user_shutdown);
    caf::anon_send_exit(limiter, caf::exit_reason::user_shutdown);
    sched->run();
  }

  void acquire(const std::string& host) {
    caf::anon_send(probe, acquire_atom::value, host);
    sched->run();
  }

  void release(const slot_grant& g, fetch_feedback fb = {}) {
    caf::anon_send(limiter, release_atom::value, g, fb);
    sched->run();
  }

  void advance(caf::timespan d) {
    sched->clock().advance_time(d);
    sched->run();
  }
};

politeness_options no_jitter(caf::timespan delay, uint32_t concurrency) {
  politeness_options o;
  o.delay = delay;
  o.jitter = 0;
  o.concurrency = concurrency;
  return o;
}

} // namespace

TEST_CASE("rate_limiter spaces requests to one host by its delay", "[rate_limiter]") {
  fixture f{no_jitter(500ms, 10)};
  f.acquire("a.test");
  f.acquire("a.test");
  f.acquire("a.test");
  REQUIRE(f.grants.size() == 1);
  CHECK(f.grants[0].at == caf::timespan{0});
  f.advance(499ms);
  CHECK(f.grants.size() == 1);
  f.advance(1ms);
  REQUIRE(f.grants.size() == 2);
  CHECK(f.grants[1].at == caf::timespan{500ms});
  f.advance(500ms);
  REQUIRE(f.grants.size() == 3);
  CHECK(f.grants[2].at == caf::timespan{1000ms});
  CHECK(f.grants[2].grant.token != f.grants[1].grant.token);
}

TEST_CASE("rate_limiter caps requests in flight per host", "[rate_limiter]") {
  fixture f{no_jitter(0ms, 2)};
  for (int i = 0; i < 3; ++i)
    f.acquire("a.test");
  REQUIRE(f.grants.size() == 2);
  f.advance(10s);
  CHECK(f.grants.size() == 2); // time alone does not help
  f.release(f.grants[0].grant);
  CHECK(f.grants.size() == 3);
}

TEST_CASE("rate_limiter paces hosts independently", "[rate_limiter]") {
  fixture f{no_jitter(1s, 1)};
  f.acquire("a.test");
  f.acquire("b.test");
  f.acquire("a.test");
  REQUIRE(f.grants.size() == 2);
  CHECK(f.grants[0].host == "a.test");
  CHECK(f.grants[1].host == "b.test");
  f.release(f.grants[0].grant);
  f.advance(1s);
  REQUIRE(f.grants.size() == 3);
  CHECK(f.grants[2].host == "a.test");
}

TEST_CASE("rate_limiter obeys Crawl-delay up to its cap", "[rate_limiter]") {
  auto opts = no_jitter(100ms, 4);
  opts.max_crawl_delay = 2s;
  fixture f{opts};
  caf::anon_send(f.limiter, caf::put_atom::value, std::string{"slow.test"}, host_policy{5s, 0});
  caf::anon_send(f.limiter, caf::put_atom::value, std::string{"fast.test"}, host_policy{10ms, 0});
  f.sched->run();
  f.acquire("slow.test");
  f.acquire("slow.test");
  f.acquire("fast.test");
  f.acquire("fast.test");
  f.advance(100ms); // fast.test: the configured delay is the floor
  f.advance(1900ms);
  std::vector<std::pair<std::string, caf::timespan>> seen;
  for (auto& g : f.grants)
    seen.emplace_back(g.host, g.at);
  using entry = std::pair<std::string, caf::timespan>;
  CHECK(seen == std::vector<entry>{{"slow.test", 0ms}, {"fast.test", 0ms}, {"fast.test", 100ms},
                                   {"slow.test", 2s}});
}

TEST_CASE("rate_limiter stretches a running gap when Crawl-delay arrives", "[rate_limiter]") {
  fixture f{no_jitter(100ms, 1)};
  f.acquire("a.test"); // robots.txt, before the host's Crawl-delay is known
  REQUIRE(f.grants.size() == 1);
  f.release(f.grants[0].grant);
  caf::anon_send(f.limiter, caf::put_atom::value, std::string{"a.test"}, host_policy{1s, 0});
  f.acquire("a.test");
  f.advance(999ms);
  CHECK(f.grants.size() == 1);
  f.advance(1ms);
  REQUIRE(f.grants.size() == 2);
  CHECK(f.grants[1].at == caf::timespan{1s});
}

TEST_CASE("rate_limiter counts the gap from when a request really went out",
          "[rate_limiter]") {
  fixture f{no_jitter(1s, 1)};
  f.acquire("a.test");
  f.acquire("a.test");
  f.advance(900ms);
  // The first request left 400 ms after its grant and took 500 ms.
  fetch_feedback fb;
  fb.status = 200;
  fb.busy = 500ms;
  f.release(f.grants[0].grant, fb);
  f.advance(499ms);
  CHECK(f.grants.size() == 1);
  f.advance(1ms);
  REQUIRE(f.grants.size() == 2);
  CHECK(f.grants[1].at == caf::timespan{1400ms});
}

TEST_CASE("rate_limiter backs off after 429 and honours Retry-After", "[rate_limiter]") {
  fixture f{no_jitter(0ms, 1)};
  f.acquire("a.test");
  REQUIRE(f.grants.size() == 1);
  f.acquire("a.test");
  fetch_feedback too_many;
  too_many.status = 429;
  too_many.retry_after = 30s;
  f.release(f.grants[0].grant, too_many);
  CHECK(f.grants.size() == 1);
  f.advance(29s);
  CHECK(f.grants.size() == 1);
  f.advance(1s);
  REQUIRE(f.grants.size() == 2);
  CHECK(f.grants[1].at == caf::timespan{30s});
  // Without Retry-After the penalty grows (1s, then 2s) and pauses the host
  // from now; each success halves it.
  f.acquire("a.test");
  fetch_feedback unavailable;
  unavailable.status = 503;
  f.release(f.grants[1].grant, unavailable); // penalty 2s: next start at 32s
  f.advance(1999ms);
  CHECK(f.grants.size() == 2);
  f.advance(1ms);
  REQUIRE(f.grants.size() == 3);
  CHECK(f.grants[2].at == caf::timespan{32s});
  fetch_feedback ok;
  ok.status = 200;
  f.acquire("a.test");
  f.release(f.grants[2].grant, ok); // penalty 1s; this gap was set at 2s
  f.advance(2s);
  REQUIRE(f.grants.size() == 4);
  CHECK(f.grants[3].at == caf::timespan{34s});
  f.acquire("a.test");
  f.release(f.grants[3].grant, ok); // penalty 0.5s; this gap was set at 1s
  f.advance(1s);
  REQUIRE(f.grants.size() == 5);
  CHECK(f.grants[4].at == caf::timespan{35s});
  f.acquire("a.test");
  f.release(f.grants[4].grant, ok);
  f.advance(500ms);
  REQUIRE(f.grants.size() == 6);
  CHECK(f.grants[5].at == caf::timespan{35500ms});
}

TEST_CASE("rate_limiter jitter only ever lengthens the gap", "[rate_limiter]") {
  politeness_options opts;
  opts.delay = 1s;
  opts.jitter = 0.5;
  opts.concurrency = 100;
  fixture f{opts};
  for (int i = 0; i < 20; ++i)
    f.acquire("a.test");
  for (int i = 0; i < 40; ++i)
    f.advance(100ms);
  REQUIRE(f.grants.size() >= 3);
  bool varied = false;
  for (std::size_t i = 1; i < f.grants.size(); ++i) {
    auto gap = f.grants[i].at - f.grants[i - 1].at;
    CHECK(gap >= 1s);
    CHECK(gap <= 1600ms); // 1.5s, rounded up to the 100ms steps of the test
    varied = varied || gap > 1100ms;
  }
  CHECK(varied);
}

TEST_CASE("rate_limiter gives a host fewer requests at once while its answers slow down (auto-throttle)",
          "[rate_limiter]") {
  auto opts = no_jitter(0ms, 8);
  opts.throttle_ratio = 2.0;
  opts.throttle_slack = 50ms; // overloaded above 2 x fastest + 50ms
  fixture f{opts};
  for (int i = 0; i < 100; ++i)
    f.acquire("a.test");
  REQUIRE(f.grants.size() == 8);
  std::size_t released = 0;
  auto answer = [&](caf::timespan latency) {
    fetch_feedback fb;
    fb.status = 200;
    fb.latency = latency;
    f.release(f.grants[released++].grant, fb);
  };
  auto in_flight = [&] { return f.grants.size() - released; };
  answer(20ms); // the fastest: 20ms
  CHECK(in_flight() == 8);
  // Answers ten times slower: the average passes 90ms, the cap drops by a
  // quarter at once and not again before an answer time has passed.
  answer(400ms);
  CHECK(in_flight() == 7); // (limit 6: the freed slot is not given again)
  answer(400ms);
  CHECK(in_flight() == 6);
  answer(400ms);
  CHECK(in_flight() == 6); // (still 6 within the answer time)
  f.advance(300ms);
  answer(400ms); // limit 5
  CHECK(in_flight() == 5);
  CHECK(f.grants.size() == 10);
  // A host that answers fast again gets one more request at once per answer
  // time, back up to --per-host-concurrency.
  for (int i = 0; i < 30; ++i) {
    answer(20ms);
    f.advance(100ms);
  }
  CHECK(in_flight() == 8);
  // Far but not loaded: slow from the first answer on is not throttled.
  fixture far{opts};
  for (int i = 0; i < 12; ++i)
    far.acquire("b.test");
  for (int i = 0; i < 4; ++i) {
    fetch_feedback fb;
    fb.status = 200;
    fb.latency = 900ms;
    far.release(far.grants[static_cast<std::size_t>(i)].grant, fb);
  }
  CHECK(far.grants.size() == 12); // every release let the next one go
  // Off: no throttling.
  opts.auto_throttle = false;
  fixture off{opts};
  for (int i = 0; i < 12; ++i)
    off.acquire("c.test");
  fetch_feedback fast;
  fast.status = 200;
  fast.latency = 20ms;
  off.release(off.grants[0].grant, fast);
  for (std::size_t i = 1; i < 4; ++i) {
    fetch_feedback slow = fast;
    slow.latency = 400ms;
    off.release(off.grants[i].grant, slow);
  }
  CHECK(off.grants.size() == 12);
}
