#include "test_proxy.hpp"

#include <atomic>
#include <csignal>
#include <list>
#include <mutex>
#include <thread>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/core/detail/base64.hpp>
#include <boost/beast/http.hpp>
#include <poll.h>
#include <sys/socket.h>

namespace asio = boost::asio;   // from <boost/asio.hpp>
namespace beast = boost::beast; // from <boost/beast.hpp>
namespace http = beast::http;   // from <boost/beast/http.hpp>
namespace ssl = asio::ssl;      // from <boost/asio/ssl.hpp>
using tcp = asio::ip::tcp;

namespace arachne::testing {

namespace {

/// A blocking TLS server stream straight on the socket's descriptor (no BIO
/// pair, unlike Asio's SSL stream): bytes are either in OpenSSL
/// (SSL_pending) or still in the socket (poll), so a relay never waits on
/// data that has already arrived. A SyncReadStream and SyncWriteStream for
/// Beast.
class tls_server_stream {
public:
  tls_server_stream(tcp::socket& sock, SSL_CTX* ctx) : ssl_(SSL_new(ctx)) {
    SSL_set_fd(ssl_, sock.native_handle());
  }
  ~tls_server_stream() { SSL_free(ssl_); }
  tls_server_stream(const tls_server_stream&) = delete;
  tls_server_stream& operator=(const tls_server_stream&) = delete;

  bool accept() { return SSL_accept(ssl_) == 1; }
  SSL* native_handle() { return ssl_; }

  template <class Buffers>
  std::size_t read_some(const Buffers& buffers, beast::error_code& ec) {
    for (auto b : beast::buffers_range_ref(buffers)) {
      if (b.size() == 0)
        continue;
      auto n = SSL_read(ssl_, b.data(), static_cast<int>(b.size()));
      if (n <= 0) {
        ec = asio::error::eof;
        return 0;
      }
      ec = {};
      return static_cast<std::size_t>(n);
    }
    ec = {};
    return 0;
  }

  template <class Buffers>
  std::size_t read_some(const Buffers& buffers) {
    beast::error_code ec;
    auto n = read_some(buffers, ec);
    if (ec)
      throw beast::system_error{ec};
    return n;
  }

  template <class Buffers>
  std::size_t write_some(const Buffers& buffers, beast::error_code& ec) {
    for (auto b : beast::buffers_range_ref(buffers)) {
      if (b.size() == 0)
        continue;
      auto n = SSL_write(ssl_, b.data(), static_cast<int>(b.size()));
      if (n <= 0) {
        ec = asio::error::broken_pipe;
        return 0;
      }
      ec = {};
      return static_cast<std::size_t>(n);
    }
    ec = {};
    return 0;
  }

  template <class Buffers>
  std::size_t write_some(const Buffers& buffers) {
    beast::error_code ec;
    auto n = write_some(buffers, ec);
    if (ec)
      throw beast::system_error{ec};
    return n;
  }

private:
  SSL* ssl_;
};

} // namespace

struct test_proxy::impl {
  test_proxy_options opts;
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::unique_ptr<ssl::context> tls;
  uint16_t port = 0;
  std::thread accept_thread;
  std::mutex mtx; // guards sockets and threads
  std::list<std::shared_ptr<tcp::socket>> sockets;
  std::list<std::thread> threads;
  bool stopping = false;
  std::atomic<uint64_t> requests{0};
  std::atomic<uint64_t> bans{0};

  std::shared_ptr<tcp::socket> new_socket() {
    auto s = std::make_shared<tcp::socket>(ioc);
    std::lock_guard<std::mutex> guard{mtx};
    sockets.push_back(s);
    return s;
  }

  bool authorized(const http::request<http::string_body>& req) const {
    if (opts.username.empty())
      return true;
    auto plain = opts.username + ":" + opts.password;
    std::string enc(beast::detail::base64::encoded_size(plain.size()), '\0');
    enc.resize(beast::detail::base64::encode(enc.data(), plain.data(), plain.size()));
    return req[http::field::proxy_authorization] == "Basic " + enc;
  }

  /// The answer for a request the proxy makes itself, or nullopt to pass it on.
  std::optional<http::response<http::string_body>> refuse(const http::request<http::string_body>& req) {
    auto n = ++requests;
    http::response<http::string_body> res;
    res.version(11);
    if (!authorized(req)) {
      res.result(407);
      res.set(http::field::proxy_authenticate, "Basic realm=\"test\"");
      res.body() = "credentials, please";
    } else if (opts.ban_after >= 0 && static_cast<int64_t>(n) > opts.ban_after) {
      ++bans;
      res.result(opts.ban_status);
      res.set(http::field::content_type, "text/html");
      res.body() = "<html><body>Your address is banned</body></html>";
    } else {
      return std::nullopt;
    }
    res.prepare_payload();
    return res;
  }

  template <class Stream>
  void serve(Stream& client, tcp::socket& raw) {
    beast::flat_buffer buf;
    for (;;) {
      http::request<http::string_body> req;
      beast::error_code ec;
      http::read(client, buf, req, ec);
      if (ec)
        return;
      if (auto answer = refuse(req)) {
        http::write(client, *answer, ec);
        if (ec)
          return;
        continue;
      }
      if (req.method() == http::verb::connect)
        return tunnel(client, raw, std::string{req.target()});
      if (!forward(client, req))
        return;
    }
  }

  static bool split(std::string_view authority, std::string& host, std::string& port) {
    auto colon = authority.rfind(':');
    host = std::string{authority.substr(0, colon)};
    port = colon == std::string_view::npos ? "80" : std::string{authority.substr(colon + 1)};
    return !host.empty();
  }

