// A session's route to the server: start, hops, DNS, TCP connect, TLS
// handshakes, and its endings. The proxy tunnels are in connect_tunnel.cpp
// and socks5.cpp, the request and response in exchange.cpp.

#include "http/session.hpp"

#include <algorithm>
#include <cerrno>
#include <utility>

#include <fcntl.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "arachne/options.hpp"

namespace arachne::http_detail {

namespace {

bool is_tls_error(const beast::error_code& ec) {
  return ec.category() == asio::error::get_ssl_category()
         || ec.category() == ssl::error::get_stream_category();
}

// EMFILE / ENFILE: this process (or the system) has no descriptor left.
bool out_of_descriptors(const beast::error_code& ec) {
  return ec == asio::error::no_descriptors
         || ec == beast::error_code{ENFILE, boost::system::system_category()};
}

// True if opening a file fails for want of a descriptor right now. A DNS
// answer that failed (c-ares could not open its socket) is then ours, not
// the name server's.
bool descriptors_exhausted() {
  auto fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    ::close(fd);
    return false;
  }
  return errno == EMFILE || errno == ENFILE;
}

} // namespace

session::session(http_client::impl& client, worker& w, fetch_request req, url target,
                 http_client::callback done)
  : client_(client),
    worker_(w),
    req_(std::move(req)),
    url_(std::move(target)),
    done_(std::move(done)),
    dns_(w.resolver, w.ioc) {
  res_.id = req_.id;
  res_.url = req_.url;
  post_ = req_.method == "POST";
  // A request may set its own limit on the body (a robots.txt: the first
  // 500 KiB; a sitemap: --sitemap-max-size); what is over it is cut, not a
  // failure.
  if (req_.max_body_bytes != 0) {
    body_limit_ = req_.max_body_bytes;
    truncate_ = true;
  }
}

session::~session() = default;

