#include "site_server.hpp"

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include <sys/socket.h>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace beast = boost::beast; // from <boost/beast.hpp>
namespace http = beast::http;   // from <boost/beast/http.hpp>
namespace asio = boost::asio;   // from <boost/asio.hpp>
namespace ssl = asio::ssl;      // from <boost/asio/ssl.hpp>
using tcp = asio::ip::tcp;

namespace arachne::site {

struct site_server::impl {
  impl(site_params params, server_options o) : model(params), opts(std::move(o)) {}

  site_model model;
  server_options opts;
  asio::io_context ioc;
  std::optional<ssl::context> tls_ctx;
  std::optional<tls_material> material;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors; // one per host
  std::vector<std::string> addresses;                     // of the hosts
  std::vector<std::thread> threads;
  std::optional<asio::steady_timer> flush_timer;
  std::atomic<uint64_t> responses{0};
  std::unique_ptr<std::atomic<uint32_t>[]> busy; // per host: requests read, not yet answered

  // Generated responses by host and target, up to `opts.cache_bytes` of
  // bodies; once full, later targets are generated every time. The model
  // is deterministic, so a cached answer is the one it would give again.
  std::mutex cache_mutex;
  std::unordered_map<std::string, std::shared_ptr<const response>> cache;
  uint64_t cached_bytes = 0;

  std::shared_ptr<const response> respond(uint32_t host, const std::string& target) {
    if (opts.cache_bytes == 0)
      return std::make_shared<const response>(model.respond(host, target));
    auto key = std::to_string(host) + ' ' + target;
    {
      std::lock_guard<std::mutex> guard{cache_mutex};
      if (auto i = cache.find(key); i != cache.end())
        return i->second;
    }
    auto fresh = std::make_shared<const response>(model.respond(host, target));
    std::lock_guard<std::mutex> guard{cache_mutex};
    auto cost = fresh->body.size() + key.size();
    if (cached_bytes + cost <= opts.cache_bytes && cache.emplace(std::move(key), fresh).second)
      cached_bytes += cost;
    return fresh;
  }
  std::mutex log_mutex;
  std::FILE* log = nullptr;
  bool running = false;

  void log_line(uint32_t host, const std::string& target, unsigned status, std::size_t bytes,
                std::chrono::system_clock::time_point start, const std::string& peer) {
    if (log == nullptr)
      return;
    using std::chrono::duration_cast;
    using std::chrono::microseconds;
    auto us = [](auto t) {
      return static_cast<long long>(duration_cast<microseconds>(t.time_since_epoch()).count());
    };
    auto end = std::chrono::system_clock::now();
    std::lock_guard<std::mutex> guard{log_mutex};
    std::fprintf(log, "%lld\t%lld\t%s\t%s\t%u\t%zu\t%s\n", us(start), us(end),
                 addresses[host].c_str(), target.c_str(), status, bytes, peer.c_str());
  }

  void schedule_flush() {
    flush_timer->expires_after(std::chrono::milliseconds(500));
    flush_timer->async_wait([this](beast::error_code ec) {
      if (ec)
        return;
      {
        std::lock_guard<std::mutex> guard{log_mutex};
        std::fflush(log);
      }
      schedule_flush();
    });
  }

