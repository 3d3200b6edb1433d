// The HTTP client: Beast sessions on a few IO threads, one io_context each.
//
// Every request is pinned to the IO thread its host hashes to, so that all
// connections to a host live in one pool on one thread: the pools, the DNS
// cache and the sessions of a thread are touched by that thread only, and no
// locks are needed. Sessions contain no CAF code; they end by calling the
// request's callback exactly once.

#include "arachne/http_client.hpp"

#include "caf/sec.hpp"

#include <atomic>
#include <chrono>
#include <map>
#include <algorithm>
#include <array>
#include <optional>
#include <set>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include <sys/socket.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/core/detail/base64.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "arachne/options.hpp"
#include "arachne/partition.hpp"
#include "arachne/proxy.hpp"
#include "arachne/url.hpp"
#include "arachne/http_semantics.hpp"
#include "http/content_decoder.hpp"
#include "text.hpp"

namespace beast = boost::beast; // from <boost/beast.hpp>
namespace http = beast::http;   // from <boost/beast/http.hpp>
namespace asio = boost::asio;   // from <boost/asio.hpp>
namespace ssl = asio::ssl;      // from <boost/asio/ssl.hpp>
using tcp = asio::ip::tcp;

namespace arachne {

namespace {

using clock_type = std::chrono::steady_clock;

/// Bytes a connection's read buffer has room for (each read asks the socket
/// for up to this much).
constexpr std::size_t read_room = 16384;

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
  bool looks_alive() {
    if (buffer.size() > 0)
      return false;
    auto& sock = tcp().socket();
    if (!sock.is_open())
      return false;
    char byte;
    auto n = ::recv(sock.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
  }

  void close() {
    beast::error_code ignored;
    tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
    tcp().socket().close(ignored);
  }
};

struct dns_entry {
  std::vector<tcp::endpoint> endpoints;
  clock_type::time_point expires;
};

class session;

/// One IO thread with its io_context, connection pool, DNS cache and sessions.
struct worker {
  explicit worker() : guard(ioc.get_executor()), sweeper(ioc) {}

  asio::io_context ioc{1};
  asio::executor_work_guard<asio::io_context::executor_type> guard;
  std::thread thread;
  std::unordered_map<std::string, std::vector<std::unique_ptr<connection>>> pool;
  std::size_t idle = 0;
  std::unordered_map<std::string, dns_entry> dns;
  std::unordered_set<session*> sessions;
  asio::steady_timer sweeper;
  bool stopping = false;
};

} // namespace

struct http_client::impl {
  http_options opts;
  std::optional<asio::ip::address> source; // opts.source_address, parsed
  ssl::context tls{ssl::context::tls_client};
  std::vector<std::unique_ptr<worker>> workers;
  std::map<std::string, asio::ip::address> overrides; // "host:port" -> address
  std::vector<std::pair<std::string, std::string>> extra_headers;
  std::atomic<bool> stopped{false};
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> opened{0};
  std::atomic<uint64_t> reused{0};
  std::atomic<uint64_t> idle{0};

  void sweep(worker& w);
  void put_back(worker& w, std::unique_ptr<connection> conn);
  std::unique_ptr<connection> take(worker& w, const std::string& key);
};

namespace {

bool is_tls_error(const beast::error_code& ec) {
  return ec.category() == asio::error::get_ssl_category()
         || ec.category() == ssl::error::get_stream_category();
}

/// Basic credentials for a Proxy-Authorization header.
std::string basic_credentials(const proxy_spec& p) {
  auto plain = p.username + ":" + p.password;
  std::string out;
  out.resize(beast::detail::base64::encoded_size(plain.size()));
  out.resize(beast::detail::base64::encode(out.data(), plain.data(), plain.size()));
  return "Basic " + out;
}

// Walks one request through its hops: resolve -> connect -> [proxy: TLS to
// the proxy, CONNECT or SOCKS5] -> handshake -> write -> read header -> read
// body -> (redirect: next hop | done).
class session : public std::enable_shared_from_this<session> {
public:
  session(http_client::impl& client, worker& w, fetch_request req, url target,
          http_client::callback done)
    : client_(client),
      worker_(w),
      req_(std::move(req)),
      url_(std::move(target)),
      done_(std::move(done)),
      resolver_(w.ioc),
      dns_timer_(w.ioc) {
    res_.id = req_.id;
    res_.url = req_.url;
    // A request may ask for less of the body than the client's limit (a
    // robots.txt: the first 500 KiB); what is over it is cut, not a failure.
    if (req_.max_body_bytes != 0 && req_.max_body_bytes < body_limit_) {
      body_limit_ = req_.max_body_bytes;
      truncate_ = true;
    }
  }

  void start() {
    worker_.sessions.insert(this);
    start_ = clock_type::now();
    deadline_ = start_ + client_.opts.total_timeout;
    if (worker_.stopping)
      return fail(crawl_errc::cancelled, "the client is stopping");
    if (!req_.proxy.empty()) {
      auto spec = parse_proxy(req_.proxy);
      if (!spec) {
        res_.fault = proxy_fault::proxy;
        return fail(crawl_errc::proxy_failed, spec.error().context().match_elements<std::string>()
                                                ? spec.error().context().get_as<std::string>(0)
                                                : "bad proxy URL");
      }
      if (spec->kind != proxy_kind::direct) {
        proxy_ = std::move(*spec);
        res_.proxy = proxy_->label;
      }
    }
    visited_.insert(url_.str());
    begin_hop();
  }

  /// Ends the session as `cancelled` (the client is stopping).
  void cancel() {
    resolver_.cancel();
    dns_timer_.cancel();
    if (conn_)
      conn_->close();
  }

private:
  // -- hops ----------------------------------------------------------------------

