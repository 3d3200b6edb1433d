#include "frontier/replication.hpp"

#include <map>

#include <catch2/catch.hpp>

#include "arachne/url.hpp"

using namespace arachne;

namespace {

crawl_request req(std::string url, uint64_t id = 0) {
  crawl_request r;
  r.url = std::move(url);
  r.id = id;
  return r;
}

// Three shards on two nodes: 1 and 2 on node 0, 3 on node 1.
cluster_view view_of(std::vector<shard_id> shards, std::vector<uint32_t> nodes) {
  cluster_view v;
  v.epoch = 1;
  v.shards = std::move(shards);
  v.weights.assign(v.shards.size(), 1.0);
  v.actors.resize(v.shards.size());
  v.nodes = std::move(nodes);
  v.cluster = true;
  return v;
}

std::string url_owned_by(const partition_map& p, std::size_t k, int from = 0) {
  for (int i = from;; ++i) {
    auto u = "http://h" + std::to_string(i) + ".test/";
    if (p.owner_index(url_host(u)) == k)
      return u;
  }
}

} // namespace

TEST_CASE("guardian_of picks a shard on another node",
          "[frontier][replication]") {
  auto v = view_of({1, 2, 3}, {0, 0, 1});
  CHECK(guardian_of(v, 1) == 3);
  CHECK(guardian_of(v, 2) == 3);
  auto g3 = guardian_of(v, 3);
  CHECK((g3 == 1 || g3 == 2));
  // Another node joins: every guardian is still on another node.
  auto w = view_of({1, 2, 3, 4}, {0, 0, 1, 2});
  for (shard_id s : {1, 2, 3, 4}) {
    auto g = guardian_of(w, s);
    auto node_of = [&](shard_id x) { return w.nodes[x - 1]; };
    CHECK(node_of(g) != node_of(s));
  }
}

TEST_CASE("guardian_of: a shard alone on its only node guards itself", "[frontier][replication]") {
  auto v = view_of({1, 2}, {0, 0});
  CHECK(guardian_of(v, 1) == 1);
  CHECK(guardian_of(v, 9) == 9); // (not in the view)
}

TEST_CASE("guarded_urls keeps what an owner admitted until it says done", "[frontier][replication]") {
  guarded_urls g;
  guard_batch b;
  b.add = {req("http://a.test/1", 1), req("http://a.test/2", 2)};
  g.apply(7, b);
  CHECK(g.live() == 2);
  guard_batch d;
  d.done = {1, 99}; // (99: never admitted, ignored)
  g.apply(7, d);
  CHECK(g.live() == 1);
  auto kept = g.take(7);
  CHECK(g.live() == 0);
  REQUIRE(kept.live.size() == 1);
  CHECK(kept.live.begin()->second.url == "http://a.test/2");
  REQUIRE(kept.done.size() == 1);
  CHECK(kept.done[0].first == partition_hash("a.test"));
  CHECK(kept.done[0].second == fingerprint("http://a.test/1"));
  CHECK(!g.guards(7));
}

TEST_CASE("guarded_urls: a full batch from a new owner-guardian pairing starts the set anew",
          "[frontier][replication]") {
  guarded_urls g;
  guard_batch b;
  b.add = {req("http://a.test/1", 1), req("http://a.test/2", 2)};
  g.apply(7, b);
  guard_batch full;
  full.full = true;
  full.add = {req("http://a.test/2", 2)};
  g.apply(7, full);
  CHECK(g.live() == 1);
}

TEST_CASE("guarded_urls drops what another shard guards under a new view", "[frontier][replication]") {
  guarded_urls g;
  guard_batch b;
  b.add = {req("http://a.test/1", 1)};
  g.apply(1, b);
  g.apply(2, b);
  auto v = view_of({1, 2, 3}, {0, 0, 1});
  g.keep_only(v, 3); // 3 guards 1 and 2
  CHECK(g.live() == 2);
  auto w = view_of({2, 3}, {0, 1}); // shard 1 is gone
  g.keep_only(w, 3);
  CHECK(g.live() == 1);
  CHECK(g.guards(2));
  CHECK(!g.guards(1));
}

TEST_CASE("split_takeover gives every shard its hosts' URLs and a last part",
          "[frontier][replication]") {
  partition_map p{{1, 2}, {1.0, 1.0}};
  guarded_urls::of_shard urls;
  auto u0 = url_owned_by(p, 0);
  auto u1 = url_owned_by(p, 1);
  urls.live.emplace(5, req(u0, 5));
  urls.live.emplace(6, req(u1, 6));
  urls.done.emplace_back(partition_hash(url_host(u1)), fingerprint(u1 + "done"));
  std::map<std::size_t, std::vector<takeover_batch>> got;
  split_takeover(std::move(urls), p, [&](std::size_t k, takeover_batch b) {
    got[k].push_back(std::move(b));
  });
  REQUIRE(got[0].size() == 1);
  REQUIRE(got[1].size() == 1);
  CHECK(got[0][0].last);
  CHECK(got[1][0].last);
  REQUIRE(got[0][0].urls.size() == 1);
  CHECK(got[0][0].urls[0].url == u0);
  CHECK(got[0][0].urls[0].id == 0);     // the new owner gives it its own id
  CHECK(got[0][0].urls[0].resumed);     // it may have been recorded before its node died
  CHECK(got[0][0].seen.empty());
  REQUIRE(got[1][0].seen.size() == 1);
  CHECK(got[1][0].seen[0].host_hash == partition_hash(url_host(u1)));
}

