#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "caf/expected.hpp"

namespace arachne::url_detail {

/// An http(s) URL as the WHATWG URL Standard's parser leaves it, before
/// Arachne's normalisation: fragment and userinfo are not kept.
struct url_parts {
  bool https = false;
  std::string host;    // serialised: lower case, IDNA-encoded, IPv4 dotted, IPv6 in brackets
  uint16_t port = 0;   // the scheme's default when none was given
  std::string path;    // serialised, starts with '/'
  bool has_query = false;
  std::string query;   // without the '?'
};

/// What a relative reference is resolved against: an http(s) URL.
struct url_base {
  bool https = false;
  std::string_view host;
  uint16_t port = 0;
  std::string_view path; // starts with '/'
  bool has_query = false;
  std::string_view query;
};

/// The WHATWG URL Standard's basic URL parser (section 4.4) for http and
/// https: `input` resolved against `base` (null for an absolute URL). Other
/// schemes fail as `crawl_errc::unsupported_scheme`, what the standard
/// rejects as `crawl_errc::invalid_url` with the reason.
caf::expected<url_parts> parse_http_url(std::string_view input, const url_base* base);

} // namespace arachne::url_detail
