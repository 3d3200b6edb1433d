// /metrics: what records count as, and the Prometheus text format
// (https://prometheus.io/docs/instrumenting/exposition_formats/, version 0.0.4).
#include "arachne/prometheus.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <sstream>

using namespace arachne;
using namespace std::chrono_literals;

namespace {

record page(uint16_t status, uint64_t bytes, caf::timespan elapsed, caf::timespan ttfb) {
  record r;
  r.url = "http://a.test/";
  r.status = status;
  r.bytes = bytes;
  r.elapsed = elapsed;
  r.ttfb = ttfb;
  return r;
}

bool has_line(const std::string& text, const std::string& line) {
  std::istringstream in{text};
  std::string l;
  while (std::getline(in, l))
    if (l == line)
      return true;
  return false;
}

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto i = text.find(what); i != std::string::npos; i = text.find(what, i + 1))
    ++n;
  return n;
}

} // namespace

TEST_CASE("a histogram counts each value in the first bucket whose bound is not below it",
          "[metrics]") {
  const std::vector<double> bounds{1, 2, 4};
  histogram h;
  for (double v : {0.5, 1.0, 1.5, 4.0, 9.0})
    h.observe(v, bounds);
  CHECK(h.buckets == std::vector<uint64_t>{2, 1, 1, 1}); // (le is "less or equal")
  CHECK(h.count == 5);
  CHECK(h.sum == Approx(16.0));
  histogram more;
  more.observe(3, bounds);
  h.merge(more);
  CHECK(h.buckets == std::vector<uint64_t>{2, 1, 2, 1});
}

TEST_CASE("records count by kind, status class and error kind", "[metrics]") {
  record_metrics m;
  m.observe(page(200, 5000, 30ms, 10ms));
  m.observe(page(404, 100, 20ms, 5ms));
  record failed;
  failed.kind = record::kind_t::failure;
  failed.error = crawl_errc::timeout;
  failed.elapsed = 2s;
  m.observe(failed);
  record denied; // (no fetch: no duration)
  denied.kind = record::kind_t::failure;
  denied.error = crawl_errc::robots_denied;
  m.observe(denied);
  record item;
  item.kind = record::kind_t::item;
  m.observe(item);
  CHECK(m.pages == 2);
  CHECK(m.failures == 2);
  CHECK(m.items == 1);
  CHECK(m.status_classes[2] == 1);
  CHECK(m.status_classes[4] == 1);
  CHECK(m.status_classes[0] == 2);
  CHECK(m.errors[static_cast<std::size_t>(crawl_errc::timeout)] == 1);
  CHECK(m.errors[static_cast<std::size_t>(crawl_errc::robots_denied)] == 1);
  CHECK(m.bytes == 5100);
  CHECK(m.fetch_seconds.count == 3);
  CHECK(m.ttfb_seconds.count == 2);
  CHECK(m.page_bytes.count == 2);
}

TEST_CASE("the text format: HELP and TYPE once per family, counters end in _total", "[metrics]") {
  metrics_snapshot s;
  s.role = "crawl";
  node_metrics n;
  n.records.observe(page(200, 5000, 30ms, 10ms));
  n.frontier = true;
  n.queued = 7;
  s.nodes.push_back(n);
  auto text = render_prometheus(s);
  CHECK(count_of(text, "# TYPE arachne_records_total counter\n") == 1);
  CHECK(count_of(text, "# HELP arachne_records_total ") == 1);
  CHECK(has_line(text, "arachne_records_total{kind=\"page\"} 1"));
  CHECK(has_line(text, "arachne_responses_total{class=\"2xx\"} 1"));
  CHECK(has_line(text, "arachne_errors_total{kind=\"timeout\"} 0")); // (every kind, for rate())
  CHECK(has_line(text, "arachne_urls_queued 7"));
  CHECK(has_line(text, "# TYPE arachne_fetch_duration_seconds histogram"));
  // Buckets are cumulative, +Inf last and equal to _count.
  CHECK(has_line(text, "arachne_fetch_duration_seconds_bucket{le=\"0.025\"} 0"));
  CHECK(has_line(text, "arachne_fetch_duration_seconds_bucket{le=\"0.05\"} 1"));
  CHECK(has_line(text, "arachne_fetch_duration_seconds_bucket{le=\"30\"} 1"));
  CHECK(has_line(text, "arachne_fetch_duration_seconds_bucket{le=\"+Inf\"} 1"));
  CHECK(has_line(text, "arachne_fetch_duration_seconds_count 1"));
  CHECK(has_line(text, "arachne_response_size_bytes_bucket{le=\"16384\"} 1"));
  CHECK(text.back() == '\n');
}

TEST_CASE("in a cluster every sample names its node; label values are escaped", "[metrics]") {
  metrics_snapshot s;
  s.role = "coordinator";
  for (auto name : {"10.0.0.1:4000", "odd \"name\"\\\n"}) {
    node_metrics n;
    n.node = name;
    n.frontier = true;
    n.in_flight = 3;
    s.nodes.push_back(n);
  }
  auto text = render_prometheus(s);
  CHECK(has_line(text, "arachne_requests_in_flight{node=\"10.0.0.1:4000\"} 3"));
  CHECK(has_line(text, "arachne_requests_in_flight{node=\"odd \\\"name\\\"\\\\\\n\"} 3"));
  CHECK(has_line(text, "arachne_records_total{node=\"10.0.0.1:4000\",kind=\"page\"} 0"));
  CHECK(count_of(text, "# TYPE arachne_requests_in_flight gauge\n") == 1);
}

TEST_CASE("proxies are counted by state", "[metrics]") {
  metrics_snapshot s;
  proxy_stats a;
  a.label = "http://u:***@p1.test:8080";
  a.state = "active";
  a.successes = 4;
  proxy_stats b = a;
  b.label = "socks5://p2.test:1080";
  b.state = "quarantined";
  s.proxies = {a, b};
  auto text = render_prometheus(s);
  CHECK(has_line(text, "arachne_proxies{state=\"active\"} 1"));
  CHECK(has_line(text, "arachne_proxies{state=\"quarantined\"} 1"));
  CHECK(has_line(text, "arachne_proxies{state=\"probing\"} 0"));
  CHECK(has_line(text,
                 "arachne_proxy_requests_total{proxy=\"http://u:***@p1.test:8080\",outcome=\"success\"} 4"));
}
