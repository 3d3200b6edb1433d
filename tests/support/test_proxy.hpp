#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "tls_material.hpp"

namespace arachne::testing {

/// How a `test_proxy` behaves.
struct test_proxy_options {
  int64_t ban_after = -1;        // requests served before every answer is `ban_status`; -1 never
  uint16_t ban_status = 403;     // the "banned" answer
  std::string username;          // required credentials (Basic); empty: none required
  std::string password;
  std::optional<site::tls_material> tls; // listen with TLS (an https:// proxy)
};

/// A small HTTP forward proxy on 127.0.0.1 for tests: absolute-form requests
/// and CONNECT tunnels, optional Basic credentials (407 when wrong), and a
/// "banning" mode that answers `ban_status` after `ban_after` requests, as a
/// site that has banned the proxy's address would. Thread per connection;
/// the destructor closes every socket and joins every thread.
class test_proxy {
public:
  explicit test_proxy(test_proxy_options opts = {});
  ~test_proxy();

  test_proxy(const test_proxy&) = delete;
  test_proxy& operator=(const test_proxy&) = delete;

  uint16_t port() const noexcept;

  /// `http://[user:pass@]127.0.0.1:PORT` (https with TLS).
  std::string url() const;

  /// Requests (and CONNECTs) received, and those answered as banned.
  uint64_t requests() const noexcept;
  uint64_t bans() const noexcept;

  struct impl;

private:
  std::unique_ptr<impl> impl_;
};

} // namespace arachne::testing