  std::string pool_key() const {
    auto key = std::string{url_.scheme()} + "://" + std::string{url_.authority()};
    // Connections through a proxy are never shared with another route.
    if (proxy_)
      key += " via " + proxy_->url;
    return key;
  }

  /// True if requests go to an HTTP(S) proxy in absolute form (no tunnel).
  bool forwarding() const {
    return proxy_ && (proxy_->kind == proxy_kind::http || proxy_->kind == proxy_kind::https)
           && !url_.is_https();
  }

  std::string proxy_name() const { return "proxy " + proxy_->label; }

  void begin_hop() {
    hop_start_ = clock_type::now();
    reused_ = false;
    at_proxy_ = false;
    socks_target_.reset();
    if (auto conn = client_.take(worker_, pool_key())) {
      conn_ = std::move(conn);
      reused_ = true;
      ++client_.reused;
      return send_request();
    }
    resolve();
  }

  clock_type::time_point until(caf::timespan limit) const {
    return std::min(hop_start_ + limit, deadline_);
  }

  // -- DNS -----------------------------------------------------------------------

  // Resolves what the TCP connection goes to: the target, or the proxy (for
  // SOCKS5 with local DNS, the target first, then the proxy).
  void resolve() {
    stage_start_ = clock_type::now();
    if (!proxy_)
      return lookup(std::string{url_.hostname()}, url_.port(), &session::connect);
    if (proxy_->kind == proxy_kind::socks5 && !socks_target_)
      return lookup(std::string{url_.hostname()}, url_.port(), &session::on_socks_target);
    at_proxy_ = true;
    lookup(proxy_->host, proxy_->port, &session::connect);
  }

  void on_socks_target(std::vector<tcp::endpoint> endpoints) {
    // One address goes to the proxy: IPv4 if there is one (what most proxies reach).
    auto v4 = std::find_if(endpoints.begin(), endpoints.end(),
                           [](const tcp::endpoint& e) { return e.address().is_v4(); });
    socks_target_ = v4 != endpoints.end() ? *v4 : endpoints.front();
    resolve();
  }

  using next_step = void (session::*)(std::vector<tcp::endpoint>);

  void lookup(const std::string& host, uint16_t port, next_step next) {
    // An IP literal needs no lookup.
    beast::error_code not_ip;
    auto literal = asio::ip::make_address(host, not_ip);
    if (!not_ip)
      return (this->*next)({tcp::endpoint{literal, port}});
    auto key = host + ":" + std::to_string(port);
    if (auto i = client_.overrides.find(key); i != client_.overrides.end())
      return (this->*next)({tcp::endpoint{i->second, port}});
    // RFC 6761: ".invalid" never resolves.
    if (host == "invalid" || (host.size() > 8 && host.compare(host.size() - 8, 8, ".invalid") == 0))
      return fail(at_proxy_ ? crawl_errc::proxy_failed : crawl_errc::dns_failed,
                  (at_proxy_ ? proxy_name() + ": cannot resolve '" : "cannot resolve '") + host
                    + "': reserved .invalid name");
    if (auto i = worker_.dns.find(key); i != worker_.dns.end()) {
      if (i->second.expires > clock_type::now())
        return (this->*next)(i->second.endpoints);
      worker_.dns.erase(i);
    }
    // getaddrinfo has no timeout of its own: a timer cancels the lookup. A
    // session may look up twice (SOCKS5: target, then proxy): a timer that
    // fired for the first lookup must not touch the second.
    dns_timed_out_ = false;
    auto lookup_id = ++lookups_;
    dns_timer_.expires_at(until(client_.opts.connect_timeout));
    dns_timer_.async_wait([self = shared_from_this(), lookup_id](beast::error_code ec) {
      if (!ec && self->lookups_ == lookup_id && !self->lookup_done_) {
        self->dns_timed_out_ = true;
        self->resolver_.cancel();
      }
    });
    lookup_done_ = false;
    resolver_.async_resolve(host, std::to_string(port),
                            [self = shared_from_this(), key, host, next](
                              beast::error_code ec, tcp::resolver::results_type results) {
                              self->lookup_done_ = true;
                              self->dns_timer_.cancel();
                              self->on_resolve(ec, std::move(results), key, host, next);
                            });
  }

  void on_resolve(beast::error_code ec, tcp::resolver::results_type results,
                  const std::string& key, const std::string& host, next_step next) {
    res_.timings.dns += clock_type::now() - stage_start_;
    if (worker_.stopping)
      return fail(crawl_errc::cancelled, "the client is stopping");
    // A proxy that cannot be resolved is the proxy's failure, not the page's.
    auto kind = at_proxy_ ? crawl_errc::proxy_failed : crawl_errc::dns_failed;
    auto what = at_proxy_ ? proxy_name() + ": cannot resolve '" : "cannot resolve '";
    if (dns_timed_out_)
      return fail(kind, what + host + "': lookup timed out");
    if (ec || results.empty())
      return fail(kind, what + host + "': " + ec.message());
    std::vector<tcp::endpoint> endpoints;
    for (auto& r : results)
      endpoints.push_back(r.endpoint());
    worker_.dns[key] = dns_entry{endpoints, clock_type::now() + client_.opts.dns_ttl};
    (this->*next)(std::move(endpoints));
  }

  // -- connect and TLS -----------------------------------------------------------

