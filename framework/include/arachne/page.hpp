#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "arachne/html.hpp"
#include "arachne/messages.hpp"
#include "arachne/url.hpp"

namespace arachne {

/// Something a page handler extracted: named values and the page it came from.
struct item {
  std::string url;
  std::vector<item_field> fields;
};

/// How a page handler follows a URL: a label that routes its page to a
/// handler of its own (crawl::route), data for that handler (string keys
/// and values), a priority in its site's queue (higher first), and the
/// method: "POST" sends `body` (`body_type` its Content-Type, form-encoded
/// if empty; `form_body` makes one); empty or "GET" asks with GET.
struct follow_options {
  std::string label{};
  std::vector<std::pair<std::string, std::string>> data{};
  int32_t priority = 0;
  std::string method{};
  std::string body{};
  std::string body_type{};
};

/// `fields` as an application/x-www-form-urlencoded body (the HTML form
/// encoding: UTF-8, space as "+"), for a POST follow.
std::string form_body(const std::vector<std::pair<std::string, std::string>>& fields);

/// A fetched HTML page as a page handler sees it. The links come from one
/// streaming pass; a DOM (libxml2) is built only if an XPath helper is used.
class page {
public:
  page(const crawl_request& req, const fetch_result& res, html_scan scan,
       std::vector<std::string> links);
  ~page();

  page(const page&) = delete;
  page& operator=(const page&) = delete;

  /// The requested URL.
  const std::string& url() const noexcept { return req_.url; }

  /// The URL that answered (after redirects the fetcher followed).
  const std::string& final_url() const noexcept { return res_.final_url; }

  uint16_t status() const noexcept { return res_.status; }
  uint32_t depth() const noexcept { return req_.depth; }

  /// The label its request was followed with; empty if none.
  const std::string& label() const noexcept { return req_.opts().label; }

  /// The data its request was followed with (follow_options::data).
  const std::vector<std::pair<std::string, std::string>>& user_data() const noexcept {
    return req_.opts().user_data;
  }

  /// The value of `key` in user_data(), or "".
  std::string_view data(std::string_view key) const noexcept;
  std::string_view body() const noexcept { return res_.body.view(); }
  const std::string& content_type() const noexcept { return res_.content_type; }
  const std::string& title() const noexcept { return scan_.title; }

  /// Links found on the page: resolved, normalised, each once, in page order.
  const std::vector<std::string>& links() const noexcept { return links_; }

  /// The raw scan (links as written, base, meta robots).
  const html_scan& scan() const noexcept { return scan_; }

  /// The string value of an XPath expression (first node of a node set).
  std::string xpath_string(std::string_view expr) const;

  /// The string values of all nodes an XPath expression selects.
  std::vector<std::string> xpath_all(std::string_view expr) const;

  /// The string values of all nodes a CSS selector selects (see
  /// `css_to_xpath`: `h2.name`, `a::attr(href)`, `p::text`). Throws
  /// std::invalid_argument, with the reason, for a selector it cannot read.
  std::vector<std::string> css_all(std::string_view selector) const;

  /// The string value of the first node a CSS selector selects, or "".
  /// Throws as `css_all`.
  std::string css_string(std::string_view selector) const;

private:
  struct dom;
  const dom& document() const;

  const crawl_request& req_;
  const fetch_result& res_;
  html_scan scan_;
  std::vector<std::string> links_;
  mutable std::unique_ptr<dom> dom_;
};

/// What a page handler can do: follow links and emit items.
class context {
public:
  explicit context(const page& p, const url_options& rules);

  /// Follows `href` (resolved against the page); invalid ones are ignored.
  void follow(std::string_view href);

  /// Follows `href` with a label, data, a priority or a POST body for its
  /// request. Throws std::invalid_argument for a method other than GET and POST.
  void follow(std::string_view href, follow_options opts);

  /// Emits an item; it reaches the sinks as a record of its own.
  void emit(item it);

  /// What the handler followed.
  std::vector<std::string>& followed() noexcept { return followed_; }

  /// What it followed with options: resolved URLs and their options.
  std::vector<std::pair<std::string, follow_options>>& followed_with() noexcept {
    return followed_with_;
  }

  /// What the handler emitted.
  std::vector<item>& emitted() noexcept { return emitted_; }

private:
  const page& page_;
  const url_options& rules_;
  url base_;
  std::vector<std::string> followed_;
  std::vector<std::pair<std::string, follow_options>> followed_with_;
  std::vector<item> emitted_;
};

/// The user's code for each fetched HTML page. It runs on parser actors, many
/// at once: it must not touch mutable state it shares with anything else.
using page_handler = std::function<void(const page&, context&)>;

/// A stage of the item pipeline: validates or transforms an item; false
/// drops it. Runs on parser actors, as handlers do.
using item_stage = std::function<bool(item&)>;

/// What runs on a crawl's fetched pages (crawl::on_page, route, pipeline).
struct page_program {
  page_handler handler;                          // pages with no routed label; empty: none
  std::map<std::string, page_handler, std::less<>> routes; // pages whose request has the label
  std::vector<item_stage> pipeline;              // every emitted item, in order, before sinks

  /// The handler for a page whose request has `label`: its route, else the
  /// default handler; null if neither (then every link is followed).
  const page_handler* for_label(std::string_view label) const;
};

/// The page's links (resolved, normalised, deduplicated).
inline const std::vector<std::string>& extract_links(const page& p) {
  return p.links();
}

/// The string value of an XPath expression on the page.
inline std::string xpath_string(const page& p, std::string_view expr) {
  return p.xpath_string(expr);
}

/// The string values of all nodes an XPath expression selects on the page.
inline std::vector<std::string> xpath_all(const page& p, std::string_view expr) {
  return p.xpath_all(expr);
}

/// Why `expr` is no XPath 1.0 expression libxml2 can evaluate, or "" if it is.
std::string xpath_error(std::string_view expr);

/// The string values of all nodes a CSS selector selects on the page
/// (`arachne::css(p, "span.price")`); throws std::invalid_argument for a
/// selector it cannot read (try one with `arachne fetch URL --css=SEL`).
inline std::vector<std::string> css(const page& p, std::string_view selector) {
  return p.css_all(selector);
}

/// The string value of the first node a CSS selector selects on the page.
inline std::string css_string(const page& p, std::string_view selector) {
  return p.css_string(selector);
}

} // namespace arachne
