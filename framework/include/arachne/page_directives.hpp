#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace arachne {

/// What a page asks of crawlers: robots meta tags and X-Robots-Tag headers (as Google and Bing document them).
struct robots_directives {
  bool noindex = false;  // noindex, or none
  bool nofollow = false; // nofollow, or none

  /// Adds the directives of `o` to these.
  robots_directives& operator|=(const robots_directives& o) noexcept;
};

/// The directives of one robots meta tag's content ("noindex, nofollow", "none", "all"; case-insensitive, comma- or space-separated; unknown ones such as max-snippet:50, noarchive, unavailable_after: ... ignored).
robots_directives parse_robots_meta(std::string_view content) noexcept;

/// The directives the X-Robots-Tag header values give the crawler whose robots token is `agent` (e.g. "arachne", the `product_token` of its User-Agent): a value (or a comma-separated element) of the form "name: directives" applies only to the agent called name (case-insensitive) and so do the elements after it in the same value, up to the next "name:"; elements without an agent prefix apply to every crawler; directives that take a value after a colon (unavailable_after, max-snippet, max-image-preview, max-video-preview) are not agent names.
robots_directives parse_x_robots_tag(const std::vector<std::string_view>& values,
                                     std::string_view agent);

/// The target of the first link with rel="canonical" in a Link header value (RFC 8288: `<uri>; rel="canonical"`, several links comma-separated, rel a space-separated list, quoted or not, any case; links with an anchor parameter, which speak of another resource, skipped), as written; empty if none.
std::string canonical_from_link_header(std::string_view value);

/// What the X-Robots-Tag fields among response `headers` (name, value) ask
/// of crawler `agent`, as `parse_x_robots_tag` reads them.
robots_directives x_robots_tag(const std::vector<std::pair<std::string, std::string>>& headers,
                               std::string_view agent);

/// The canonical target the first Link field among response `headers` that
/// names one gives, as written; empty if none.
std::string canonical_from_headers(const std::vector<std::pair<std::string, std::string>>& headers);

} // namespace arachne