  void accept(std::size_t h);
};

namespace {

// `s` as HTML text.
std::string escape_html(const std::string& s) {
  std::string out;
  append_escaped(out, s);
  return out;
}

// True if an Accept-Encoding value accepts gzip: it names gzip (or x-gzip,
// or *) without q=0. Good enough for the clients that visit the demo site.
bool accepts_gzip(std::string_view value) {
  auto trim = [](std::string_view x) {
    while (!x.empty() && (x.front() == ' ' || x.front() == '\t'))
      x.remove_prefix(1);
    while (!x.empty() && (x.back() == ' ' || x.back() == '\t'))
      x.remove_suffix(1);
    return x;
  };
  auto lower = [](std::string_view x) {
    std::string out{x};
    for (auto& c : out)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
  };
  while (!value.empty()) {
    auto comma = value.find(',');
    auto element = value.substr(0, comma);
    value = comma == std::string_view::npos ? std::string_view{} : value.substr(comma + 1);
    auto semi = element.find(';');
    auto coding = lower(trim(element.substr(0, semi)));
    if (coding != "gzip" && coding != "x-gzip" && coding != "*")
      continue;
    auto params = semi == std::string_view::npos ? std::string{} : lower(element.substr(semi + 1));
    auto q = params.find("q=");
    if (q == std::string::npos)
      return true;
    // q=0, q=0.0, q=0.000: not acceptable; any other weight is.
    auto weight = trim(std::string_view{params}.substr(q + 2));
    if (weight.find_first_not_of("0.") != std::string_view::npos || weight.empty())
      return true;
  }
  return false;
}

// The ETag of the representation sent: the model's tag of the body, or
// with -gz before its closing quote when the body goes gzip-encoded, a
// representation of its own that a strong tag must tell apart (RFC 9110
// section 8.8.3).
std::string representation_tag(const std::string& etag, bool gzipped) {
  if (!gzipped || etag.size() < 2)
    return etag;
  return etag.substr(0, etag.size() - 1) + "-gz\"";
}

// True if an If-None-Match value (a comma-separated list of entity tags, or
// "*") names `etag` under the weak comparison (RFC 9110 section 8.8.3.2:
// a W/ prefix on either side is ignored). A malformed list names nothing.
bool lists_etag(std::string_view list, std::string_view etag) {
  auto opaque = [](std::string_view tag) { return tag.substr(0, 2) == "W/" ? tag.substr(2) : tag; };
  auto wanted = opaque(etag);
  std::size_t i = 0;
  while (i < list.size()) {
    if (list[i] == ' ' || list[i] == '\t' || list[i] == ',') {
      ++i;
      continue;
    }
    if (list[i] == '*')
      return true; // any current representation, and there is one
    // An entity-tag: [W/] and a quoted opaque tag, which may hold commas.
    auto start = list.substr(i, 2) == "W/" ? i + 2 : i;
    if (start >= list.size() || list[start] != '"')
      return false;
    auto close = list.find('"', start + 1);
    if (close == std::string_view::npos)
      return false;
    if (list.substr(start, close + 1 - start) == wanted)
      return true;
    i = close + 1;
  }
  return false;
}

// RFC 9110 section 13.2.2, steps 3 and 4, for a GET or HEAD that would be
// answered 200 with `etag` and `last_modified`: true if the client's copy
// is current, so that the answer is 304. (The site ignores If-Match and
// If-Unmodified-Since, steps 1 and 2.)
bool not_modified(const http::request<http::string_body>& req, std::string_view etag,
                  std::string_view last_modified) {
  // If-None-Match, when present, decides alone (section 13.1.3): a cache
  // that has the tag knows better than a date.
  if (req.count(http::field::if_none_match) > 0) {
    auto fields = req.equal_range(http::field::if_none_match);
    for (auto i = fields.first; i != fields.second; ++i)
      if (lists_etag(i->value(), etag))
        return true;
    return false;
  }
  // If-Modified-Since counts only as one valid HTTP-date; the page is not
  // modified if it last changed at or before that date.
  if (req.count(http::field::if_modified_since) != 1)
    return false;
  auto since = parse_http_date(req[http::field::if_modified_since]);
  auto changed = parse_http_date(last_modified);
  return since && changed && *changed <= *since;
}

// When the kernel received the first byte waiting on `fd` (SO_TIMESTAMPNS
// set), read without taking it; nothing if it cannot say.
std::optional<std::chrono::system_clock::time_point> kernel_arrival(int fd) {
  char byte = 0;
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec)) * 2];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  if (::recvmsg(fd, &msg, MSG_PEEK | MSG_DONTWAIT) <= 0)
    return std::nullopt;
  for (auto* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c))
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
      timespec ts{};
      std::memcpy(&ts, CMSG_DATA(c), sizeof ts);
      return std::chrono::system_clock::time_point{std::chrono::duration_cast<std::chrono::system_clock::duration>(
        std::chrono::seconds{ts.tv_sec} + std::chrono::nanoseconds{ts.tv_nsec})};
    }
  return std::nullopt;
}

