#pragma once

// A small HTTP/1.1 server on Beast for /metrics and the control API
// (--metrics=HOST:PORT). Beast stays inside http_server.cpp: this header
// names neither Beast nor CAF.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace arachne {

/// A request the server read.
struct http_call {
  std::string method;        // GET, POST, ...
  std::string target;        // path and query as sent
  std::string authorization; // the Authorization header, if any
  std::string body;
};

/// The answer to one.
struct http_answer {
  unsigned status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

/// Answers a call: callable once, from any thread.
using http_reply = std::function<void(http_answer)>;

/// Serves `handle(call, reply)` for every request; the handler must return
/// at once and call `reply` later (from any thread). A call not answered
/// within 10 s gets 503.
class http_server {
public:
  using handler = std::function<void(http_call, http_reply)>;

  struct limits {
    std::size_t connections = 32;      // open at once; more wait in the listen queue
    std::size_t header_bytes = 8192;   // a request's head
    std::size_t body_bytes = 1 << 20;  // a request's body
    unsigned idle_seconds = 30;        // a connection with no request is closed after this
  };

  /// Listens on host:port (port 0: any free one) and serves on a thread of
  /// its own. On failure, null with `error` set.
  static std::unique_ptr<http_server> start(const std::string& host, uint16_t port, handler h,
                                            std::string& error, limits lim);
  static std::unique_ptr<http_server> start(const std::string& host, uint16_t port, handler h,
                                            std::string& error) {
    return start(host, port, std::move(h), error, limits{});
  }

  ~http_server(); // stops: closes the listener and connections, joins the thread

  /// The port it listens on.
  uint16_t port() const noexcept;

  struct impl;

private:
  explicit http_server(std::unique_ptr<impl> d);
  std::unique_ptr<impl> d_;
};

} // namespace arachne
