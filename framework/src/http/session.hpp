#pragma once

// One request's walk through its hops; private to the framework. The steps
// are defined by concern: session.cpp (start, DNS, connect, TLS, endings),
// connect_tunnel.cpp (HTTP CONNECT), socks5.cpp (SOCKS5) and exchange.cpp
// (the request, its response, redirects).

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "caf/timespan.hpp"

#include "arachne/errors.hpp"
#include "arachne/messages.hpp"
#include "arachne/proxy.hpp"
#include "arachne/url.hpp"
#include "http/content_decoder.hpp"
#include "http/dns_cache.hpp"
#include "http/socks5.hpp"
#include "http/transport.hpp"

namespace arachne::http_detail {

// Walks one request through its hops: resolve -> connect -> [proxy: TLS to
// the proxy, CONNECT or SOCKS5] -> handshake -> write -> read header -> read
// body -> (redirect: next hop | done). Sessions contain no CAF code; they end
// by calling the request's callback exactly once.
class session : public std::enable_shared_from_this<session> {
public:
  session(http_client::impl& client, worker& w, fetch_request req, url target,
          http_client::callback done);

  ~session();

  void start();

  /// Ends the session as `cancelled` (the client is stopping).
  void cancel();

private:
  // -- hops (session.cpp) ----------------------------------------------------------

  std::string pool_key() const;

  /// True if requests go to an HTTP(S) proxy in absolute form (no tunnel).
  bool forwarding() const;

  std::string proxy_name() const;

  void begin_hop();

  clock_type::time_point until(caf::timespan limit) const;

  // -- DNS (session.cpp) -----------------------------------------------------------

  using next_step = void (session::*)(std::vector<tcp::endpoint>);

  void resolve();
  void on_socks_target(std::vector<tcp::endpoint> endpoints);
  void lookup(const std::string& host, uint16_t port, next_step next);
  void on_resolve(const std::string& error, resolver::answer a, const std::string& host,
                  uint16_t port, next_step next);

  // -- connect (session.cpp) -------------------------------------------------------

  void open_connection();
  void connect(std::vector<tcp::endpoint> endpoints);
  void connect_from_source(const std::vector<tcp::endpoint>& endpoints);
  void on_connect(beast::error_code ec, const tcp::endpoint& ep);
  void on_proxy_connected();

  /// The process is out of file descriptors: a local condition, not the
  /// site's. Frees this thread's idle connections and calls `again` once one
  /// may be free, within the stage's connect limit.
  void wait_for_descriptor(const std::string& what, void (session::*again)());
  void reconnect();
  void connect_next();

  /// The proxy has connected us to the target: from here on it is the target.
  void tunnel_ready();

  // -- HTTP CONNECT tunnel (connect_tunnel.cpp) ------------------------------------

  void send_connect();
  void read_connect_reply();
  void on_connect_reply(beast::error_code ec);

  /// The stream the CONNECT exchange runs on: TLS to an https:// proxy, else TCP.
  template <class F>
  void with_proxy_stream(F&& f) {
    if (proxy_->kind == proxy_kind::https)
      f(*conn_->tls);
    else
      f(conn_->tcp());
  }

  // -- SOCKS5 (socks5.cpp) ---------------------------------------------------------

  using socks_step = void (session::*)();

  auto socks_then(socks_step next);
  void socks_write(socks_step next);
  void socks_read(std::size_t n, socks_step next);
  void socks_greet();
  void socks_read_method();
  void on_socks_method();
  void socks_read_auth();
  void on_socks_auth();
  void socks_request();
  std::optional<socks5::bytes> socks_request_bytes() const;
  void socks_read_reply();
  void on_socks_reply_head();
  void socks_refused(uint8_t rep);

  // -- TLS (session.cpp) -----------------------------------------------------------

  void handshake();

  template <class Stream>
  void handshake(Stream& stream);

  void on_handshake(beast::error_code ec);

  // -- request and response (exchange.cpp) -----------------------------------------

  void send_request();
  void add_cookies();
  void store_cookies();
  bool returns_with_cookie(const std::string& location) const;
  void record_request();
  void on_written(beast::error_code ec, std::size_t);
  void blame_forwarding_proxy(const beast::error_code& ec);
  bool retry_on_fresh_connection();
  void on_header(beast::error_code ec, std::size_t n);
  void on_header_failed(const beast::error_code& ec);
  void read_body();
  void on_body(beast::error_code ec, std::size_t n);
  void body_done();
  void hop_done();
  void redirect(const std::string& location);
  void set_content_type(const std::string& value);

  // -- endings (session.cpp) -------------------------------------------------------

  void fail_io(const beast::error_code& ec, crawl_errc kind, const std::string& what,
               caf::timespan stage_limit);
  void fail(crawl_errc kind, std::string message);
  void complete();

  // -- state -----------------------------------------------------------------------

  http_client::impl& client_;
  worker& worker_;
  fetch_request req_;
  uint64_t body_limit_ = client_.opts.max_body_bytes; // the body's limit for this request
  bool truncate_ = client_.opts.truncate_body;         // over it: cut, not failed
  url url_;
  http_client::callback done_;
  fetch_result res_;
  dns_lookup dns_;
  std::unique_ptr<connection> conn_;
  std::optional<proxy_spec> proxy_;           // nullopt: direct
  bool at_proxy_ = false;                     // talking to the proxy, no tunnel yet
  std::optional<tcp::endpoint> socks_target_; // SOCKS5 with local DNS: the target's address
  std::vector<tcp::endpoint> endpoints_;       // what connect() goes to, for reconnect()
  std::size_t next_endpoint_ = 0;              // the one tried now
  std::unique_ptr<asio::steady_timer> fd_wait_; // waiting for a free file descriptor
  caf::timespan fd_backoff_{};
  socks5::bytes socks_out_;
  std::array<uint8_t, 262> socks_in_{};
  http::request<http::empty_body> connect_req_;
  std::optional<http::response_parser<http::empty_body>> connect_parser_;
  http::request<http::string_body> request_;
  bool post_ = false; // this hop sends req_.body with POST (a 307/308 keeps it, others drop it)
  std::optional<http::response_parser<http::buffer_body>> parser_;
  std::optional<content_decoder> decoder_;
  std::string body_;
  char buffer_[16384];
  std::set<std::string> visited_;
  clock_type::time_point start_, deadline_, hop_start_, stage_start_, sent_at_;
  bool reused_ = false;
  bool retried_ = false;
  bool keep_alive_ = false;
  bool cookies_set_ = false;   // this hop's response changed the cookie jar
  bool finished_ = false;
};

} // namespace arachne::http_detail
