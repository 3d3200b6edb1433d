#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "caf/timestamp.hpp"

#include "arachne/messages.hpp"

namespace arachne {

/// A timestamp as ISO 8601 in UTC with milliseconds (`2026-11-21T23:58:34.284Z`).
std::string format_timestamp(caf::timestamp t);

/// One record as a JSON object on one line (no trailing newline): `kind`
/// (page, failure or item), `url`, `final_url`, `status`, `error` (null or the
/// kind), `error_message`, `depth`, `fetched_at`, `content_type`, `bytes`,
/// `elapsed_ms`, `proxy`, `title`; items carry `url` and `fields` instead.
/// Only when there is something to say: `resumed`, the page's directives and
/// sitemap hints (`noindex`, `canonical`, `lastmod`, `changefreq`,
/// `priority`, `sitemap`), and what a re-crawl found: `digest` (its payload
/// digest), `change` (`to_string(page_change)`), `not_modified` or `gone`
/// (true), and `refers_to` (when the payload an unchanged or not-modified
/// page refers to was fetched, as `fetched_at`).
std::string to_json(const record& r);

/// A sitemap's report as one JSON object: `{"index":false,"urls":N,"refused":{"why":n}}`.
std::string to_json(const sitemap_report& s);

/// Per-proxy statistics as a JSON document (pretty enough to read):
/// `{"proxies": [{"proxy", "state", "requests", "successes", "failures",
/// "bans", "quarantines", "in_flight", "median_latency_ms"}, ...]}`. Proxy
/// names are the masked labels.
std::string to_json(const std::vector<proxy_stats>& proxies);

/// Appends `s` as a JSON string literal: quotes, escapes, and U+FFFD for
/// bytes that are not valid UTF-8 (page text is not always what it claims).
void append_json_string(std::string& out, std::string_view s);

} // namespace arachne
