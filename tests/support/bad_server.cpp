#include "bad_server.hpp"
#include "codings.hpp"

#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <sys/socket.h>
#include <zlib.h>

namespace asio = boost::asio; // from <boost/asio.hpp>
namespace ssl = asio::ssl;    // from <boost/asio/ssl.hpp>
using tcp = asio::ip::tcp;

namespace arachne::testing {

namespace {

using namespace std::chrono_literals;

std::string compress(const std::string& data, int window_bits) {
  z_stream s{};
  deflateInit2(&s, 9, Z_DEFLATED, window_bits, 9, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&s, data.size()), '\0');
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  s.avail_in = static_cast<uInt>(data.size());
  s.next_out = reinterpret_cast<Bytef*>(out.data());
  s.avail_out = static_cast<uInt>(out.size());
  deflate(&s, Z_FINISH);
  out.resize(s.total_out);
  deflateEnd(&s);
  return out;
}

// The text the compressed answers hold: 50,000 letters.
std::string sample_text() {
  std::string text(50000, 'a');
  for (std::size_t i = 0; i < text.size(); i += 7)
    text[i] = static_cast<char>('a' + i % 26);
  return text;
}

// A client connection; `mtx` guards closing it against the destructor's shutdown.
struct client_conn {
  explicit client_conn(asio::io_context& ioc) : sock(ioc) {}
  tcp::socket sock;
  std::mutex mtx;
  bool closed = false;
};

// Blocking byte IO over a plain or TLS socket.
struct channel {
  tcp::socket& sock;
  ssl::stream<tcp::socket&>* tls;
  client_conn& conn;

  bool write(std::string_view data) {
    boost::system::error_code ec;
    if (tls)
      asio::write(*tls, asio::buffer(data.data(), data.size()), ec);
    else
      asio::write(sock, asio::buffer(data.data(), data.size()), ec);
    return !ec;
  }

  std::size_t read_some(char* buf, std::size_t n, boost::system::error_code& ec) {
    return tls ? tls->read_some(asio::buffer(buf, n), ec) : sock.read_some(asio::buffer(buf, n), ec);
  }
};

// Trickles `data` one byte at a time; stops when the client goes away or
// after `limit`.
void trickle(channel& ch, std::string_view data, std::chrono::milliseconds limit) {
  auto end = std::chrono::steady_clock::now() + limit;
  for (std::size_t i = 0; std::chrono::steady_clock::now() < end; i = (i + 1) % data.size()) {
    if (!ch.write(data.substr(i, 1)))
      return;
    std::this_thread::sleep_for(50ms);
  }
}

std::string response(int status, std::string_view reason, std::string_view body,
                     std::string_view extra_headers = {}) {
  return "HTTP/1.1 " + std::to_string(status) + " " + std::string{reason}
         + "\r\nContent-Type: text/plain\r\nContent-Length: " + std::to_string(body.size())
         + "\r\n" + std::string{extra_headers} + "\r\n" + std::string{body};
}

} // namespace

struct bad_server::impl {
  asio::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::optional<ssl::context> tls_ctx;
  std::thread accept_thread;
  std::mutex mtx;
  std::vector<std::thread> threads;
  std::vector<std::shared_ptr<client_conn>> conns;
  std::atomic<uint64_t> accepted{0};
  std::atomic<bool> stopping{false};
  std::string bomb; // 64 MiB of zeros, gzip-compressed
  uint16_t port = 0;

  // Made on first use (each takes a moment): 64 MiB of zeros as brotli and
  // zstd, and 9 MiB as a zstd frame that asks for a 16 MiB window.
  std::once_flag coded_once;
  std::string br_bomb, zstd_bomb, zstd_wide;
  void make_coded() {
    std::call_once(coded_once, [this] {
      std::string zeros(64u << 20, '\0');
      br_bomb = compress_brotli(zeros, 5);
      zstd_bomb = compress_zstd(zeros, 20);
      zstd_wide = compress_zstd(std::string(9u << 20, 'x'), 24);
    });
  }

  void serve(std::shared_ptr<client_conn> conn, uint64_t conn_id);
  // Answers one request; false ends the connection.
  bool answer(channel& ch, const std::string& target, bool client_close, uint64_t conn_id);
};