  void connect(std::vector<tcp::endpoint> endpoints) {
    stage_start_ = clock_type::now();
    conn_ = std::make_unique<connection>();
    // Beast reads as much as the buffer has room for, and a flat buffer
    // that starts empty stays at 512 bytes: one read per 512 bytes of a
    // response. Room for a typical page takes one or two reads.
    conn_->buffer.reserve(read_room);
    conn_->key = pool_key();
    // TLS to the target, or to an https:// proxy (then, for an https target,
    // TLS to the target inside it once the tunnel stands).
    if (url_.is_https() || (proxy_ && proxy_->kind == proxy_kind::https))
      conn_->tls = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(worker_.ioc, client_.tls);
    else
      conn_->plain = std::make_unique<beast::tcp_stream>(worker_.ioc);
    conn_->tcp().expires_at(until(client_.opts.connect_timeout));
    if (client_.source) {
      // From one local address: to the first address of its family.
      auto it = std::find_if(endpoints.begin(), endpoints.end(), [&](const tcp::endpoint& ep) {
        return ep.address().is_v4() == client_.source->is_v4();
      });
      if (it == endpoints.end())
        return fail(at_proxy_ ? crawl_errc::proxy_failed : crawl_errc::connect_failed,
                    "no address of " + client_.source->to_string() + "'s family");
      beast::error_code ec;
      auto& sock = conn_->tcp().socket();
      sock.open(it->protocol(), ec);
      if (!ec)
        sock.bind(tcp::endpoint{*client_.source, 0}, ec);
      if (ec)
        return fail(crawl_errc::connect_failed,
                    "cannot connect from " + client_.source->to_string() + ": " + ec.message());
      conn_->tcp().async_connect(*it, [self = shared_from_this(), ep = *it](beast::error_code ec) {
        self->on_connect(ec, ep);
      });
      return;
    }
    conn_->tcp().async_connect(
      endpoints, [self = shared_from_this()](beast::error_code ec, const tcp::endpoint& ep) {
        self->on_connect(ec, ep);
      });
  }

  void on_connect(beast::error_code ec, const tcp::endpoint& ep) {
    res_.timings.connect += clock_type::now() - stage_start_;
    if (ec) {
      if (at_proxy_)
        return fail_io(ec, crawl_errc::proxy_failed, "connect to " + proxy_name(),
                       client_.opts.connect_timeout);
      return fail_io(ec, crawl_errc::connect_failed, "connect to " + std::string{url_.authority()},
                     client_.opts.connect_timeout);
    }
    ++client_.opened;
    beast::error_code ignored;
    conn_->tcp().socket().set_option(tcp::no_delay(true), ignored);
    conn_->remote = ep.address().to_string() + ":" + std::to_string(ep.port());
    if (proxy_) {
      switch (proxy_->kind) {
        case proxy_kind::socks5:
        case proxy_kind::socks5h:
          return socks_greet();
        case proxy_kind::https:
          return handshake(); // with the proxy; CONNECT or forwarding follows
        default:
          if (!forwarding())
            return send_connect();
          at_proxy_ = false;
          return send_request();
      }
    }
    if (!conn_->tls)
      return send_request();
    handshake();
  }

  // -- HTTP CONNECT tunnel -------------------------------------------------------

  void send_connect() {
    auto authority = std::string{url_.host()} + ":" + std::to_string(url_.port());
    connect_req_ = {};
    connect_req_.method(http::verb::connect);
    connect_req_.target(authority);
    connect_req_.version(11);
    connect_req_.set(http::field::host, authority);
    connect_req_.set(http::field::user_agent, client_.opts.user_agent);
    if (proxy_->has_credentials())
      connect_req_.set(http::field::proxy_authorization, basic_credentials(*proxy_));
    conn_->tcp().expires_at(until(client_.opts.connect_timeout));
    with_proxy_stream([this](auto& stream) {
      http::async_write(stream, connect_req_,
                        [self = shared_from_this()](beast::error_code ec, std::size_t) {
                          if (ec)
                            return self->fail_io(ec, crawl_errc::proxy_failed,
                                                 "CONNECT to " + self->proxy_name(),
                                                 self->client_.opts.connect_timeout);
                          self->read_connect_reply();
                        });
    });
  }

  /// The stream the CONNECT exchange runs on: TLS to an https:// proxy, else TCP.
  template <class F>
  void with_proxy_stream(F&& f) {
    if (proxy_->kind == proxy_kind::https)
      f(*conn_->tls);
    else
      f(conn_->tcp());
  }

  void read_connect_reply() {
    connect_parser_.emplace();
    connect_parser_->skip(true); // a CONNECT reply's body is the tunnel
    with_proxy_stream([this](auto& stream) {
      http::async_read_header(stream, conn_->buffer, *connect_parser_,
                              [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                self->on_connect_reply(ec);
                              });
    });
  }

  void on_connect_reply(beast::error_code ec) {
    if (ec)
      return fail_io(ec, crawl_errc::proxy_failed, "reading the CONNECT reply of " + proxy_name(),
                     client_.opts.connect_timeout);
    auto status = connect_parser_->get().result_int();
    connect_parser_.reset();
    // Some proxies (tinyproxy 1.11) answer 401 instead of 407.
    if (status == 407 || status == 401)
      return fail(crawl_errc::proxy_auth_failed, proxy_name() + " rejected the credentials ("
                                                   + std::to_string(status) + " to CONNECT)");
    if (status < 200 || status > 299) {
      res_.fault = proxy_fault::tunnel;
      return fail(crawl_errc::proxy_failed, proxy_name() + " refused the tunnel to "
                                              + std::string{url_.authority()} + " ("
                                              + std::to_string(status) + " to CONNECT)");
    }
    if (conn_->buffer.size() > 0)
      return fail(crawl_errc::proxy_failed, proxy_name() + " sent bytes after the CONNECT reply");
    tunnel_ready();
  }

  /// The proxy has connected us to the target: from here on it is the target.
  void tunnel_ready() {
    at_proxy_ = false;
    if (proxy_->kind == proxy_kind::https)
      conn_->nest(client_.tls);
    if (!conn_->tls && !conn_->nested)
      return send_request();
    handshake();
  }

