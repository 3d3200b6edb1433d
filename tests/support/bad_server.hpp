#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "tls_material.hpp"

namespace arachne::testing {

/// A loopback HTTP(S) server that behaves, and misbehaves, on purpose: one
/// behaviour per path (see bad_server.cpp). Binds 127.0.0.1 on a free port;
/// every connection gets its own thread, and every slow behaviour ends by
/// itself within seconds.
class bad_server {
public:
  /// Plain HTTP, or HTTPS with the given certificate and key.
  explicit bad_server(std::optional<site::tls_material> tls = std::nullopt);
  ~bad_server();

  bad_server(const bad_server&) = delete;
  bad_server& operator=(const bad_server&) = delete;

  uint16_t port() const noexcept;

  /// `http://127.0.0.1:PORT` + path (https with TLS).
  std::string url(std::string_view path) const;

  /// Connections accepted so far.
  uint64_t connections() const noexcept;

  /// Makes the compressed bombs (/br-bomb, /zstd-bomb, /zstd-wide) now,
  /// which takes seconds on a busy machine: a test calls it before its
  /// client's time limits run (else the first such request waits for them).
  void make_bombs();

  struct impl;

private:
  std::unique_ptr<impl> impl_;
};

} // namespace arachne::testing