bool bad_server::impl::answer(channel& ch, const std::string& target, bool client_close,
                              uint64_t conn_id) {
  auto keep = client_close ? std::string{"Connection: close\r\n"} : std::string{};
  if (target == "/ok")
    return ch.write(response(200, "OK", "hello conn=" + std::to_string(conn_id), keep)) && !client_close;
  if (target == "/forbidden") // a page that refuses everyone, whatever their address
    return ch.write(response(403, "Forbidden", "not for you", keep)) && !client_close;
  if (target == "/chunked")
    return ch.write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n"
                    + keep + "\r\n6\r\nhello \r\n8\r\nchunked \r\n5\r\nworld\r\n0\r\n\r\n")
           && !client_close;
  if (target == "/close") {
    ch.write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n"
             "until the connection closes");
    return false;
  }
  if (target == "/http10") {
    ch.write("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nold school");
    return false;
  }
  auto coded_answer = [&](const std::string& coding, const std::string& body) {
    return ch.write("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: " + coding
                    + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + keep
                    + "\r\n" + body)
           && !client_close;
  };
  if (target == "/br")
    return coded_answer("br", compress_brotli(sample_text(), 11));
  if (target == "/zstd")
    return coded_answer("zstd", compress_zstd(sample_text()) + compress_zstd("two frames"));
  if (target == "/br-bomb" || target == "/zstd-bomb" || target == "/zstd-wide") {
    make_coded();
    return target == "/br-bomb"     ? coded_answer("br", br_bomb)
           : target == "/zstd-bomb" ? coded_answer("zstd", zstd_bomb)
                                    : coded_answer("zstd", zstd_wide);
  }
  if (target == "/corrupt-zstd")
    return coded_answer("zstd", "\x28\xb5\x2f\xfd this is not zstd");
  if (target == "/truncated-br") {
    auto whole = compress_brotli(sample_text(), 11);
    return coded_answer("br", whole.substr(0, whole.size() / 2));
  }
  if (target == "/gzip" || target == "/deflate" || target == "/deflate-raw") {
    auto text = sample_text();
    auto coded = compress(text, target == "/gzip" ? 31 : target == "/deflate" ? 15 : -15);
    auto coding = target == "/gzip" ? "gzip" : "deflate";
    return ch.write("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Encoding: "
                    + std::string{coding} + "\r\nContent-Length: " + std::to_string(coded.size())
                    + "\r\n" + keep + "\r\n" + coded)
           && !client_close;
  }
  if (target == "/bomb")
    return ch.write("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip\r\n"
                    "Content-Length: " + std::to_string(bomb.size()) + "\r\n" + keep + "\r\n" + bomb)
           && !client_close;
  if (target == "/corrupt-gzip")
    return ch.write("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 20\r\n" + keep
                    + "\r\nthis is not gzip!!!!")
           && !client_close;
  if (target == "/brotli")
    return ch.write("HTTP/1.1 200 OK\r\nContent-Encoding: br\r\nContent-Length: 4\r\n" + keep
                    + "\r\nxxxx")
           && !client_close;
  if (target == "/charset")
    return ch.write("HTTP/1.1 200 OK\r\nContent-Type: Text/HTML; Charset=\"ISO-8859-1\"\r\n"
                    "Content-Length: 2\r\n" + keep + "\r\nhi")
           && !client_close;
  if (target == "/slow-headers") {
    ch.write("HTTP/1.1 200 OK\r\n");
    trickle(ch, "X-Slow: yes\r\n", 5000ms);
    return false;
  }
  if (target == "/slow-body") {
    ch.write("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n");
    trickle(ch, "z", 5000ms);
    return false;
  }
  if (target == "/no-response") {
    std::this_thread::sleep_for(3000ms);
    return false;
  }
  if (target == "/huge-headers") {
    std::string big = "X-Big: " + std::string(200000, 'h') + "\r\n";
    return ch.write(response(200, "OK", "big headers", big)) && !client_close;
  }
  if (target == "/huge-body") {
    ch.write("HTTP/1.1 200 OK\r\nContent-Length: 67108864\r\n\r\n");
    std::string chunk(65536, '0');
    for (int i = 0; i < 1024 && !stopping; ++i)
      if (!ch.write(chunk))
        break;
    return false;
  }
  if (target == "/reset") {
    ch.write("HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + std::string(1000, 'r'));
    // Abortive close: RST instead of FIN.
    std::lock_guard<std::mutex> guard{ch.conn.mtx};
    boost::system::error_code ignored;
    ch.sock.set_option(tcp::socket::linger(true, 0), ignored);
    ch.sock.close(ignored);
    ch.conn.closed = true;
    return false;
  }
  if (target.rfind("/redirect/", 0) == 0) {
    auto n = std::stoi(target.substr(10));
    if (n <= 0)
      return ch.write(response(200, "OK", "arrived", keep)) && !client_close;
    return ch.write(response(302, "Found", "", "Location: /redirect/" + std::to_string(n - 1) + "\r\n" + keep))
           && !client_close;
  }
  if (target == "/loop")
    return ch.write(response(302, "Found", "", "Location: /loop2\r\n" + keep)) && !client_close;
  if (target == "/loop2")
    return ch.write(response(301, "Moved", "", "Location: " + std::string{"/loop"} + "\r\n" + keep))
           && !client_close;
  if (target == "/bad-location")
    return ch.write(response(302, "Found", "", "Location: http://[::1/\r\n" + keep)) && !client_close;
  if (target.rfind("/status/", 0) == 0) {
    auto status = std::stoi(target.substr(8));
    return ch.write(response(status, "Status", "status " + std::to_string(status), keep)) && !client_close;
  }
  if (target == "/close-after-response") {
    // Promises keep-alive, then closes: the client's next request on this
    // connection must go out again on a fresh one.
    ch.write(response(200, "OK", "conn=" + std::to_string(conn_id)));
    return false;
  }
  if (target == "/garbage") {
    ch.write("THIS IS NOT HTTP\r\n\r\n");
    return false;
  }
  return ch.write(response(404, "Not Found", "no such behaviour", keep)) && !client_close;
}

