// Cookies (RFC 6265): Set-Cookie headers received from several URLs, then
// the Cookie header for each, and the jar written as a Netscape cookie file
// and read back. Asserts a Cookie header never carries CR, LF or NUL (a
// header injected through a cookie), that the limits hold, and that the
// file a jar writes reads back to the same file. Input: lines; a line
// "#file" switches to reading the rest as a Netscape cookie file.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "arachne/cookies.hpp"
#include "arachne/url.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  static const char* const urls[] = {"https://www.example.com/a/b", "http://example.com/",
                                     "https://sub.www.example.com/a/b/c?d",
                                     "http://192.0.2.1:8080/x", "https://example.co.uk/"};
  arachne::cookie_limits limits;
  limits.per_domain = 8;
  limits.total = 20;
  arachne::cookie_jar jar{limits};
  auto now = arachne::cookie_jar::clock::now();
  std::size_t line_no = 0;
  auto file = text.find("#file\n");
  auto lines = text.substr(0, file);
  for (std::size_t at = 0; at < lines.size(); ++line_no) {
    auto end = lines.find('\n', at);
    auto line = lines.substr(at, end == std::string_view::npos ? std::string_view::npos : end - at);
    auto u = arachne::parse_url(urls[line_no % 5]);
    if (!u)
      std::abort();
    (void) jar.set(*u, line, now);
    if (end == std::string_view::npos)
      break;
    at = end + 1;
  }
  if (file != std::string_view::npos)
    (void) jar.load_netscape(text.substr(file + 6), now);
  if (jar.size() > limits.total)
    std::abort();
  for (auto* s : urls) {
    auto u = arachne::parse_url(s);
    auto header = jar.header(*u, now);
    if (header.find_first_of(std::string_view{"\r\n\0", 3}) != std::string::npos)
      std::abort();
  }
  auto saved = jar.to_netscape(now);
  arachne::cookie_jar again{limits};
  if (!again.load_netscape(saved, now) || again.to_netscape(now) != saved)
    std::abort();
  return 0;
}
