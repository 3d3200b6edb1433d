#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "caf/timestamp.hpp"

#include "arachne/errors.hpp"

namespace arachne {

/// Limits on reading one sitemap file; sitemaps.org's by default.
struct sitemap_limits {
  uint64_t max_urls = 50000;                // entries taken per file; more are refused
  uint64_t max_bytes = 50ull * 1024 * 1024; // uncompressed bytes read per file
  uint32_t max_ratio = 200;                 // a gzip body decoding above this ratio is a bomb
};

/// How often a page changes, as a sitemap says (<changefreq>).
enum class change_freq : uint8_t { unknown, always, hourly, daily, weekly, monthly, yearly, never };

/// The lower-case word of a change frequency; empty for `unknown`.
std::string_view to_string(change_freq f) noexcept;

/// Parses a <changefreq> word, ignoring case and surrounding whitespace; `nullopt` if unknown.
std::optional<change_freq> parse_change_freq(std::string_view text) noexcept;

/// True for a W3C Datetime as sitemaps.org allows (YYYY, YYYY-MM, YYYY-MM-DD,
/// YYYY-MM-DDThh:mmTZD, YYYY-MM-DDThh:mm:ssTZD, YYYY-MM-DDThh:mm:ss.sTZD; TZD =
/// Z or +hh:mm / -hh:mm), with field ranges checked.
bool is_w3c_datetime(std::string_view text) noexcept;

/// The instant a W3C Datetime (as `is_w3c_datetime` accepts) names: a date
/// without a time is its start in UTC; `nullopt` if `text` is not one.
/// Dates outside caf::timestamp's range (1677 to 2262) are its ends.
std::optional<caf::timestamp> parse_w3c_datetime(std::string_view text) noexcept;

/// One <url> of a urlset, one <sitemap> of an index, or one line of a text sitemap.
struct sitemap_entry {
  std::string loc;     // as written (references decoded by the XML parser), trimmed
  std::string lastmod; // if a valid W3C Datetime, as written (trimmed); else empty
  change_freq changefreq = change_freq::unknown;
  float priority = -1; // 0.0 to 1.0, or -1 if absent or invalid
};

/// What reading one sitemap file gave.
struct sitemap_file {
  /// What kind of file it was.
  enum class kind_t : uint8_t { unknown, urlset, index, text };

  kind_t kind = kind_t::unknown;
  std::vector<sitemap_entry> entries; // in document order, at most max_urls
  std::vector<std::pair<std::string, uint64_t>> refused; // why -> how many, by first occurrence
  crawl_errc error = crawl_errc::none; // too_large or decode_failed
  std::string error_message;          // one line
};

/// Reads a sitemap: XML <urlset> or <sitemapindex> (streamed with libxml2's
/// xmlTextReader, never a tree), or plain text (one URL per line); gzip-compressed
/// (recognised by its magic bytes) or not. Entries read before an error are kept.
sitemap_file read_sitemap(std::string_view body, const sitemap_limits& limits = {});

} // namespace arachne
