#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "caf/timespan.hpp"

#include "site_model.hpp"
#include "tls_material.hpp"

namespace arachne::site {

/// How the demo site serves (as opposed to what it serves).
struct server_options {
  uint32_t threads = 1;                                    // IO threads
  caf::timespan latency{0};                                // delay before every response
  caf::timespan load_latency{0}; // more delay per other request the host is answering
  caf::timespan idle_timeout = std::chrono::seconds(30);  // keep-alive connections
  std::string access_log;                                  // file path; empty for none
  uint64_t cache_bytes = 0; // generated responses kept for the next request; 0 = none
};

/// Serves a `site_model` over HTTP/1.1 (or HTTPS with a generated CA) on one
/// port of every host's loopback address, gzip-encoding its compressible
/// answers for clients that accept gzip. Beast inside; nothing of it leaks here.
class site_server {
public:
  site_server(site_params params, server_options opts);
  ~site_server();

  site_server(const site_server&) = delete;
  site_server& operator=(const site_server&) = delete;

  /// Binds every host's address on `port` (0: one free port for all);
  /// returns an error message, or an empty string.
  std::string listen(uint16_t port = 0);

  /// Starts the IO threads; the server answers from now on.
  void start();

  /// Stops accepting, ends the IO threads and flushes the access log.
  void stop();

  /// The port every host listens on (after `listen`).
  uint16_t port() const noexcept;

  /// The site being served; its port is set by `listen`.
  const site_model& model() const noexcept;

  /// The CA and certificate in use, or nullptr without TLS.
  const tls_material* tls() const noexcept;

  /// Responses written so far.
  uint64_t responses() const noexcept;

  /// Writes buffered access-log lines to the file.
  void flush_log();

  /// The implementation, opaque here (it holds the Beast and Asio state).
  struct impl;

private:
  std::unique_ptr<impl> impl_;
};

} // namespace arachne::site