  // -- SOCKS5 (RFC 1928, RFC 1929) -------------------------------------------------

  using socks_step = void (session::*)();

  // Completion of one SOCKS5 write or read: the next step, or the proxy's failure.
  auto socks_then(socks_step next) {
    return [self = shared_from_this(), next](beast::error_code ec, std::size_t) {
      if (ec)
        return self->fail_io(ec, crawl_errc::proxy_failed, "SOCKS5 exchange with " + self->proxy_name(),
                             self->client_.opts.connect_timeout);
      (self.get()->*next)();
    };
  }

  void socks_write(std::size_t n, socks_step next) {
    asio::async_write(conn_->tcp(), asio::buffer(socks_out_.data(), n), socks_then(next));
  }

  void socks_read(std::size_t n, socks_step next) {
    asio::async_read(conn_->tcp(), asio::buffer(socks_in_.data(), n), socks_then(next));
  }

  void socks_greet() {
    conn_->tcp().expires_at(until(client_.opts.connect_timeout));
    std::size_t n = 0;
    socks_out_[n++] = 0x05;
    if (proxy_->has_credentials()) {
      socks_out_[n++] = 2;
      socks_out_[n++] = 0x00; // no authentication
      socks_out_[n++] = 0x02; // username/password
    } else {
      socks_out_[n++] = 1;
      socks_out_[n++] = 0x00;
    }
    socks_write(n, &session::socks_read_method);
  }

  void socks_read_method() { socks_read(2, &session::on_socks_method); }

  void on_socks_method() {
    if (socks_in_[0] != 0x05)
      return fail(crawl_errc::proxy_failed, proxy_name() + " does not speak SOCKS5");
    if (socks_in_[1] == 0xFF)
      return fail(crawl_errc::proxy_auth_failed,
                  proxy_name() + (proxy_->has_credentials()
                                    ? " accepts no authentication method we offer"
                                    : " requires credentials"));
    if (socks_in_[1] == 0x00)
      return socks_request();
    if (socks_in_[1] != 0x02 || !proxy_->has_credentials())
      return fail(crawl_errc::proxy_failed, proxy_name() + " chose an authentication method "
                                              "we did not offer");
    std::size_t n = 0;
    socks_out_[n++] = 0x01;
    socks_out_[n++] = static_cast<uint8_t>(proxy_->username.size());
    for (char c : proxy_->username)
      socks_out_[n++] = static_cast<uint8_t>(c);
    socks_out_[n++] = static_cast<uint8_t>(proxy_->password.size());
    for (char c : proxy_->password)
      socks_out_[n++] = static_cast<uint8_t>(c);
    socks_write(n, &session::socks_read_auth);
  }

  void socks_read_auth() { socks_read(2, &session::on_socks_auth); }

  void on_socks_auth() {
    if (socks_in_[1] != 0x00)
      return fail(crawl_errc::proxy_auth_failed, proxy_name() + " rejected the credentials");
    socks_request();
  }

  void socks_request() {
    std::size_t n = 0;
    socks_out_[n++] = 0x05;
    socks_out_[n++] = 0x01; // CONNECT
    socks_out_[n++] = 0x00;
    auto put_address = [&](const asio::ip::address& a) {
      if (a.is_v4()) {
        socks_out_[n++] = 0x01;
        for (auto b : a.to_v4().to_bytes())
          socks_out_[n++] = b;
      } else {
        socks_out_[n++] = 0x04;
        for (auto b : a.to_v6().to_bytes())
          socks_out_[n++] = b;
      }
    };
    auto host = std::string{url_.hostname()};
    beast::error_code not_ip;
    auto literal = asio::ip::make_address(host, not_ip);
    if (socks_target_) {
      put_address(socks_target_->address());
    } else if (!not_ip) {
      put_address(literal);
    } else {
      if (host.size() > 255)
        return fail(crawl_errc::invalid_url, "host name too long for SOCKS5");
      socks_out_[n++] = 0x03; // the proxy resolves the name
      socks_out_[n++] = static_cast<uint8_t>(host.size());
      for (char c : host)
        socks_out_[n++] = static_cast<uint8_t>(c);
    }
    socks_out_[n++] = static_cast<uint8_t>(url_.port() >> 8);
    socks_out_[n++] = static_cast<uint8_t>(url_.port() & 0xFF);
    socks_write(n, &session::socks_read_reply);
  }

  // The reply: VER REP RSV ATYP, then the bound address, read in two steps
  // (the first five bytes tell how long the address is).
  void socks_read_reply() { socks_read(5, &session::on_socks_reply_head); }

  void on_socks_reply_head() {
    if (socks_in_[0] != 0x05)
      return fail(crawl_errc::proxy_failed, proxy_name() + " sent a malformed SOCKS5 reply");
    if (auto rep = socks_in_[1]; rep != 0x00)
      return socks_refused(rep);
    std::size_t rest = 0;
    switch (socks_in_[3]) {
      case 0x01: rest = 4 - 1 + 2; break;
      case 0x04: rest = 16 - 1 + 2; break;
      case 0x03: rest = socks_in_[4] + 2u; break;
      default:
        return fail(crawl_errc::proxy_failed, proxy_name() + " sent a malformed SOCKS5 reply");
    }
    socks_read(rest, &session::tunnel_ready);
  }

