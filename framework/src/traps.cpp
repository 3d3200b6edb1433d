// Crawler-trap heuristics: repeated path segments and same-shaped URLs.

#include "arachne/traps.hpp"

#include <array>

namespace arachne {

namespace {

bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

// Where the path of a normalised absolute URL begins (its end if none).
std::size_t path_start(std::string_view url) noexcept {
  auto scheme = url.find("://");
  if (scheme == std::string_view::npos)
    return url.size();
  auto slash = url.find('/', scheme + 3);
  return slash == std::string_view::npos ? url.size() : slash;
}

} // namespace

bool repeats_segments(std::string_view url, uint32_t times) noexcept {
  if (times < 2)
    return false;
  auto path = url.substr(path_start(url));
  path = path.substr(0, path.find('?'));
  // The last 64 segments (traps grow at the end; a bound on the work).
  constexpr std::size_t most = 64;
  std::array<std::string_view, most> seg;
  std::size_t n = 0;
  auto end = path.size();
  if (end > 0 && path[end - 1] == '/') // (a trailing slash ends the last segment)
    --end;
  while (end > 0 && n < most) {
    auto slash = path.rfind('/', end - 1);
    auto begin = slash == std::string_view::npos ? 0 : slash + 1;
    seg[n++] = path.substr(begin, end - begin);
    if (slash == std::string_view::npos || slash == 0)
      break;
    end = slash;
  }
  // seg[] runs from the last segment back; a repeat reads the same either way.
  for (std::size_t len = 1; len * times <= n; ++len)
    for (std::size_t i = 0; i + len * times <= n; ++i) {
      bool all = true;
      for (std::size_t k = 0; all && k < len; ++k)
        for (std::size_t t = 1; all && t < times; ++t)
          all = seg[i + k] == seg[i + k + t * len];
      if (all)
        return true;
    }
  return false;
}

bool same_shape(std::string_view a, std::string_view b) noexcept {
  auto pa = path_start(a);
  auto pb = path_start(b);
  if (a.substr(0, pa) != b.substr(0, pb))
    return false; // another origin (whose digits may be an address or port)
  bool number = false;
  auto i = pa;
  auto j = pb;
  while (i < a.size() && j < b.size()) {
    if (is_digit(a[i]) && is_digit(b[j])) {
      while (i < a.size() && is_digit(a[i]))
        ++i;
      while (j < b.size() && is_digit(b[j]))
        ++j;
      number = true;
    } else if (a[i] == b[j]) {
      ++i;
      ++j;
    } else {
      return false;
    }
  }
  return number && i == a.size() && j == b.size();
}

} // namespace arachne
