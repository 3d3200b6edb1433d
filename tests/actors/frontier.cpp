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

using namespace arachne;
using namespace std::chrono_literals;

namespace {

struct response {
  uint16_t status = 200;
  std::string body;
  std::vector<header_field> headers;
};

// Answers from a script; each URL's answers are used in turn (the last repeats).
struct script {
  std::map<std::string, std::vector<response>> answers;
  std::map<std::string, int> asked;
};

fetcher_actor::behavior_type scripted_fetcher(fetcher_actor::pointer,
                                              std::shared_ptr<script> s) {
  return {
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
  std::vector<caf::actor> others;

  ~fixture() {
    // Under the test scheduler actors only run when told to: end them all
    // before the actor system waits for them.
    caf::anon_send_exit(shard, caf::exit_reason::user_shutdown);
    for (auto& a : others)
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    sched->run();
  }

  explicit fixture(frontier_config fc) {
    cfg.set("scheduler.policy", caf::atom("testing"));
    sys = std::make_unique<caf::actor_system>(cfg);
    sched = &dynamic_cast<caf::scheduler::test_coordinator&>(sys->scheduler());
    auto f = sys->spawn(scripted_fetcher, net);
    auto p = sys->spawn(parser, parser_options{fc.urls, false}, nullptr);
    auto sink = sys->spawn(testing::memory_sink, records);
    shard = sys->spawn(frontier, fc, uint32_t{0}, partition_map{{0}}, std::vector<fetcher_actor>{f},
                       std::vector<parser_actor>{p}, std::vector<sink_actor>{sink});
    others = {caf::actor_cast<caf::actor>(f), caf::actor_cast<caf::actor>(p),
              caf::actor_cast<caf::actor>(sink)};
    caf::anon_send(caf::actor_cast<frontier_impl>(shard), caf::put_atom::value,
                   std::vector<frontier_actor>{shard});
    sched->run();
  }

  void seed(const std::string& url) {
    caf::anon_send(shard, seed_atom::value, link_batch{{crawl_request{url, 0, {}, 0, 0, 0}}});
  }

  // Runs until the shard is idle, advancing time in steps (bounded).
  frontier_stats run_until_idle() {
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
    for (int i = 0; i < 10000; ++i) {
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
  fc.scope.retry_delay = 1s;
  return fc;
}

response html_page(std::string links) {
  return {200, "<html><head><title>t</title></head><body>" + links + "</body></html>", {}};
}

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

TEST_CASE("frontier requeues 429 without using up retries", "[frontier]") {
  auto fc = test_config();
  fc.scope.retries = 0;
  fixture f{fc};
  auto& a = f.net->answers;
  a["http://c.test/"] = {{429, "", {{"Retry-After", "2"}}}, {429, "", {}}, html_page("")};
  a["http://c.test/robots.txt"] = {{404, "", {}}};
  f.seed("http://c.test/");
  f.run_until_idle();
  CHECK(f.net->asked["http://c.test/"] == 3);
  CHECK(f.outcomes()["http://c.test/"] == "200");
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
  CHECK(st.dropped == 2); // /skip-me and elsewhere.test; /two is past the depth
}

TEST_CASE("Retry-After reads seconds and HTTP-dates", "[frontier]") {
  auto now = caf::timestamp{std::chrono::seconds(784111777)}; // Sun, 06 Nov 1994 08:49:37 GMT
  CHECK(parse_retry_after("120", now) == caf::timespan{120s});
  CHECK(parse_retry_after("", now) == caf::timespan{0});
  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:50:37 GMT", now) == caf::timespan{60s});
  CHECK(parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now) == caf::timespan{0});
  CHECK(parse_retry_after("soon", now) == caf::timespan{60s});
}