  void socks_refused(uint8_t rep) {
    static constexpr const char* reasons[] = {
      "succeeded", "general failure", "not allowed by its rules", "network unreachable",
      "host unreachable", "connection refused", "TTL expired", "command not supported",
      "address type not supported"};
    auto reason = rep < 9 ? std::string{reasons[rep]} : "error " + std::to_string(rep);
    auto message = proxy_name() + " could not connect to " + std::string{url_.authority()}
                   + ": " + reason;
    // Unknown commands or address types are the proxy's shortcoming; the rest
    // may be the target's (other proxies will tell).
    if (rep == 0x07 || rep == 0x08 || rep > 8)
      return fail(crawl_errc::proxy_failed, message);
    res_.fault = proxy_fault::tunnel;
    auto kind = rep == 0x06   ? crawl_errc::timeout
                : rep >= 0x03 ? crawl_errc::connect_failed
                              : crawl_errc::proxy_failed;
    fail(kind, message);
  }

  // -- TLS -------------------------------------------------------------------------

  void handshake() {
    if (conn_->nested)
      return handshake(*conn_->nested);
    handshake(*conn_->tls);
  }

  template <class Stream>
  void handshake(Stream& stream) {
    stage_start_ = clock_type::now();
    // TLS to an https:// proxy, or to the target.
    auto host = at_proxy_ ? proxy_->host : std::string{url_.hostname()};
    // Set SNI hostname (many hosts need this to handshake successfully); an
    // IP literal is not a valid SNI name.
    beast::error_code not_ip;
    asio::ip::make_address(host, not_ip);
    if (not_ip && !SSL_set_tlsext_host_name(stream.native_handle(), host.c_str()))
      return fail(crawl_errc::tls_failed, "cannot set SNI for '" + host + "'");
    if (client_.opts.insecure) {
      stream.set_verify_mode(ssl::verify_none);
    } else {
      stream.set_verify_mode(ssl::verify_peer);
      // Checks the certificate's names: DNS names and IP addresses alike.
      stream.set_verify_callback(ssl::host_name_verification(host));
    }
    conn_->tcp().expires_at(until(client_.opts.tls_timeout));
    stream.async_handshake(ssl::stream_base::client,
                           [self = shared_from_this()](beast::error_code ec) {
                             self->on_handshake(ec);
                           });
  }

  void on_handshake(beast::error_code ec) {
    res_.timings.tls += clock_type::now() - stage_start_;
    if (ec)
      return fail_io(ec, crawl_errc::tls_failed,
                     "TLS handshake with "
                       + (at_proxy_ ? proxy_name() : std::string{url_.authority()}),
                     client_.opts.tls_timeout);
    if (at_proxy_ && !forwarding())
      return send_connect(); // over TLS to the proxy
    at_proxy_ = false;
    send_request();
  }

  // -- request and response ------------------------------------------------------

  void send_request() {
    request_ = {};
    request_.method(http::verb::get);
    // Through an HTTP proxy without a tunnel: absolute-form (RFC 9112 3.2.2).
    request_.target(forwarding() ? url_.str() : std::string{url_.target()});
    if (forwarding() && proxy_->has_credentials())
      request_.set(http::field::proxy_authorization, basic_credentials(*proxy_));
    request_.version(11);
    request_.set(http::field::host, std::string{url_.authority()});
    request_.set(http::field::user_agent, client_.opts.user_agent);
    request_.set(http::field::accept, "text/html,application/xhtml+xml,*/*;q=0.8");
    request_.set(http::field::accept_encoding, "gzip, deflate");
    for (auto& [name, value] : client_.extra_headers)
      request_.set(name, value);
    for (auto& [name, value] : req_.headers)
      request_.set(name, value);
    if (req_.keep_request) {
      // The request head as sent, for archives; proxy credentials left out.
      res_.request = std::string{request_.method_string()} + " " + std::string{request_.target()}
                     + " HTTP/1.1\r\n";
      for (auto& field : request_)
        if (field.name() != http::field::proxy_authorization)
          res_.request += std::string{field.name_string()} + ": " + std::string{field.value()} + "\r\n";
      res_.request += "\r\n";
    }
    sent_at_ = clock_type::now();
    conn_->tcp().expires_at(until(client_.opts.ttfb_timeout));
    conn_->with_stream([this](auto& stream) {
      http::async_write(stream, request_,
                        [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                          self->on_written(ec, n);
                        });
    });
  }

  void on_written(beast::error_code ec, std::size_t) {
    if (ec) {
      if (retry_on_fresh_connection())
        return;
      blame_forwarding_proxy(ec);
      return fail_io(ec, crawl_errc::connection_reset, "sending the request",
                     client_.opts.ttfb_timeout);
    }
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(
      std::min<uint64_t>(client_.opts.max_header_bytes, UINT32_MAX)));
    if (truncate_)
      parser_->body_limit(boost::none);
    else
      parser_->body_limit(body_limit_);
    conn_->with_stream([this](auto& stream) {
      http::async_read_header(stream, conn_->buffer, *parser_,
                              [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                                self->on_header(ec, n);
                              });
    });
  }

  // Forwarding through an HTTP proxy, a proxy that works answers even when
  // the site fails (502, 504): a connection that breaks or speaks garbage
  // before any response byte is the proxy's fault; silence until the time
  // limit may be either's, and other proxies decide.
  void blame_forwarding_proxy(const beast::error_code& ec) {
    if (!forwarding() || res_.fault != proxy_fault::none)
      return;
    res_.fault = ec == beast::error::timeout ? proxy_fault::tunnel : proxy_fault::proxy;
  }

  // A pooled connection the server had closed fails before any response
  // byte arrives; GET is idempotent, so it is sent once more on a new one.
  bool retry_on_fresh_connection() {
    if (!reused_ || retried_ || worker_.stopping || (parser_ && parser_->got_some()))
      return false;
    retried_ = true;
    conn_->close();
    conn_.reset();
    parser_.reset();
    reused_ = false;
    resolve();
    return true;
  }