// One connection: read a request, answer it from the model, repeat while the
// client keeps the connection alive.
template <class Stream>
class session : public std::enable_shared_from_this<session<Stream>> {
public:
  static constexpr bool is_tls = !std::is_same_v<Stream, beast::tcp_stream>;

  template <class... Ts>
  session(site_server::impl* server, uint32_t host, std::string peer, Ts&&... xs)
    : server_(server),
      host_(host),
      peer_(std::move(peer)),
      stream_(std::forward<Ts>(xs)...),
      timer_(stream_.get_executor()),
      idle_(stream_.get_executor()) {}

  void run() {
    if constexpr (is_tls) {
      // Bound the handshake like every other step.
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(10));
      stream_.async_handshake(ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (!ec)
                                  self->read();
                              });
    } else {
      read();
    }
  }

private:
  // Over plain TCP with an access log, a request is stamped with when the
  // kernel received its first byte (SO_TIMESTAMPNS): a site thread that
  // reads it late (a busy machine) does not shift the stamp, and the gaps
  // the politeness checks measure are the crawler's own.
  void read() {
    if constexpr (!is_tls) {
      if (server_->log != nullptr && buffer_.size() == 0) {
        auto& socket = stream_.socket();
        int one = 1;
        ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
        idle_.expires_after(server_->opts.idle_timeout);
        idle_.async_wait([self = this->shared_from_this()](beast::error_code ec) {
          if (!ec)
            self->stream_.socket().cancel();
        });
        socket.async_wait(tcp::socket::wait_read,
                          [self = this->shared_from_this()](beast::error_code ec) {
                            self->idle_.cancel();
                            if (ec)
                              return; // (idle too long, or closed)
                            self->arrived_ = kernel_arrival(self->stream_.socket().native_handle());
                            self->read_request();
                          });
        return;
      }
    }
    arrived_.reset();
    read_request();
  }

  void read_request() {
    parser_.emplace();
    parser_->header_limit(16 * 1024);
    parser_->body_limit(64 * 1024);
    beast::get_lowest_layer(stream_).expires_after(server_->opts.idle_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                       self->on_read(ec);
                     });
  }

  void on_read(beast::error_code ec) {
    if (ec == http::error::end_of_stream)
      return close();
    if (ec)
      return; // timeout, reset or garbage: drop the connection
    start_ = arrived_ ? *arrived_ : std::chrono::system_clock::now();
    auto& req = parser_->get();
    target_ = std::string(req.target());
    auto answer = server_->respond(host_, target_);
    res_ = {};
    res_.version(req.version());
    res_.keep_alive(req.keep_alive());
    res_.set(http::field::server, "arachne-site");
    // The representation the request selects: gzip-encoded or not.
    bool gzipped = answer->compressible && accepts_gzip(req[http::field::accept_encoding]);
    auto etag = representation_tag(answer->etag, gzipped);
    if (req.method() == http::verb::post && target_ == "/search") {
      // The search form's answer (a POST): what was asked, and a link.
      res_.result(http::status::ok);
      res_.set(http::field::content_type, "text/html");
      res_.set(http::field::cache_control, "no-store");
      res_.body() = "<!DOCTYPE html>\n<html><head><title>Search</title></head><body>\n"
                    "<p class=\"query\">" + escape_html(req.body()) + "</p>\n"
                    "<p class=\"type\">" + escape_html(std::string{req[http::field::content_type]})
                    + "</p>\n<a href=\"/p/1\">first result</a>\n</body></html>\n";
    } else if (req.method() != http::verb::get && req.method() != http::verb::head) {
      res_.result(http::status::method_not_allowed);
      res_.set(http::field::allow, target_ == "/search" ? "POST" : "GET, HEAD");
      res_.set(http::field::content_type, "text/plain");
      res_.body() = "method not allowed\n";
    } else if (answer->status == 200 && !etag.empty()
               && not_modified(req, etag, answer->last_modified)) {
      // A 304 repeats the validators and Vary of the 200 it stands for and
      // has no content (RFC 9110 section 15.4.5).
      res_.result(http::status::not_modified);
      res_.set(http::field::etag, etag);
      res_.set(http::field::last_modified, answer->last_modified);
      if (answer->compressible)
        res_.set(http::field::vary, "Accept-Encoding");
    } else {
      res_.result(answer->status);
      res_.set(http::field::content_type, answer->content_type);
      if (!answer->location.empty())
        res_.set(http::field::location, answer->location);
      for (auto& [name, value] : answer->headers)
        res_.insert(name, value);
      if (!etag.empty())
        res_.set(http::field::etag, etag);
      if (!answer->last_modified.empty())
        res_.set(http::field::last_modified, answer->last_modified);
      if (answer->compressible)
        res_.set(http::field::vary, "Accept-Encoding");
      if (gzipped) {
        // Compressed per request: the cache keeps the model's answer as is.
        res_.set(http::field::content_encoding, "gzip");
        res_.body() = gzip(answer->body);
      } else {
        res_.body() = answer->body;
      }
    }
    // Not for a 304: Beast's prepare_payload would write "Content-Length: 0",
    // and a 304 may only send the Content-Length of the 200 (RFC 9110
    // section 8.6). Without one, Beast (need_eof) and clients know that a
    // 304 ends with its header, so the connection stays usable.
    if (res_.result() != http::status::not_modified)
      res_.prepare_payload();
    if (req.method() == http::verb::head)
      res_.body().clear(); // Content-Length stays that of the GET
    // An overloaded server: every request the host is already answering
    // adds --load-latency.
    auto others = server_->busy[host_]++;
    auto latency = server_->opts.latency + server_->opts.load_latency * others;
    if (latency.count() > 0) {
      timer_.expires_after(latency);
      timer_.async_wait([self = this->shared_from_this()](beast::error_code) { self->write(); });
    } else {
      write();
    }
  }

  void write() {
    // Logged before the write so that a client that has its answer also
    // finds the line in the log.
    ++server_->responses;
    --server_->busy[host_];
    server_->log_line(host_, target_, res_.result_int(), res_.body().size(), start_, peer_);
    beast::get_lowest_layer(stream_).expires_after(server_->opts.idle_timeout);
    http::async_write(stream_, res_,
                      [self = this->shared_from_this()](beast::error_code ec, std::size_t) {
                        self->on_write(ec);
                      });
  }

  void on_write(beast::error_code ec) {
    if (ec)
      return;
    if (res_.need_eof())
      return close();
    read();
  }

  void close() {
    if constexpr (is_tls) {
      // Many clients never answer close_notify: bound the wait.
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(1));
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {});
    } else {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    }
  }

  site_server::impl* server_;
  uint32_t host_;
  std::string peer_;
  Stream stream_;
  asio::steady_timer timer_;
  asio::steady_timer idle_; // bounds the wait for a request's first byte
  std::optional<std::chrono::system_clock::time_point> arrived_; // ... when the kernel got it
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> res_;
  std::string target_;
  std::chrono::system_clock::time_point start_;
};

} // namespace

