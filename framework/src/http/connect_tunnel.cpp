// A session's HTTP CONNECT tunnel through an http:// or https:// proxy: the
// request, the proxy's reply, and what a refusal means.

#include "http/connect_tunnel.hpp"

#include <boost/beast/core/detail/base64.hpp>

#include "http/session.hpp"

namespace arachne::http_detail {

std::string basic_credentials(const proxy_spec& p) {
  auto plain = p.username + ":" + p.password;
  std::string out;
  out.resize(beast::detail::base64::encoded_size(plain.size()));
  out.resize(beast::detail::base64::encode(out.data(), plain.data(), plain.size()));
  return "Basic " + out;
}

http::request<http::empty_body> tunnel_request(const std::string& authority,
                                               const std::string& user_agent,
                                               const proxy_spec& proxy) {
  http::request<http::empty_body> req;
  req.method(http::verb::connect);
  req.target(authority);
  req.version(11);
  req.set(http::field::host, authority);
  req.set(http::field::user_agent, user_agent);
  if (proxy.has_credentials())
    req.set(http::field::proxy_authorization, basic_credentials(proxy));
  return req;
}

// -- the session's steps -----------------------------------------------------------

void session::send_connect() {
  connect_req_ = tunnel_request(std::string{url_.host()} + ":" + std::to_string(url_.port()),
                                client_.opts.user_agent, *proxy_);
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

void session::read_connect_reply() {
  connect_parser_.emplace();
  connect_parser_->skip(true); // a CONNECT reply's body is the tunnel
  with_proxy_stream([this](auto& stream) {
    http::async_read_header(stream, conn_->buffer, *connect_parser_,
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              self->on_connect_reply(ec);
                            });
  });
}

void session::on_connect_reply(beast::error_code ec) {
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

} // namespace arachne::http_detail
