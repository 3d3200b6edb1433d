#include "observer/observer.hpp"

#include <algorithm>
#include <chrono>
#include <sstream>

#include "caf/actor_system.hpp"
#include "caf/allowed_unsafe_message_type.hpp"
#include "caf/event_based_actor.hpp"
#include "caf/send.hpp"
#include "caf/stateful_actor.hpp"

#include "arachne/json.hpp"
#include "observer/http_server.hpp"

namespace arachne {

/// A request from the server and the way to answer it (this process only).
struct http_exchange {
  http_call call;
  http_reply reply;
};

} // namespace arachne

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(arachne::http_exchange)

namespace arachne {

struct observer::server {
  std::unique_ptr<http_server> http;
};

namespace {

using namespace std::chrono_literals;

struct observer_state {
  observer_options opts;
  std::vector<node_metrics> nodes; // the latest, from the crawl's rounds or the node's polls
  record_metrics stored;           // records sent to it as a sink (a sink-node)
  bool sink = false;               // it was opened as a sink
  bool paused = false;
  bool stopping = false;
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  static inline const char* name = "observer";
};

using pointer = caf::stateful_actor<observer_state>*;

http_answer text(unsigned status, std::string body) {
  return {status, "text/plain; charset=utf-8", std::move(body) + "\n"};
}

metrics_snapshot snapshot_of(const observer_state& st, std::vector<proxy_stats> proxies) {
  metrics_snapshot m;
  m.nodes = st.nodes;
  if (st.sink) {
    node_metrics own;
    own.records = st.stored;
    m.nodes.push_back(std::move(own));
  }
  m.proxies = std::move(proxies);
  m.role = st.opts.role;
  m.paused = st.paused;
  m.uptime_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - st.started).count();
  return m;
}

void append_field(std::string& out, const char* name, uint64_t value, bool comma = true) {
  if (comma)
    out += ',';
  out += '"';
  out += name;
  out += "\":";
  out += std::to_string(value);
}

std::string status_json(const metrics_snapshot& m, bool stopping) {
  node_metrics all;
  for (auto& n : m.nodes) {
    all.records.merge(n.records);
    all.queued += n.queued;
    all.in_flight += n.in_flight;
    all.seen += n.seen;
    all.hosts += n.hosts;
  }
  std::string out = "{\"state\":";
  append_json_string(out, stopping ? "stopping" : m.paused ? "paused" : "running");
  out += ",\"role\":";
  append_json_string(out, m.role);
  out += ",\"uptime_seconds\":" + std::to_string(static_cast<uint64_t>(m.uptime_seconds));
  auto& r = all.records;
  append_field(out, "records", r.pages + r.failures + r.items);
  append_field(out, "pages", r.pages);
  append_field(out, "failures", r.failures);
  append_field(out, "items", r.items);
  append_field(out, "bytes", r.bytes);
  append_field(out, "queued", all.queued);
  append_field(out, "in_flight", all.in_flight);
  append_field(out, "seen", all.seen);
  append_field(out, "hosts", all.hosts);
  out += ",\"nodes\":[";
  std::vector<std::pair<std::string, uint64_t>> queues;
  for (std::size_t i = 0; i < m.nodes.size(); ++i) {
    auto& n = m.nodes[i];
    out += i > 0 ? ",{\"node\":" : "{\"node\":";
    append_json_string(out, n.node);
    append_field(out, "pages", n.records.pages);
    append_field(out, "failures", n.records.failures);
    append_field(out, "queued", n.queued);
    append_field(out, "in_flight", n.in_flight);
    append_field(out, "hosts", n.hosts);
    out += ",\"hosts_by_state\":{";
    append_field(out, "fetching", n.states.fetching, false);
    append_field(out, "politeness", n.states.politeness);
    append_field(out, "robots", n.states.robots);
    append_field(out, "dns", n.states.dns);
    append_field(out, "budget", n.states.budget);
    append_field(out, "ready", n.states.ready);
    append_field(out, "idle", n.states.idle);
    out += "}}";
    queues.insert(queues.end(), n.longest_queues.begin(), n.longest_queues.end());
  }
  out += "],\"longest_queues\":[";
  std::sort(queues.begin(), queues.end(),
            [](auto& x, auto& y) { return x.second != y.second ? x.second > y.second : x.first < y.first; });
  if (queues.size() > 10)
    queues.resize(10);
  for (std::size_t i = 0; i < queues.size(); ++i) {
    out += i > 0 ? ",{\"site\":" : "{\"site\":";
    append_json_string(out, queues[i].first);
    append_field(out, "queued", queues[i].second);
    out += '}';
  }
  out += "],\"proxies\":[";
  for (std::size_t i = 0; i < m.proxies.size(); ++i) {
    auto& p = m.proxies[i];
    out += i > 0 ? ",{\"proxy\":" : "{\"proxy\":";
    append_json_string(out, p.label);
    out += ",\"state\":";
    append_json_string(out, p.state);
    append_field(out, "requests", p.requests);
    append_field(out, "successes", p.successes);
    append_field(out, "failures", p.failures);
    append_field(out, "bans", p.bans);
    append_field(out, "quarantines", p.quarantines);
    append_field(out, "in_flight", p.in_flight);
    out += '}';
  }
  out += "]}\n";
  return out;
}

// Answers with what the snapshot says once the proxies' stats are in.
template <class F>
void with_snapshot(pointer self, F answer) {
  auto& st = self->state;
  if (!st.opts.proxies) {
    answer(snapshot_of(st, {}));
    return;
  }
  self->request(st.opts.proxies, 5s, stats_atom::value)
    .then([=](std::vector<proxy_stats>& xs) { answer(snapshot_of(self->state, std::move(xs))); },
          [=](caf::error&) { answer(snapshot_of(self->state, {})); });
}

std::vector<std::string> lines_of(const std::string& body) {
  std::vector<std::string> out;
  std::istringstream in{body};
  std::string line;
  while (std::getline(in, line)) {
    auto b = line.find_first_not_of(" \t\r");
    auto e = line.find_last_not_of(" \t\r");
    if (b != std::string::npos)
      out.push_back(line.substr(b, e - b + 1));
  }
  return out;
}

void control(pointer self, const std::string& path, http_exchange& x) {
  auto& st = self->state;
  auto reply = x.reply;
  bool post = x.call.method == "POST";
  if (path == "/status") {
    if (x.call.method != "GET")
      return reply(text(405, "use GET for /status"));
    bool stopping = st.stopping;
    return with_snapshot(self, [reply, stopping](const metrics_snapshot& m) {
      reply({200, "application/json", status_json(m, stopping)});
    });
  }
  if (!post)
    return reply(text(405, "use POST for " + path));
  if (!st.opts.coordinator)
    return reply(text(409, "this process runs no crawl of its own: ask the crawl's coordinator"));
  if (path == "/pause" || path == "/resume") {
    st.paused = path == "/pause";
    caf::anon_send(st.opts.coordinator, pause_atom::value, st.paused);
    return reply(text(200, st.paused ? "paused: no new request starts" : "resumed"));
  }
  if (path == "/stop") {
    st.stopping = true;
    if (st.opts.stop)
      st.opts.stop();
    return reply(text(202, "stopping: requests in flight finish, then the crawl ends"));
  }
  // POST /seeds: one URL per line.
  auto urls = lines_of(x.call.body);
  if (urls.empty())
    return reply(text(400, "no URLs in the body: one URL per line"));
  self->request(st.opts.coordinator, 10s, seed_atom::value, std::move(urls))
    .then([reply](uint64_t n) { reply(text(202, std::to_string(n) + " seeds added")); },
          [reply](caf::error& err) {
            auto why = err.context().match_elements<std::string>()
                         ? err.context().get_as<std::string>(0)
                         : std::string{"the crawl cannot take seeds now"};
            reply(text(err.code() == static_cast<uint8_t>(caf::sec::invalid_argument) ? 400 : 409,
                       why));
          });
}

void serve(pointer self, http_exchange& x) {
  auto& st = self->state;
  auto path = x.call.target.substr(0, x.call.target.find('?'));
  if (path == "/metrics") {
    if (x.call.method != "GET")
      return x.reply(text(405, "use GET for /metrics"));
    auto reply = x.reply;
    return with_snapshot(self, [reply](const metrics_snapshot& m) {
      reply({200, prometheus_content_type, render_prometheus(m)});
    });
  }
  static const char* control_paths[] = {"/status", "/seeds", "/pause", "/resume", "/stop"};
  if (std::find(std::begin(control_paths), std::end(control_paths), path) == std::end(control_paths))
    return x.reply(text(404, "no such path: /metrics, and with --control-token /status, /seeds, "
                             "/pause, /resume, /stop"));
  if (st.opts.token.empty())
    return x.reply(text(404, "the control API is off: start with --control-token=FILE"));
  const std::string bearer = "Bearer ";
  auto& auth = x.call.authorization;
  bool ok = auth.size() > bearer.size() && auth.compare(0, bearer.size(), bearer) == 0
            && same_token(auth.substr(bearer.size()), st.opts.token);
  if (!ok)
    return x.reply(text(401, "a valid token is needed: Authorization: Bearer TOKEN"));
  control(self, path, x);
}

caf::behavior observer_actor(pointer self, observer_options opts) {
  self->state.opts = std::move(opts);
  return {
    [=](observe_atom, std::vector<node_metrics>& xs) { self->state.nodes = std::move(xs); },
    [=](http_exchange& x) { serve(self, x); },
    // As a sink (a sink-node's): the records it is sent.
    [=](open_atom, const crawl_info&) {
      self->state.sink = true;
      return sink_needs{};
    },
    [=](const record_batch& batch) {
      self->state.sink = true;
      for (auto& r : batch.records)
        self->state.stored.observe(r);
      return ack{batch.seq};
    },
    [](caf::flush_atom) { return caf::ok_atom::value; },
  };
}

} // namespace

