// The streaming HTML scan for links, <base>, canonical, title, charset and
// meta robots; and entity decoding. Any bytes, as pages are.
#include <cstdint>
#include <string_view>

#include "arachne/html.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text{reinterpret_cast<const char*>(data), size};
  auto scan = arachne::scan_html(text, "arachne");
  for (auto& link : scan.links)
    (void) link.href.size();
  (void) arachne::decode_entities(text);
  return 0;
}
