#pragma once

// Re-crawl (--recrawl): what a URL's last fetch makes of the next one. The
// rules are RFC 9110's conditional requests (section 13) and WARC 1.1's
// revisit records; docs/operations.md, "Re-crawl", tells the whole story.

#include <string>
#include <string_view>
#include <vector>

#include "caf/timespan.hpp"
#include "caf/timestamp.hpp"

#include "arachne/messages.hpp"

namespace arachne {

/// WARC's payload digest of `payload`: "sha1:" and the SHA-1 in base32
/// (RFC 4648, upper case, padded), as WARC-Payload-Digest writes it.
std::string payload_digest(std::string_view payload);

/// `size` bytes at `data` in RFC 4648 base32 (upper case, padded).
std::string base32(const unsigned char* data, std::size_t size);

/// The headers that make a request for a URL fetched before conditional:
/// If-None-Match with its last ETag (RFC 9110 section 13.1.2) and
/// If-Modified-Since with its last Last-Modified (section 13.1.3, sent as
/// the server wrote it). None if the last fetch gave no page (only a 200's
/// validators are kept) or no validators.
std::vector<header_field> conditional_headers(const last_visit& last);

/// What became of a URL fetched before: `status` and `digest` (the payload
/// digest of a 200) of this fetch against `last`. A 304 counts as
/// not_modified only if the request was conditional.
page_change classify_change(const last_visit& last, uint16_t status, std::string_view digest);

/// What the state store keeps of a URL after a fetch classified as
/// `change`: a 200's validators and digest; a 304 keeps the page it refers
/// to, with the validators it updates (RFC 9111 section 4.3.4); no response,
/// a 429 or a 5xx keep `last` as it is; another status forgets the page.
last_visit next_visit(const last_visit& last, uint16_t status,
                      const std::vector<header_field>& headers, std::string_view digest,
                      caf::timestamp fetched_at, page_change change);

/// Continuous mode (--recrawl-every): how long after this fetch the URL is
/// due again. It starts at `every`, halves when the page changed, grows by
/// half when it did not (unchanged or not modified), goes to `max` when the
/// page is gone, and stays as it was otherwise; always within [min, max].
caf::timespan next_interval(const last_visit& last, page_change change, caf::timespan every,
                            caf::timespan min, caf::timespan max);

} // namespace arachne
