#pragma once

// HTTP CONNECT through a proxy (RFC 9110 section 9.3.6): the request that
// asks for a tunnel, and the credentials it carries. The session sends it
// and reads the reply (connect_tunnel.cpp); private to the framework.

#include <string>

#include "arachne/proxy.hpp"
#include "http/transport.hpp"

namespace arachne::http_detail {

/// Basic credentials for a Proxy-Authorization header.
std::string basic_credentials(const proxy_spec& p);

/// The CONNECT request for a tunnel to `authority` (host:port) through `proxy`.
http::request<http::empty_body> tunnel_request(const std::string& authority,
                                               const std::string& user_agent,
                                               const proxy_spec& proxy);

} // namespace arachne::http_detail