void site_server::impl::accept(std::size_t h) {
  acceptors[h]->async_accept(
    asio::make_strand(ioc), [this, h](beast::error_code ec, tcp::socket socket) {
      if (ec == asio::error::operation_aborted || !acceptors[h]->is_open())
        return;
      if (ec) {
        // Out of descriptors or similar: pause briefly instead of spinning.
        auto t = std::make_shared<asio::steady_timer>(ioc, std::chrono::milliseconds(50));
        t->async_wait([this, h, t](beast::error_code) { accept(h); });
        return;
      }
      beast::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      auto remote = socket.remote_endpoint(ignored);
      auto peer = remote.address().to_string() + ":" + std::to_string(remote.port());
      auto host = static_cast<uint32_t>(h);
      if (tls_ctx)
        std::make_shared<session<beast::ssl_stream<beast::tcp_stream>>>(
          this, host, std::move(peer), std::move(socket), *tls_ctx)
          ->run();
      else
        std::make_shared<session<beast::tcp_stream>>(this, host, std::move(peer),
                                                     std::move(socket))
          ->run();
      accept(h);
    });
}

site_server::site_server(site_params params, server_options opts)
  : impl_(std::make_unique<impl>(params, std::move(opts))) {}

site_server::~site_server() {
  stop();
}

