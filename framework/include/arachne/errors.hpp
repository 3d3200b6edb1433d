#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "caf/atom.hpp"
#include "caf/error.hpp"
#include "caf/message.hpp"

namespace arachne {

/// Why a URL did not end in a fetched page; every failure record carries one.
enum class crawl_errc : uint8_t {
  none = 0,            // no failure
  invalid_url,         // the URL does not parse or is too long
  unsupported_scheme,  // neither http nor https
  dns_failed,          // the host name did not resolve
  connect_failed,      // TCP connect refused or unreachable
  tls_failed,          // TLS handshake or certificate verification failed
  timeout,             // a connect, handshake, first-byte or total limit fired
  too_large,           // headers, body or decompressed body over their limit
  too_many_redirects,  // more redirect hops than allowed
  redirect_loop,       // a redirect chain came back to a URL it had visited
  http_status,         // the server answered with an error status
  protocol_error,      // the server spoke broken HTTP
  connection_reset,    // the connection broke mid-response
  decode_failed,       // the Content-Encoding could not be decoded
  robots_denied,       // robots.txt disallows the URL for our user agent
  out_of_scope,        // a scope rule (domain, regex, depth, budget) rejected it
  proxy_failed,        // the proxy refused, failed or broke the tunnel
  proxy_auth_failed,   // the proxy rejected our credentials (407)
  proxy_exhausted,     // no usable proxy within the wait bound
  retries_exhausted,   // transient failures used up every retry
  cancelled,           // the crawl stopped before the request finished
  noindex,             // the page asks not to be indexed; --honour-noindex keeps it out
};

/// The category atom of `crawl_errc` inside a `caf::error`.
constexpr caf::atom_value crawl_errc_category = caf::atom("arachne");

/// Number of `crawl_errc` values, for tables indexed by kind.
constexpr std::size_t crawl_errc_count = static_cast<std::size_t>(crawl_errc::noindex) + 1;

/// The stable snake_case name of a kind, as written to sinks and reports.
std::string_view to_string_view(crawl_errc x) noexcept;

/// The stable snake_case name of a kind, as written to sinks and reports.
std::string to_string(crawl_errc x);

/// Parses a kind's name; `nullopt` for unknown names.
std::optional<crawl_errc> parse_crawl_errc(std::string_view name) noexcept;

/// Wraps a kind into a `caf::error` (CAF finds this by argument-dependent lookup).
caf::error make_error(crawl_errc x);

/// Wraps a kind and a human-readable detail into a `caf::error`.
caf::error make_error(crawl_errc x, std::string detail);

/// The kind inside `err`, or `nullopt` if it is not a `crawl_errc`.
std::optional<crawl_errc> crawl_errc_of(const caf::error& err) noexcept;

/// What `err` says in words, for a one-line error: the text it carries (as
/// Arachne's errors do), else CAF's rendering of it.
std::string error_text(const caf::error& err);

} // namespace arachne
