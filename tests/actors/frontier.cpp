// A frontier shard under CAF's deterministic scheduler, with a scripted
// fetcher in place of the network: dedup, robots.txt, redirects, retries,
// 429 and the records it sends.

#include "frontier/frontier.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "caf/actor_system.hpp"
#include "caf/scheduler/test_coordinator.hpp"
#include "caf/event_based_actor.hpp"

#include "arachne/config.hpp"
#include "support/memory_sink.hpp"
#include "parser/parser.hpp"

#include <functional>

using namespace arachne;
using namespace std::chrono_literals;

namespace {

struct response {
  uint16_t status = 200;
  std::string body;
  std::vector<header_field> headers;
  crawl_errc error = crawl_errc::none; // a failure instead of an answer (status 0)
};

// Answers from a script; each URL's answers are used in turn (the last repeats).
struct script {
  std::map<std::string, std::vector<response>> answers;
  std::map<std::string, int> asked;
};

fetcher_actor::behavior_type scripted_fetcher(fetcher_actor::pointer,
                                              std::shared_ptr<script> s) {
  return {
    [=](resolve_atom, const std::string&, uint16_t) {
      return std::vector<std::string>{"127.0.0.1"}; // (asked only with --per-ip-*)
    },
    [=](fetch_atom, const fetch_request& req) {
      fetch_result r;
      r.id = req.id;
      r.url = req.url;
      r.final_url = req.url;
      auto n = s->asked[req.url]++;
      auto i = s->answers.find(req.url);
      if (i == s->answers.end()) {
        r.status = 404;
        return r;
      }
      auto& a = i->second[std::min<std::size_t>(n, i->second.size() - 1)];
      if (a.error != crawl_errc::none) {
        r.error = a.error;
        r.error_message = "scripted " + to_string(a.error);
        return r;
      }
      r.status = a.status;
      r.headers = a.headers;
      r.content_type = a.body.rfind("<", 0) == 0 ? "text/html" : "text/plain";
      r.body = shared_bytes{a.body};
      return r;
    },
  };
}


struct fixture {
  config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::scheduler::test_coordinator* sched = nullptr;
  std::shared_ptr<script> net = std::make_shared<script>();
  std::shared_ptr<std::vector<record>> records = std::make_shared<std::vector<record>>();
  frontier_actor shard;
  caf::actor extra;
  std::vector<caf::actor> others;

  ~fixture() {
    // Under the test scheduler actors only run when told to: end them all
    // before the actor system waits for them.
    caf::anon_send_exit(shard, caf::exit_reason::user_shutdown);
    for (auto& a : others)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    sched->run();
  }

  /// `extra_sink` (spawned on the fixture's system) gets records too, before the memory sink.
  explicit fixture(frontier_config fc,
                   std::function<caf::actor(caf::actor_system&)> extra_sink = nullptr) {
    cfg.set("scheduler.policy", caf::atom("testing"));
    sys = std::make_unique<caf::actor_system>(cfg);
    sched = &dynamic_cast<caf::scheduler::test_coordinator&>(sys->scheduler());
    auto f = sys->spawn(scripted_fetcher, net);
    auto p = sys->spawn(parser, parser_options{fc.urls, false, {}, {}, 2}, nullptr);
    auto sink = sys->spawn(testing::memory_sink, records);
    std::vector<sink_actor> sinks;
    if (extra_sink) {
      extra = extra_sink(*sys);
      sinks.push_back(caf::actor_cast<sink_actor>(extra));
      others.push_back(extra);
    }
    sinks.push_back(sink);
    shard = sys->spawn(frontier, fc, shard_id{0}, std::vector<fetcher_actor>{f},
                       std::vector<parser_actor>{p}, sinks);
    others.insert(others.end(), {caf::actor_cast<caf::actor>(f), caf::actor_cast<caf::actor>(p),
                                 caf::actor_cast<caf::actor>(sink)});
    caf::anon_send(shard, caf::put_atom::value, cluster_view{1, {0}, {1.0}, {shard}, {0}, false, {}});
    sched->run();
  }