void session::start() {
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

void session::cancel() {
  dns_.cancel();
  if (fd_wait_)
    fd_wait_->cancel();
  if (conn_)
    conn_->close();
}

// -- hops ------------------------------------------------------------------------

std::string session::pool_key() const {
  auto key = std::string{url_.scheme()} + "://" + std::string{url_.authority()};
  // Connections through a proxy are never shared with another route.
  if (proxy_)
    key += " via " + proxy_->url;
  return key;
}

bool session::forwarding() const {
  return proxy_ && (proxy_->kind == proxy_kind::http || proxy_->kind == proxy_kind::https)
         && !url_.is_https();
}

std::string session::proxy_name() const {
  return "proxy " + proxy_->label;
}

void session::begin_hop() {
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

clock_type::time_point session::until(caf::timespan limit) const {
  return std::min(hop_start_ + limit, deadline_);
}

// -- DNS -------------------------------------------------------------------------

// Resolves what the TCP connection goes to: the target, or the proxy (for
// SOCKS5 with local DNS, the target first, then the proxy).
void session::resolve() {
  stage_start_ = clock_type::now();
  if (!proxy_)
    return lookup(std::string{url_.hostname()}, url_.port(), &session::connect);
  if (proxy_->kind == proxy_kind::socks5 && !socks_target_)
    return lookup(std::string{url_.hostname()}, url_.port(), &session::on_socks_target);
  at_proxy_ = true;
  lookup(proxy_->host, proxy_->port, &session::connect);
}

void session::on_socks_target(std::vector<tcp::endpoint> endpoints) {
  // One address goes to the proxy: IPv4 if there is one (what most proxies reach).
  auto v4 = std::find_if(endpoints.begin(), endpoints.end(),
                         [](const tcp::endpoint& e) { return e.address().is_v4(); });
  socks_target_ = v4 != endpoints.end() ? *v4 : endpoints.front();
  resolve();
}

void session::lookup(const std::string& host, uint16_t port, next_step next) {
  // IP literals, --resolve overrides and fresh cache entries need no lookup.
  if (auto known = worker_.dns.find(host, port))
    return (this->*next)(std::move(*known));
  // RFC 6761: ".invalid" never resolves.
  if (never_resolves(host))
    return fail(at_proxy_ ? crawl_errc::proxy_failed : crawl_errc::dns_failed,
                (at_proxy_ ? proxy_name() + ": cannot resolve '" : "cannot resolve '") + host
                  + "': reserved .invalid name");
  dns_.start(host, port, until(client_.opts.connect_timeout), shared_from_this(),
             [self = shared_from_this(), host, port, next](const std::string& error,
                                                           resolver::answer a) {
               self->on_resolve(error, std::move(a), host, port, next);
             });
}

void session::on_resolve(const std::string& error, resolver::answer a, const std::string& host,
                         uint16_t port, next_step next) {
  res_.timings.dns += clock_type::now() - stage_start_;
  if (worker_.stopping)
    return fail(crawl_errc::cancelled, "the client is stopping");
  // A proxy that cannot be resolved is the proxy's failure, not the page's.
  auto kind = at_proxy_ ? crawl_errc::proxy_failed : crawl_errc::dns_failed;
  auto what = at_proxy_ ? proxy_name() + ": cannot resolve '" : "cannot resolve '";
  if (dns_.timed_out())
    return fail(kind, what + host + "': lookup timed out");
  if (!error.empty() && descriptors_exhausted())
    return wait_for_descriptor("resolve '" + host + "'", &session::resolve);
  if (!error.empty() || a.endpoints.empty())
    return fail(kind, what + host + "': " + (error.empty() ? "no address" : error));
  // Kept for the answer's time to live, within --dns-min-ttl and --dns-max-ttl.
  auto ttl = std::clamp<caf::timespan>(a.ttl, client_.opts.dns_min_ttl, client_.opts.dns_max_ttl);
  worker_.dns.store(host, port, a.endpoints, ttl);
  (this->*next)(std::move(a.endpoints));
}

// -- connect ---------------------------------------------------------------------

void session::open_connection() {
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
}

void session::connect(std::vector<tcp::endpoint> endpoints) {
  endpoints_ = std::move(endpoints);
  reconnect();
}

void session::reconnect() {
  next_endpoint_ = 0;
  connect_next();
}

// One address after the other, each on a socket opened here: Asio's connect
// to a list of addresses reports a socket it could not open as
// operation_aborted, which hid a shortage of descriptors.
void session::connect_next() {
  stage_start_ = clock_type::now();
  open_connection();
  conn_->tcp().expires_at(until(client_.opts.connect_timeout));
  if (client_.source)
    return connect_from_source(endpoints_);
  if (next_endpoint_ >= endpoints_.size())
    return fail(at_proxy_ ? crawl_errc::proxy_failed : crawl_errc::connect_failed, "no address");
  auto ep = endpoints_[next_endpoint_];
  beast::error_code ec;
  conn_->tcp().socket().open(ep.protocol(), ec);
  if (ec)
    return on_connect(ec, ep);
  conn_->tcp().async_connect(ep, [self = shared_from_this(), ep](beast::error_code ec) {
    self->on_connect(ec, ep);
  });
}

// From one local address: to the first address of its family.
void session::connect_from_source(const std::vector<tcp::endpoint>& endpoints) {
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
  if (out_of_descriptors(ec))
    return wait_for_descriptor("connect to " + std::string{url_.authority()},
                               &session::reconnect);
  if (ec)
    return fail(crawl_errc::connect_failed,
                "cannot connect from " + client_.source->to_string() + ": " + ec.message());
  conn_->tcp().async_connect(*it, [self = shared_from_this(), ep = *it](beast::error_code ec) {
    self->on_connect(ec, ep);
  });
}

void session::on_connect(beast::error_code ec, const tcp::endpoint& ep) {
  res_.timings.connect += clock_type::now() - stage_start_;
  if (out_of_descriptors(ec))
    return wait_for_descriptor("connect to "
                                 + (at_proxy_ ? proxy_name() : std::string{url_.authority()}),
                               client_.source ? &session::reconnect : &session::connect_next);
  // The next address, if the hop's connect limit has not passed.
  if (ec && ec != beast::error::timeout && ec != asio::error::operation_aborted
      && !worker_.stopping && !client_.source && next_endpoint_ + 1 < endpoints_.size()) {
    ++next_endpoint_;
    return connect_next();
  }
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
  if (proxy_)
    return on_proxy_connected();
  if (!conn_->tls)
    return send_request();
  handshake();
}

// Waits 10 ms, then twice as long each time up to 500 ms, as long as the
// connect limit of this hop allows; then the request fails as a timeout,
// which is retried like one and never marks the site unreachable (with
// --retries and its back-off, a crawl rides out a longer shortage).
void session::wait_for_descriptor(const std::string& what, void (session::*again)()) {
  if (conn_) {
    conn_->close();
    conn_.reset();
  }
  if (worker_.stopping)
    return fail(crawl_errc::cancelled, "the client is stopping");
  // Idle keep-alive connections of this thread are the descriptors we can free.
  auto freed = client_.drop_idle(worker_);
  fd_backoff_ = freed > 0 ? caf::timespan{0}
                          : std::clamp<caf::timespan>(fd_backoff_ * 2, std::chrono::milliseconds(10),
                                                      std::chrono::milliseconds(500));
  auto limit = until(client_.opts.connect_timeout);
  if (clock_type::now() + fd_backoff_ >= limit)
    return fail(crawl_errc::timeout,
                what + ": no file descriptor free within "
                  + format_duration(client_.opts.connect_timeout)
                  + " (the process is at its open-files limit, ulimit -n)");
  if (!fd_wait_)
    fd_wait_ = std::make_unique<asio::steady_timer>(worker_.ioc);
  fd_wait_->expires_after(fd_backoff_);
  fd_wait_->async_wait([self = shared_from_this(), again](beast::error_code ec) {
    if (self->finished_)
      return;
    if (ec || self->worker_.stopping) // cancel(): the client is stopping
      return self->fail(crawl_errc::cancelled, "the client is stopping");
    (self.get()->*again)();
  });
}

void session::on_proxy_connected() {
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

void session::tunnel_ready() {
  at_proxy_ = false;
  if (proxy_->kind == proxy_kind::https)
    conn_->nest(client_.tls);
  if (!conn_->tls && !conn_->nested)
    return send_request();
  handshake();
}

// -- TLS -------------------------------------------------------------------------

template <class Stream>
void session::handshake(Stream& stream) {
  stage_start_ = clock_type::now();
  // TLS to an https:// proxy, or to the target.
  auto host = at_proxy_ ? proxy_->host : std::string{url_.hostname()};
  // Set SNI hostname (many hosts need this to handshake successfully); an
  // IP literal is not a valid SNI name.
  beast::error_code not_ip;
  asio::ip::make_address(host, not_ip);
  auto* ssl = stream.native_handle();
  if (not_ip && !SSL_set_tlsext_host_name(ssl, host.c_str()))
    return fail(crawl_errc::tls_failed, "cannot set SNI for '" + host + "'");
  if (client_.opts.insecure) {
    stream.set_verify_mode(ssl::verify_none);
  } else {
    stream.set_verify_mode(ssl::verify_peer);
    // The certificate's names are checked by OpenSSL's verification itself
    // (a DNS name, or an IP address): a mismatch says so in the verify
    // result ("hostname mismatch"), which a callback's refusal would not.
    auto named = not_ip ? SSL_set1_host(ssl, host.c_str())
                        : X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host.c_str());
    if (named != 1)
      return fail(crawl_errc::tls_failed, "cannot check the certificate for '" + host + "'");
  }
  conn_->tcp().expires_at(until(client_.opts.tls_timeout));
  stream.async_handshake(ssl::stream_base::client,
                         [self = shared_from_this()](beast::error_code ec) {
                           self->on_handshake(ec);
                         });
}

void session::handshake() {
  if (conn_->nested)
    return handshake(*conn_->nested);
  handshake(*conn_->tls);
}

void session::on_handshake(beast::error_code ec) {
  res_.timings.tls += clock_type::now() - stage_start_;
  if (ec) {
    auto with = "TLS handshake with " + (at_proxy_ ? proxy_name() : std::string{url_.authority()});
    // A certificate that fails verification says which check failed; at a
    // proxy it fails every request of the run: the proxy is unusable.
    auto* ssl = conn_->nested ? conn_->nested->native_handle() : conn_->tls->native_handle();
    auto verdict = SSL_get_verify_result(ssl);
    if (!client_.opts.insecure && verdict != X509_V_OK
        && ec.category() == asio::error::get_ssl_category()
        && ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_CERTIFICATE_VERIFY_FAILED) {
      if (at_proxy_)
        res_.fault = proxy_fault::unusable;
      return fail(crawl_errc::tls_failed,
                  with + ": certificate verify failed (" + X509_verify_cert_error_string(verdict)
                    + "; --ca-file trusts another CA, --insecure skips the check)");
    }
    return fail_io(ec, crawl_errc::tls_failed, with, client_.opts.tls_timeout);
  }
  if (at_proxy_ && !forwarding())
    return send_connect(); // over TLS to the proxy
  at_proxy_ = false;
  send_request();
}

// -- endings ---------------------------------------------------------------------

// Classifies an IO error: a timeout (stage limit or total), cancellation,
// TLS trouble, or `kind`.
void session::fail_io(const beast::error_code& ec, crawl_errc kind, const std::string& what,
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

void session::fail(crawl_errc kind, std::string message) {
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

void session::complete() {
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

} // namespace arachne::http_detail
