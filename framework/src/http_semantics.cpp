#include "arachne/http_semantics.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <string>

#include "text.hpp"

namespace arachne {

bool is_redirect(unsigned status) noexcept {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

std::string_view header_value(const std::vector<header_field>& headers,
                              std::string_view name) noexcept {
  for (auto& [k, v] : headers)
    if (text::iequals(k, name))
      return v;
  return {};
}

caf::timespan parse_retry_after(std::string_view value, caf::timestamp now) {
  using std::chrono::seconds;
  constexpr long long longest = 365LL * 24 * 3600; // a year: far below the overflow of ns
  auto wait = [&](long long secs) {
    return secs <= 0 ? caf::timespan{0} : caf::timespan{seconds(std::min(secs, longest))};
  };
  std::string v{text::trim(value)};
  if (v.empty())
    return caf::timespan{0};
  char* end = nullptr;
  errno = 0;
  auto secs = std::strtoll(v.c_str(), &end, 10);
  if (end != v.c_str() && *end == '\0')
    return wait(errno == ERANGE && secs > 0 ? longest : secs);
  // An HTTP-date (RFC 9110 IMF-fixdate): "Sun, 06 Nov 1994 08:49:37 GMT".
  std::tm tm{};
  auto* rest = ::strptime(v.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (rest == nullptr || *rest != '\0')
    return seconds(60); // unreadable: a server that asks for a pause gets one
  auto now_secs = std::chrono::duration_cast<seconds>(now.time_since_epoch()).count();
  return wait(static_cast<long long>(::timegm(&tm)) - now_secs);
}

} // namespace arachne
