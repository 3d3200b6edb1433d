#include "arachne/prometheus.hpp"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <map>

#include "arachne/errors.hpp"
#include "arachne/messages.hpp"

#ifndef ARACHNE_VERSION
#define ARACHNE_VERSION "unknown"
#endif

namespace arachne {

// -- histograms ------------------------------------------------------------------

void histogram::observe(double value, const std::vector<double>& bounds) {
  if (buckets.size() != bounds.size() + 1)
    buckets.assign(bounds.size() + 1, 0);
  auto i = std::lower_bound(bounds.begin(), bounds.end(), value) - bounds.begin();
  ++buckets[static_cast<std::size_t>(i)];
  sum += value;
  ++count;
}

void histogram::merge(const histogram& other) {
  if (buckets.size() < other.buckets.size())
    buckets.resize(other.buckets.size(), 0);
  for (std::size_t i = 0; i < other.buckets.size(); ++i)
    buckets[i] += other.buckets[i];
  sum += other.sum;
  count += other.count;
}

const std::vector<double>& duration_bounds() {
  static const std::vector<double> bounds{0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                          0.5,   1,    2.5,   5,    10,  30};
  return bounds;
}

const std::vector<double>& size_bounds() {
  static const std::vector<double> bounds{1024,   4096,    16384,   65536,
                                          262144, 1048576, 4194304, 16777216};
  return bounds;
}

// -- records ---------------------------------------------------------------------

namespace {

double seconds(caf::timespan t) {
  return std::chrono::duration<double>(t).count();
}

template <class T>
void add_all(std::vector<T>& into, const std::vector<T>& more) {
  if (into.size() < more.size())
    into.resize(more.size(), 0);
  for (std::size_t i = 0; i < more.size(); ++i)
    into[i] += more[i];
}

} // namespace

void record_metrics::observe(const record& r) {
  if (r.kind == record::kind_t::item) {
    ++items;
    return;
  }
  if (r.error == crawl_errc::none) {
    ++pages;
  } else {
    ++failures;
    if (errors.size() != crawl_errc_count)
      errors.resize(crawl_errc_count, 0);
    ++errors[static_cast<std::size_t>(r.error)];
  }
  if (status_classes.size() != 6)
    status_classes.resize(6, 0);
  auto cls = r.status / 100;
  ++status_classes[cls >= 1 && cls <= 5 ? cls : 0];
  if (r.elapsed.count() > 0)
    fetch_seconds.observe(seconds(r.elapsed), duration_bounds());
  if (r.status != 0) {
    bytes += r.bytes;
    page_bytes.observe(static_cast<double>(r.bytes), size_bounds());
    if (r.ttfb.count() > 0)
      ttfb_seconds.observe(seconds(r.ttfb), duration_bounds());
  }
}

void record_metrics::merge(const record_metrics& other) {
  pages += other.pages;
  failures += other.failures;
  items += other.items;
  add_all(status_classes, other.status_classes);
  add_all(errors, other.errors);
  bytes += other.bytes;
  fetch_seconds.merge(other.fetch_seconds);
  ttfb_seconds.merge(other.ttfb_seconds);
  page_bytes.merge(other.page_bytes);
}

void host_states::merge(const host_states& other) {
  fetching += other.fetching;
  politeness += other.politeness;
  robots += other.robots;
  dns += other.dns;
  budget += other.budget;
  ready += other.ready;
  idle += other.idle;
}

// -- the text format ---------------------------------------------------------------

namespace {

std::string number(double x) {
  char buf[32];
  auto res = std::to_chars(buf, buf + sizeof buf, x);
  return std::string(buf, res.ptr);
}

// A label value: backslash, double quote and line feed escaped.
std::string escaped(const std::string& v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

using labels = std::vector<std::pair<std::string, std::string>>;

std::string label_text(const labels& ls) {
  if (ls.empty())
    return {};
  std::string out = "{";
  for (std::size_t i = 0; i < ls.size(); ++i) {
    if (i > 0)
      out += ',';
    out += ls[i].first;
    out += "=\"";
    out += escaped(ls[i].second);
    out += '"';
  }
  out += '}';
  return out;
}

class writer {
public:
  // Starts a family: its HELP and TYPE lines, once.
  void family(const std::string& name, const char* type, const char* help) {
    out_ += "# HELP " + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  }

  void sample(const std::string& name, const labels& ls, double value) {
    out_ += name;
    out_ += label_text(ls);
    out_ += ' ';
    out_ += number(value);
    out_ += '\n';
  }

  void histo(const std::string& name, labels ls, const histogram& h,
             const std::vector<double>& bounds) {
    uint64_t cumulative = 0;
    ls.emplace_back("le", "");
    for (std::size_t i = 0; i <= bounds.size(); ++i) {
      cumulative += i < h.buckets.size() ? h.buckets[i] : 0;
      ls.back().second = i < bounds.size() ? number(bounds[i]) : "+Inf";
      sample(name + "_bucket", ls, static_cast<double>(cumulative));
    }
    ls.pop_back();
    sample(name + "_sum", ls, h.sum);
    sample(name + "_count", ls, static_cast<double>(h.count));
  }

  std::string take() { return std::move(out_); }

private:
  std::string out_;
};

labels with_node(const node_metrics& n, labels more = {}) {
  if (!n.node.empty())
    more.insert(more.begin(), {"node", n.node});
  return more;
}

uint64_t at(const std::vector<uint64_t>& xs, std::size_t i) {
  return i < xs.size() ? xs[i] : 0;
}

} // namespace

std::string render_prometheus(const metrics_snapshot& m) {
  writer w;
  w.family("arachne_info", "gauge", "Arachne's version and the process's role (crawl, node, sink-node).");
  w.sample("arachne_info", {{"version", ARACHNE_VERSION}, {"role", m.role}}, 1);
  w.family("arachne_uptime_seconds", "gauge", "Seconds since metrics were first served.");
  w.sample("arachne_uptime_seconds", {}, m.uptime_seconds);
  w.family("arachne_paused", "gauge", "1 while the crawl is paused through the control API.");
  w.sample("arachne_paused", {}, m.paused ? 1 : 0);

  auto& nodes = m.nodes;
  w.family("arachne_records_total", "counter", "Records by kind: pages, failures, items.");
  for (auto& n : nodes) {
    w.sample("arachne_records_total", with_node(n, {{"kind", "page"}}), double(n.records.pages));
    w.sample("arachne_records_total", with_node(n, {{"kind", "failure"}}), double(n.records.failures));
    w.sample("arachne_records_total", with_node(n, {{"kind", "item"}}), double(n.records.items));
  }
  w.family("arachne_responses_total", "counter",
           "Records by HTTP status class; class none: no response (a failure before one).");
  static const char* classes[] = {"none", "1xx", "2xx", "3xx", "4xx", "5xx"};
  for (auto& n : nodes)
    for (std::size_t c = 0; c < 6; ++c)
      w.sample("arachne_responses_total", with_node(n, {{"class", classes[c]}}),
               double(at(n.records.status_classes, c)));
  w.family("arachne_errors_total", "counter", "Failure records by error kind.");
  for (auto& n : nodes)
    for (std::size_t k = 1; k < crawl_errc_count; ++k)
      w.sample("arachne_errors_total",
               with_node(n, {{"kind", to_string(static_cast<crawl_errc>(k))}}),
               double(at(n.records.errors, k)));
  w.family("arachne_response_bytes_total", "counter", "Body bytes of responses, decoded.");
  for (auto& n : nodes)
    w.sample("arachne_response_bytes_total", with_node(n), double(n.records.bytes));
  w.family("arachne_fetch_duration_seconds", "histogram",
           "Time from a request's start to its record, redirects included.");
  for (auto& n : nodes)
    w.histo("arachne_fetch_duration_seconds", with_node(n), n.records.fetch_seconds,
            duration_bounds());
  w.family("arachne_time_to_first_byte_seconds", "histogram",
           "Time from a request written to the first byte of its response.");
  for (auto& n : nodes)
    w.histo("arachne_time_to_first_byte_seconds", with_node(n), n.records.ttfb_seconds,
            duration_bounds());
  w.family("arachne_response_size_bytes", "histogram", "Body size of responses, decoded.");
  for (auto& n : nodes)
    w.histo("arachne_response_size_bytes", with_node(n), n.records.page_bytes, size_bounds());

  bool frontier = std::any_of(nodes.begin(), nodes.end(), [](auto& n) { return n.frontier; });
  if (frontier) {
    w.family("arachne_requests_in_flight", "gauge", "Requests handed to fetchers, not yet recorded.");
    for (auto& n : nodes)
      if (n.frontier)
        w.sample("arachne_requests_in_flight", with_node(n), double(n.in_flight));
    w.family("arachne_urls_queued", "gauge", "URLs waiting to be fetched, in memory and on disk.");
    for (auto& n : nodes)
      if (n.frontier)
        w.sample("arachne_urls_queued", with_node(n), double(n.queued));
    w.family("arachne_urls_seen_total", "counter", "Distinct URLs seen.");
    for (auto& n : nodes)
      if (n.frontier)
        w.sample("arachne_urls_seen_total", with_node(n), double(n.seen));
    w.family("arachne_links_dropped_total", "counter",
             "Distinct links not followed: out of scope, over a budget or cut as traps.");
    for (auto& n : nodes)
      if (n.frontier)
        w.sample("arachne_links_dropped_total", with_node(n), double(n.dropped));
    w.family("arachne_hosts", "gauge",
             "Sites (scheme, host, port) by what they do or wait for: fetching, politeness "
             "(delay, back-off, concurrency), robots, dns, budget (--concurrency), ready, idle.");
    for (auto& n : nodes) {
      if (!n.frontier)
        continue;
      auto& s = n.states;
      std::pair<const char*, uint64_t> states[] = {
        {"fetching", s.fetching}, {"politeness", s.politeness}, {"robots", s.robots},
        {"dns", s.dns},           {"budget", s.budget},         {"ready", s.ready},
        {"idle", s.idle}};
      for (auto& [name, count] : states)
        w.sample("arachne_hosts", with_node(n, {{"state", name}}), double(count));
    }
    w.family("arachne_sink_unacknowledged_batches", "gauge",
             "Record batches sent to a sink and not yet acknowledged (its credits in use).");
    for (auto& n : nodes)
      for (std::size_t i = 0; i < n.sink_unacked.size(); ++i)
        w.sample("arachne_sink_unacknowledged_batches", with_node(n, {{"sink", std::to_string(i)}}),
                 double(n.sink_unacked[i]));
  }

  if (!m.proxies.empty()) {
    std::map<std::string, uint64_t> by_state{
      {"active", 0}, {"probing", 0}, {"quarantined", 0}, {"retired", 0}};
    for (auto& p : m.proxies)
      ++by_state[p.state];
    w.family("arachne_proxies", "gauge", "Proxies of the pool by state: active, probing, quarantined, retired.");
    for (auto& [state, count] : by_state)
      w.sample("arachne_proxies", {{"state", state}}, double(count));
    w.family("arachne_proxy_requests_total", "counter", "Leases a proxy gave, by outcome.");
    for (auto& p : m.proxies) {
      w.sample("arachne_proxy_requests_total", {{"proxy", p.label}, {"outcome", "success"}},
               double(p.successes));
      w.sample("arachne_proxy_requests_total", {{"proxy", p.label}, {"outcome", "failure"}},
               double(p.failures));
      w.sample("arachne_proxy_requests_total", {{"proxy", p.label}, {"outcome", "ban"}},
               double(p.bans));
    }
    w.family("arachne_proxy_requests_in_flight", "gauge", "Requests under way through a proxy.");
    for (auto& p : m.proxies)
      w.sample("arachne_proxy_requests_in_flight", {{"proxy", p.label}}, double(p.in_flight));
  }
  return w.take();
}

} // namespace arachne
