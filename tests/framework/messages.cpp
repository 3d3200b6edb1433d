#include "arachne/messages.hpp"

#include <catch2/catch.hpp>

#include <chrono>

#include "caf/all.hpp"
#include "caf/io/all.hpp"

#include "arachne/actor_types.hpp"
#include "arachne/config.hpp"

using namespace arachne;
using namespace std::chrono_literals;

namespace {

fetch_result sample_result() {
  fetch_result r;
  r.id = 42;
  r.url = "http://127.0.1.1:8080/old/3";
  r.final_url = "http://127.0.1.1:8080/docs/3/";
  r.status = 200;
  r.headers = {{"Content-Type", "text/html; charset=utf-8"}, {"X-Test", "1"}};
  r.body = shared_bytes{std::string(100000, 'x') + "<a href=\"/\">home</a>"};
  r.content_type = "text/html";
  r.charset = "utf-8";
  r.redirects = {{"http://127.0.1.1:8080/old/3", 301}};
  r.timings.connect = 3ms;
  r.timings.total = 25ms;
  r.wire_bytes = 100123;
  r.remote_address = "127.0.1.1:8080";
  r.error = crawl_errc::none;
  r.fetched_at = caf::make_timestamp();
  return r;
}

template <class T>
T round_trip(caf::actor_system& sys, T in) {
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  REQUIRE(!sink(in));
  T out;
  caf::binary_deserializer source{sys, buf};
  REQUIRE(!source(out));
  return out;
}

// Gives every field a value of its own: a deserializer that reads no
// bytes but makes them up (numbers count up, texts name their number,
// sequences have two elements), so that a message comes out with no field
// left at its default.
class filler : public caf::deserializer {
public:
  using caf::deserializer::deserializer;

  caf::error begin_object(uint16_t& typenr, std::string& name) override {
    typenr = 0;
    name.clear();
    return caf::none;
  }
  caf::error end_object() override { return caf::none; }
  caf::error begin_sequence(size_t& num) override {
    num = 2;
    return caf::none;
  }
  caf::error end_sequence() override { return caf::none; }
  caf::error apply_raw(size_t num_bytes, void* data) override {
    auto* p = static_cast<uint8_t*>(data);
    for (size_t i = 0; i < num_bytes; ++i)
      p[i] = static_cast<uint8_t>(next());
    return caf::none;
  }

protected:
  // Small numbers for one-byte fields: they are enums and flags too.
  caf::error apply_impl(int8_t& x) override { return set(x, 1 + next() % 2); }
  caf::error apply_impl(uint8_t& x) override { return set(x, 1 + next() % 2); }
  caf::error apply_impl(int16_t& x) override { return set(x, next()); }
  caf::error apply_impl(uint16_t& x) override { return set(x, next()); }
  caf::error apply_impl(int32_t& x) override { return set(x, next()); }
  caf::error apply_impl(uint32_t& x) override { return set(x, next()); }
  caf::error apply_impl(int64_t& x) override { return set(x, next()); }
  caf::error apply_impl(uint64_t& x) override { return set(x, next()); }
  caf::error apply_impl(float& x) override { return set(x, next()); }
  caf::error apply_impl(double& x) override { return set(x, next()); }
  caf::error apply_impl(long double& x) override { return set(x, next()); }
  caf::error apply_impl(std::string& x) override {
    x = "text " + std::to_string(next());
    return caf::none;
  }
  caf::error apply_impl(std::u16string& x) override {
    x = u"text";
    return caf::none;
  }
  caf::error apply_impl(std::u32string& x) override {
    x = U"text";
    return caf::none;
  }

private:
  template <class T>
  caf::error set(T& x, uint64_t v) {
    x = static_cast<T>(v);
    return caf::none;
  }
  uint64_t next() { return ++n_; }
  uint64_t n_ = 0;
};

// Fills every field of a `T`, sends it through CAF's binary serializer and
// back, and compares every field (as CAF prints them).
template <class T>
void check_every_field(caf::actor_system& sys, const char* name) {
  INFO(name);
  T in;
  filler fill{sys};
  REQUIRE(!fill(in));
  auto text = caf::deep_to_string(in);
  CHECK(text != caf::deep_to_string(T{})); // (the filler reached its fields)
  CHECK(caf::deep_to_string(round_trip(sys, in)) == text);
}

} // namespace