  void seed(const std::string& url) {
    caf::anon_send(shard, seed_atom::value, link_batch{{crawl_request{url, 0, {}, 0, 0, 0}}});
  }

  // Runs until the shard is idle, advancing time in steps (bounded).
  frontier_stats run_until_idle(int max_steps = 10000) {
    frontier_stats st;
    bool got = false;
    auto probe = sys->spawn([&](caf::event_based_actor* self) -> caf::behavior {
      return {
        [=, &st, &got](stats_atom) {
          self->request(shard, caf::infinite, stats_atom::value)
            .then([&st, &got](frontier_stats& s) {
              st = s;
              got = true;
            });
        },
      };
    });
    for (int i = 0; i < max_steps; ++i) {
      sched->run();
      got = false;
      caf::anon_send(probe, stats_atom::value);
      sched->run();
      REQUIRE(got);
      if (st.idle && st.batches_sent == st.batches_received)
        break;
      sched->clock().advance_time(10ms);
    }
    caf::anon_send_exit(probe, caf::exit_reason::user_shutdown);
    sched->run();
    if (max_steps == 10000)
      CHECK(st.idle);
    return st;
  }

  std::map<std::string, std::string> outcomes() const {
    std::map<std::string, std::string> out;
    for (auto& r : *records)
      out[r.url] = r.error == crawl_errc::none ? std::to_string(r.status) : to_string(r.error);
    return out;
  }
};

frontier_config test_config() {
  frontier_config fc;
  fc.politeness.delay = 0ms;
  fc.politeness.jitter = 0;
  fc.run.retry_delay = 1s;
  return fc;
}

response html_page(std::string links) {
  return {200, "<html><head><title>t</title></head><body>" + links + "</body></html>", {}};
}

/// Two shards under the test scheduler, sharing a scripted fetcher, a
/// parser and a memory sink.
struct two_shards {
  config cfg;
  std::unique_ptr<caf::actor_system> sys;
  caf::scheduler::test_coordinator* sched = nullptr;
  std::shared_ptr<script> net = std::make_shared<script>();
  std::shared_ptr<std::vector<record>> records = std::make_shared<std::vector<record>>();
  std::vector<frontier_actor> shards;
  std::vector<caf::actor> all;
  std::vector<frontier_stats> stats = std::vector<frontier_stats>(2);

  explicit two_shards(const frontier_config& fc) {
    cfg.set("scheduler.policy", caf::atom("testing"));
    sys = std::make_unique<caf::actor_system>(cfg);
    sched = &dynamic_cast<caf::scheduler::test_coordinator&>(sys->scheduler());
    auto f = sys->spawn(scripted_fetcher, net);
    auto p = sys->spawn(parser, parser_options{fc.urls, false, {}, {}, 2}, nullptr);
    auto sink = sys->spawn(testing::memory_sink, records);
    for (shard_id id : {shard_id{0}, shard_id{1}})
      shards.push_back(sys->spawn(frontier, fc, id, std::vector<fetcher_actor>{f},
                                  std::vector<parser_actor>{p}, std::vector<sink_actor>{sink}));
    all = {caf::actor_cast<caf::actor>(shards[0]), caf::actor_cast<caf::actor>(shards[1]),
           caf::actor_cast<caf::actor>(f), caf::actor_cast<caf::actor>(p),
           caf::actor_cast<caf::actor>(sink)};
  }

  ~two_shards() {
    for (auto& a : all)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    sched->run();
  }

  /// Runs what is due, `n` times moving the clock 10 ms on in between.
  void steps(int n) {
    for (int i = 0; i < n; ++i) {
      sched->run();
      sched->clock().advance_time(10ms);
    }
    sched->run();
  }

