// SOCKS5 (RFC 1928, RFC 1929): the bytes of the client handshake, and the
// session's steps that send and read them: greeting, username/password,
// CONNECT, reply.

#include "http/socks5.hpp"

#include "http/session.hpp"

namespace arachne::http_detail {

namespace socks5 {

namespace {

void append(bytes& out, std::string_view text) {
  for (char c : text)
    out.push_back(static_cast<uint8_t>(c));
}

// VER CMD RSV ATYP of a CONNECT request.
bytes request_head(uint8_t address_type) {
  return {0x05, 0x01 /* CONNECT */, 0x00, address_type};
}

void append_port(bytes& out, uint16_t port) {
  out.push_back(static_cast<uint8_t>(port >> 8));
  out.push_back(static_cast<uint8_t>(port & 0xFF));
}

} // namespace

bytes greeting(bool with_credentials) {
  if (with_credentials)
    return {0x05, 2, 0x00 /* no authentication */, 0x02 /* username/password */};
  return {0x05, 1, 0x00};
}

method_choice parse_method_reply(const uint8_t* reply, bool offered_credentials) {
  if (reply[0] != 0x05)
    return method_choice::not_socks5;
  if (reply[1] == 0xFF)
    return method_choice::none_acceptable;
  if (reply[1] == 0x00)
    return method_choice::no_auth;
  if (reply[1] != 0x02 || !offered_credentials)
    return method_choice::not_offered;
  return method_choice::username_password;
}

bytes auth_request(std::string_view username, std::string_view password) {
  bytes out{0x01};
  out.push_back(static_cast<uint8_t>(username.size()));
  append(out, username);
  out.push_back(static_cast<uint8_t>(password.size()));
  append(out, password);
  return out;
}

bool auth_accepted(const uint8_t* reply) {
  return reply[1] == 0x00;
}

bytes connect_request_ipv4(const std::array<uint8_t, 4>& address, uint16_t port) {
  auto out = request_head(0x01);
  out.insert(out.end(), address.begin(), address.end());
  append_port(out, port);
  return out;
}

bytes connect_request_ipv6(const std::array<uint8_t, 16>& address, uint16_t port) {
  auto out = request_head(0x04);
  out.insert(out.end(), address.begin(), address.end());
  append_port(out, port);
  return out;
}

std::optional<bytes> connect_request_name(std::string_view host, uint16_t port) {
  if (host.size() > 255)
    return std::nullopt;
  auto out = request_head(0x03); // the proxy resolves the name
  out.push_back(static_cast<uint8_t>(host.size()));
  append(out, host);
  append_port(out, port);
  return out;
}

reply_head parse_reply_head(const uint8_t* head) {
  reply_head result;
  if (head[0] != 0x05) {
    result.malformed = true;
    return result;
  }
  result.reply = head[1];
  if (result.reply != 0x00)
    return result;
  switch (head[3]) {
    case 0x01: result.rest = 4 - 1 + 2; break;
    case 0x04: result.rest = 16 - 1 + 2; break;
    case 0x03: result.rest = head[4] + 2u; break;
    default: result.malformed = true;
  }
  return result;
}

refusal explain_refusal(uint8_t rep) {
  static constexpr const char* reasons[] = {
    "succeeded", "general failure", "not allowed by its rules", "network unreachable",
    "host unreachable", "connection refused", "TTL expired", "command not supported",
    "address type not supported"};
  refusal result;
  result.reason = rep < 9 ? std::string{reasons[rep]} : "error " + std::to_string(rep);
  // Unknown commands or address types are the proxy's shortcoming; the rest
  // may be the target's (other proxies will tell).
  if (rep == 0x07 || rep == 0x08 || rep > 8)
    return result;
  result.tunnel_fault = true;
  result.kind = rep == 0x06   ? crawl_errc::timeout
                : rep >= 0x03 ? crawl_errc::connect_failed
                              : crawl_errc::proxy_failed;
  return result;
}

} // namespace socks5

// -- the session's steps -----------------------------------------------------------

// Completion of one SOCKS5 write or read: the next step, or the proxy's failure.
auto session::socks_then(socks_step next) {
  return [self = shared_from_this(), next](beast::error_code ec, std::size_t) {
    if (ec)
      return self->fail_io(ec, crawl_errc::proxy_failed, "SOCKS5 exchange with " + self->proxy_name(),
                           self->client_.opts.connect_timeout);
    (self.get()->*next)();
  };
}

void session::socks_write(socks_step next) {
  asio::async_write(conn_->tcp(), asio::buffer(socks_out_), socks_then(next));
}

void session::socks_read(std::size_t n, socks_step next) {
  asio::async_read(conn_->tcp(), asio::buffer(socks_in_.data(), n), socks_then(next));
}

void session::socks_greet() {
  conn_->tcp().expires_at(until(client_.opts.connect_timeout));
  socks_out_ = socks5::greeting(proxy_->has_credentials());
  socks_write(&session::socks_read_method);
}

void session::socks_read_method() {
  socks_read(2, &session::on_socks_method);
}

void session::on_socks_method() {
  switch (socks5::parse_method_reply(socks_in_.data(), proxy_->has_credentials())) {
    case socks5::method_choice::not_socks5:
      return fail(crawl_errc::proxy_failed, proxy_name() + " does not speak SOCKS5");
    case socks5::method_choice::none_acceptable:
      return fail(crawl_errc::proxy_auth_failed,
                  proxy_name() + (proxy_->has_credentials()
                                    ? " accepts no authentication method we offer"
                                    : " requires credentials"));
    case socks5::method_choice::no_auth:
      return socks_request();
    case socks5::method_choice::not_offered:
      return fail(crawl_errc::proxy_failed, proxy_name() + " chose an authentication method "
                                              "we did not offer");
    case socks5::method_choice::username_password:
      break;
  }
  socks_out_ = socks5::auth_request(proxy_->username, proxy_->password);
  socks_write(&session::socks_read_auth);
}

void session::socks_read_auth() {
  socks_read(2, &session::on_socks_auth);
}

void session::on_socks_auth() {
  if (!socks5::auth_accepted(socks_in_.data()))
    return fail(crawl_errc::proxy_auth_failed, proxy_name() + " rejected the credentials");
  socks_request();
}

void session::socks_request() {
  auto request = socks_request_bytes();
  if (!request)
    return fail(crawl_errc::invalid_url, "host name too long for SOCKS5");
  socks_out_ = std::move(*request);
  socks_write(&session::socks_read_reply);
}

// To the target's address if it was resolved here (SOCKS5) or is an IP
// literal, else to its name.
std::optional<socks5::bytes> session::socks_request_bytes() const {
  auto port = url_.port();
  auto to_address = [port](const asio::ip::address& a) {
    return a.is_v4() ? socks5::connect_request_ipv4(a.to_v4().to_bytes(), port)
                     : socks5::connect_request_ipv6(a.to_v6().to_bytes(), port);
  };
  if (socks_target_)
    return to_address(socks_target_->address());
  auto host = std::string{url_.hostname()};
  beast::error_code not_ip;
  auto literal = asio::ip::make_address(host, not_ip);
  if (!not_ip)
    return to_address(literal);
  return socks5::connect_request_name(host, port);
}

void session::socks_read_reply() {
  socks_read(socks5::reply_head_size, &session::on_socks_reply_head);
}

void session::on_socks_reply_head() {
  auto head = socks5::parse_reply_head(socks_in_.data());
  if (head.malformed)
    return fail(crawl_errc::proxy_failed, proxy_name() + " sent a malformed SOCKS5 reply");
  if (head.reply != 0x00)
    return socks_refused(head.reply);
  socks_read(head.rest, &session::tunnel_ready);
}

void session::socks_refused(uint8_t rep) {
  auto refusal = socks5::explain_refusal(rep);
  if (refusal.tunnel_fault)
    res_.fault = proxy_fault::tunnel;
  fail(refusal.kind, proxy_name() + " could not connect to " + std::string{url_.authority()}
                       + ": " + refusal.reason);
}

} // namespace arachne::http_detail
