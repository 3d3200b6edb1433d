#include "arachne/revisit.hpp"

#include <algorithm>

#include <openssl/sha.h>

#include "arachne/http_semantics.hpp"

namespace arachne {

const char* to_string(page_change c) noexcept {
  switch (c) {
    case page_change::changed: return "changed";
    case page_change::unchanged: return "unchanged";
    case page_change::not_modified: return "not_modified";
    case page_change::gone: return "gone";
    default: return "";
  }
}

std::string base32(const unsigned char* data, std::size_t size) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  std::string out;
  out.reserve((size + 4) / 5 * 8);
  uint64_t buffer = 0;
  int bits = 0;
  for (std::size_t i = 0; i < size; ++i) {
    buffer = (buffer << 8) | data[i];
    bits += 8;
    while (bits >= 5) {
      out += alphabet[(buffer >> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0)
    out += alphabet[(buffer << (5 - bits)) & 31];
  while (out.size() % 8 != 0)
    out += '=';
  return out;
}

std::string payload_digest(std::string_view payload) {
  unsigned char md[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(payload.data()), payload.size(), md);
  return "sha1:" + base32(md, sizeof md);
}

std::vector<header_field> conditional_headers(const last_visit& last) {
  std::vector<header_field> out;
  if (last.status != 200 || last.digest.empty())
    return out;
  if (!last.etag.empty())
    out.emplace_back("If-None-Match", last.etag);
  if (!last.last_modified.empty())
    out.emplace_back("If-Modified-Since", last.last_modified);
  return out;
}

page_change classify_change(const last_visit& last, uint16_t status, std::string_view digest) {
  if (!last.known() || status == 0)
    return page_change::none;
  bool had_page = last.status == 200 && !last.digest.empty();
  if (status == 304)
    return had_page && !conditional_headers(last).empty() ? page_change::not_modified
                                                          : page_change::none;
  if (status == 200)
    return had_page && !digest.empty() && digest == last.digest ? page_change::unchanged
                                                                : page_change::changed;
  if ((status == 404 || status == 410) && had_page)
    return page_change::gone;
  return page_change::none;
}

last_visit next_visit(const last_visit& last, uint16_t status,
                      const std::vector<header_field>& headers, std::string_view digest,
                      caf::timestamp fetched_at, page_change change) {
  // No response, or one that says nothing of the page (overloaded, down
  // for a while): what was known stays.
  if (status == 0 || status == 429 || status >= 500)
    return last;
  last_visit next;
  next.fetched_at = fetched_at;
  next.changes = last.changes;
  if (change == page_change::changed || change == page_change::gone)
    ++next.changes;
  if (change == page_change::not_modified) {
    // The page is the one fetched before; a 304 may bring newer validators.
    next = last;
    next.fetched_at = fetched_at;
    if (auto etag = header_value(headers, "etag"); !etag.empty())
      next.etag = std::string{etag};
    if (auto lm = header_value(headers, "last-modified"); !lm.empty())
      next.last_modified = std::string{lm};
    return next;
  }
  next.status = status;
  if (status == 200 && !digest.empty()) {
    next.etag = std::string{header_value(headers, "etag")};
    next.last_modified = std::string{header_value(headers, "last-modified")};
    next.digest = std::string{digest};
    next.payload_at = change == page_change::unchanged ? last.payload_at : fetched_at;
  }
  return next;
}

caf::timespan next_interval(const last_visit& last, page_change change, caf::timespan every,
                            caf::timespan min, caf::timespan max) {
  auto interval = last.interval.count() > 0 ? last.interval : every;
  switch (change) {
    case page_change::changed: interval /= 2; break;
    case page_change::unchanged:
    case page_change::not_modified: interval += interval / 2; break;
    case page_change::gone: interval = max; break;
    default: break;
  }
  return std::clamp(interval, min, std::max(min, max));
}

} // namespace arachne