  /// Both shards' stats now, into `stats`.
  void ask() {
    for (std::size_t i = 0; i < 2; ++i) {
      bool got = false;
      sys->spawn([&, i](caf::event_based_actor* self) {
        self->request(shards[i], caf::infinite, stats_atom::value).then([&, i](frontier_stats& s) {
          stats[i] = s;
          got = true;
        });
      });
      sched->run();
      REQUIRE(got);
    }
  }

  /// Steps until both shards are idle with no link batch in transit (2,000 at most).
  void run_until_idle() {
    for (int step = 0; step < 2000; ++step) {
      steps(0);
      ask();
      if (stats[0].idle && stats[1].idle && stats[0].batches_sent == stats[1].batches_received
          && stats[1].batches_sent == stats[0].batches_received)
        return;
      sched->clock().advance_time(10ms);
    }
  }

  /// A host that the shard at `k` owns by rendezvous hashing.
  static std::string host_of(std::size_t k) {
    partition_map partition{{0, 1}, {1.0, 1.0}};
    for (int i = 0;; ++i)
      if (auto h = "h" + std::to_string(i) + ".test"; partition.owner_index(h) == k)
        return h;
  }

  /// 20 pages in a chain on `host`, from /0 to /19 (/20 is a 404).
  void chain(const std::string& host) {
    for (int i = 0; i < 20; ++i)
      net->answers["http://" + host + "/" + std::to_string(i)] = {
        html_page("<a href=\"/" + std::to_string(i + 1) + "\">next</a>")};
  }

  void seed(std::size_t k, const std::string& host) {
    caf::anon_send(shards[k], seed_atom::value,
                   link_batch{{crawl_request{"http://" + host + "/0", 0, {}, 0, 0, 0}}, 1});
  }
};

} // namespace

TEST_CASE("frontier records every URL once: pages, robots denials, redirects", "[frontier]") {
  fixture f{test_config()};
  auto& a = f.net->answers;
  a["http://a.test/robots.txt"] = {{200, "User-agent: *\nDisallow: /private/\n", {}}};
  a["http://a.test/"] = {html_page("<a href=/x>x</a><a href='/x#frag'>again</a><a href=/private/y>p</a>"
                              "<a href=/old>old</a><a href='mailto:m@a.test'>m</a>")};
  a["http://a.test/x"] = {html_page("<a href=/>home</a>")};
  a["http://a.test/old"] = {{301, "", {{"Location", "/moved-here"}}}};
  a["http://a.test/moved-here"] = {html_page("")};
  f.seed("http://a.test/");
  auto st = f.run_until_idle();
  auto got = f.outcomes();
  CHECK(got == std::map<std::string, std::string>{{"http://a.test/", "200"},
                                                  {"http://a.test/x", "200"},
                                                  {"http://a.test/private/y", "robots_denied"},
                                                  {"http://a.test/old", "301"},
                                                  {"http://a.test/moved-here", "200"}});
  CHECK(f.records->size() == 5);
  CHECK(f.net->asked["http://a.test/robots.txt"] == 1);
  CHECK(f.net->asked["http://a.test/x"] == 1);
  CHECK(f.net->asked.count("http://a.test/private/y") == 0);
  CHECK(st.recorded == 5);
  // A redirect target keeps its source's depth.
  for (auto& r : *f.records)
    if (r.url == "http://a.test/moved-here")
      CHECK(r.depth == 1);
}

TEST_CASE("the seen set keeps every fingerprint exactly, through growth", "[frontier]") {
  fingerprint_set set;
  std::vector<url_fingerprint> all;
  for (int i = 0; i < 100000; ++i)
    all.push_back(fingerprint("http://h" + std::to_string(i % 97) + ".test/p/" + std::to_string(i)));
  for (auto& f : all)
    CHECK(set.insert(f));
  CHECK(set.size() == all.size());
  for (auto& f : all)
    REQUIRE(!set.insert(f));
  // Colliding low halves (the probe start) stay distinct by the high half.
  CHECK(set.insert({1, 42}));
  CHECK(set.insert({2, 42}));
  CHECK(!set.insert({2, 42}));
  // The all-zero fingerprint (the empty-slot mark) is stored as {0, 1}.
  CHECK(set.insert({0, 0}));
  CHECK(!set.insert({0, 0}));
  CHECK(!set.insert({0, 1}));
  CHECK(set.memory() <= set.size() * 48); // growth doubles at 70% full: at least 35% full
}