  void on_header(beast::error_code ec, std::size_t n) {
    res_.wire_bytes += n;
    if (ec) {
      if ((ec == http::error::end_of_stream || ec == asio::error::connection_reset
           || ec == asio::error::eof || ec == http::error::partial_message)
          && retry_on_fresh_connection())
        return;
      if (ec == http::error::header_limit)
        return fail(crawl_errc::too_large, "response headers larger than "
                                             + std::to_string(client_.opts.max_header_bytes)
                                             + " bytes");
      // A Content-Length over the limit is refused with the headers.
      if (ec == http::error::body_limit)
        return fail(crawl_errc::too_large, "body larger than "
                                             + std::to_string(body_limit_)
                                             + " bytes");
      blame_forwarding_proxy(ec);
      if (ec == http::error::end_of_stream)
        return fail(crawl_errc::connection_reset, "connection closed before a response");
      return fail_io(ec, crawl_errc::protocol_error, "reading the response headers",
                     client_.opts.ttfb_timeout);
    }
    res_.timings.ttfb += clock_type::now() - sent_at_;
    auto& msg = parser_->get();
    // Only a proxy answers 407 to a forwarded request. A 401 may be the
    // site's or a proxy's that answers 401 to bad credentials (tinyproxy
    // 1.11): other proxies decide.
    if (forwarding() && msg.result_int() == 407) {
      at_proxy_ = true;
      return fail(crawl_errc::proxy_auth_failed, proxy_name() + " rejected the credentials (407)");
    }
    if (forwarding() && msg.result_int() == 401 && proxy_->has_credentials())
      res_.fault = proxy_fault::tunnel;
    auto coding = http_detail::content_decoder::from_header(msg[http::field::content_encoding]);
    if (!coding)
      return fail(crawl_errc::decode_failed, "unsupported Content-Encoding '"
                                               + std::string{msg[http::field::content_encoding]}
                                               + "'");
    decoder_.emplace(*coding, body_limit_, client_.opts.max_compression_ratio);
    body_.clear();
    read_body();
  }

  void read_body() {
    if (parser_->is_done())
      return body_done();
    auto& b = parser_->get().body();
    b.data = buffer_;
    b.size = sizeof(buffer_);
    conn_->tcp().expires_at(deadline_);
    conn_->with_stream([this](auto& stream) {
      http::async_read(stream, conn_->buffer, *parser_,
                       [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                         self->on_body(ec, n);
                       });
    });
  }

  void on_body(beast::error_code ec, std::size_t n) {
    res_.wire_bytes += n;
    if (ec == http::error::need_buffer)
      ec = {};
    auto got = sizeof(buffer_) - parser_->get().body().size;
    if (got > 0) {
      auto kind = decoder_->feed(std::string_view{buffer_, got}, body_);
      if (kind == crawl_errc::too_large && truncate_
          && decoder_->message().find("ratio") == std::string::npos) {
        res_.truncated = true;
        keep_alive_ = false;
        return hop_done();
      }
      if (kind != crawl_errc::none)
        return fail(kind, decoder_->message());
    }
    if (ec) {
      // An EOF-delimited body over TLS without close_notify shows up as
      // stream_truncated: the message is complete if the parser says so.
      if (ec == ssl::error::stream_truncated && parser_->is_done())
        return body_done();
      if (ec == http::error::body_limit)
        return fail(crawl_errc::too_large, "body larger than "
                                             + std::to_string(body_limit_)
                                             + " bytes");
      if (ec == http::error::partial_message || ec == asio::error::connection_reset
          || ec == asio::error::eof || ec == ssl::error::stream_truncated)
        return fail(crawl_errc::connection_reset,
                    "connection broke after " + std::to_string(body_.size()) + " body bytes");
      return fail_io(ec, crawl_errc::protocol_error, "reading the body", caf::timespan{0});
    }
    if (parser_->is_done())
      return body_done();
    read_body();
  }

  void body_done() {
    if (auto kind = decoder_->finish(); kind != crawl_errc::none)
      return fail(kind, decoder_->message());
    keep_alive_ = parser_->get().keep_alive();
    hop_done();
  }

  void hop_done() {
    auto& msg = parser_->get();
    res_.status = static_cast<uint16_t>(msg.result_int());
    res_.remote_address = conn_->remote;
    res_.final_url = url_.str();
    res_.headers.clear();
    for (auto& field : msg)
      res_.headers.emplace_back(std::string{field.name_string()}, std::string{field.value()});
    auto location = std::string{msg[http::field::location]};
    // The connection goes back to the pool if the exchange left it clean.
    if (keep_alive_ && parser_->is_done() && !worker_.stopping)
      client_.put_back(worker_, std::move(conn_));
    else if (conn_)
      conn_->close();
    conn_.reset();
    if (is_redirect(res_.status) && !location.empty() && client_.opts.max_redirects > 0
        && req_.follow_redirects)
      return redirect(location);
    set_content_type(std::string{msg[http::field::content_type]});
    res_.body = shared_bytes{std::move(body_)};
    complete();
  }

  void redirect(const std::string& location) {
    auto next = resolve_url(url_, location);
    if (!next)
      return fail(crawl_errc::invalid_url, "redirect to an unusable Location '" + location + "'");
    if (res_.redirects.size() >= client_.opts.max_redirects)
      return fail(crawl_errc::too_many_redirects,
                  "more than " + std::to_string(client_.opts.max_redirects) + " redirects");
    res_.redirects.push_back(redirect_hop{url_.str(), res_.status});
    if (!visited_.insert(next->str()).second)
      return fail(crawl_errc::redirect_loop, "redirect loop back to " + next->str());
    url_ = std::move(*next);
    res_.status = 0;
    res_.headers.clear();
    parser_.reset();
    decoder_.reset();
    retried_ = false;
    begin_hop();
  }

