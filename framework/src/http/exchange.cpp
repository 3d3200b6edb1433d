// A session's request and response: send the request, read the head and the
// body (decoded as it arrives), then end the hop: a redirect's next hop or
// the result.

#include "http/session.hpp"

#include <algorithm>
#include <utility>

#include "arachne/http_semantics.hpp"
#include "http/connect_tunnel.hpp"
#include "text.hpp"

namespace arachne::http_detail {

// -- request ---------------------------------------------------------------------

void session::send_request() {
  request_ = {};
  request_.method(post_ ? http::verb::post : http::verb::get);
  // Through an HTTP proxy without a tunnel: absolute-form (RFC 9112 3.2.2).
  request_.target(forwarding() ? url_.str() : std::string{url_.target()});
  if (forwarding() && proxy_->has_credentials())
    request_.set(http::field::proxy_authorization, basic_credentials(*proxy_));
  request_.version(11);
  request_.set(http::field::host, std::string{url_.authority()});
  request_.set(http::field::user_agent, client_.opts.user_agent);
  request_.set(http::field::accept, "text/html,application/xhtml+xml,*/*;q=0.8");
  request_.set(http::field::accept_encoding, content_decoder::accepted);
  for (auto& [name, value] : client_.extra_headers)
    request_.set(name, value);
  for (auto& [name, value] : req_.headers)
    request_.set(name, value);
  add_cookies();
  if (post_) {
    request_.set(http::field::content_type, req_.body_type);
    request_.body() = req_.body;
  }
  request_.prepare_payload(); // (Content-Length of a POST; nothing for a GET)
  if (req_.keep_request)
    record_request();
  sent_at_ = clock_type::now();
  conn_->tcp().expires_at(until(client_.opts.ttfb_timeout));
  conn_->with_stream([this](auto& stream) {
    http::async_write(stream, request_,
                      [self = shared_from_this()](beast::error_code ec, std::size_t n) {
                        self->on_written(ec, n);
                      });
  });
}

// The jar's cookies for this hop's URL (RFC 6265 5.4), after a Cookie header
// the user gave (--header), if any.
void session::add_cookies() {
  if (!client_.cookies)
    return;
  auto jar = client_.cookies->header(req_.jar, req_.jar_generation, url_);
  if (jar.empty())
    return;
  auto given = request_[http::field::cookie];
  request_.set(http::field::cookie, given.empty() ? jar : std::string{given} + "; " + jar);
}

// A response's Set-Cookie headers go to the jar (RFC 6265 5.3), whatever its
// status: a redirect that sets a cookie is how many sites hand one out.
void session::store_cookies() {
  if (!client_.cookies)
    return;
  std::vector<std::string_view> set;
  for (auto& field : parser_->get())
    if (field.name() == http::field::set_cookie)
      set.emplace_back(field.value().data(), field.value().size());
  // A chain that comes back to a URL after a cookie changed may get another
  // answer there (a consent page sends its visitor back): no loop yet.
  if (client_.cookies->receive(req_.jar, req_.jar_generation, url_, set)) {
    visited_ = {url_.str()};
    cookies_set_ = true;
  }
}

// A request that does not follow redirects still follows one that set a
// cookie and leads back to the URL whose redirect brought it here: a site
// that sends visitors without a cookie to a page that sets it and sends
// them back. That URL was let through by the frontier already (scope,
// robots.txt); the chain is bounded by --max-redirects as any other.
bool session::returns_with_cookie(const std::string& location) const {
  if (!cookies_set_ || req_.redirected_from.empty())
    return false;
  auto next = resolve_url(url_, location);
  return next && next->str() == req_.redirected_from;
}

// The request head as sent, for archives; proxy credentials left out.
void session::record_request() {
  res_.request = std::string{request_.method_string()} + " " + std::string{request_.target()}
                 + " HTTP/1.1\r\n";
  for (auto& field : request_)
    if (field.name() != http::field::proxy_authorization)
      res_.request += std::string{field.name_string()} + ": " + std::string{field.value()} + "\r\n";
  res_.request += "\r\n";
  res_.request += request_.body();
}

void session::on_written(beast::error_code ec, std::size_t) {
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
void session::blame_forwarding_proxy(const beast::error_code& ec) {
  if (!forwarding() || res_.fault != proxy_fault::none)
    return;
  res_.fault = ec == beast::error::timeout ? proxy_fault::tunnel : proxy_fault::proxy;
}

// A pooled connection the server had closed fails before any response
// byte arrives; GET is idempotent, so it is sent once more on a new one.
bool session::retry_on_fresh_connection() {
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

// -- response head ---------------------------------------------------------------

void session::on_header(beast::error_code ec, std::size_t n) {
  res_.wire_bytes += n;
  if (ec)
    return on_header_failed(ec);
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
  store_cookies();
  auto coding = content_decoder::from_header(msg[http::field::content_encoding]);
  if (!coding)
    return fail(crawl_errc::decode_failed, "unsupported Content-Encoding '"
                                             + std::string{msg[http::field::content_encoding]}
                                             + "'");
  decoder_.emplace(*coding, body_limit_, client_.opts.max_compression_ratio);
  body_.clear();
  read_body();
}

void session::on_header_failed(const beast::error_code& ec) {
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
  fail_io(ec, crawl_errc::protocol_error, "reading the response headers",
          client_.opts.ttfb_timeout);
}

// -- body ------------------------------------------------------------------------

void session::read_body() {
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

void session::on_body(beast::error_code ec, std::size_t n) {
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

void session::body_done() {
  if (auto kind = decoder_->finish(); kind != crawl_errc::none)
    return fail(kind, decoder_->message());
  keep_alive_ = parser_->get().keep_alive();
  hop_done();
}

// -- end of a hop ----------------------------------------------------------------

void session::hop_done() {
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
      && (req_.follow_redirects || returns_with_cookie(location)))
    return redirect(location);
  set_content_type(std::string{msg[http::field::content_type]});
  res_.body = shared_bytes{std::move(body_)};
  complete();
}

void session::redirect(const std::string& location) {
  auto next = resolve_url(url_, location);
  if (!next)
    return fail(crawl_errc::invalid_url, "redirect to an unusable Location '" + location + "'");
  if (res_.redirects.size() >= client_.opts.max_redirects)
    return fail(crawl_errc::too_many_redirects,
                "more than " + std::to_string(client_.opts.max_redirects) + " redirects");
  res_.redirects.push_back(redirect_hop{url_.str(), res_.status});
  // A POST stays one after 307 and 308 only (RFC 9110 15.4).
  if (res_.status != 307 && res_.status != 308)
    post_ = false;
  if (!visited_.insert(next->str()).second)
    return fail(crawl_errc::redirect_loop, "redirect loop back to " + next->str());
  url_ = std::move(*next);
  cookies_set_ = false;
  res_.status = 0;
  res_.headers.clear();
  parser_.reset();
  decoder_.reset();
  retried_ = false;
  begin_hop();
}

void session::set_content_type(const std::string& value) {
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

} // namespace arachne::http_detail