TEST_CASE("every message type round-trips with every field", "[messages]") {
  // The types registered in arachne::config that carry no actor handles
  // (those are exercised across processes by the cluster test).
  config cfg;
  caf::actor_system sys{cfg};
  check_every_field<shared_bytes>(sys, "shared_bytes");
  check_every_field<crawl_request>(sys, "crawl_request");
  check_every_field<link_batch>(sys, "link_batch");
  check_every_field<guard_batch>(sys, "guard_batch");
  check_every_field<concurrency_demand>(sys, "concurrency_demand");
  check_every_field<seen_url>(sys, "seen_url");
  check_every_field<takeover_batch>(sys, "takeover_batch");
  check_every_field<moved_site>(sys, "moved_site");
  check_every_field<handoff_batch>(sys, "handoff_batch");
  check_every_field<frontier_stats>(sys, "frontier_stats");
  check_every_field<fetch_request>(sys, "fetch_request");
  check_every_field<fetch_timings>(sys, "fetch_timings");
  check_every_field<redirect_hop>(sys, "redirect_hop");
  check_every_field<fetch_result>(sys, "fetch_result");
  check_every_field<slot_grant>(sys, "slot_grant");
  check_every_field<fetch_feedback>(sys, "fetch_feedback");
  check_every_field<host_policy>(sys, "host_policy");
  check_every_field<lease_request>(sys, "lease_request");
  check_every_field<proxy_lease>(sys, "proxy_lease");
  check_every_field<proxy_report>(sys, "proxy_report");
  check_every_field<proxy_stats>(sys, "proxy_stats");
  check_every_field<record>(sys, "record");
  check_every_field<sink_needs>(sys, "sink_needs");
  check_every_field<parse_result>(sys, "parse_result");
  check_every_field<record_batch>(sys, "record_batch");
  check_every_field<ack>(sys, "ack");
  check_every_field<crawl_info>(sys, "crawl_info");
  check_every_field<crawl_tally>(sys, "crawl_tally");
}

TEST_CASE("shared_bytes shares locally and copies only when serialised", "[messages]") {
  shared_bytes a{"body"};
  auto b = a;
  CHECK(a.view().data() == b.view().data());
  CHECK(shared_bytes{}.empty());
  config cfg;
  caf::actor_system sys{cfg};
  auto c = round_trip(sys, a);
  CHECK(c == a);
  CHECK(c.view().data() != a.view().data());
}

TEST_CASE("url_list packs URLs into one buffer and reads them back", "[messages]") {
  url_list l;
  CHECK(l.empty());
  l.push_back("http://a.test/");
  l.push_back("");
  l.push_back("http://b.test/x?y=1");
  REQUIRE(l.size() == 3);
  CHECK(l[0] == "http://a.test/");
  CHECK(l[1].empty());
  CHECK(l[2] == "http://b.test/x?y=1");
  CHECK(l.strings() == std::vector<std::string>{"http://a.test/", "", "http://b.test/x?y=1"});
  config cfg;
  caf::actor_system sys{cfg};
  auto copy = round_trip(sys, l);
  CHECK(copy.strings() == l.strings());
  // Ends that do not fit the text (a peer's bytes) give views inside it.
  std::vector<char> buf;
  caf::binary_serializer sink{sys, buf};
  REQUIRE(!sink(std::string{"abcdef"}, std::vector<uint32_t>{4, 2, 100}));
  url_list bad;
  caf::binary_deserializer source{sys, buf};
  REQUIRE(!source(bad));
  REQUIRE(bad.size() == 3);
  CHECK(bad[0] == "abcd");
  CHECK(bad[1].empty());
  CHECK(bad[2] == "cdef");
}

