#include "observer/http_server.hpp"

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace arachne {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

namespace {

// Lets replies reach the IO thread while the server runs, and makes them
// no-ops once it is stopping (an actor may answer after that).
struct gate {
  std::mutex mtx;
  bool open = true;
  bool stopped = false; // the IO thread ended: sessions destroyed now leave the server alone
};

} // namespace

struct http_server::impl {
  impl(handler h, limits l) : handle(std::move(h)), lim(l) {}
  net::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  net::steady_timer pause{ioc}; // after a failed accept (no descriptor left, say)
  handler handle;
  limits lim;
  std::size_t open_connections = 0; // (the IO thread's alone)
  bool accepting = false;
  std::shared_ptr<gate> g = std::make_shared<gate>();
  std::thread thread;

  void accept();
};

namespace {

class session : public std::enable_shared_from_this<session> {
public:
  session(tcp::socket socket, http_server::impl& server)
    : stream_(std::move(socket)), server_(server), timer_(server.ioc), gate_(server.g) {}

  ~session() {
    if (gate_->stopped)
      return;
    if (--server_.open_connections < server_.lim.connections && !server_.accepting)
      server_.accept(); // (a place is free again)
  }

  void start() { read(); }

private:
  void read() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_.lim.header_bytes));
    parser_->body_limit(server_.lim.body_bytes);
    stream_.expires_after(std::chrono::seconds(server_.lim.idle_seconds));
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, std::size_t) {
                       self->on_read(ec);
                     });
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::body_limit || ec == http::error::header_limit)
      return answer({413, "text/plain; charset=utf-8", "request too large\n"}, false);
    if (ec)
      return close(); // (end of stream, timeout, garbage)
    stream_.expires_never();
    auto& req = parser_->get();
    keep_alive_ = req.keep_alive();
    version_ = req.version();
    http_call call;
    call.method = std::string(req.method_string());
    call.target = std::string(req.target());
    call.authorization = std::string(req[http::field::authorization]);
    call.body = std::move(req.body());
    // One answer: the handler's, or 503 when it takes too long.
    auto answered = std::make_shared<std::atomic<bool>>(false);
    timer_.expires_after(std::chrono::seconds(10));
    timer_.async_wait([self = shared_from_this(), answered](beast::error_code ec) {
      if (!ec && !answered->exchange(true))
        self->answer({503, "text/plain; charset=utf-8", "no answer in time\n"}, false);
    });
    // The reply holds the session weakly: a session is only ever destroyed
    // on the IO thread (the timer keeps it alive until the answer).
    auto ex = stream_.get_executor();
    std::weak_ptr<session> weak = shared_from_this();
    http_reply reply = [weak, answered, ex, g = gate_](http_answer a) {
      if (answered->exchange(true))
        return;
      std::lock_guard<std::mutex> guard{g->mtx};
      if (g->open)
        net::post(ex, [weak, a = std::move(a)]() mutable {
          if (auto self = weak.lock())
            self->answer(std::move(a), true);
        });
    };
    server_.handle(std::move(call), std::move(reply));
  }

  void answer(http_answer a, bool keep) {
    timer_.cancel();
    res_ = {};
    res_.version(version_);
    res_.result(a.status);
    res_.set(http::field::server, "arachne");
    res_.set(http::field::content_type, a.content_type);
    res_.set(http::field::cache_control, "no-store");
    res_.keep_alive(keep && keep_alive_);
    res_.body() = std::move(a.body);
    res_.prepare_payload();
    http::async_write(stream_, res_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t) {
                        if (ec || !self->res_.keep_alive())
                          return self->close();
                        self->read();
                      });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  http_server::impl& server_;
  net::steady_timer timer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
  std::shared_ptr<gate> gate_;
  bool keep_alive_ = false;
  unsigned version_ = 11;
};

} // namespace

void http_server::impl::accept() {
  accepting = true;
  acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
    accepting = false;
    if (ec == net::error::operation_aborted || !acceptor.is_open())
      return;
    if (ec) {
      // (Out of descriptors, say: try again in a while, not in a loop.)
      accepting = true;
      pause.expires_after(std::chrono::milliseconds(100));
      pause.async_wait([this](beast::error_code e) {
        accepting = false;
        if (!e && acceptor.is_open())
          accept();
      });
      return;
    }
    ++open_connections;
    std::make_shared<session>(std::move(socket), *this)->start();
    // (At the limit: the next session to end accepts again.)
    if (open_connections < lim.connections)
      accept();
  });
}

http_server::http_server(std::unique_ptr<impl> d) : d_(std::move(d)) {}

std::unique_ptr<http_server> http_server::start(const std::string& host, uint16_t port,
                                                handler h, std::string& error, limits lim) {
  auto d = std::make_unique<impl>(std::move(h), lim);
  beast::error_code ec;
  auto address = net::ip::make_address(host, ec);
  if (ec) {
    error = "not an IP address: '" + host + "'";
    return nullptr;
  }
  tcp::endpoint ep{address, port};
  d->acceptor.open(ep.protocol(), ec);
  if (!ec)
    d->acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec)
    d->acceptor.bind(ep, ec);
  if (!ec)
    d->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    error = "cannot listen on " + host + ":" + std::to_string(port) + ": " + ec.message();
    return nullptr;
  }
  d->accept();
  auto* raw = d.get();
  d->thread = std::thread{[raw] { raw->ioc.run(); }};
  return std::unique_ptr<http_server>{new http_server(std::move(d))};
}

http_server::~http_server() {
  {
    std::lock_guard<std::mutex> guard{d_->g->mtx};
    d_->g->open = false;
  }
  net::post(d_->ioc, [d = d_.get()] {
    beast::error_code ignored;
    d->pause.cancel();
    d->acceptor.close(ignored);
    d->ioc.stop();
  });
  if (d_->thread.joinable())
    d_->thread.join();
  d_->g->stopped = true; // (the handlers left are destroyed with the io_context)
}

uint16_t http_server::port() const noexcept {
  return d_->acceptor.local_endpoint().port();
}

} // namespace arachne