TEST_CASE("the seen set forgets fingerprints exactly, the others staying findable",
          "[frontier]") {
  // Erasing from runs of colliding slots (backward shift): whatever is left
  // is still found, whatever was erased is gone, through growth too.
  fingerprint_set set;
  std::vector<url_fingerprint> all;
  for (uint64_t i = 0; i < 5000; ++i)
    all.push_back({i * 0x9E3779B97F4A7C15ull, (i % 7) * 1024 + i / 7}); // (clustered low bits)
  for (auto& f : all)
    REQUIRE(set.insert(f));
  for (std::size_t i = 0; i < all.size(); i += 3)
    CHECK(set.erase(all[i]));
  CHECK_FALSE(set.erase(all[0])); // (gone already)
  CHECK(set.size() == all.size() - (all.size() + 2) / 3);
  for (std::size_t i = 0; i < all.size(); ++i)
    CHECK(set.contains(all[i]) == (i % 3 != 0));
  for (std::size_t i = 0; i < all.size(); i += 3)
    CHECK(set.insert(all[i])); // (new again)
  for (auto& f : all)
    CHECK_FALSE(set.insert(f));
  CHECK(set.size() == all.size());
}

TEST_CASE("frontier retries transient failures after a back-off", "[frontier]") {
  fixture f{test_config()};
  auto& a = f.net->answers;
  a["http://b.test/"] = {{503, "", {}}, {503, "", {}}, html_page("")};
  a["http://b.test/robots.txt"] = {{404, "", {}}};
  f.seed("http://b.test/");
  f.run_until_idle();
  CHECK(f.net->asked["http://b.test/"] == 3);
  CHECK(f.outcomes()["http://b.test/"] == "200");
  CHECK(f.records->size() == 1);
}

TEST_CASE("frontier retries an unavailable robots.txt before crawling the host", "[frontier]") {
  fixture f{test_config()};
  auto& a = f.net->answers;
  a["http://r.test/robots.txt"] = {{503, "", {}}, {500, "", {}}, {200, "User-agent: *\nDisallow: /no\n", {}}};
  a["http://r.test/"] = {html_page("<a href=/no>x</a><a href=/yes>y</a>")};
  a["http://r.test/yes"] = {html_page("")};
  f.seed("http://r.test/");
  f.run_until_idle();
  CHECK(f.net->asked["http://r.test/robots.txt"] == 3);
  CHECK(f.outcomes() == std::map<std::string, std::string>{{"http://r.test/", "200"},
                                                            {"http://r.test/no", "robots_denied"},
                                                            {"http://r.test/yes", "200"}});
}

TEST_CASE("frontier disallows a host whose robots.txt stays unavailable, and says why",
          "[frontier]") {
  fixture f{test_config()};
  auto& a = f.net->answers;
  a["http://u.test/robots.txt"] = {{503, "", {}}};
  a["http://u.test/"] = {html_page("")};
  f.seed("http://u.test/");
  f.run_until_idle();
  CHECK(f.net->asked["http://u.test/robots.txt"] == 3); // the first try and --retries (2)
  CHECK(f.net->asked["http://u.test/"] == 0);
  REQUIRE(f.records->size() == 1);
  CHECK(f.records->front().error == crawl_errc::robots_denied);
  CHECK(f.records->front().error_message.find("robots.txt unavailable after 3 tries (status 503)")
        != std::string::npos);
}

