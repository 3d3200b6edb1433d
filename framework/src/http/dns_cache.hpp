#pragma once

// Names for the HTTP client: the --resolve overrides, one DNS cache per IO
// thread (entries expire after --dns-ttl), and lookups with a deadline.
// Private to the framework.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio.hpp>

#include "caf/expected.hpp"
#include "caf/timespan.hpp"

namespace arachne::http_detail {

/// The --resolve overrides: "host:port" (host in lower case) -> address.
using dns_overrides = std::map<std::string, boost::asio::ip::address>;

/// Reads --resolve entries, `host:port:address` as curl's (the address
/// possibly an IPv6 literal in brackets).
caf::expected<dns_overrides> parse_overrides(const std::vector<std::string>& entries);

/// True for a name that never resolves (RFC 6761: ".invalid").
bool never_resolves(const std::string& host);

/// What a name resolved to, and until when that holds.
struct dns_entry {
  std::vector<boost::asio::ip::tcp::endpoint> endpoints;
  std::chrono::steady_clock::time_point expires;
};

/// One IO thread's names: IP literals and --resolve overrides answer at
/// once, resolved names until their time to live runs out.
class dns_cache {
public:
  using endpoints = std::vector<boost::asio::ip::tcp::endpoint>;

  explicit dns_cache(const dns_overrides& overrides) : overrides_(overrides) {}

  /// The endpoints of `host:port` if they are known without a lookup; an
  /// expired entry is dropped.
  std::optional<endpoints> find(const std::string& host, uint16_t port);

  /// Keeps what `host:port` resolved to for `ttl`.
  void store(const std::string& host, uint16_t port, endpoints found, caf::timespan ttl);

private:
  const dns_overrides& overrides_;
  std::unordered_map<std::string, dns_entry> entries_;
};

/// Looks names up one at a time, each with a deadline: getaddrinfo has no
/// timeout of its own, so a timer cancels the lookup.
class dns_lookup {
public:
  using results_type = boost::asio::ip::tcp::resolver::results_type;
  using handler = std::function<void(const boost::system::error_code&, results_type)>;

  explicit dns_lookup(boost::asio::io_context& ioc) : resolver_(ioc), timer_(ioc) {}

  /// Resolves `host` and calls `done` once; a lookup not over by `deadline`
  /// is cancelled, and then `timed_out()` is true. `owner` keeps this object
  /// alive while its timer waits.
  void start(const std::string& host, uint16_t port,
             std::chrono::steady_clock::time_point deadline, std::shared_ptr<void> owner,
             handler done);

  /// True if the last lookup was cancelled by its deadline.
  bool timed_out() const noexcept { return timed_out_; }

  /// Cancels the lookup and its timer.
  void cancel();

private:
  boost::asio::ip::tcp::resolver resolver_;
  boost::asio::steady_timer timer_;
  bool timed_out_ = false;
  bool done_ = false;
  uint64_t lookups_ = 0;
};

} // namespace arachne::http_detail