TEST_CASE("every message survives a binary round trip", "[messages]") {
  config cfg;
  caf::actor_system sys{cfg};
  auto r = sample_result();
  auto r2 = round_trip(sys, r);
  CHECK(r2.final_url == r.final_url);
  CHECK(r2.headers == r.headers);
  CHECK(r2.body == r.body);
  CHECK(r2.redirects.size() == 1);
  CHECK(r2.redirects[0].status == 301);
  CHECK(r2.timings.total == r.timings.total);
  CHECK(r2.fetched_at == r.fetched_at);
  record rec;
  rec.kind = record::kind_t::failure;
  rec.url = "http://x.test/";
  rec.error = crawl_errc::robots_denied;
  rec.fields = {{"price", "12.50"}};
  auto rec2 = round_trip(sys, rec);
  CHECK(rec2.kind == record::kind_t::failure);
  CHECK(rec2.error == crawl_errc::robots_denied);
  CHECK(rec2.fields == rec.fields);
  link_batch batch{{{"http://a.test/", 2, "http://b.test/", 1}}};
  auto batch2 = round_trip(sys, batch);
  REQUIRE(batch2.links.size() == 1);
  CHECK(batch2.links[0].referrer == "http://b.test/");
  CHECK(batch2.links[0].attempt == 1);
  proxy_report pr{7, 2, proxy_outcome::unusable, 120ms, "h.test", "certificate verify failed"};
  auto pr2 = round_trip(sys, pr);
  CHECK(pr2.outcome == proxy_outcome::unusable);
  CHECK(pr2.why == pr.why);
  CHECK(pr2.proxy == 2);
  lease_request lr{"h.test", {0, 3}, "s"};
  CHECK(round_trip(sys, lr).exclude == lr.exclude);
  CHECK(pr2.latency == caf::timespan{120ms});
  cluster_view view{3, {1, 2, 3}, {1.0, 1.0, 2.0}, {}, {0, 1, 1}, true, {{77, 2}}};
  CHECK(round_trip(sys, view).weights == view.weights);
  CHECK(round_trip(sys, view).nodes == view.nodes);
  CHECK(round_trip(sys, view).placed == view.placed);
  takeover_batch tb;
  tb.seen = {{7, 1, 2}, {8, 3, 4}};
  tb.urls = {{"http://a.test/x", 1, "", 0, 0, 0}};
  tb.last = true;
  auto tb2 = round_trip(sys, tb);
  REQUIRE(tb2.seen.size() == 2);
  CHECK((tb2.seen[1].host_hash == 8 && tb2.seen[1].hi == 3 && tb2.seen[1].lo == 4));
  CHECK(tb2.urls.size() == 1);
  CHECK(tb2.last);
  handoff_batch hb;
  hb.sites = {{"http://a.test", 5}};
  auto hb2 = round_trip(sys, hb);
  REQUIRE(hb2.sites.size() == 1);
  CHECK((hb2.sites[0].origin == "http://a.test" && hb2.sites[0].admitted == 5));
  concurrency_demand d{4, 17, 9, 12};
  auto d2 = round_trip(sys, d);
  CHECK((d2.epoch == 4 && d2.shard == 17 && d2.demand == 9 && d2.budget == 12));
  CHECK(to_string(caf::make_message(r)).find("fetch_result") != std::string::npos);
}

namespace {

// A sink that keeps what it is sent; enough to prove the protocol crosses processes.
struct memory_sink_state {
  std::vector<record> records;
};

sink_actor::behavior_type memory_sink(sink_actor::stateful_pointer<memory_sink_state> self) {
  return {
    [](open_atom, const crawl_info&) { return sink_needs{}; },
    [=](record_batch& batch) {
      for (auto& r : batch.records)
        self->state.records.push_back(std::move(r));
      return ack{batch.seq};
    },
    [=](caf::flush_atom) { return caf::ok_atom::value; },
  };
}

} // namespace

TEST_CASE("a sink_actor is reachable across actor systems over loopback", "[messages][remote]") {
  config server_cfg;
  config client_cfg;
  server_cfg.load<caf::io::middleman>();
  client_cfg.load<caf::io::middleman>();
  caf::actor_system server_sys{server_cfg};
  caf::actor_system client_sys{client_cfg};
  auto sink = server_sys.spawn(memory_sink);
  auto port = caf::io::publish(sink, 0, "127.0.0.1", true);
  REQUIRE(port);
  auto remote = caf::io::remote_actor<sink_actor>(client_sys, "127.0.0.1", *port);
  REQUIRE(remote);
  CHECK(remote->node() != client_sys.node());
  caf::scoped_actor self{client_sys};
  record_batch batch;
  batch.seq = 9;
  record rec;
  rec.url = "http://127.0.1.1/";
  rec.status = 200;
  rec.body = shared_bytes{std::string(70000, 'b')};
  batch.records.push_back(rec);
  uint64_t acked = 0;
  self->request(*remote, 5s, batch)
    .receive([&](const ack& a) { acked = a.seq; },
             [&](caf::error& e) { FAIL(client_sys.render(e)); });
  CHECK(acked == 9);
  bool flushed = false;
  self->request(*remote, 5s, caf::flush_atom::value)
    .receive([&](caf::ok_atom) { flushed = true; },
             [&](caf::error& e) { FAIL(client_sys.render(e)); });
  CHECK(flushed);
  caf::anon_send_exit(sink, caf::exit_reason::user_shutdown);
}
