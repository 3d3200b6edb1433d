#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "caf/timespan.hpp"

#include "arachne/errors.hpp"

namespace arachne {

/// How much of a robots.txt is read: RFC 9309 section 2.5 asks for at least
/// 500 KiB. A larger file is fetched only this far, and what is read applies.
constexpr std::size_t robots_max_bytes = 500 * 1024;

/// A parsed robots.txt (RFC 9309), ready to answer for one user agent.
class robots_rules {
public:
  /// One Allow or Disallow line.
  struct rule {
    bool allow = false;
    std::string pattern; // path pattern, `*` and a final `$` are special
  };

  /// Allows everything (no robots.txt, or one answered with 4xx).
  static robots_rules allow_all();

  /// Disallows everything (robots.txt unreachable or answered with 5xx).
  static robots_rules disallow_all();

  /// Parses `text` and keeps the rules for `user_agent`'s product token (the
  /// part before '/', e.g. `arachne` for `arachne/0.1`, matched without regard
  /// to case; the `*` groups if none names it); only the whole lines within
  /// the first `max_bytes` are read, as RFC 9309 allows.
  static robots_rules parse(std::string_view text, std::string_view user_agent,
                            std::size_t max_bytes = robots_max_bytes);

  /// True if the path and query of a URL (`/a/b?c`) may be fetched.
  bool allowed(std::string_view target) const;

  /// The Crawl-delay of the matched group, if it had one.
  std::optional<caf::timespan> crawl_delay() const { return crawl_delay_; }

  /// Sitemap URLs listed anywhere in the file.
  const std::vector<std::string>& sitemaps() const noexcept { return sitemaps_; }

  /// The rules of the group that applies.
  const std::vector<rule>& rules() const noexcept { return rules_; }

private:
  std::vector<rule> rules_;
  std::optional<caf::timespan> crawl_delay_;
  std::vector<std::string> sitemaps_;
  bool disallow_all_ = false;
};

/// What a robots.txt fetch's outcome means (RFC 9309 section 2.3.1).
enum class robots_status : uint8_t {
  parsed,      // 2xx: its rules apply
  unavailable, // 3xx not followed, 4xx, more than five redirects: everything allowed
  unreachable, // 5xx, 429, network failures: everything disallowed, try again later
};

/// Classifies a robots.txt fetch by its final status and failure kind.
robots_status classify_robots_fetch(uint16_t status, crawl_errc error) noexcept;

/// True for a valid RFC 9309 product token: letters, `_` and `-` only.
bool is_product_token(std::string_view token) noexcept;

/// The product token of a user agent: `arachne` for `arachne/0.1 (+url)`.
std::string_view product_token(std::string_view user_agent) noexcept;

/// True if a robots.txt path pattern matches `target` (RFC 9309 section 2.2.2).
bool robots_pattern_matches(std::string_view pattern, std::string_view target);

} // namespace arachne