TEST_CASE("a host whose robots.txt cannot be reached ends its URLs with the network's cause, "
          "not robots_denied",
          "[frontier]") {
  fixture f{test_config()};
  auto& a = f.net->answers;
  // (RFC 9309 2.3.1.4: unreachable is complete disallow; the record says why.)
  a["http://c.test/robots.txt"] = {{0, "", {}, crawl_errc::connect_failed}};
  a["http://t.test/robots.txt"] = {{0, "", {}, crawl_errc::tls_failed}};
  f.seed("http://c.test/");
  f.seed("http://t.test/");
  f.run_until_idle();
  CHECK(f.net->asked["http://c.test/robots.txt"] == 3);
  CHECK(f.net->asked["http://c.test/"] == 0);
  CHECK(f.outcomes() == std::map<std::string, std::string>{{"http://c.test/", "connect_failed"},
                                                            {"http://t.test/", "tls_failed"}});
  for (auto& r : *f.records) {
    INFO(r.error_message);
    CHECK(r.error_message.find("robots.txt unavailable after 3 tries (") != std::string::npos);
    CHECK(r.error_message.find("everything disallowed") != std::string::npos);
  }
}

TEST_CASE("frontier fetches robots.txt again once it is older than --robots-ttl", "[frontier]") {
  auto fc = test_config();
  fc.politeness.robots_ttl = 2s;
  fixture f{fc};
  auto& a = f.net->answers;
  a["http://t.test/robots.txt"] = {{200, "User-agent: *\nDisallow:\n", {}},
                                   {200, "User-agent: *\nDisallow: /b\n", {}}};
  // /a fails twice (retries after 1 s and 2 s, and 500 does not slow the
  // host), outliving the first robots.txt.
  a["http://t.test/"] = {html_page("<a href=/a>a</a>")};
  a["http://t.test/a"] = {{500, "", {}}, {500, "", {}}, html_page("<a href=/b>b</a>")};
  f.seed("http://t.test/");
  f.run_until_idle();
  CHECK(f.net->asked["http://t.test/robots.txt"] == 2);
  CHECK(f.outcomes()["http://t.test/a"] == "200");
  CHECK(f.outcomes()["http://t.test/b"] == "robots_denied"); // by the second robots.txt
}

namespace {

// A chain of pages: /0 links /1, /1 links /2, ... up to /n-1, with robots.txt.
void chain(script& net, const std::string& host, int n) {
  net.answers["http://" + host + "/robots.txt"] = {{404, "", {}}};
  for (int i = 0; i < n; ++i)
    net.answers["http://" + host + "/" + std::to_string(i)]
      = {html_page(i + 1 < n ? "<a href=/" + std::to_string(i + 1) + ">n</a>" : "")};
}

using release_atom_t = caf::atom_constant<caf::atom("unblock")>;

// A sink that takes batches but acknowledges none until told to.
struct held_batches {
  std::vector<caf::response_promise> promises;
  std::size_t batches = 0;
  std::size_t records = 0;
};

caf::behavior holding_sink(caf::event_based_actor* self, std::shared_ptr<held_batches> held) {
  return {
    [](open_atom, const crawl_info&) { return sink_needs{}; },
    [=](record_batch& b) {
      ++held->batches;
      held->records += b.records.size();
      held->promises.push_back(self->make_response_promise());
      return held->promises.back();
    },
    [=](release_atom_t) {
      for (auto& p : held->promises)
        p.deliver(ack{});
      held->promises.clear();
      self->become(caf::keep_behavior,
                   [](open_atom, const crawl_info&) { return sink_needs{}; },
                   [=](record_batch& b) {
                     ++held->batches;
                     held->records += b.records.size();
                     return ack{b.seq};
                   },
                   [](caf::flush_atom) { return caf::ok_atom::value; });
    },
    [](caf::flush_atom) { return caf::ok_atom::value; },
  };
}

// A sink that crashes on its second batch.
caf::behavior crashing_sink(caf::event_based_actor* self, std::shared_ptr<held_batches> seen) {
  return {
    [](open_atom, const crawl_info&) { return sink_needs{}; },
    [=](record_batch& b) -> caf::result<ack> {
      if (++seen->batches == 2) {
        self->quit(caf::make_error(caf::sec::runtime_error, "disk on fire"));
        return caf::make_error(caf::sec::runtime_error, "disk on fire");
      }
      seen->records += b.records.size();
      return ack{b.seq};
    },
    [](caf::flush_atom) { return caf::ok_atom::value; },
  };
}

} // namespace