  void set_content_type(const std::string& value) {
    auto semi = value.find(';');
    std::string type = value.substr(0, semi);
    while (!type.empty() && type.back() == ' ')
      type.pop_back();
    res_.content_type = text::lower(type);
    if (semi == std::string::npos)
      return;
    auto params = value.substr(semi + 1);
    auto pos = text::lower(params).find("charset=");
    if (pos == std::string::npos)
      return;
    auto cs = params.substr(pos + 8);
    cs = cs.substr(0, cs.find(';'));
    cs.erase(0, cs.find_first_not_of(" \"'"));
    cs.erase(cs.find_last_not_of(" \"'") + 1);
    res_.charset = text::lower(cs);
  }

  // -- endings -------------------------------------------------------------------

  // Classifies an IO error: a timeout (stage limit or total), cancellation,
  // TLS trouble, or `kind`.
  void fail_io(const beast::error_code& ec, crawl_errc kind, const std::string& what,
               caf::timespan stage_limit) {
    if (worker_.stopping)
      return fail(crawl_errc::cancelled, "the client is stopping");
    if (ec == beast::error::timeout) {
      if (clock_type::now() >= deadline_ - std::chrono::milliseconds(1))
        return fail(crawl_errc::timeout,
                    what + ": total time limit of " + format_duration(client_.opts.total_timeout)
                      + " exceeded");
      return fail(crawl_errc::timeout, what + " timed out after " + format_duration(stage_limit));
    }
    if (kind == crawl_errc::tls_failed || is_tls_error(ec))
      return fail(crawl_errc::tls_failed, what + ": " + ec.message());
    if (ec == asio::error::connection_reset || ec == asio::error::broken_pipe)
      return fail(crawl_errc::connection_reset, what + ": " + ec.message());
    fail(kind, what + ": " + ec.message());
  }

  void fail(crawl_errc kind, std::string message) {
    // Failures before the tunnel stands are the proxy's, unless a caller has
    // already said whose they are.
    if (proxy_ && res_.fault == proxy_fault::none
        && (at_proxy_ || kind == crawl_errc::proxy_failed || kind == crawl_errc::proxy_auth_failed))
      res_.fault = proxy_fault::proxy;
    res_.error = kind;
    res_.error_message = std::move(message);
    if (res_.final_url.empty())
      res_.final_url = url_.str();
    if (conn_) {
      conn_->close();
      conn_.reset();
    }
    complete();
  }

  void complete() {
    if (finished_)
      return;
    finished_ = true;
    worker_.sessions.erase(this);
    res_.timings.total = clock_type::now() - start_;
    res_.fetched_at = caf::make_timestamp();
    ++client_.requests;
    auto done = std::move(done_);
    done(std::move(res_));
  }

  http_client::impl& client_;
  worker& worker_;
  fetch_request req_;
  uint64_t body_limit_ = client_.opts.max_body_bytes; // the body's limit for this request
  bool truncate_ = client_.opts.truncate_body;         // over it: cut, not failed
  url url_;
  http_client::callback done_;
  fetch_result res_;
  tcp::resolver resolver_;
  asio::steady_timer dns_timer_;
  bool dns_timed_out_ = false;
  bool lookup_done_ = false;
  uint64_t lookups_ = 0;
  std::unique_ptr<connection> conn_;
  std::optional<proxy_spec> proxy_;           // nullopt: direct
  bool at_proxy_ = false;                     // talking to the proxy, no tunnel yet
  std::optional<tcp::endpoint> socks_target_; // SOCKS5 with local DNS: the target's address
  std::array<uint8_t, 3 + 2 * 256> socks_out_{};
  std::array<uint8_t, 262> socks_in_{};
  http::request<http::empty_body> connect_req_;
  std::optional<http::response_parser<http::empty_body>> connect_parser_;
  http::request<http::empty_body> request_;
  std::optional<http::response_parser<http::buffer_body>> parser_;
  std::optional<http_detail::content_decoder> decoder_;
  std::string body_;
  char buffer_[16384];
  std::set<std::string> visited_;
  clock_type::time_point start_, deadline_, hop_start_, stage_start_, sent_at_;
  bool reused_ = false;
  bool retried_ = false;
  bool keep_alive_ = false;
  bool finished_ = false;
};

} // namespace

// -- pool ----------------------------------------------------------------------

std::unique_ptr<connection> http_client::impl::take(worker& w, const std::string& key) {
  auto i = w.pool.find(key);
  if (i == w.pool.end())
    return nullptr;
  auto& conns = i->second;
  auto now = clock_type::now();
  while (!conns.empty()) {
    auto conn = std::move(conns.back());
    conns.pop_back();
    --w.idle;
    --idle;
    if (now - conn->idle_since < opts.pool_idle_timeout && conn->looks_alive())
      return conn;
    conn->close();
  }
  w.pool.erase(i);
  return nullptr;
}

void http_client::impl::put_back(worker& w, std::unique_ptr<connection> conn) {
  auto& conns = w.pool[conn->key];
  if (conns.size() >= opts.pool_per_host || w.idle >= std::max<std::size_t>(1, opts.pool_total / workers.size())) {
    conn->close();
    return;
  }
  conn->idle_since = clock_type::now();
  conns.push_back(std::move(conn));
  ++w.idle;
  ++idle;
}

void http_client::impl::sweep(worker& w) {
  auto now = clock_type::now();
  for (auto i = w.pool.begin(); i != w.pool.end();) {
    auto& conns = i->second;
    for (auto j = conns.begin(); j != conns.end();) {
      if (now - (*j)->idle_since >= opts.pool_idle_timeout) {
        (*j)->close();
        j = conns.erase(j);
        --w.idle;
        --idle;
      } else {
        ++j;
      }
    }
    i = conns.empty() ? w.pool.erase(i) : std::next(i);
  }
  w.sweeper.expires_after(std::chrono::seconds(1));
  w.sweeper.async_wait([this, &w](beast::error_code ec) {
    if (!ec && !w.stopping)
      sweep(w);
  });
}

