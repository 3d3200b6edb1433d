#pragma once

// ASCII text helpers shared by the framework's parsers (options, robots.txt,
// HTML, HTTP headers). Private to the framework.

#include <cstddef>
#include <string>
#include <string_view>

namespace arachne::text {

/// `c` in lower case if it is an ASCII capital.
inline char lower(char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c | 0x20) : c;
}

/// `s` with ASCII capitals in lower case.
inline std::string lower(std::string_view s) {
  std::string out{s};
  for (auto& c : out)
    c = lower(c);
  return out;
}

/// True if `a` and `b` are equal ignoring ASCII case.
inline bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size())
    return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i]))
      return false;
  return true;
}

/// `s` without spaces, tabs and carriage returns at either end.
inline std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

/// True if the list of words `list`, separated by white space, holds `word`
/// (ignoring ASCII case), as HTML's rel attribute and Link's rel parameter do.
inline bool has_word(std::string_view list, std::string_view word) noexcept {
  auto is_space = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
  };
  std::size_t i = 0;
  while (i < list.size()) {
    while (i < list.size() && is_space(list[i]))
      ++i;
    auto start = i;
    while (i < list.size() && !is_space(list[i]))
      ++i;
    if (i > start && iequals(list.substr(start, i - start), word))
      return true;
  }
  return false;
}

} // namespace arachne::text