TEST_CASE("a sink that never acknowledges stalls the crawl at the credit bound, with bounded memory",
          "[frontier][sinks]") {
  auto fc = test_config();
  fc.record_batch = 2;
  fc.sink_credit = 3;
  fc.max_pending_records = 5;
  auto held = std::make_shared<held_batches>();
  fixture f{fc, [held](caf::actor_system& sys) { return sys.spawn(holding_sink, held); }};
  chain(*f.net, "k.test", 40);
  f.seed("http://k.test/0");
  auto st = f.run_until_idle(300); // 3 s of test time: plenty for 40 pages
  // The sink holds exactly its credit; nothing more was sent to anyone (the
  // other sink moves in step)...
  CHECK(held->batches == 3);
  CHECK(f.records->size() == held->records);
  // ...and fetching stopped once the records waiting for it reached the bound.
  CHECK(!st.idle);
  CHECK(st.in_flight == 0);
  CHECK(st.recorded == held->records + 5);
  CHECK(f.net->asked["http://k.test/39"] == 0);
  // Acks release the crawl, which then finishes with every record.
  caf::anon_send(f.extra, release_atom_t::value);
  st = f.run_until_idle();
  CHECK(st.idle);
  CHECK(f.records->size() == 40);
  CHECK(held->records == 40);
}

TEST_CASE("a sink that crashes is reported with the records it did not acknowledge, while the others get all",
          "[frontier][sinks]") {
  auto fc = test_config();
  fc.record_batch = 4;
  auto seen = std::make_shared<held_batches>();
  fixture f{fc, [seen](caf::actor_system& sys) { return sys.spawn(crashing_sink, seen); }};
  chain(*f.net, "c2.test", 30);
  f.seed("http://c2.test/0");
  auto st = f.run_until_idle();
  CHECK(f.records->size() == 30);
  REQUIRE(st.sink_errors.size() == 2);
  CHECK(st.sink_errors[0].find("disk on fire") != std::string::npos);
  CHECK(st.sink_errors[1].empty());
  CHECK(st.sink_lost[0] == 30 - seen->records);
  CHECK(st.sink_lost[1] == 0);
  CHECK(seen->records >= 1);
}

TEST_CASE("frontier requeues a first 429 without using up a retry; later ones use retries",
          "[frontier]") {
  auto fc = test_config();
  fc.run.retries = 1;
  fixture f{fc};
  auto& a = f.net->answers;
  a["http://c.test/"] = {{429, "", {{"Retry-After", "2"}}}, {429, "", {}}, html_page("")};
  a["http://c.test/robots.txt"] = {{404, "", {}}};
  // A host that answers 429 to everything: asked 1 + --retries + ... no more.
  a["http://d.test/"] = {{429, "", {}}, {429, "", {}}, {429, "", {}}, {429, "", {}}, {429, "", {}}};
  a["http://d.test/robots.txt"] = {{404, "", {}}};
  f.seed("http://c.test/");
  f.seed("http://d.test/");
  f.run_until_idle();
  CHECK(f.net->asked["http://c.test/"] == 3);
  CHECK(f.outcomes()["http://c.test/"] == "200");
  CHECK(f.net->asked["http://d.test/"] == 3); // the free one and the one retry, then recorded
  CHECK(f.outcomes()["http://d.test/"] == "429");
}

