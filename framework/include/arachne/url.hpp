#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "caf/expected.hpp"

namespace arachne {

/// How URLs are normalised for deduplication; part of the crawl configuration.
struct url_options {
  /// What happens to the query string.
  enum class query_mode : uint8_t {
    keep,   // keep parameters in their order (only the named ones are stripped)
    sort,   // sort parameters by name, then value (stable for equal names)
    drop,   // drop the whole query
  };

  query_mode query = query_mode::keep;

  /// Query parameters to remove; a trailing `*` matches a prefix (`utm_*`).
  std::vector<std::string> strip_params;

  /// URLs longer than this (after normalisation) are rejected as `invalid_url`.
  std::size_t max_length = 2048;
};

/// An absolute, normalised http or https URL: the unit of deduplication.
class url {
public:
  url() = default;

  /// The normalised text, e.g. `https://example.com/a/b?x=1`.
  const std::string& str() const noexcept { return spec_; }

  /// `http` or `https`.
  std::string_view scheme() const noexcept;

  /// True for `https`.
  bool is_https() const noexcept { return https_; }

  /// The host as it appears in the URL: lower case, IDNA-encoded, IPv6 in brackets.
  std::string_view host() const noexcept;

  /// The host without IPv6 brackets, as a resolver or TLS wants it.
  std::string_view hostname() const noexcept;

  /// The port, with the scheme's default filled in.
  uint16_t port() const noexcept { return port_; }

  /// Host plus `:port` when the port is not the default, as in a Host header.
  std::string_view authority() const noexcept;

  /// Path plus query, as in a request line; never empty.
  std::string_view target() const noexcept;

  /// The path alone.
  std::string_view path() const noexcept;

  /// The query without the `?`; empty if there is none.
  std::string_view query() const noexcept;

  friend bool operator==(const url& x, const url& y) noexcept { return x.spec_ == y.spec_; }
  friend bool operator!=(const url& x, const url& y) noexcept { return x.spec_ != y.spec_; }
  friend bool operator<(const url& x, const url& y) noexcept { return x.spec_ < y.spec_; }

private:
  friend caf::expected<url> make_url(std::string spec, bool https, std::size_t host_len,
                                     std::size_t authority_len, uint16_t port);

  std::string spec_;
  uint16_t port_ = 0;
  uint16_t host_len_ = 0;
  uint16_t authority_len_ = 0;
  bool https_ = false;
};

/// Parses and normalises an absolute URL as `resolve_url` does, without a base (errors are `crawl_errc::invalid_url` or
/// `crawl_errc::unsupported_scheme`, with a reason).
caf::expected<url> parse_url(std::string_view text, const url_options& opts = {});

namespace detail {

/// `parse_url` without its fast path for already canonical URLs: the general
/// machinery alone, for tests that check the two agree.
caf::expected<url> parse_url_general(std::string_view text, const url_options& opts = {});

/// `resolve_url` without its fast paths: the standard's parser alone, for
/// tests that check the two agree.
caf::expected<url> resolve_url_general(const url& base, std::string_view ref,
                                       const url_options& opts = {});

} // namespace detail

/// Resolves a reference found on the page at `base` as a browser does (the
/// WHATWG URL Standard's parser for http and https) and normalises it:
/// fragment and userinfo dropped, only escapes of unreserved characters
/// decoded (see docs/urls.md). Other schemes fail as `unsupported_scheme`.
caf::expected<url> resolve_url(const url& base, std::string_view ref,
                               const url_options& opts = {});

/// Percent-encoding in the one form URLs, robots.txt paths and robots.txt
/// patterns are compared in, without changing what the text means (RFC 3986
/// section 6.2.2): escapes of unreserved characters decoded, the other
/// escapes' hex digits upper case, bytes outside printable ASCII encoded. A
/// `%` that starts no escape stays as it is.
std::string normalize_percent_encoding(std::string_view text);

/// The key politeness and partitioning use for a URL's host: its host name, no port.
std::string_view host_key(const url& u) noexcept;

/// The registrable domain (public suffix plus one label, via libpsl) of a host;
/// the host itself for IP addresses, single labels and public suffixes.
std::string registrable_domain(std::string_view host);

/// True if `host` is a public suffix (`com`, `co.uk`, and by the list's
/// default rule any single label it does not name), via libpsl.
bool is_public_suffix(std::string_view host);

/// The host name of a normalised URL (no brackets, no port), found by a
/// string scan: the partition key, cheaper than parsing the URL again.
std::string_view url_host(std::string_view normalised_url) noexcept;

} // namespace arachne
