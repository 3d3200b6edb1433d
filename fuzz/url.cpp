// URL parse, resolve and normalise (the WHATWG parser and RFC 3986 6.2.2
// normalisation). Asserts, beyond "no crash, no sanitizer report":
//  - normalising twice changes nothing: a parsed URL's text parses to itself;
//  - the fast path equals the general path, for parsing and resolving.
// Input: a reference; its first line, when there are two, is the base.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "arachne/url.hpp"

namespace {

void require(bool ok) {
  if (!ok)
    std::abort();
}

void same(const caf::expected<arachne::url>& a, const caf::expected<arachne::url>& b) {
  require(static_cast<bool>(a) == static_cast<bool>(b));
  if (a)
    require(a->str() == b->str());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  std::string_view base_text = "http://example.com/a/b/c?q#f";
  if (auto nl = text.find('\n'); nl != std::string_view::npos) {
    base_text = text.substr(0, nl);
    text.remove_prefix(nl + 1);
  }
  auto parsed = arachne::parse_url(text);
  same(parsed, arachne::detail::parse_url_general(text));
  if (parsed) {
    auto again = arachne::parse_url(parsed->str());
    require(static_cast<bool>(again) && again->str() == parsed->str());
  }
  if (auto base = arachne::parse_url(base_text)) {
    auto resolved = arachne::resolve_url(*base, text);
    same(resolved, arachne::detail::resolve_url_general(*base, text));
    if (resolved) {
      auto again = arachne::parse_url(resolved->str());
      require(static_cast<bool>(again) && again->str() == resolved->str());
    }
  }
  return 0;
}
