// The sitemaps of the demo site: what they list (the model) and how they are
// written (sitemaps.org XML, gzip, plain text).

#include "site_model.hpp"

#include <algorithm>
#include <stdexcept>

#include <zlib.h>

namespace arachne::site {

namespace {

constexpr std::string_view sitemap_ns = "http://www.sitemaps.org/schemas/sitemap/0.9";

// The path of a target, without its query.
std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find('?'));
}

// An entry of a urlset: its hints vary with its place `i` in the list.
sitemap_entry listed(std::string loc, std::size_t i) {
  static constexpr const char* freqs[] = {"daily", "weekly", "monthly", "yearly"};
  static constexpr const char* priorities[] = {"0.8", "0.5", "0.3"};
  return {std::move(loc), "2026-11-0" + std::to_string(1 + i % 9), freqs[i % 4],
          priorities[i % 3]};
}

// XML character data: the five characters sitemaps.org asks to escape.
void append_xml(std::string& out, std::string_view s) {
  for (auto c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '\'': out += "&apos;"; break;
      case '"': out += "&quot;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      default: out += c;
    }
  }
}

void append_tag(std::string& out, std::string_view name, std::string_view value) {
  if (value.empty())
    return;
  out += "    <";
  out += name;
  out += '>';
  append_xml(out, value);
  out += "</";
  out += name;
  out += ">\n";
}

// A <sitemapindex> or <urlset> document.
std::string write_xml(const sitemap_info& s) {
  std::string_view root = s.index ? "sitemapindex" : "urlset";
  std::string_view item = s.index ? "sitemap" : "url";
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<";
  out += root;
  out += " xmlns=\"";
  out += sitemap_ns;
  out += "\">\n";
  for (auto& e : s.entries) {
    out += "  <";
    out += item;
    out += ">\n";
    append_tag(out, "loc", e.loc);
    append_tag(out, "lastmod", e.lastmod);
    append_tag(out, "changefreq", e.changefreq);
    append_tag(out, "priority", e.priority);
    out += "  </";
    out += item;
    out += ">\n";
  }
  out += "</";
  out += root;
  out += ">\n";
  return out;
}

// A plain-text sitemap: one absolute URL a line.
std::string write_text(const sitemap_info& s) {
  std::string out;
  for (auto& e : s.entries) {
    out += e.loc;
    out += '\n';
  }
  return out;
}

} // namespace

std::string gzip(std::string_view data) {
  z_stream s{};
  // windowBits 15 + 16: a gzip wrapper, whose header zlib writes with no
  // time and no name, so the same data always gives the same bytes.
  if (deflateInit2(&s, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("gzip: deflateInit2 failed");
  std::string out(deflateBound(&s, static_cast<uLong>(data.size())), '\0');
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  s.avail_in = static_cast<uInt>(data.size());
  s.next_out = reinterpret_cast<Bytef*>(out.data());
  s.avail_out = static_cast<uInt>(out.size());
  auto rc = deflate(&s, Z_FINISH);
  out.resize(s.total_out);
  deflateEnd(&s);
  if (rc != Z_STREAM_END)
    throw std::runtime_error("gzip: deflate failed");
  return out;
}

uint32_t site_model::archive_pages() const noexcept {
  return std::max(4u, params_.pages / 4);
}

std::optional<sitemap_info> site_model::sitemap(uint32_t h, std::string_view target) const {
  if (h >= params_.hosts || !has_sitemaps(h))
    return std::nullopt;
  auto path = path_of(target);
  auto here = origin(h);
  auto archive = [&](uint32_t n) { return here + "/archive/" + std::to_string(n); };
  auto half = archive_pages() / 2;
  sitemap_info s;
  if (path == "/sitemap.xml") {
    s.index = true;
    s.entries = {{here + "/sitemaps/pages.xml.gz", "2026-11-01", {}, {}},
                 {here + "/sitemaps/archive.txt", "2026-11-02", {}, {}}};
  } else if (path == "/sitemaps/pages.xml.gz") {
    // The first half of the archive, a page links reach too, a page robots.txt
    // disallows, and a page of the next host, which a reader must refuse
    // (sitemaps.org: a sitemap lists URLs of its own host only).
    for (uint32_t n = 0; n < half; ++n)
      s.entries.push_back(listed(archive(n), s.entries.size()));
    s.entries.push_back(listed(here + page_path(1), s.entries.size()));
    s.entries.push_back(listed(here + "/private/5", s.entries.size()));
    s.entries.push_back(listed(origin((h + 1) % params_.hosts) + "/archive/0", s.entries.size()));
  } else if (path == "/sitemaps/archive.txt") {
    for (auto n = half; n < archive_pages(); ++n)
      s.entries.push_back({archive(n), {}, {}, {}});
  } else {
    return std::nullopt;
  }
  return s;
}

response site_model::sitemap_response(uint32_t h, std::string_view target) const {
  response res;
  auto s = sitemap(h, target);
  if (!s) {
    res.status = 404;
    res.content_type = "text/plain";
    res.body = "not found\n";
    return res;
  }
  auto path = path_of(target);
  if (s->index) {
    res.content_type = "application/xml";
    res.compressible = true; // sent gzip-encoded to clients that accept it
    res.body = write_xml(*s);
  } else if (path.size() > 3 && path.substr(path.size() - 3) == ".gz") {
    // A gzip file, not an encoding: its reader goes by the magic bytes.
    res.content_type = "application/gzip";
    res.body = gzip(write_xml(*s));
  } else {
    res.content_type = "text/plain";
    res.body = write_text(*s);
  }
  return res;
}

} // namespace arachne::site
