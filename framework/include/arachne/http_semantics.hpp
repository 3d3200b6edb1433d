#pragma once

#include <string_view>
#include <vector>

#include "caf/timespan.hpp"
#include "caf/timestamp.hpp"

#include "arachne/messages.hpp"

namespace arachne {

/// True for the statuses whose `Location` is followed: 301, 302, 303, 307
/// and 308 (RFC 9110 section 15.4).
bool is_redirect(unsigned status) noexcept;

/// The value of the first header named `name` (ASCII case-insensitive), or
/// empty if there is none.
std::string_view header_value(const std::vector<header_field>& headers,
                              std::string_view name) noexcept;

/// How long a `Retry-After` value (delay-seconds or an HTTP-date, RFC 9110
/// section 10.2.3) asks to wait from `now`: 0 for none or a date past, 60 s
/// if unreadable, never more than a year (larger values would overflow).
caf::timespan parse_retry_after(std::string_view value, caf::timestamp now);

} // namespace arachne