std::string site_server::listen(uint16_t port) {
  auto& s = *impl_;
  auto hosts = s.model.params().hosts;
  s.addresses.clear();
  for (uint32_t h = 0; h < hosts; ++h)
    s.addresses.push_back(s.model.host_address(h));
  s.busy = std::make_unique<std::atomic<uint32_t>[]>(hosts);
  for (uint32_t h = 0; h < hosts; ++h)
    s.busy[h] = 0;
  // With port 0 the first host picks a free port and the others follow; if one
  // of them finds it taken, start over with another port.
  std::string last_error;
  for (int attempt = 0; attempt < 20; ++attempt) {
    s.acceptors.clear();
    uint16_t p = port;
    bool ok = true;
    for (uint32_t h = 0; h < hosts && ok; ++h) {
      auto acc = std::make_unique<tcp::acceptor>(s.ioc);
      tcp::endpoint ep{asio::ip::make_address_v4(s.addresses[h]), p};
      beast::error_code ec;
      acc->open(ep.protocol(), ec);
      if (!ec)
        acc->set_option(tcp::acceptor::reuse_address(true), ec);
      if (!ec)
        acc->bind(ep, ec);
      if (!ec)
        acc->listen(asio::socket_base::max_listen_connections, ec);
      if (ec) {
        last_error = "cannot listen on " + s.addresses[h] + ":" + std::to_string(p) + ": "
                     + ec.message();
        ok = false;
        break;
      }
      if (p == 0)
        p = acc->local_endpoint().port();
      s.acceptors.push_back(std::move(acc));
    }
    if (ok) {
      s.model.set_port(p);
      break;
    }
    s.acceptors.clear();
    if (port != 0)
      return last_error;
  }
  if (s.acceptors.empty())
    return last_error;
  if (s.model.params().tls) {
    tls_request req;
    req.ip_names = s.addresses;
    req.dns_names = {"localhost"};
    s.material = make_tls_material(req);
    s.tls_ctx.emplace(ssl::context::tls_server);
    s.tls_ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2
                           | ssl::context::no_sslv3 | ssl::context::no_tlsv1
                           | ssl::context::no_tlsv1_1);
    s.tls_ctx->use_certificate_chain(asio::buffer(s.material->cert_pem));
    s.tls_ctx->use_private_key(asio::buffer(s.material->key_pem), ssl::context::pem);
  }
  if (!s.opts.access_log.empty()) {
    s.log = std::fopen(s.opts.access_log.c_str(), "a");
    if (s.log == nullptr)
      return "cannot open access log '" + s.opts.access_log + "'";
    std::setvbuf(s.log, nullptr, _IOFBF, 1 << 16);
  }
  return {};
}

void site_server::start() {
  auto& s = *impl_;
  if (s.running)
    return;
  s.running = true;
  for (std::size_t h = 0; h < s.acceptors.size(); ++h)
    s.accept(h);
  if (s.log != nullptr) {
    s.flush_timer.emplace(s.ioc);
    s.schedule_flush();
  }
  auto n = std::max(1u, s.opts.threads);
  for (uint32_t i = 0; i < n; ++i)
    s.threads.emplace_back([&s] { s.ioc.run(); });
}

void site_server::stop() {
  auto& s = *impl_;
  if (s.running) {
    asio::post(s.ioc, [&s] {
      for (auto& a : s.acceptors) {
        beast::error_code ignored;
        a->close(ignored);
      }
      if (s.flush_timer)
        s.flush_timer->cancel();
    });
    s.ioc.stop();
    for (auto& t : s.threads)
      t.join();
    s.threads.clear();
    s.running = false;
  }
  if (s.log != nullptr) {
    std::fclose(s.log);
    s.log = nullptr;
  }
}

uint16_t site_server::port() const noexcept {
  return impl_->model.port();
}

const site_model& site_server::model() const noexcept {
  return impl_->model;
}

const tls_material* site_server::tls() const noexcept {
  return impl_->material ? &*impl_->material : nullptr;
}

uint64_t site_server::responses() const noexcept {
  return impl_->responses.load();
}

void site_server::flush_log() {
  std::lock_guard<std::mutex> guard{impl_->log_mutex};
  if (impl_->log != nullptr)
    std::fflush(impl_->log);
}

} // namespace arachne::site