TEST_CASE("frontier applies scope rules and budgets", "[frontier]") {
  auto fc = test_config();
  fc.scope.max_depth = 1;
  fc.scope.deny = {"/skip"};
  fc.scope.allowed_domains = {"d.test"};
  fixture f{fc};
  auto& a = f.net->answers;
  a["http://d.test/robots.txt"] = {{404, "", {}}};
  a["http://d.test/"] = {html_page("<a href=/one>1</a><a href=/skip-me>s</a>"
                              "<a href=http://elsewhere.test/>e</a><a href=http://sub.d.test/>sub</a>")};
  a["http://d.test/one"] = {html_page("<a href=/two>2</a>")};
  a["http://sub.d.test/robots.txt"] = {{404, "", {}}};
  a["http://sub.d.test/"] = {html_page("")};
  f.seed("http://d.test/");
  f.seed("http://outside.test/");
  auto st = f.run_until_idle();
  auto got = f.outcomes();
  CHECK(got == std::map<std::string, std::string>{{"http://d.test/", "200"},
                                                  {"http://d.test/one", "200"},
                                                  {"http://sub.d.test/", "200"},
                                                  {"http://outside.test/", "out_of_scope"}});
  CHECK(st.cut.scope == 2);      // /skip-me and elsewhere.test
  CHECK(st.cut.past_depth == 1); // /two, on a page at the depth limit
}

TEST_CASE("frontier cuts a trap: a chain of same-shaped links, a path that repeats itself",
          "[frontier]") {
  auto fc = test_config();
  fc.scope.trap_chain = 3;
  fixture f{fc};
  auto& a = f.net->answers;
  a["http://t.test/robots.txt"] = {{404, "", {}}};
  a["http://t.test/"] = {html_page("<a href=/cal/2026/11/>cal</a><a href=loop/>loop</a>")};
  // A calendar: each month links the next (and the one before).
  for (int m = -6; m < 24; ++m) {
    auto at = [](int k) {
      return "/cal/" + std::to_string(2026 + k / 12) + "/" + std::to_string(k % 12 + 1) + "/";
    };
    a["http://t.test" + at(10 + m)] = {html_page("<a href=" + at(11 + m) + ">next</a><a href="
                                                 + at(9 + m) + ">previous</a><a href=/>home</a>")};
  }
  // A relative link that loops: /loop/ links loop/, i.e. /loop/loop/, ...
  a["http://t.test/loop/"] = {html_page("<a href=loop/>again</a>")};
  a["http://t.test/loop/loop/"] = {html_page("<a href=loop/>again</a>")};
  f.seed("http://t.test/");
  auto st = f.run_until_idle();
  auto got = f.outcomes();
  // Nov 2026 (from the front page), then 3 months on (and 3 back): the
  // 4th link in a row is cut each way.
  CHECK(got == std::map<std::string, std::string>{{"http://t.test/", "200"},
                                                  {"http://t.test/cal/2026/8/", "200"},
                                                  {"http://t.test/cal/2026/9/", "200"},
                                                  {"http://t.test/cal/2026/10/", "200"},
                                                  {"http://t.test/cal/2026/11/", "200"},
                                                  {"http://t.test/cal/2026/12/", "200"},
                                                  {"http://t.test/cal/2027/1/", "200"},
                                                  {"http://t.test/cal/2027/2/", "200"},
                                                  {"http://t.test/loop/", "200"},
                                                  {"http://t.test/loop/loop/", "200"}});
  CHECK(st.cut.traps == 3); // 2026/7, 2027/3 and /loop/loop/loop/
  CHECK(st.cut.scope == 0);
}

