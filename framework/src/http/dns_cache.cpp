#include "http/dns_cache.hpp"

#include <cstdlib>
#include <utility>

#include "caf/sec.hpp"

namespace arachne::http_detail {

namespace asio = boost::asio; // from <boost/asio.hpp>
using tcp = asio::ip::tcp;

// -- overrides and reserved names ----------------------------------------------

caf::expected<dns_overrides> parse_overrides(const std::vector<std::string>& entries) {
  dns_overrides out;
  for (auto& entry : entries) {
    auto bad = [&entry] {
      return caf::make_error(caf::sec::invalid_argument,
                             "--resolve expects host:port:address, not '" + entry + "'");
    };
    // host:port:address, the address possibly an IPv6 literal in brackets.
    auto c1 = entry.find(':');
    auto c2 = c1 == std::string::npos ? c1 : entry.find(':', c1 + 1);
    if (c2 == std::string::npos)
      return bad();
    auto host = entry.substr(0, c1);
    auto port = entry.substr(c1 + 1, c2 - c1 - 1);
    auto addr = entry.substr(c2 + 1);
    if (addr.size() > 2 && addr.front() == '[' && addr.back() == ']')
      addr = addr.substr(1, addr.size() - 2);
    boost::system::error_code ec;
    auto address = asio::ip::make_address(addr, ec);
    char* end = nullptr;
    auto port_number = std::strtoul(port.c_str(), &end, 10);
    if (ec || host.empty() || port.empty() || *end != '\0' || port_number == 0 || port_number > 65535)
      return bad();
    for (auto& c : host)
      c = static_cast<char>(c >= 'A' && c <= 'Z' ? c | 0x20 : c);
    out[host + ":" + std::to_string(port_number)] = address;
  }
  return out;
}

bool never_resolves(const std::string& host) {
  return host == "invalid" || (host.size() > 8 && host.compare(host.size() - 8, 8, ".invalid") == 0);
}

// -- dns_cache -------------------------------------------------------------------

std::optional<dns_cache::endpoints> dns_cache::find(const std::string& host, uint16_t port) {
  // An IP literal needs no lookup.
  boost::system::error_code not_ip;
  auto literal = asio::ip::make_address(host, not_ip);
  if (!not_ip)
    return endpoints{tcp::endpoint{literal, port}};
  auto key = host + ":" + std::to_string(port);
  if (auto i = overrides_.find(key); i != overrides_.end())
    return endpoints{tcp::endpoint{i->second, port}};
  if (auto i = entries_.find(key); i != entries_.end()) {
    if (i->second.expires > std::chrono::steady_clock::now())
      return i->second.endpoints;
    entries_.erase(i);
  }
  return std::nullopt;
}

void dns_cache::store(const std::string& host, uint16_t port, endpoints found, caf::timespan ttl) {
  entries_[host + ":" + std::to_string(port)]
    = dns_entry{std::move(found), std::chrono::steady_clock::now() + ttl};
}

// -- dns_lookup ------------------------------------------------------------------

void dns_lookup::start(const std::string& host, uint16_t port,
                       std::chrono::steady_clock::time_point deadline, std::shared_ptr<void> owner,
                       handler done) {
  // A session may look up twice (SOCKS5: target, then proxy): each lookup
  // has its own query id, and a timer of the first never touches the second.
  timed_out_ = false;
  done_ = std::move(done);
  auto id = resolver_.resolve(host, port, [this, owner, next = resolver_.next_id()](
                                            const std::string& error, resolver::answer a) {
    if (query_ != next)
      return; // (an answer to a lookup given up on before this one)
    timer_.cancel();
    if (auto d = std::move(done_)) {
      done_ = nullptr;
      d(error, std::move(a));
    }
  });
  query_ = id;
  timer_.expires_at(deadline);
  timer_.async_wait([this, owner, id](const boost::system::error_code& ec) {
    if (ec || query_ != id || !done_)
      return;
    timed_out_ = true;
    resolver_.abandon(id);
    auto d = std::move(done_);
    done_ = nullptr;
    d("lookup timed out", {});
  });
}

void dns_lookup::cancel() {
  resolver_.abandon(query_);
  timer_.cancel();
  // The lookup ends as cancelled, as an Asio operation would: later, on the
  // IO thread (the handler keeps its session alive until then).
  if (auto d = std::move(done_)) {
    done_ = nullptr;
    asio::post(timer_.get_executor(), [d = std::move(d)] { d("cancelled", {}); });
  }
}

} // namespace arachne::http_detail
