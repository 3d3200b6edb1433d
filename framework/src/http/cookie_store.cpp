#include "http/cookie_store.hpp"

#include "caf/sec.hpp"

namespace arachne::http_detail {

namespace {

auto now() {
  return cookie_jar::clock::now();
}

std::string reason(const caf::error& err) {
  return err.context().match_elements<std::string>() ? err.context().get_as<std::string>(0)
                                                     : std::string{"invalid"};
}

} // namespace

cookie_jar* cookie_store::jar_of(const std::string& session, uint64_t generation) {
  if (session.empty())
    return &shared_;
  auto [i, added] = sessions_.try_emplace(session);
  auto& s = i->second;
  if (added) {
    s.generation = generation;
    s.jar = cookie_jar{limits_};
  } else if (generation > s.generation) {
    // The session was retired (its proxy looked banned): its cookies go
    // with it, and the proxy starts afresh.
    add(retired_, s.jar.stats());
    s.generation = generation;
    s.jar = cookie_jar{limits_};
  } else if (generation < s.generation) {
    return nullptr; // a request of a retired session: no jar
  }
  return &s.jar;
}

std::string cookie_store::header(const std::string& session, uint64_t generation,
                                 const url& request) {
  if (empty_.load(std::memory_order_acquire))
    return {};
  std::lock_guard<std::mutex> guard{mtx_};
  auto* jar = jar_of(session, generation);
  return jar ? jar->header(request, now()) : std::string{};
}

bool cookie_store::receive(const std::string& session, uint64_t generation, const url& request,
                           const std::vector<std::string_view>& set_cookies) {
  if (set_cookies.empty())
    return false;
  std::lock_guard<std::mutex> guard{mtx_};
  auto* jar = jar_of(session, generation);
  if (jar == nullptr)
    return false; // an answer of a retired session: its cookies went with it
  auto t = now();
  auto before = jar->version();
  for (auto value : set_cookies)
    jar->set(request, value, t);
  empty_.store(false, std::memory_order_release);
  return jar->version() != before;
}

caf::error cookie_store::seed(const std::vector<std::string>& seeds) {
  std::lock_guard<std::mutex> guard{mtx_};
  for (auto& s : seeds)
    if (auto err = shared_.seed(s, now()))
      return caf::make_error(caf::sec::invalid_argument, "--cookie: " + reason(err));
  if (shared_.size() > 0)
    empty_.store(false, std::memory_order_release);
  return {};
}

caf::error cookie_store::load(std::string_view netscape, std::string_view what) {
  std::lock_guard<std::mutex> guard{mtx_};
  auto added = shared_.load_netscape(netscape, now());
  if (!added)
    return caf::make_error(caf::sec::invalid_argument,
                           std::string{what} + ": " + reason(added.error()));
  if (shared_.size() > 0)
    empty_.store(false, std::memory_order_release);
  return {};
}

caf::error cookie_store::restore(std::string_view netscape) {
  std::lock_guard<std::mutex> guard{mtx_};
  // The saved jar, then what is here already on top of it. A saved line
  // this run refuses (a smaller --max-cookie-size, a file edited by hand)
  // is left out rather than stopping the crawl.
  cookie_jar merged{limits_};
  auto t = now();
  while (!netscape.empty()) {
    auto nl = netscape.find('\n');
    merged.load_netscape(netscape.substr(0, nl), t);
    netscape = nl == std::string_view::npos ? std::string_view{} : netscape.substr(nl + 1);
  }
  if (auto added = merged.load_netscape(shared_.to_netscape(t), t); !added)
    return added.error();
  shared_ = std::move(merged);
  if (shared_.size() > 0)
    empty_.store(false, std::memory_order_release);
  return {};
}

std::string cookie_store::save(uint64_t* version) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (version)
    *version = shared_.version();
  return shared_.to_netscape(now());
}

uint64_t cookie_store::version() {
  std::lock_guard<std::mutex> guard{mtx_};
  return shared_.version();
}

void cookie_store::add(cookie_stats& to, const cookie_stats& from) {
  to.stored += from.stored;
  to.removed += from.removed;
  to.malformed += from.malformed;
  to.rejected += from.rejected;
  to.evicted += from.evicted;
}

cookie_stats cookie_store::stats() {
  std::lock_guard<std::mutex> guard{mtx_};
  auto out = retired_;
  add(out, shared_.stats());
  for (auto& [key, s] : sessions_)
    add(out, s.jar.stats());
  return out;
}

} // namespace arachne::http_detail
