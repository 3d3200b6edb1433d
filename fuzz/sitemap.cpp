// Sitemaps (sitemaps.org): XML urlsets and indexes, text sitemaps, gzip or
// not, read under small limits; each entry's lastmod read as a W3C datetime
// and its changefreq by name. Asserts the entry limit holds and that a
// lastmod kept is one the datetime parser reads. Input: the file.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "arachne/sitemap.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body{reinterpret_cast<const char*>(data), size};
  arachne::sitemap_limits limits;
  limits.max_urls = 64;
  limits.max_bytes = 1 << 20;
  auto file = arachne::read_sitemap(body, limits);
  if (file.entries.size() > limits.max_urls)
    std::abort();
  for (auto& e : file.entries) {
    if (!e.lastmod.empty() && !arachne::parse_w3c_datetime(e.lastmod))
      std::abort();
    (void) arachne::to_string(e.changefreq);
    if (e.priority != -1 && (e.priority < 0 || e.priority > 1))
      std::abort();
  }
  return 0;
}
