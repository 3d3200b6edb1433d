#pragma once

// Percent-escapes, shared by the URL parser and normalisation. Private to
// the framework.

#include <string>
#include <string_view>

namespace arachne::url_detail {

/// The value of a hex digit, or -1.
inline int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/// True if `s` holds an escape (`%` and two hex digits) at `i`.
inline bool escape_at(std::string_view s, std::size_t i) noexcept {
  return s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0
         && hex_value(s[i + 2]) >= 0;
}

/// Appends `c` as an escape with upper-case hex digits (`%2F`).
inline void append_escape(std::string& out, unsigned char c) {
  static constexpr char digits[] = "0123456789ABCDEF";
  out += '%';
  out += digits[c >> 4];
  out += digits[c & 0x0F];
}

/// `s` with every escape decoded (a `%` that starts none is kept).
inline std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (escape_at(s, i)) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

} // namespace arachne::url_detail
