// Content-Encoding decoding (gzip, deflate, br, zstd) under the size and
// ratio limits: any bytes, fed in two parts. Asserts the output never
// exceeds the limit. Input: first byte picks the coding, the rest is the body.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "http/content_decoder.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0)
    return 0;
  using coding = arachne::http_detail::content_decoder::coding;
  const coding codings[] = {coding::gzip, coding::deflate, coding::br, coding::zstd,
                            coding::identity};
  auto c = codings[data[0] % 5];
  std::string_view body{reinterpret_cast<const char*>(data + 1), size - 1};
  constexpr uint64_t limit = 1 << 20;
  arachne::http_detail::content_decoder d{c, limit, 200};
  std::string out;
  auto half = body.size() / 2;
  auto e = d.feed(body.substr(0, half), out);
  if (e == arachne::crawl_errc::none)
    e = d.feed(body.substr(half), out);
  if (e == arachne::crawl_errc::none)
    (void) d.finish();
  if (out.size() > limit)
    std::abort();
  return 0;
}