bool same_token(const std::string& given, const std::string& expected) noexcept {
  // Every byte of the longer one is looked at, whatever differs.
  auto n = std::max(given.size(), expected.size());
  unsigned char diff = given.size() == expected.size() ? 0 : 1;
  for (std::size_t i = 0; i < n; ++i) {
    unsigned char a = i < given.size() ? static_cast<unsigned char>(given[i]) : 0;
    unsigned char b = i < expected.size() ? static_cast<unsigned char>(expected[i]) : 0;
    diff |= static_cast<unsigned char>(a ^ b);
  }
  return diff == 0 && !expected.empty();
}

std::vector<node_metrics> metrics_by_node(const std::vector<frontier_stats>& stats,
                                          const std::vector<std::string>& node_of) {
  std::vector<node_metrics> out;
  for (std::size_t i = 0; i < stats.size(); ++i) {
    auto name = i < node_of.size() ? node_of[i] : std::string{};
    auto n = std::find_if(out.begin(), out.end(), [&](auto& x) { return x.node == name; });
    if (n == out.end()) {
      out.emplace_back();
      n = out.end() - 1;
      n->node = name;
      n->frontier = true;
    }
    auto& s = stats[i];
    n->records.merge(s.records);
    n->queued += s.queued;
    n->in_flight += s.in_flight;
    n->seen += s.seen;
    n->dropped += s.cut.distinct();
    n->hosts += s.hosts;
    n->states.merge(s.site_states);
    if (n->sink_unacked.size() < s.sink_unacked.size())
      n->sink_unacked.resize(s.sink_unacked.size(), 0);
    for (std::size_t k = 0; k < s.sink_unacked.size(); ++k)
      n->sink_unacked[k] += s.sink_unacked[k];
    n->longest_queues.insert(n->longest_queues.end(), s.longest_queues.begin(),
                             s.longest_queues.end());
  }
  for (auto& n : out) {
    auto& q = n.longest_queues;
    std::sort(q.begin(), q.end(), [](auto& x, auto& y) { return x.second > y.second; });
    if (q.size() > 10)
      q.resize(10);
  }
  return out;
}

caf::expected<std::unique_ptr<observer>> observer::start(caf::actor_system& sys,
                                                         observer_options opts) {
  auto host = opts.host;
  auto port = opts.port;
  std::unique_ptr<observer> o{new observer};
  o->actor_ = sys.spawn(observer_actor, std::move(opts));
  std::string error;
  auto http = http_server::start(
    host, port,
    [a = o->actor_](http_call call, http_reply reply) {
      caf::anon_send(a, http_exchange{std::move(call), std::move(reply)});
    },
    error);
  if (!http) {
    caf::anon_send_exit(o->actor_, caf::exit_reason::user_shutdown);
    return caf::make_error(caf::sec::invalid_argument, "--metrics: " + error);
  }
  o->host_ = host;
  o->server_ = std::make_unique<server>(server{std::move(http)});
  return o;
}

observer::~observer() {
  server_.reset(); // (no request reaches the actor after this)
  if (actor_)
    caf::anon_send_exit(actor_, caf::exit_reason::user_shutdown);
}

std::string observer::endpoint() const {
  auto h = host_.find(':') != std::string::npos ? "[" + host_ + "]" : host_;
  return h + ":" + std::to_string(server_->http->port());
}

} // namespace arachne
