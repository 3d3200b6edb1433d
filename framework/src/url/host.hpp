#pragma once

#include <string>
#include <string_view>

#include "caf/expected.hpp"

namespace arachne::url_detail {

/// The host parser of the WHATWG URL Standard for special schemes (section
/// 3.5): `[...]` as IPv6, else percent-decoded, mapped to ASCII by UTS #46
/// (libidn2), checked for forbidden code points, and read as IPv4 when it ends
/// in a number. Returns the serialised host (IPv6 in brackets) or
/// `crawl_errc::invalid_url` with the reason.
caf::expected<std::string> parse_host(std::string_view input);

/// True for a host that parse_host returns unchanged and that needs none of
/// its work: lower-case LDH labels (no `xn--`), not ending in a number, or a
/// dotted quad in its canonical form. A fast path's test, never a verdict.
bool is_plain_host(std::string_view host) noexcept;

/// True for an IPv4 address as parse_host serialises it (`127.0.0.1`).
bool is_ipv4_literal(std::string_view host) noexcept;

} // namespace arachne::url_detail