  template <class Stream>
  bool forward(Stream& client, http::request<http::string_body>& req) {
    // http://host[:port]/path -> origin-form to host:port
    std::string target{req.target()};
    if (target.rfind("http://", 0) != 0)
      return false;
    auto slash = target.find('/', 7);
    auto authority = target.substr(7, slash == std::string::npos ? std::string::npos : slash - 7);
    std::string host, port;
    if (!split(authority, host, port))
      return false;
    auto upstream = new_socket();
    beast::error_code ec;
    tcp::resolver resolver{ioc};
    asio::connect(*upstream, resolver.resolve(host, port, ec), ec);
    http::response<http::string_body> res;
    if (!ec) {
      req.target(slash == std::string::npos ? "/" : target.substr(slash));
      req.erase(http::field::proxy_authorization);
      req.keep_alive(false);
      http::write(*upstream, req, ec);
      beast::flat_buffer ubuf;
      if (!ec)
        http::read(*upstream, ubuf, res, ec);
    }
    if (ec) {
      res = {};
      res.version(11);
      res.result(http::status::bad_gateway);
      res.body() = "upstream failed";
    }
    res.keep_alive(true);
    res.prepare_payload();
    upstream->close(ec);
    http::write(client, res, ec);
    return !ec;
  }

  // Relays bytes both ways on one thread (a TLS stream must not be read and
  // written from two threads at once).
  template <class Stream>
  void tunnel(Stream& client, tcp::socket& raw, const std::string& authority) {
    std::string host, port;
    auto upstream = new_socket();
    beast::error_code ec;
    if (split(authority, host, port)) {
      tcp::resolver resolver{ioc};
      asio::connect(*upstream, resolver.resolve(host, port, ec), ec);
    }
    std::string reply = ec ? "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n"
                           : "HTTP/1.1 200 Connection established\r\n\r\n";
    asio::write(client, asio::buffer(reply), ec);
    if (ec || reply[9] != '2')
      return;
    char data[16384];
    for (;;) {
      bool buffered = false;
      if constexpr (std::is_same_v<Stream, tls_server_stream>)
        buffered = SSL_pending(client.native_handle()) > 0;
      pollfd fds[2] = {{raw.native_handle(), POLLIN, 0}, {upstream->native_handle(), POLLIN, 0}};
      if (!buffered && ::poll(fds, 2, 1000) < 0)
        return;
      {
        std::lock_guard<std::mutex> guard{mtx};
        if (stopping)
          return;
      }
      if (buffered || (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
        auto n = client.read_some(asio::buffer(data), ec);
        if (ec || asio::write(*upstream, asio::buffer(data, n), ec) != n || ec)
          return;
      }
      if (fds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
        auto n = upstream->read_some(asio::buffer(data), ec);
        if (ec || asio::write(client, asio::buffer(data, n), ec) != n || ec)
          return;
      }
    }
  }

  void accept_loop() {
    for (;;) {
      auto sock = new_socket();
      beast::error_code ec;
      acceptor.accept(*sock, ec);
      std::lock_guard<std::mutex> guard{mtx};
      if (ec || stopping)
        return;
      threads.emplace_back([this, sock] {
        if (tls) {
          tls_server_stream stream{*sock, tls->native_handle()};
          if (stream.accept())
            serve(stream, *sock);
        } else {
          serve(*sock, *sock);
        }
        beast::error_code ignored;
        sock->shutdown(tcp::socket::shutdown_both, ignored);
      });
    }
  }
};

test_proxy::test_proxy(test_proxy_options opts) : impl_(std::make_unique<impl>()) {
  // OpenSSL writes to the descriptor with write(2): a client that went away
  // must be an error, not the end of the test process.
  std::signal(SIGPIPE, SIG_IGN);
  auto& s = *impl_;
  s.opts = std::move(opts);
  if (s.opts.tls) {
    s.tls = std::make_unique<ssl::context>(ssl::context::tls_server);
    s.tls->use_certificate_chain(asio::buffer(s.opts.tls->cert_pem));
    s.tls->use_private_key(asio::buffer(s.opts.tls->key_pem), ssl::context::pem);
  }
  tcp::endpoint ep{asio::ip::make_address("127.0.0.1"), 0};
  s.acceptor.open(ep.protocol());
  s.acceptor.set_option(tcp::acceptor::reuse_address(true));
  s.acceptor.bind(ep);
  s.acceptor.listen();
  s.port = s.acceptor.local_endpoint().port();
  s.accept_thread = std::thread([&s] { s.accept_loop(); });
}

test_proxy::~test_proxy() {
  auto& s = *impl_;
  {
    std::lock_guard<std::mutex> guard{s.mtx};
    s.stopping = true;
    for (auto& sock : s.sockets)
      if (sock->is_open())
        ::shutdown(sock->native_handle(), SHUT_RDWR);
  }
  // shutdown() wakes a thread blocked in accept(); close() alone does not.
  ::shutdown(s.acceptor.native_handle(), SHUT_RDWR);
  if (s.accept_thread.joinable())
    s.accept_thread.join();
  for (auto& t : s.threads)
    if (t.joinable())
      t.join();
}

uint16_t test_proxy::port() const noexcept {
  return impl_->port;
}

std::string test_proxy::url() const {
  auto& o = impl_->opts;
  std::string creds = o.username.empty() ? "" : o.username + ":" + o.password + "@";
  return std::string{o.tls ? "https" : "http"} + "://" + creds + "127.0.0.1:"
         + std::to_string(impl_->port);
}

uint64_t test_proxy::requests() const noexcept {
  return impl_->requests;
}

uint64_t test_proxy::bans() const noexcept {
  return impl_->bans;
}

} // namespace arachne::testing
