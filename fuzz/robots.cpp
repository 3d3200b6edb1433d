// robots.txt (RFC 9309): parse any bytes for a user agent, then match
// paths. Input: the file; its last line is also matched as a path.
#include <cstdint>
#include <string_view>

#include "arachne/robots.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  auto rules = arachne::robots_rules::parse(text, "arachne");
  auto last = text.substr(text.rfind('\n') == std::string_view::npos ? 0 : text.rfind('\n') + 1);
  for (std::string_view path : {std::string_view{"/"}, std::string_view{"/a/b?c=d"}, last})
    (void) rules.allowed(path);
  // Each line as a pattern against the whole text and a path.
  for (std::size_t at = 0; at < text.size();) {
    auto end = text.find('\n', at);
    auto line = text.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at);
    (void) arachne::robots_pattern_matches(line, "/a/b/c.html?x=1");
    (void) arachne::robots_pattern_matches(line, last);
    if (end == std::string_view::npos)
      break;
    at = end + 1;
  }
  return 0;
}
