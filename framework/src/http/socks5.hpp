#pragma once

// The bytes of a SOCKS5 client handshake (RFC 1928, with RFC 1929's
// username/password authentication), built and read without sockets. The
// session sends and reads them (socks5.cpp); private to the framework.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "arachne/errors.hpp"

namespace arachne::http_detail::socks5 {

/// A message to the proxy.
using bytes = std::vector<uint8_t>;

/// The greeting: version 5 and the methods offered, no authentication and,
/// with credentials, username/password (RFC 1928 section 3).
bytes greeting(bool with_credentials);

/// What the proxy's method selection means for the client.
enum class method_choice {
  no_auth,           // go on with the request
  username_password, // authenticate first (RFC 1929)
  not_socks5,        // the version byte is not 5
  none_acceptable,   // 0xFF: none of the methods offered
  not_offered,       // a method the client did not offer
};

/// Reads the 2-byte method selection, VER METHOD (RFC 1928 section 3).
method_choice parse_method_reply(const uint8_t* reply, bool offered_credentials);

/// The username/password request, VER ULEN UNAME PLEN PASSWD (RFC 1929
/// section 2); each at most 255 bytes (`parse_proxy` refuses longer ones).
bytes auth_request(std::string_view username, std::string_view password);

/// True if the 2-byte reply to the username/password request, VER STATUS,
/// grants access (RFC 1929 section 2).
bool auth_accepted(const uint8_t* reply);

/// The CONNECT request to an IPv4 address (RFC 1928 sections 4 and 5).
bytes connect_request_ipv4(const std::array<uint8_t, 4>& address, uint16_t port);

/// The CONNECT request to an IPv6 address (RFC 1928 sections 4 and 5).
bytes connect_request_ipv6(const std::array<uint8_t, 16>& address, uint16_t port);

/// The CONNECT request to a domain name the proxy resolves (RFC 1928
/// sections 4 and 5); `nullopt` for a name over 255 bytes.
std::optional<bytes> connect_request_name(std::string_view host, uint16_t port);

/// The reply is read in two steps: its first five bytes, VER REP RSV ATYP and
/// the first byte of the bound address, tell how long the rest is.
inline constexpr std::size_t reply_head_size = 5;

/// The first five bytes of the reply to CONNECT (RFC 1928 section 6).
struct reply_head {
  bool malformed = false; // not version 5, or an unknown address type
  uint8_t reply = 0;      // REP: 0 succeeded, anything else a refusal
  std::size_t rest = 0;   // bytes left to read on success: address and port
};

/// Reads the first `reply_head_size` bytes of the reply to CONNECT.
reply_head parse_reply_head(const uint8_t* head);

/// What a refusal (REP other than 0) means for the fetch.
struct refusal {
  crawl_errc kind = crawl_errc::proxy_failed;
  bool tunnel_fault = false; // the target may be at fault, not the proxy
  std::string reason;        // e.g. "connection refused"
};

/// Explains a refusal code (RFC 1928 section 6).
refusal explain_refusal(uint8_t rep);

} // namespace arachne::http_detail::socks5
