#include "fetcher/fetcher.hpp"

#include <algorithm>

#include "caf/actor_cast.hpp"
#include "caf/send.hpp"
#include "caf/stateful_actor.hpp"
#include "caf/typed_event_based_actor.hpp"

#include "arachne/errors.hpp"
#include "arachne/revisit.hpp"
#include "arachne/url.hpp"

namespace arachne {

namespace {

using self_ptr = fetcher_impl::stateful_pointer<fetcher_state>;

/// Proxy failures one request goes through before it fails as `proxy_failed`
/// (the frontier may retry it later).
constexpr uint32_t max_proxy_failures = 10;

/// Bytes of a body the ban pattern looks at.
constexpr std::size_t ban_body_window = 64 * 1024;

void start(self_ptr self, http_client* client, uint64_t id) {
  auto& job = self->state.jobs.at(id);
  auto req = job.request;
  req.id = id;
  req.proxy = job.lease.url;
  req.lease = job.lease.id;
  if (self->state.opts.session_per_proxy && self->state.opts.proxies) {
    // A session is the proxy (its URL, credentials included: a provider's
    // per-user sessions stay apart) with its cookies, until a ban retires it.
    req.jar = job.lease.url;
    req.jar_generation = job.lease.generation;
  }
  auto me = caf::actor_cast<fetcher_impl>(self);
  client->fetch(std::move(req), [me, id](fetch_result res) {
    // An IO thread: never touch the actor's state here, only message it.
    caf::anon_send(me, fetched_atom::value, id, std::move(res));
  });
}

void finish(self_ptr self, uint64_t id, fetch_result res) {
  auto i = self->state.jobs.find(id);
  if (i == self->state.jobs.end())
    return;
  res.id = i->second.request.id;
  // The payload digest for the state store (here, beside the fetch: the
  // fetchers hash in parallel, the frontier only compares).
  if (i->second.request.digest && res.status == 200 && res.error == crawl_errc::none)
    res.digest = payload_digest(res.body.view());
  i->second.promise.deliver(std::move(res));
  self->state.jobs.erase(i);
}

void lease(self_ptr self, http_client* client, uint64_t id) {
  auto& job = self->state.jobs.at(id);
  lease_request lr;
  lr.host = std::string{url_host(job.request.url)};
  lr.exclude = job.tried;
  lr.session = job.request.session;
  self->request(self->state.opts.proxies, self->state.opts.lease_timeout, lease_atom::value,
                std::move(lr))
    .then(
      [=](proxy_lease& l) {
        auto i = self->state.jobs.find(id);
        if (i == self->state.jobs.end())
          return;
        auto& job = i->second;
        if (l.id == 0) {
          // Every proxy has been tried: the last answer is the page's.
          if (job.last)
            return finish(self, id, std::move(*job.last));
          fetch_result res;
          res.url = res.final_url = job.request.url;
          res.error = crawl_errc::proxy_exhausted;
          res.error_message = "every proxy has been tried";
          res.fetched_at = caf::make_timestamp();
          return finish(self, id, std::move(res));
        }
        job.lease = std::move(l);
        start(self, client, id);
      },
      [=](caf::error& err) {
        auto i = self->state.jobs.find(id);
        if (i == self->state.jobs.end())
          return;
        fetch_result res;
        res.url = res.final_url = i->second.request.url;
        res.error = crawl_errc::proxy_exhausted;
        auto kind = crawl_errc_of(err);
        res.error_message = kind && err.context().match_elements<std::string>()
                              ? err.context().get_as<std::string>(0)
                              : "no proxy lease: " + self->system().render(err);
        // Say why the proxies were out, if this request saw one fail.
        auto& job = i->second;
        if (!job.last_proxy_error.empty()) {
          res.error_message += " (last: " + job.last_proxy_error + ")";
          res.proxy = job.lease.label;
        }
        res.fetched_at = caf::make_timestamp();
        finish(self, id, std::move(res));
      });
}

bool looks_banned(const fetcher_options& opts, const fetch_result& res) {
  if (res.error != crawl_errc::none)
    return false;
  if (std::find(opts.ban_status.begin(), opts.ban_status.end(), res.status) != opts.ban_status.end())
    return true;
  if (!opts.ban_body || res.content_type.find("html") == std::string::npos)
    return false;
  auto body = res.body.view();
  body = body.substr(0, std::min(body.size(), ban_body_window));
  return std::regex_search(body.begin(), body.end(), *opts.ban_body);
}

void report(self_ptr self, const fetch_job& job, uint64_t lease, uint32_t proxy,
            proxy_outcome outcome, caf::timespan latency, std::string why = {}) {
  proxy_report rep;
  rep.lease = lease;
  rep.proxy = proxy;
  rep.outcome = outcome;
  rep.latency = latency;
  rep.host = std::string{url_host(job.request.url)};
  rep.why = std::move(why);
  self->send(self->state.opts.proxies, report_atom::value, std::move(rep));
}

/// Judges one proxied attempt: done, or another attempt through another proxy.
void on_attempt(self_ptr self, http_client* client, uint64_t id, fetch_result res) {
  auto& job = self->state.jobs.at(id);
  auto& opts = self->state.opts;
  auto proxy = job.lease.proxy;
  auto latency = res.timings.total;
  if (res.error == crawl_errc::cancelled) {
    report(self, job, job.lease.id, proxy, proxy_outcome::inconclusive, latency);
    return finish(self, id, std::move(res));
  }
  if (res.fault == proxy_fault::proxy || res.fault == proxy_fault::unusable) {
    // The proxy's own failure says nothing about the page: try again through
    // whichever proxy the policy picks (the manager rests failing ones and
    // retires unusable ones; when none is left the lease waits, then fails as
    // proxy_exhausted, at once if every proxy is retired).
    auto outcome = res.fault == proxy_fault::unusable           ? proxy_outcome::unusable
                   : res.error == crawl_errc::proxy_auth_failed ? proxy_outcome::auth
                   : res.error == crawl_errc::timeout           ? proxy_outcome::timeout
                                                                : proxy_outcome::failed;
    std::string why;
    if (outcome == proxy_outcome::unusable) {
      // The manager names the proxy: its reason is the message's check.
      auto check = res.error_message.find("certificate verify failed");
      why = check == std::string::npos ? res.error_message : res.error_message.substr(check);
    }
    report(self, job, job.lease.id, proxy, outcome, latency, std::move(why));
    job.last_proxy_error = res.error_message;
    if (++job.proxy_failures >= max_proxy_failures)
      return finish(self, id, std::move(res));
    return lease(self, client, id);
  }
  job.tried.push_back(proxy);
  auto again = job.tried.size() < std::max(1u, opts.page_fault_after);
  // A ban-like answer, a refused tunnel or a timeout after the proxy: the
  // proxy's fault if another proxy gets through, the page's if none does.
  auto suspect = res.fault == proxy_fault::tunnel
                   ? (res.status == 401 ? proxy_outcome::auth : proxy_outcome::failed)
                 : res.error == crawl_errc::timeout ? proxy_outcome::timeout
                 : looks_banned(opts, res)          ? proxy_outcome::banned
                                                    : proxy_outcome::ok;
  if (suspect != proxy_outcome::ok) {
    report(self, job, job.lease.id, proxy, proxy_outcome::inconclusive, latency);
    job.suspects.emplace_back(proxy, suspect);
    if (!again)
      return finish(self, id, std::move(res)); // the page's fault: nobody is blamed
    job.last = std::move(res);
    return lease(self, client, id);
  }
  report(self, job, job.lease.id, proxy, proxy_outcome::ok, latency);
  for (auto& [index, outcome] : job.suspects)
    report(self, job, 0, index, outcome, caf::timespan{0});
  finish(self, id, std::move(res));
}

} // namespace

fetcher_options make_fetcher_options(const proxy_options& opts, proxy_manager_actor proxies) {
  fetcher_options out;
  out.proxies = std::move(proxies);
  for (auto& code : opts.ban_status)
    out.ban_status.push_back(static_cast<uint16_t>(std::stoul(code)));
  if (!opts.ban_body.empty())
    out.ban_body = std::make_shared<const std::regex>(
      opts.ban_body, std::regex::ECMAScript | std::regex::icase | std::regex::optimize);
  out.page_fault_after = opts.page_fault_after;
  out.session_per_proxy = opts.session_per_proxy;
  // The manager fails a lease itself after `wait`; this only guards against a lost one.
  out.lease_timeout = opts.wait + std::chrono::seconds(30);
  return out;
}

fetcher_impl::behavior_type fetcher(fetcher_impl::stateful_pointer<fetcher_state> self,
                                    http_client* client, fetcher_options opts) {
  self->state.opts = std::move(opts);
  return {
    [=](fetch_atom, fetch_request& req) -> caf::typed_response_promise<fetch_result> {
      auto rp = self->make_response_promise<fetch_result>();
      auto id = ++self->state.next_id;
      auto& job = self->state.jobs[id];
      job.promise = rp;
      job.request = std::move(req);
      if (self->state.opts.proxies)
        lease(self, client, id);
      else
        start(self, client, id);
      return rp;
    },
    [=](resolve_atom, const std::string& host,
        uint16_t port) -> caf::typed_response_promise<std::vector<std::string>> {
      auto rp = self->make_response_promise<std::vector<std::string>>();
      auto id = ++self->state.next_id;
      self->state.lookups.emplace(id, rp);
      auto me = caf::actor_cast<fetcher_impl>(self);
      client->resolve(host, port, [me, id](std::vector<std::string> addresses, std::string) {
        // An IO thread: only a message.
        caf::anon_send(me, resolved_atom::value, id, std::move(addresses));
      });
      return rp;
    },
    [=](resolved_atom, uint64_t id, std::vector<std::string>& addresses) {
      auto i = self->state.lookups.find(id);
      if (i == self->state.lookups.end())
        return;
      i->second.deliver(std::move(addresses));
      self->state.lookups.erase(i);
    },
    [=](fetched_atom, uint64_t id, fetch_result& res) {
      auto i = self->state.jobs.find(id);
      if (i == self->state.jobs.end())
        return;
      if (!self->state.opts.proxies)
        return finish(self, id, std::move(res));
      on_attempt(self, client, id, std::move(res));
    },
  };
}

} // namespace arachne
