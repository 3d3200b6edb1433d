// The connection pool: idle keep-alive connections per key (scheme,
// authority, proxy), one pool per IO thread and touched by that thread only.

#include <algorithm>
#include <cerrno>
#include <iterator>

#include <sys/socket.h>

#include "http/transport.hpp"

namespace arachne {

namespace http_detail {

// -- connection ------------------------------------------------------------------

bool connection::looks_alive() {
  if (buffer.size() > 0)
    return false;
  auto& sock = tcp().socket();
  if (!sock.is_open())
    return false;
  char byte;
  auto n = ::recv(sock.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

void connection::close() {
  beast::error_code ignored;
  tcp().socket().shutdown(tcp::socket::shutdown_both, ignored);
  tcp().socket().close(ignored);
}

} // namespace http_detail

// -- pool ----------------------------------------------------------------------

using http_detail::clock_type;
using http_detail::connection;
using http_detail::worker;

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

std::size_t http_client::impl::drop_idle(worker& w) {
  auto n = w.idle;
  for (auto& [key, conns] : w.pool)
    for (auto& conn : conns)
      conn->close();
  w.pool.clear();
  w.idle = 0;
  idle -= n;
  return n;
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

} // namespace arachne
