// An HTTP/1.1 response as the fetcher reads it: the head under its size
// limit, the body (Content-Length, chunked with extensions and trailers, or
// to the end) in 16 KiB pieces through its Content-Encoding under the size
// and ratio limits, then what the fetcher and the frontier read from the
// head: Location resolved, Retry-After, X-Robots-Tag, Link's canonical,
// Set-Cookie into a jar. Asserts the decoded body stays within its limit and
// that a Cookie header built from the response never carries CR, LF or NUL.
// Input: the first byte sets how many bytes each read gets; the rest is what
// the server sent.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/beast/_experimental/test/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "arachne/cookies.hpp"
#include "arachne/http_semantics.hpp"
#include "arachne/page_directives.hpp"
#include "arachne/url.hpp"
#include "http/content_decoder.hpp"

namespace beast = boost::beast;
namespace http = beast::http;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0)
    return 0;
  constexpr uint64_t body_limit = 1 << 20;
  boost::asio::io_context ioc;
  beast::test::stream in{ioc, std::string_view{reinterpret_cast<const char*>(data + 1), size - 1}};
  in.read_size(1 + data[0] * 64u);
  in.close_remote(); // the server closes after what it sent
  beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  parser.header_limit(64 * 1024);
  parser.body_limit(body_limit * 4);
  beast::error_code ec;
  http::read_header(in, buffer, parser, ec);
  if (ec)
    return 0;
  auto& msg = parser.get();
  using arachne::http_detail::content_decoder;
  auto coding = content_decoder::from_header(msg[http::field::content_encoding]);
  if (!coding)
    return 0;
  content_decoder decoder{*coding, body_limit, 200};
  std::string body;
  char piece[16384];
  auto failed = arachne::crawl_errc::none;
  while (!parser.is_done() && failed == arachne::crawl_errc::none) {
    msg.body().data = piece;
    msg.body().size = sizeof(piece);
    http::read(in, buffer, parser, ec);
    if (ec == http::error::need_buffer)
      ec = {};
    auto got = sizeof(piece) - msg.body().size;
    if (got > 0)
      failed = decoder.feed(std::string_view{piece, got}, body);
    if (ec)
      break;
  }
  if (!ec && failed == arachne::crawl_errc::none)
    (void) decoder.finish();
  if (body.size() > body_limit)
    std::abort();
  // What the fetcher keeps of the head, and what is read from it.
  std::vector<std::pair<std::string, std::string>> headers;
  for (auto& field : msg)
    headers.emplace_back(std::string{field.name_string()}, std::string{field.value()});
  auto base = arachne::parse_url("https://www.example.com/a/b?c");
  if (!base)
    std::abort();
  (void) arachne::resolve_url(*base, msg[http::field::location]);
  (void) arachne::parse_retry_after(msg[http::field::retry_after], caf::make_timestamp());
  (void) arachne::x_robots_tag(headers, "arachne");
  (void) arachne::canonical_from_headers(headers);
  arachne::cookie_jar jar;
  auto now = arachne::cookie_jar::clock::now();
  for (auto& field : msg)
    if (field.name() == http::field::set_cookie)
      (void) jar.set(*base, field.value(), now);
  auto cookie = jar.header(*base, now);
  if (cookie.find_first_of(std::string_view{"\r\n\0", 3}) != std::string::npos)
    std::abort();
  return 0;
}
