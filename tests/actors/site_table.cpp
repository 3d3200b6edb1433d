#include "frontier/site_table.hpp"

#include <catch2/catch.hpp>

using namespace arachne;

namespace {

crawl_request req(std::string url) {
  crawl_request r;
  r.url = std::move(url);
  return r;
}

} // namespace

TEST_CASE("site_table makes a site once, with its origin", "[frontier][sites]") {
  site_table t;
  CHECK(t.find("http://a.test") == nullptr);
  auto& a = t["http://a.test"];
  CHECK(a.origin == "http://a.test");
  CHECK(&t["http://a.test"] == &a);
  CHECK(t.find("http://a.test") == &a);
  CHECK(t.size() == 1);
  CHECK(!a.has_work());
}

TEST_CASE("site_table counts every URL pushed and popped, over all sites", "[frontier][sites]") {
  site_table t;
  auto& a = t["http://a.test"];
  auto& b = t["http://b.test"];
  t.push(a, req("http://a.test/1"));
  t.push(a, req("http://a.test/2"));
  t.push(b, req("http://b.test/1"));
  CHECK(t.queued() == 3);
  CHECK(t.in_memory() == 3);
  CHECK(a.queue().size() == 2);
  // First in, first out per site.
  CHECK(t.pop(a).url == "http://a.test/1");
  CHECK(t.queued() == 2);
  CHECK(t.in_memory() == 2);
  CHECK(a.queue().front().url == "http://a.test/2");
}

TEST_CASE("site_table counts URLs held only in the state store until they come into memory",
          "[frontier][sites]") {
  site_table t;
  auto& a = t["http://a.test"];
  t.restore(a, 5); // read at start
  t.spill(a);      // admitted over the memory bound
  CHECK(a.spilled() == 6);
  CHECK(a.has_work());
  CHECK(t.queued() == 6);
  CHECK(t.in_memory() == 0);
  t.refill(a, req("http://a.test/1"));
  CHECK(a.spilled() == 5);
  CHECK(t.queued() == 6); // (still queued: now in memory)
  CHECK(t.in_memory() == 1);
  t.forget_spilled(a); // the store could not give the rest
  CHECK(a.spilled() == 0);
  CHECK(t.queued() == 1);
}

TEST_CASE("site_table's line for the budget takes each site once, in turn", "[frontier][sites]") {
  site_table t;
  auto& a = t["http://a.test"];
  auto& b = t["http://b.test"];
  t.wait_for_budget(a);
  t.wait_for_budget(b);
  t.wait_for_budget(a); // already in line: keeps its place
  CHECK(t.waiting() == 2);
  CHECK(a.waiting_for_budget());
  CHECK(t.next_waiting() == std::optional<std::string>{"http://a.test"});
  CHECK(!a.waiting_for_budget());
  CHECK(t.next_waiting() == std::optional<std::string>{"http://b.test"});
  CHECK(t.next_waiting() == std::nullopt);
}

TEST_CASE("site_table removes a moved site with its queue, its counts and its place in line",
          "[frontier][sites]") {
  site_table t;
  auto& a = t["http://a.test"];
  auto& b = t["http://b.test"];
  t.push(a, req("http://a.test/1"));
  t.push(a, req("http://a.test/2"));
  t.push(b, req("http://b.test/1"));
  t.wait_for_budget(a);
  t.wait_for_budget(b);
  auto i = t.begin();
  while (i->first != "http://a.test")
    ++i;
  auto urls = t.remove(i);
  REQUIRE(urls.size() == 2);
  CHECK(urls[0].url == "http://a.test/1");
  CHECK(t.size() == 1);
  CHECK(t.queued() == 1);
  CHECK(t.in_memory() == 1);
  CHECK(t.waiting() == 1);
  CHECK(t.next_waiting() == std::optional<std::string>{"http://b.test"});
}

TEST_CASE("site_table queues a site's URLs by priority, higher first, in arrival order within one",
          "[frontier][sites]") {
  site_table t;
  auto& a = t["http://a.test"];
  auto with = [](std::string url, int32_t priority) {
    auto r = req(std::move(url));
    r.priority = priority;
    return r;
  };
  t.push(a, with("http://a.test/0a", 0));
  t.push(a, with("http://a.test/0b", 0));
  t.push(a, with("http://a.test/5a", 5));
  t.push(a, with("http://a.test/-1", -1));
  t.push(a, with("http://a.test/5b", 5));
  t.push(a, with("http://a.test/9", 9));
  t.push(a, with("http://a.test/0c", 0));
  std::vector<std::string> order;
  while (a.has_work())
    order.push_back(t.pop(a).url.substr(14));
  CHECK(order == std::vector<std::string>{"9", "5a", "5b", "0a", "0b", "0c", "-1"});
  CHECK(t.queued() == 0);
}