// -- http_client ---------------------------------------------------------------

caf::expected<std::unique_ptr<http_client>> http_client::make(http_options opts) {
  auto p = std::make_unique<impl>();
  beast::error_code ec;
  if (!opts.ca_file.empty())
    p->tls.load_verify_file(opts.ca_file, ec);
  else
    p->tls.set_default_verify_paths(ec);
  if (ec)
    return caf::make_error(caf::sec::invalid_argument,
                           "cannot load CA file '" + opts.ca_file + "': " + ec.message());
  for (auto& entry : opts.resolve) {
    // host:port:address, the address possibly an IPv6 literal in brackets.
    auto c1 = entry.find(':');
    auto c2 = c1 == std::string::npos ? c1 : entry.find(':', c1 + 1);
    if (c2 == std::string::npos)
      return caf::make_error(caf::sec::invalid_argument,
                             "--resolve expects host:port:address, not '" + entry + "'");
    auto host = entry.substr(0, c1);
    auto port = entry.substr(c1 + 1, c2 - c1 - 1);
    auto addr = entry.substr(c2 + 1);
    if (addr.size() > 2 && addr.front() == '[' && addr.back() == ']')
      addr = addr.substr(1, addr.size() - 2);
    auto address = asio::ip::make_address(addr, ec);
    char* end = nullptr;
    auto port_number = std::strtoul(port.c_str(), &end, 10);
    if (ec || host.empty() || port.empty() || *end != '\0' || port_number == 0 || port_number > 65535)
      return caf::make_error(caf::sec::invalid_argument,
                             "--resolve expects host:port:address, not '" + entry + "'");
    for (auto& c : host)
      c = static_cast<char>(c >= 'A' && c <= 'Z' ? c | 0x20 : c);
    p->overrides[host + ":" + std::to_string(port_number)] = address;
  }
  for (auto& h : opts.headers) {
    auto colon = h.find(':');
    if (colon == std::string::npos || colon == 0)
      return caf::make_error(caf::sec::invalid_argument,
                             "--header expects 'Name: value', not '" + h + "'");
    auto value = h.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    p->extra_headers.emplace_back(h.substr(0, colon), value);
  }
  if (!opts.source_address.empty()) {
    beast::error_code ec;
    auto a = asio::ip::make_address(opts.source_address, ec);
    if (ec)
      return caf::make_error(caf::sec::invalid_argument,
                             "--source-address expects an IP address, not '" + opts.source_address
                               + "'");
    p->source = a;
  }
  auto n = opts.io_threads != 0 ? opts.io_threads : std::max(1u, std::thread::hardware_concurrency());
  p->opts = std::move(opts);
  for (uint32_t i = 0; i < n; ++i)
    p->workers.push_back(std::make_unique<worker>());
  for (auto& w : p->workers) {
    auto* raw = p.get();
    auto* wp = w.get();
    asio::post(w->ioc, [raw, wp] { raw->sweep(*wp); });
    w->thread = std::thread([wp] { wp->ioc.run(); });
  }
  return std::unique_ptr<http_client>{new http_client(std::move(p))};
}

http_client::http_client(std::unique_ptr<impl> ptr) : impl_(std::move(ptr)) {}

http_client::~http_client() {
  stop();
}

void http_client::fetch(fetch_request req, callback done) {
  auto& c = *impl_;
  auto target = parse_url(req.url);
  // Pin the request to the IO thread that owns its host's connections.
  std::size_t index = target ? partition_hash(target->host()) % c.workers.size() : 0;
  auto& w = *c.workers[index];
  if (c.stopped || !target) {
    fetch_result res;
    res.id = req.id;
    res.url = req.url;
    res.final_url = req.url;
    res.fetched_at = caf::make_timestamp();
    if (!target) {
      auto kind = crawl_errc_of(target.error());
      res.error = kind ? *kind : crawl_errc::invalid_url;
      if (target.error().context().match_elements<std::string>())
        res.error_message = target.error().context().get_as<std::string>(0);
    } else {
      res.error = crawl_errc::cancelled;
      res.error_message = "the client is stopped";
    }
    if (c.stopped) {
      done(std::move(res)); // no IO thread is left to run it
      return;
    }
    asio::post(w.ioc, [done = std::move(done), res = std::move(res)]() mutable {
      done(std::move(res));
    });
    return;
  }
  auto s = std::make_shared<session>(c, w, std::move(req), std::move(*target), std::move(done));
  asio::post(w.ioc, [s] { s->start(); });
}

http_client_stats http_client::stats() const {
  http_client_stats s;
  s.requests = impl_->requests;
  s.connections_opened = impl_->opened;
  s.connections_reused = impl_->reused;
  s.idle_connections = impl_->idle;
  return s;
}

void http_client::stop() {
  auto& c = *impl_;
  if (c.stopped.exchange(true))
    return;
  for (auto& w : c.workers) {
    auto* wp = w.get();
    asio::post(w->ioc, [&c, wp] {
      wp->stopping = true;
      wp->sweeper.cancel();
      // Copy: cancelling may complete sessions, which erase themselves.
      std::vector<session*> live(wp->sessions.begin(), wp->sessions.end());
      for (auto* s : live)
        s->cancel();
      for (auto& [key, conns] : wp->pool)
        for (auto& conn : conns) {
          conn->close();
          --c.idle;
        }
      wp->pool.clear();
      wp->idle = 0;
    });
    w->guard.reset();
  }
  for (auto& w : c.workers)
    if (w->thread.joinable())
      w->thread.join();
}

} // namespace arachne
