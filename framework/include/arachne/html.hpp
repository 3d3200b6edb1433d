#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace arachne {

/// A link found in a page, as written (entities decoded, not yet resolved).
struct html_link {
  enum class kind_t : uint8_t {
    anchor,  // <a href>
    area,    // <area href>
    link,    // <link href> other than canonicals, stylesheets, icons and preloads
    frame,   // <frame src>, <iframe src>
    refresh, // <meta http-equiv=refresh content="N; url=...">
  };
  std::string href;
  kind_t kind = kind_t::anchor;
  bool nofollow = false; // rel="nofollow" on the element
};

/// What one streaming pass over a page finds: its links, <base>, canonical,
/// title, declared charset and meta robots directives. No tree is built.
struct html_scan {
  std::vector<html_link> links;
  std::string base;      // the first <base href>, as written (entities decoded)
  std::string canonical; // the first <link rel=canonical href>, as written (entities decoded)
  std::string title;     // text of the first <title>, whitespace collapsed
  std::string charset;   // from <meta charset> or http-equiv Content-Type, lower case
  bool nofollow = false; // <meta name=robots|AGENT content=nofollow|none>
  bool noindex = false;  // <meta name=robots|AGENT content=noindex|none>
};

/// Scans HTML in one pass, tolerating what browsers tolerate: unquoted and
/// single-quoted attributes, any case, comments, and script/style contents
/// (which hold no links); `agent` is the crawler's robots token (`arachne`,
/// the `product_token` of its User-Agent), whose <meta name=AGENT> counts as
/// <meta name=robots> does.
html_scan scan_html(std::string_view html, std::string_view agent = {});

/// Decodes the character references of an attribute value or text (`&amp;`,
/// `&#39;`, `&#x2F;` and the common named ones); unknown ones stay as written.
std::string decode_entities(std::string_view text);

} // namespace arachne
