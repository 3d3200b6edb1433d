#pragma once

// The Beast and Asio types the parts of the HTTP client share: streams,
// connections, the IO threads (workers) and `http_client::impl`. Private to
// the framework and never installed: arachne/http_client.hpp shows none of it.
//
// Every request is pinned to the IO thread its host hashes to, so that all
// connections to a host live in one pool on one thread: the pools, the DNS
// cache and the sessions of a thread are touched by that thread only, and no
// locks are needed.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "arachne/http_client.hpp"
#include "http/cookie_store.hpp"
#include "http/dns_cache.hpp"

namespace beast = boost::beast; // from <boost/beast.hpp>
namespace http = beast::http;   // from <boost/beast/http.hpp>
namespace asio = boost::asio;   // from <boost/asio.hpp>
namespace ssl = asio::ssl;      // from <boost/asio/ssl.hpp>
using tcp = asio::ip::tcp;

namespace arachne::http_detail {

using clock_type = std::chrono::steady_clock;

/// Bytes a connection's read buffer has room for (each read asks the socket
/// for up to this much).
inline constexpr std::size_t read_room = 16384;

/// A TLS stream as the next layer of another TLS stream: the tunnel to an
/// https:// target inside the TLS connection to an https:// proxy. Asio's
/// SSL stream wants `lowest_layer_type` of its next layer, which Beast's does
/// not declare; this adds it and passes the IO through.
class tls_tunnel {
public:
  using next_layer_type = beast::ssl_stream<beast::tcp_stream>;
  using executor_type = next_layer_type::executor_type;
  using lowest_layer_type = tcp::socket::lowest_layer_type;

  explicit tls_tunnel(std::unique_ptr<next_layer_type> outer) : outer_(std::move(outer)) {}

  executor_type get_executor() { return outer_->get_executor(); }
  next_layer_type& next_layer() { return *outer_; }
  lowest_layer_type& lowest_layer() { return beast::get_lowest_layer(*outer_).socket().lowest_layer(); }

  template <class Buffers, class Handler>
  auto async_read_some(const Buffers& b, Handler&& h) {
    return outer_->async_read_some(b, std::forward<Handler>(h));
  }

  template <class Buffers, class Handler>
  auto async_write_some(const Buffers& b, Handler&& h) {
    return outer_->async_write_some(b, std::forward<Handler>(h));
  }

private:
  std::unique_ptr<next_layer_type> outer_;
};

/// One TCP connection, plain, TLS, or TLS inside TLS (an https:// target
/// through an https:// proxy), with the bytes read past the last response.
struct connection {
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls;
  std::unique_ptr<beast::ssl_stream<tls_tunnel>> nested;
  beast::flat_buffer buffer;
  std::string key;
  std::string remote;
  clock_type::time_point idle_since;

  beast::tcp_stream& tcp() {
    return nested ? beast::get_lowest_layer(*nested)
                  : tls ? beast::get_lowest_layer(*tls) : *plain;
  }

  template <class F>
  void with_stream(F&& f) {
    if (nested)
      f(*nested);
    else if (tls)
      f(*tls);
    else
      f(*plain);
  }

  /// Moves the TLS connection to the proxy inside a new TLS stream to the target.
  void nest(ssl::context& ctx) {
    nested = std::make_unique<beast::ssl_stream<tls_tunnel>>(tls_tunnel{std::move(tls)}, ctx);
  }

  /// True if the peer has not closed or sent anything unexpected while idle.
  bool looks_alive();

  /// Shuts the socket down and closes it; errors are ignored.
  void close();
};

class session;
struct name_query;

/// One IO thread with its io_context, connection pool, DNS cache and sessions.
struct worker {
  worker(const dns_overrides& overrides, const resolver_settings& names)
    : guard(ioc.get_executor()), dns(overrides), resolver(ioc, names), sweeper(ioc) {}

  asio::io_context ioc{1};
  asio::executor_work_guard<asio::io_context::executor_type> guard;
  std::thread thread;
  std::unordered_map<std::string, std::vector<std::unique_ptr<connection>>> pool;
  std::size_t idle = 0;
  dns_cache dns;
  http_detail::resolver resolver; // c-ares, on this thread
  std::unordered_set<session*> sessions;
  std::unordered_set<name_query*> queries; // http_client::resolve's, under way
  asio::steady_timer sweeper;
  bool stopping = false;
};

} // namespace arachne::http_detail

namespace arachne {

struct http_client::impl {
  http_options opts;
  std::optional<asio::ip::address> source; // opts.source_address, parsed
  ssl::context tls{ssl::context::tls_client};
  http_detail::dns_overrides overrides; // "host:port" -> address (before the workers: they refer to it)
  http_detail::resolver_settings names; // --dns-server, --ip-version
  std::vector<std::unique_ptr<http_detail::worker>> workers;
  std::vector<std::pair<std::string, std::string>> extra_headers;
  std::unique_ptr<http_detail::cookie_store> cookies; // null with --cookies=off
  std::atomic<bool> stopped{false};
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> opened{0};
  std::atomic<uint64_t> reused{0};
  std::atomic<uint64_t> idle{0};

  // -- the pool (pool.cpp) -------------------------------------------------------

  /// Closes every idle connection of `w` (descriptors are short); returns how many.
  std::size_t drop_idle(http_detail::worker& w);

  /// Closes what has been idle too long, then again every second.
  void sweep(http_detail::worker& w);

  /// Keeps a connection whose exchange left it clean, if the pool has room.
  void put_back(http_detail::worker& w, std::unique_ptr<http_detail::connection> conn);

  /// A live idle connection for `key`, or null.
  std::unique_ptr<http_detail::connection> take(http_detail::worker& w, const std::string& key);
};

} // namespace arachne