TEST_CASE("frontier follows a chain of same-shaped links without limit with --trap-chain=0",
          "[frontier]") {
  auto fc = test_config();
  fc.scope.trap_chain = 0;
  fixture f{fc};
  auto& a = f.net->answers;
  a["http://t.test/robots.txt"] = {{404, "", {}}};
  a["http://t.test/"] = {html_page("<a href=/page/1>1</a>")};
  for (int i = 1; i <= 80; ++i)
    a["http://t.test/page/" + std::to_string(i)] = {
      html_page("<a href=/page/" + std::to_string(i + 1) + ">next</a>")};
  f.seed("http://t.test/");
  auto st = f.run_until_idle();
  CHECK(f.outcomes().size() == 82); // the front page, 80 pages and the 404 after them
  CHECK(st.cut.traps == 0);
}

TEST_CASE("shards keep every unit of --concurrency when lends come before the view, and an idle "
          "shard lends to one that waits",
          "[frontier][cluster]") {
  // Two shards; the view reaches shard 0 first, which lends its units to
  // shard 1 before shard 1 has the view. Then shard 1 lends them back while
  // it has nothing to do, and only then gets a site to crawl.
  auto fc = test_config();
  fc.run.concurrency = 8;
  two_shards t{fc};
  cluster_view view{1, {0, 1}, {1.0, 1.0}, t.shards, {0, 1}, false, {}};
  caf::anon_send(t.shards[0], caf::put_atom::value, view);
  t.steps(20); // shard 0 takes shard 1 to want everything: it lends its units
  caf::anon_send(t.shards[1], caf::put_atom::value, view);
  t.steps(20);
  // A site of shard 1's, 20 pages in a chain.
  auto host = two_shards::host_of(1);
  t.chain(host);
  t.seed(1, host);
  t.run_until_idle();
  CHECK(t.stats[1].idle);
  CHECK(t.stats[1].queued == 0);
  CHECK(t.records->size() == 21); // pages 0-19 and /20 (404); robots.txt is no record
  CHECK(t.stats[0].budget + t.stats[1].budget == 8); // no unit lost on the way
}

TEST_CASE("a host placed on a shard of another node moves there with its queue, fetched once, "
          "even when the handoff comes before that shard's view",
          "[frontier][cluster]") {
  // Two shards on two nodes; shard 0 owns a host with 20 pages in a chain,
  // 100 ms apart. After a few pages the host is placed on shard 1, whose new
  // view comes only after shard 0 handed the host over (as when a restarted
  // coordinator sends its first view in shard order).
  auto fc = test_config();
  fc.politeness.delay = 100ms;
  two_shards t{fc};
  cluster_view view{1, {0, 1}, {1.0, 1.0}, t.shards, {0, 1}, true, {}};
  auto host = two_shards::host_of(0);
  t.chain(host);
  for (auto& s : t.shards)
    caf::anon_send(s, caf::put_atom::value, view);
  t.steps(1);
  t.seed(0, host);
  t.steps(45); // a few pages
  t.ask();
  REQUIRE(t.stats[0].pages > 0);
  REQUIRE(t.stats[0].pages < 10);
  REQUIRE(t.stats[1].busiest.empty()); // (nodes: 2, but shard 1 has no host)
  view.epoch = 2;
  view.placed = {{partition_hash(host), 1}};
  caf::anon_send(t.shards[0], caf::put_atom::value, view);
  t.steps(30); // shard 0 hands the host over after one more delay
  t.ask();
  CHECK(t.stats[0].moved_hosts == 1);
  caf::anon_send(t.shards[1], caf::put_atom::value, view);
  t.run_until_idle();
  CHECK(t.stats[0].idle);
  CHECK(t.stats[1].idle);
  CHECK_FALSE(t.stats[1].moving); // (it did not wait for a part that had come)
  CHECK(t.stats[1].pages > 0);
  CHECK(t.stats[0].pages + t.stats[1].pages == 21); // (the 404 is a page too)
  std::map<std::string, int> times;
  for (auto& r : *t.records)
    ++times[r.url];
  CHECK(times.size() == 21); // pages 0-19 and /20 (404)
  for (auto& [url, n] : times) {
    INFO(url);
    CHECK(n == 1);
  }
}