TEST_CASE("split_takeover sends big takeovers in parts, the last one marked",
          "[frontier][replication]") {
  partition_map p{{1}, {1.0}};
  guarded_urls::of_shard urls;
  for (uint64_t i = 1; i <= 5; ++i)
    urls.live.emplace(i, req("http://a.test/" + std::to_string(i), i));
  std::vector<takeover_batch> got;
  split_takeover(std::move(urls), p, [&](std::size_t, takeover_batch b) { got.push_back(b); },
                 part_limits{2, 2});
  REQUIRE(got.size() == 3);
  CHECK(got[0].urls.size() == 2);
  CHECK(!got[0].last);
  CHECK(got[1].urls.size() == 2);
  CHECK(got[2].urls.size() == 1);
  CHECK(got[2].last);
}

TEST_CASE("split_handoff moves the sites another shard owns now, with queue, budget and seen URLs",
          "[frontier][replication]") {
  partition_map after{{1, 2}, {1.0, 1.0}};
  auto mine = url_owned_by(after, 0);
  auto theirs = url_owned_by(after, 1);
  auto origin = [](const std::string& u) { return u.substr(0, u.size() - 1); };
  site_table sites;
  std::unordered_map<uint64_t, std::vector<url_fingerprint>> seen;
  for (auto& u : {mine, theirs}) {
    auto& h = sites[origin(u)];
    h.admitted = 3;
    sites.push(h, req(u + "q"));
    seen[partition_hash(url_host(u))].push_back(fingerprint(u));
  }
  fingerprint_set seen_urls;
  seen_urls.insert(fingerprint(mine));
  seen_urls.insert(fingerprint(theirs));
  std::map<std::size_t, std::vector<handoff_batch>> got;
  auto moved = split_handoff(sites, seen, seen_urls, after, 1, 0, {2},
                             [&](std::size_t k, handoff_batch b) { got[k].push_back(std::move(b)); });
  CHECK(moved.sites == 1);
  CHECK(moved.urls == 1);
  CHECK(got.count(0) == 0); // nothing to itself
  REQUIRE(got[1].size() == 1);
  auto& b = got[1][0];
  CHECK(b.last); // shard 2 joined and waits for it
  REQUIRE(b.sites.size() == 1);
  CHECK(b.sites[0].origin == origin(theirs));
  CHECK(b.sites[0].admitted == 3);
  REQUIRE(b.urls.size() == 1);
  CHECK(b.urls[0].url == theirs + "q");
  REQUIRE(b.seen.size() == 1);
  CHECK(b.seen[0].host_hash == partition_hash(url_host(theirs)));
  // What stays: its own site, queue and seen URLs.
  CHECK(sites.size() == 1);
  CHECK(sites.find(origin(mine)) != nullptr);
  CHECK(sites.queued() == 1);
  CHECK(seen.size() == 1);
  // The moved host's seen URLs leave this shard's seen set: should the host
  // come back (its new owner's node lost), they are not taken as done here.
  CHECK(seen_urls.contains(fingerprint(mine)));
  CHECK_FALSE(seen_urls.contains(fingerprint(theirs)));
  CHECK(seen_urls.size() == 1);
}

TEST_CASE("split_handoff: a shard that joined gets a last part even when nothing moved to it",
          "[frontier][replication]") {
  partition_map p{{1, 2}, {1.0, 1.0}};
  site_table sites;
  std::unordered_map<uint64_t, std::vector<url_fingerprint>> seen;
  fingerprint_set seen_urls;
  std::vector<std::pair<std::size_t, bool>> got;
  split_handoff(sites, seen, seen_urls, p, 1, 0, {2},
                [&](std::size_t k, handoff_batch b) { got.emplace_back(k, b.last); });
  CHECK(got == std::vector<std::pair<std::size_t, bool>>{{1, true}});
}

TEST_CASE("guard_link gives admitted URLs ids and tells the guardian what is done",
          "[frontier][replication]") {
  guard_link g;
  g.active = true;
  auto r = req("http://a.test/1");
  r.referrer = "http://a.test/";
  g.admit(r);
  CHECK(r.id == 1);
  REQUIRE(g.out.add.size() == 1);
  CHECK(g.out.add[0].referrer.empty()); // not needed to fetch it again
  CHECK(g.busy());
  g.done(1);
  CHECK(g.out.done == std::vector<uint64_t>{1});
  CHECK(g.live.empty());
  g.done(1); // (once only)
  CHECK(g.out.done.size() == 1);
}
