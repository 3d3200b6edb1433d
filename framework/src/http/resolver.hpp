#pragma once

// Asynchronous DNS with c-ares, on one IO thread's io_context: no thread per
// lookup (as getaddrinfo needs), every address of a name, and the answer's
// time to live. Private to the framework.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio.hpp>

#include "caf/expected.hpp"

struct ares_addrinfo; // from <ares.h>

namespace arachne::http_detail {

/// Where and what the resolver asks.
struct resolver_settings {
  std::string servers; // c-ares's "host:port,..." list; empty: the system's (/etc/resolv.conf)
  int family = 0;      // AF_UNSPEC (0), AF_INET or AF_INET6
};

/// Reads --dns-server entries, `ADDRESS[:PORT]` (an IPv6 address in
/// brackets), into c-ares's server list.
caf::expected<std::string> parse_dns_servers(const std::vector<std::string>& entries);

/// The family --ip-version names: any, 4 or 6.
caf::expected<int> parse_ip_version(const std::string& text);

/// One IO thread's resolver: a c-ares channel whose sockets and timeouts are
/// watched on the thread's io_context. Used from that thread only.
class resolver {
public:
  /// What a name resolved to: its addresses in the order to try them
  /// (RFC 6724, as c-ares sorts them), and for how long the answer holds.
  struct answer {
    std::vector<boost::asio::ip::tcp::endpoint> endpoints;
    std::chrono::seconds ttl{0};
  };

  /// Called once, on the IO thread, never from inside `resolve`: an error
  /// message (empty on success) and the answer.
  using handler = std::function<void(const std::string& error, answer)>;

  resolver(boost::asio::io_context& ioc, const resolver_settings& settings);
  ~resolver();

  resolver(const resolver&) = delete;
  resolver& operator=(const resolver&) = delete;

  /// Looks `host` up; returns an id for `abandon`.
  uint64_t resolve(const std::string& host, uint16_t port, handler done);

  /// The id the next `resolve` returns.
  uint64_t next_id() const noexcept { return next_id_ + 1; }

  /// Why the resolver cannot work (c-ares failed to start, or refused the
  /// servers); empty if it can.
  const std::string& error() const noexcept { return init_error_; }

  /// Forgets a lookup: its handler is dropped, never called.
  void abandon(uint64_t id);

  /// Cancels every lookup (their handlers are dropped) and stops watching
  /// c-ares's sockets and timer, so that the IO thread's loop can end.
  void shutdown();

  /// The channel: opaque here (c-ares's ares_channel).
  struct channel;

private:
  struct watched;
  struct query;

  static void on_socket_state(void* data, int fd, int readable, int writable);
  static void on_answer(void* arg, int status, int timeouts, ::ares_addrinfo* result);

  void watch(int fd, bool readable, bool writable);
  void arm(const std::shared_ptr<watched>& w);
  void process(int read_fd, int write_fd);
  void schedule();

  boost::asio::io_context& ioc_;
  int family_ = 0;
  std::unique_ptr<channel> channel_;
  std::string init_error_;
  boost::asio::steady_timer timer_;
  std::unordered_map<int, std::shared_ptr<watched>> sockets_;
  std::unordered_map<uint64_t, handler> pending_;
  uint64_t next_id_ = 0;
  bool stopped_ = false;
};

} // namespace arachne::http_detail