void bad_server::impl::serve(std::shared_ptr<client_conn> conn, uint64_t conn_id) {
  auto* sock = &conn->sock;
  std::optional<ssl::stream<tcp::socket&>> tls;
  if (tls_ctx) {
    tls.emplace(*sock, *tls_ctx);
    boost::system::error_code ec;
    tls->handshake(ssl::stream_base::server, ec);
    if (ec)
      return;
  }
  channel ch{*sock, tls ? &*tls : nullptr, *conn};
  std::string pending;
  char buf[8192];
  bool drop_next = false;
  while (!stopping) {
    auto end = pending.find("\r\n\r\n");
    if (end == std::string::npos) {
      if (pending.size() > 65536)
        return;
      boost::system::error_code ec;
      auto n = ch.read_some(buf, sizeof(buf), ec);
      if (ec)
        return;
      pending.append(buf, n);
      continue;
    }
    auto head = pending.substr(0, end);
    pending.erase(0, end + 4);
    auto sp1 = head.find(' ');
    auto sp2 = head.find(' ', sp1 + 1);
    if (sp1 == std::string::npos || sp2 == std::string::npos)
      return;
    auto target = head.substr(sp1 + 1, sp2 - sp1 - 1);
    std::string lower;
    for (auto c : head)
      lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    bool client_close = lower.find("\r\nconnection: close") != std::string::npos;
    if (drop_next)
      break; // the request was read; close without a response
    if (target == "/drop-next") {
      // Answers with keep-alive, then drops the next request on this
      // connection unanswered, as a server whose idle timeout hit first.
      drop_next = true;
      if (!ch.write(response(200, "OK", "conn=" + std::to_string(conn_id))))
        break;
      continue;
    }
    if (!answer(ch, target, client_close, conn_id))
      break;
  }
  std::lock_guard<std::mutex> guard{conn->mtx};
  if (conn->closed)
    return;
  // No TLS close_notify: a client that never answers it would block here.
  boost::system::error_code ignored;
  sock->shutdown(tcp::socket::shutdown_both, ignored);
}

bad_server::bad_server(std::optional<site::tls_material> tls) : impl_(std::make_unique<impl>()) {
  auto& s = *impl_;
  s.bomb = compress(std::string(64u << 20, '\0'), 31);
  if (tls) {
    s.tls_ctx.emplace(ssl::context::tls_server);
    s.tls_ctx->use_certificate_chain(asio::buffer(tls->cert_pem));
    s.tls_ctx->use_private_key(asio::buffer(tls->key_pem), ssl::context::pem);
  }
  tcp::endpoint ep{asio::ip::make_address("127.0.0.1"), 0};
  s.acceptor.open(ep.protocol());
  s.acceptor.set_option(tcp::acceptor::reuse_address(true));
  s.acceptor.bind(ep);
  s.acceptor.listen();
  s.port = s.acceptor.local_endpoint().port();
  s.accept_thread = std::thread([&s] {
    while (!s.stopping) {
      auto conn = std::make_shared<client_conn>(s.ioc);
      boost::system::error_code ec;
      s.acceptor.accept(conn->sock, ec);
      if (ec || s.stopping)
        return;
      auto id = ++s.accepted;
      std::lock_guard<std::mutex> guard{s.mtx};
      s.conns.push_back(conn);
      s.threads.emplace_back([&s, conn, id] { s.serve(conn, id); });
    }
  });
}

bad_server::~bad_server() {
  auto& s = *impl_;
  s.stopping = true;
  boost::system::error_code ignored;
  // shutdown() wakes a thread blocked in accept(); close() alone does not.
  ::shutdown(s.acceptor.native_handle(), SHUT_RDWR);
  if (s.accept_thread.joinable())
    s.accept_thread.join();
  s.acceptor.close(ignored);
  std::lock_guard<std::mutex> guard{s.mtx};
  for (auto& conn : s.conns) {
    // Wakes a serve thread blocked in read; the socket stays open until
    // that thread is done with it.
    std::lock_guard<std::mutex> conn_guard{conn->mtx};
    if (!conn->closed)
      ::shutdown(conn->sock.native_handle(), SHUT_RDWR);
  }
  for (auto& t : s.threads)
    t.join();
}

uint16_t bad_server::port() const noexcept {
  return impl_->port;
}

void bad_server::make_bombs() {
  impl_->make_coded();
}

std::string bad_server::url(std::string_view path) const {
  return std::string{impl_->tls_ctx ? "https" : "http"} + "://127.0.0.1:" + std::to_string(port())
         + std::string{path};
}

uint64_t bad_server::connections() const noexcept {
  return impl_->accepted;
}

} // namespace arachne::testing
