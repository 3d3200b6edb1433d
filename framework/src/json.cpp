#include "arachne/json.hpp"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <iomanip>
#include <sstream>

namespace arachne {

namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0.
std::size_t utf8_length(std::string_view s, std::size_t i) {
  auto c = static_cast<unsigned char>(s[i]);
  std::size_t n;
  uint32_t min;
  if (c < 0x80)
    return 1;
  if ((c & 0xE0) == 0xC0) {
    n = 2;
    min = 0x80;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    min = 0x800;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    min = 0x10000;
  } else {
    return 0;
  }
  if (i + n > s.size())
    return 0;
  uint32_t cp = c & (0x7F >> n);
  for (std::size_t k = 1; k < n; ++k) {
    auto d = static_cast<unsigned char>(s[i + k]);
    if ((d & 0xC0) != 0x80)
      return 0;
    cp = (cp << 6) | (d & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return n;
}

} // namespace

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  for (std::size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    switch (c) {
      case '"': out += "\\\""; ++i; continue;
      case '\\': out += "\\\\"; ++i; continue;
      case '\n': out += "\\n"; ++i; continue;
      case '\r': out += "\\r"; ++i; continue;
      case '\t': out += "\\t"; ++i; continue;
      default: break;
    }
    if (c < 0x20 || c == 0x7F) {
      out += "\\u00";
      out += hex[c >> 4];
      out += hex[c & 0xF];
      ++i;
      continue;
    }
    auto n = utf8_length(s, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD"; // U+FFFD
      ++i;
      continue;
    }
    out.append(s.data() + i, n);
    i += n;
  }
  out += '"';
}

std::string format_timestamp(caf::timestamp t) {
  auto since = t.time_since_epoch();
  auto secs = std::chrono::duration_cast<std::chrono::seconds>(since);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(since - secs).count();
  std::time_t tt = static_cast<std::time_t>(secs.count());
  std::tm tm{};
  gmtime_r(&tt, &tm);
  std::ostringstream out;
  out << std::put_time(&tm, "%Y-%m-%dT%H:%M:%S") << '.' << std::setw(3) << std::setfill('0') << ms
      << 'Z';
  return out.str();
}

namespace {

// What a page asked of crawlers and what a sitemap said of it, or a
// sitemap's own report; each only when there is something to say. `field`
// starts a member.
template <class Field>
void append_directives(std::string& out, const record& r, Field&& field) {
  if (r.noindex) {
    field("noindex");
    out += "true";
  }
  if (!r.canonical.empty()) {
    field("canonical");
    append_json_string(out, r.canonical);
  }
  if (!r.hints.lastmod.empty()) {
    field("lastmod");
    append_json_string(out, r.hints.lastmod);
  }
  if (r.hints.changefreq != change_freq::unknown) {
    field("changefreq");
    append_json_string(out, to_string(r.hints.changefreq));
  }
  if (r.hints.priority >= 0) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%.3g", static_cast<double>(r.hints.priority));
    field("priority");
    out += buf;
  }
  if (r.sitemap.read) {
    field("sitemap");
    out += to_json(r.sitemap);
  }
}

// What a re-crawl (--recrawl, with a state store) made of the page, each
// only when there is something to say: its payload digest, what changed
// since the last fetch, and when the payload it refers to was fetched.
template <class Field>
void append_recrawl(std::string& out, const record& r, Field&& field) {
  if (!r.digest.empty()) {
    field("digest");
    append_json_string(out, r.digest);
  }
  if (r.change == page_change::none)
    return;
  field("change");
  append_json_string(out, to_string(r.change));
  if (r.change == page_change::not_modified) {
    field("not_modified");
    out += "true";
  }
  if (r.change == page_change::gone) {
    field("gone");
    out += "true";
  }
  if ((r.change == page_change::unchanged || r.change == page_change::not_modified)
      && r.refers_to != caf::timestamp{}) {
    field("refers_to");
    append_json_string(out, format_timestamp(r.refers_to));
  }
}

} // namespace

std::string to_json(const sitemap_report& s) {
  std::string out = s.index ? "{\"index\":true,\"urls\":" : "{\"index\":false,\"urls\":";
  out += std::to_string(s.urls);
  out += ",\"refused\":{";
  for (std::size_t i = 0; i < s.refused.size(); ++i) {
    if (i > 0)
      out += ',';
    append_json_string(out, s.refused[i].first);
    out += ':';
    out += std::to_string(s.refused[i].second);
  }
  out += "}}";
  return out;
}

std::string to_json(const record& r) {
  std::string out;
  out.reserve(256 + r.url.size() * 2 + r.title.size());
  auto field = [&](std::string_view name) {
    out += out.empty() ? "{\"" : ",\"";
    out += name;
    out += "\":";
  };
  auto str = [&](std::string_view name, std::string_view value) {
    field(name);
    append_json_string(out, value);
  };
  auto num = [&](std::string_view name, uint64_t value) {
    field(name);
    out += std::to_string(value);
  };
  if (r.kind == record::kind_t::item) {
    str("kind", "item");
    str("url", r.url);
    field("fields");
    out += '{';
    for (std::size_t i = 0; i < r.fields.size(); ++i) {
      if (i > 0)
        out += ',';
      append_json_string(out, r.fields[i].first);
      out += ':';
      append_json_string(out, r.fields[i].second);
    }
    out += "}}";
    return out;
  }
  str("kind", r.kind == record::kind_t::page ? "page" : "failure");
  str("url", r.url);
  if (!r.method.empty())
    str("method", r.method);
  str("final_url", r.final_url);
  num("status", r.status);
  field("error");
  if (r.error == crawl_errc::none)
    out += "null";
  else
    append_json_string(out, to_string_view(r.error));
  str("error_message", r.error_message);
  num("depth", r.depth);
  str("fetched_at", format_timestamp(r.fetched_at));
  str("content_type", r.content_type);
  num("bytes", r.bytes);
  field("elapsed_ms");
  out += std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(r.elapsed).count());
  field("proxy");
  if (r.proxy.empty())
    out += "null";
  else
    append_json_string(out, r.proxy);
  str("title", r.title);
  if (r.resumed) { // only after a crash (--state): the URL may have a record already
    field("resumed");
    out += "true";
  }
  append_directives(out, r, field);
  append_recrawl(out, r, field);
  out += '}';
  return out;
}

std::string to_json(const std::vector<proxy_stats>& proxies) {
  std::string out = "{\"proxies\": [";
  bool first = true;
  for (auto& p : proxies) {
    out += first ? "\n  {" : ",\n  {";
    first = false;
    out += "\"proxy\": ";
    append_json_string(out, p.label);
    out += ", \"state\": ";
    append_json_string(out, p.state);
    auto number = [&](const char* name, uint64_t value) {
      out += ", \"";
      out += name;
      out += "\": ";
      out += std::to_string(value);
    };
    number("requests", p.requests);
    number("successes", p.successes);
    number("failures", p.failures);
    number("bans", p.bans);
    number("quarantines", p.quarantines);
    number("in_flight", p.in_flight);
    out += ", \"median_latency_ms\": ";
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f",
                  std::chrono::duration<double, std::milli>(p.median_latency).count());
    out += buf;
    out += "}";
  }
  out += first ? "]}\n" : "\n]}\n";
  return out;
}

} // namespace arachne
