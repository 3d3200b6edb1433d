#pragma once

// Names for the HTTP client: the --resolve overrides, one DNS cache per IO
// thread (entries expire with their answer's time to live, within
// --dns-min-ttl and --dns-max-ttl), and lookups with a deadline.
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

#include "http/resolver.hpp"

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

/// One session's lookups, one at a time, each with a deadline: a timer
/// abandons a lookup the IO thread's resolver has not answered in time.
class dns_lookup {
public:
  using handler = resolver::handler;

  dns_lookup(resolver& r, boost::asio::io_context& ioc) : resolver_(r), timer_(ioc) {}

  /// Resolves `host` and calls `done` once: with the answer, or with an
  /// error (then, if the deadline passed first, `timed_out()` is true).
  /// `owner` keeps this object alive while its timer waits.
  void start(const std::string& host, uint16_t port,
             std::chrono::steady_clock::time_point deadline, std::shared_ptr<void> owner,
             handler done);

  /// True if the last lookup was given up at its deadline.
  bool timed_out() const noexcept { return timed_out_; }

  /// Abandons the lookup and stops its timer; the handler is called (later,
  /// on the IO thread) with the error "cancelled".
  void cancel();

private:
  resolver& resolver_;
  boost::asio::steady_timer timer_;
  handler done_;
  uint64_t query_ = 0;
  bool timed_out_ = false;
};

} // namespace arachne::http_detail
