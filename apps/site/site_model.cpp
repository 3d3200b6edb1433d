#include "site_model.hpp"

#include <algorithm>
#include <chrono>
#include <queue>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "arachne/robots.hpp"
#include "arachne/url.hpp"

namespace arachne::site {

namespace {

// splitmix64: small, fast and good enough for synthetic content.
struct rng {
  uint64_t state;
  uint64_t operator()() noexcept {
    uint64_t z = (state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint32_t below(uint32_t n) noexcept { return n == 0 ? 0 : static_cast<uint32_t>((*this)() % n); }
};

uint64_t seed_of(uint64_t seed, uint64_t h, uint64_t k) {
  rng r{seed * 0x100000001B3ull ^ (h << 32) ^ k};
  r();
  return r();
}

constexpr std::string_view words[] = {
  "lorem",    "ipsum",   "dolor",    "sit",      "amet",     "consectetur", "adipiscing",
  "elit",     "sed",     "do",       "eiusmod",  "tempor",   "incididunt",  "ut",
  "labore",   "et",      "dolore",   "magna",    "aliqua",   "enim",        "ad",
  "minim",    "veniam",  "quis",     "nostrud",  "exercitation", "ullamco", "laboris",
  "nisi",     "aliquip", "ex",       "ea",       "commodo",  "consequat",   "duis",
  "aute",     "irure",   "in",       "reprehenderit", "voluptate", "velit", "esse",
  "cillum",   "fugiat",  "nulla",    "pariatur", "excepteur", "sint",       "occaecat",
  "cupidatat", "non",    "proident", "sunt",     "culpa",    "qui",         "officia",
  "deserunt", "mollit",  "anim",     "id",       "est",      "laborum",     "crawler",
  "spider",
};
constexpr uint32_t word_count = sizeof(words) / sizeof(words[0]);

// Strict decimal: no sign, no leading zeros, fits in 32 bits.
std::optional<uint32_t> parse_index(std::string_view s) {
  if (s.empty() || s.size() > 9 || (s.size() > 1 && s[0] == '0'))
    return std::nullopt;
  uint32_t x = 0;
  for (auto c : s) {
    if (c < '0' || c > '9')
      return std::nullopt;
    x = x * 10 + static_cast<uint32_t>(c - '0');
  }
  return x;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// A relative reference from the page at `from` to `to` (both root-relative).
std::string relative_href(std::string_view from, std::string_view to) {
  auto from_path = from.substr(0, from.find('?'));
  auto from_dir = from_path.substr(0, from_path.rfind('/') + 1);
  auto to_path = to.substr(0, to.find('?'));
  auto to_dir = to_path.substr(0, to_path.rfind('/') + 1);
  std::size_t common = 0; // length of the shared directory prefix
  for (std::size_t i = 0; i < std::min(from_dir.size(), to_dir.size()); ++i) {
    if (from_dir[i] != to_dir[i])
      break;
    if (from_dir[i] == '/')
      common = i + 1;
  }
  std::string out;
  for (auto i = common; i < from_dir.size(); ++i)
    if (from_dir[i] == '/')
      out += "../";
  out += to.substr(common);
  if (out.empty() || out[0] == '?')
    out = "./" + out;
  return out;
}

void append_words(std::string& out, rng& r, uint32_t n) {
  for (uint32_t i = 0; i < n; ++i) {
    if (i > 0)
      out += ' ';
    out += words[r.below(word_count)];
  }
}

// A short page of links; `head` (markup) goes at the end of its <head>.
std::string small_page(std::string_view title, const std::vector<std::string>& hrefs,
                       std::string_view head = {}) {
  std::string out = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>";
  append_escaped(out, title);
  out += "</title>\n";
  out += head;
  out += "</head>\n<body>\n<h1>";
  append_escaped(out, title);
  out += "</h1>\n<ul>\n";
  for (auto& h : hrefs) {
    out += "<li><a href=\"";
    append_escaped(out, h);
    out += "\">";
    append_escaped(out, h);
    out += "</a></li>\n";
  }
  out += "</ul>\n</body>\n</html>\n";
  return out;
}

// Archive page `n`: pages 0 to 2 ask things of crawlers. 0 (noindex, and
// canonical by a Link header) and 1 (nofollow for arachne only) in headers,
// 2 (canonical) in its HTML.
response archive_response(response res, uint32_t n, const std::vector<std::string>& hrefs,
                          const std::string& origin) {
  std::string_view head;
  if (n == 0) {
    res.headers = {{"X-Robots-Tag", "noindex"}, {"Link", "<" + origin + "/>; rel=\"canonical\""}};
  } else if (n == 1) {
    res.headers = {{"X-Robots-Tag", "arachne: nofollow"}};
  } else if (n == 2) {
    head = "<link rel=\"canonical\" href=\"/\">\n";
  }
  res.body = small_page("Archive " + std::to_string(n), hrefs, head);
  return res;
}

std::string format_seconds(caf::timespan d) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
  auto s = std::to_string(ms / 1000);
  if (ms % 1000 != 0) {
    auto frac = std::to_string(1000 + ms % 1000).substr(1);
    while (!frac.empty() && frac.back() == '0')
      frac.pop_back();
    s += "." + frac;
  }
  return s;
}

// The id a catalog query names: its first id= parameter (others, ref=...,
// make variants of the same page).
std::string_view catalog_id(std::string_view query) {
  for (auto rest = query; !rest.empty();) {
    auto amp = rest.find('&');
    auto param = rest.substr(0, amp);
    if (starts_with(param, "id="))
      return param.substr(3);
    rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
  }
  return {};
}

// The page `path` (with `query`) names in the shape `site_model::page_path`
// gives page k (k % 4 picks the shape), if it is one of the `pages` pages.
std::optional<uint32_t> page_number(std::string_view path, std::string_view query, uint32_t pages) {
  std::optional<uint32_t> k;
  uint32_t shape = 0;
  if (path == "/") {
    k = 0u;
  } else if (starts_with(path, "/articles/") && path.size() > 15
             && path.substr(path.size() - 5) == ".html") {
    k = parse_index(path.substr(10, path.size() - 15));
    shape = 1;
  } else if (path == "/catalog/item") {
    k = parse_index(catalog_id(query));
    shape = 2;
  } else if (starts_with(path, "/docs/") && path.size() > 7 && path.back() == '/') {
    k = parse_index(path.substr(6, path.size() - 7));
    shape = 3;
  } else if (starts_with(path, "/p/")) {
    k = parse_index(path.substr(3));
    if (k && *k == 0) // the front page is "/" only
      return std::nullopt;
  }
  if (k && *k < pages && (*k % 4 == shape) && (*k != 0 || shape == 0))
    return k;
  return std::nullopt;
}

// The month (year*12 + month-1) a /calendar/YEAR/MONTH/ path names.
std::optional<uint32_t> calendar_month(std::string_view path) {
  if (!starts_with(path, "/calendar/") || path.back() != '/')
    return std::nullopt;
  auto rest = path.substr(10, path.size() - 11);
  auto slash = rest.find('/');
  if (slash == std::string_view::npos)
    return std::nullopt;
  auto y = parse_index(rest.substr(0, slash));
  auto m = parse_index(rest.substr(slash + 1));
  if (!(y && m && *y >= 1 && *y <= 9999 && *m >= 1 && *m <= 12))
    return std::nullopt;
  return *y * 12 + (*m - 1);
}

// A calendar page links the next month and, but for the first, the previous
// one: the endless trap.
std::vector<std::string> calendar_links(uint32_t month) {
  auto at = [](uint32_t mm) {
    return "/calendar/" + std::to_string(mm / 12) + "/" + std::to_string(mm % 12 + 1) + "/";
  };
  std::vector<std::string> hrefs = {"/", at(month + 1)};
  if (month > 12)
    hrefs.push_back(at(month - 1));
  return hrefs;
}

// One link of a page's random mix (`j` a page, `pick` the kind): relative,
// root-relative, absolute, cross-host, fragment, query variant, duplicate,
// 404, redirect, private, not HTTP, or padded with spaces.
void add_random_link(std::vector<std::string>& out, rng& r, const site_model& m, uint32_t h,
                     const std::string& here) {
  auto H = m.params().hosts;
  auto j = r.below(m.params().pages);
  auto pick = r.below(100);
  if (pick < 30) {
    out.push_back(relative_href(here, m.page_path(j)));
  } else if (pick < 45) {
    out.push_back(m.page_path(j));
  } else if (pick < 53) {
    out.push_back(m.origin(h) + m.page_path(j));
  } else if (pick < 57) {
    out.push_back("//" + m.host_address(r.below(H)) + ":" + std::to_string(m.port()) + m.page_path(j));
  } else if (pick < 69) {
    out.push_back(m.origin(r.below(H)) + m.page_path(j));
  } else if (pick < 75) {
    out.push_back(r.below(3) == 0 ? std::string{"#top"}
                                  : m.page_path(j) + "#s" + std::to_string(r.below(5)));
  } else if (pick < 80) {
    auto p = m.page_path(j);
    p += p.find('?') == std::string::npos ? '?' : '&';
    p += r.below(2) == 0 ? "ref=nav" : "ref=related";
    out.push_back(std::move(p));
  } else if (pick < 85) {
    out.push_back(out[r.below(static_cast<uint32_t>(out.size()))]);
  } else if (pick < 88) {
    out.push_back("/missing/" + std::to_string(r.below(10)));
  } else if (pick < 92) {
    // A few redirecting URLs per host, linked from many pages.
    out.push_back((r.below(2) == 0 ? "/old/" : "/moved/") + std::to_string(j % 10));
  } else if (pick < 95) {
    out.push_back("/private/" + std::to_string(j % 10));
  } else if (pick < 98) {
    static constexpr const char* other[] = {"mailto:info@site.test", "javascript:void(0)",
                                            "tel:+1-555-0100"};
    out.push_back(other[r.below(3)]);
  } else {
    out.push_back("  " + m.page_path(j) + " ");
  }
}

// The links of regular page `k` of host `h`: the next pages, the front page
// (or, from it, the next host and the calendar), then a random mix.
std::vector<std::string> page_links(const site_model& m, uint32_t h, uint32_t k) {
  auto& params = m.params();
  auto P = params.pages;
  rng r{seed_of(params.seed, h, k)};
  auto here = m.page_path(k);
  std::vector<std::string> out;
  auto n = 20 + r.below(41);
  out.reserve(n);
  out.push_back(relative_href(here, m.page_path((k + 1) % P)));
  out.push_back(relative_href(here, m.page_path(static_cast<uint32_t>((2ull * k + 1) % P))));
  out.push_back(relative_href(here, m.page_path(static_cast<uint32_t>((2ull * k + 2) % P))));
  if (k == 0) {
    out.push_back(m.origin((h + 1) % params.hosts) + "/");
    if (params.trap)
      out.push_back("/calendar/2026/1/");
  } else {
    out.push_back("/");
  }
  if (k % 50 == 7)
    out.push_back("/loop/a");
  while (out.size() < n)
    add_random_link(out, r, m, h, here);
  return out;
}

// Writes a regular page's text, its links spread through it in order.
struct page_writer {
  std::string& out;
  rng r;
  const std::vector<std::string>& hrefs;
  std::size_t next = 0; // the next link to write

  std::size_t remaining_links() const {
    return hrefs.size() - next;
  }

  void link() {
    out += "<a href=\"";
    append_escaped(out, hrefs[next++]);
    out += "\">";
    append_words(out, r, 1 + r.below(3));
    out += "</a>";
  }

  // A paragraph of words with its share of the links still to write.
  void paragraph(std::size_t target_size) {
    out += "<p>";
    auto words_in_paragraph = 40 + r.below(80);
    // Spread the links evenly over the paragraphs still to come.
    auto paragraphs_left = std::max<std::size_t>(1, (target_size - std::min(out.size(), target_size)) / 700);
    auto links_here = std::min<std::size_t>(remaining_links(), (remaining_links() + paragraphs_left - 1) / paragraphs_left);
    for (uint32_t w = 0; w < words_in_paragraph; ++w) {
      out += w == 0 ? "" : " ";
      if (links_here > 0 && r.below(words_in_paragraph) < links_here + 1) {
        link();
        --links_here;
      } else {
        out += words[r.below(word_count)];
      }
    }
    while (links_here-- > 0) {
      out += ' ';
      link();
    }
    out += ".</p>\n";
  }
};

// A regular page: 15-30 KB of text with the links spread through it.
void write_page(std::string& out, uint32_t h, uint32_t k, const std::vector<std::string>& hrefs,
                uint64_t seed) {
  page_writer w{out, rng{seed}, hrefs};
  std::size_t target_size = 15000 + w.r.below(14000);
  out.reserve(target_size + 4096);
  static constexpr const char* kinds[] = {"Page", "Article", "Product", "Guide"};
  auto title = std::string{kinds[k % 4]} + " " + std::to_string(k) + " of host " + std::to_string(h);
  out += "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width\">\n<title>";
  out += title;
  out += "</title>\n</head>\n<body>\n<header>\n<h1>";
  out += title;
  out += "</h1>\n<nav>\n";
  for (int i = 0; i < 4 && w.next < hrefs.size(); ++i) {
    w.link();
    out += '\n';
  }
  out += "</nav>\n</header>\n<main>\n";
  if (k % 4 == 2) {
    auto& r = w.r;
    out += "<div class=\"product\">\n<h2 class=\"name\">Product " + std::to_string(h) + "-"
           + std::to_string(k) + "</h2>\n<span class=\"price\">"
           + std::to_string(5 + r.below(495)) + "." + std::to_string(10 + r.below(90))
           + "</span>\n</div>\n";
  }
  while (out.size() + 40 < target_size || w.remaining_links() > 0)
    w.paragraph(target_size);
  out += "</main>\n<footer>Arachne demo site</footer>\n</body>\n</html>\n";
}

} // namespace

struct site_model::page_info {
  enum class kind_t { page, private_page, calendar, robots, sitemap, archive, redirect, not_found };
  kind_t kind = kind_t::not_found;
  uint16_t status = 404;
  uint32_t index = 0;       // page number, or year*12+month for the calendar
  std::string location;
  std::vector<std::string> hrefs;
};

site_model::site_model(site_params params, uint16_t port) : params_(params), port_(port) {
  params_.hosts = std::clamp(params_.hosts, 1u, max_hosts);
  params_.pages = std::max(params_.pages, 1u);
}

std::string site_model::host_address(uint32_t h) const {
  return "127.0." + std::to_string(1 + h / 254) + "." + std::to_string(1 + h % 254);
}

std::optional<uint32_t> site_model::host_index(std::string_view address) const {
  if (!starts_with(address, "127.0."))
    return std::nullopt;
  address.remove_prefix(6);
  auto dot = address.find('.');
  if (dot == std::string_view::npos)
    return std::nullopt;
  auto x = parse_index(address.substr(0, dot));
  auto y = parse_index(address.substr(dot + 1));
  if (!x || !y || *x < 1 || *x > 255 || *y < 1 || *y > 254)
    return std::nullopt;
  auto h = (*x - 1) * 254 + (*y - 1);
  if (h >= params_.hosts)
    return std::nullopt;
  return h;
}

std::string site_model::origin(uint32_t h) const {
  return (params_.tls ? "https://" : "http://") + host_address(h) + ":" + std::to_string(port_);
}

std::string site_model::page_path(uint32_t k) const {
  auto n = std::to_string(k);
  if (k == 0)
    return "/";
  switch (k % 4) {
    case 1: return "/articles/" + n + ".html";
    case 2: return "/catalog/item?id=" + n;
    case 3: return "/docs/" + n + "/";
    default: return "/p/" + n;
  }
}

std::optional<std::string> site_model::robots_txt(uint32_t h) const {
  std::string delay;
  if (params_.crawl_delay.count() > 0)
    delay = "Crawl-delay: " + format_seconds(params_.crawl_delay) + "\n";
  switch (h % 5) {
    case 0:
      return "# robots.txt of host " + std::to_string(h) + "\nUser-agent: *\nDisallow: /private/\n";
    case 1:
      return "User-agent: *\nDisallow: /private/\n" + delay;
    case 2:
      return "User-agent: *\nDisallow: /\n\n"
             "User-agent: arachne\nAllow: /\nDisallow: /private/\nDisallow: /catalog/item?id=1\n";
    case 3: // has_sitemaps(h)
      return "User-agent: *\nDisallow: /docs/*7/$\nDisallow: /private/\nAllow: /private/3$\n"
             "Disallow: /*?ref=related\n\nSitemap: "
             + origin(h) + "/sitemap.xml\n";
    default:
      return std::nullopt;
  }
}

site_model::page_info site_model::describe(uint32_t h, std::string_view target) const {
  using kind_t = page_info::kind_t;
  page_info info;
  auto q = target.find('?');
  auto path = target.substr(0, q);
  auto query = q == std::string_view::npos ? std::string_view{} : target.substr(q + 1);
  auto P = params_.pages;
  if (path == "/robots.txt") {
    if (robots_txt(h)) {
      info.kind = kind_t::robots;
      info.status = 200;
    }
  } else if (auto page = page_number(path, query, P)) {
    info.kind = kind_t::page;
    info.status = 200;
    info.index = *page;
    info.hrefs = page_links(*this, h, *page);
  } else if (starts_with(path, "/old/")) {
    if (auto k = parse_index(path.substr(5)); k && *k < P) {
      info.kind = kind_t::redirect;
      info.status = 301;
      info.location = (*k % 2 == 0 ? origin(h) : std::string{}) + page_path(*k);
    }
  } else if (starts_with(path, "/moved/")) {
    if (auto k = parse_index(path.substr(7)); k && *k < P) {
      info.kind = kind_t::redirect;
      info.status = 302;
      info.location = "../old/" + std::to_string(*k);
    }
  } else if (path == "/loop/a" || path == "/loop/b") {
    info.kind = kind_t::redirect;
    info.status = 302;
    info.location = path == "/loop/a" ? "/loop/b" : "a";
  } else if (starts_with(path, "/private/")) {
    if (auto k = parse_index(path.substr(9)); k && *k < P) {
      info.kind = kind_t::private_page;
      info.status = 200;
      info.index = *k;
      info.hrefs = {"/", page_path(*k)};
    }
  } else if (auto month = calendar_month(path)) {
    info.kind = kind_t::calendar;
    info.status = 200;
    info.index = *month;
    info.hrefs = calendar_links(*month);
  } else if ((path == "/sitemap.xml" || starts_with(path, "/sitemaps/")) && sitemap(h, target)) {
    info.kind = kind_t::sitemap; // (a sitemap has no links: its URLs are no links)
    info.status = 200;
  } else if (starts_with(path, "/archive/") && has_sitemaps(h)) {
    if (auto n = parse_index(path.substr(9)); n && *n < archive_pages()) {
      info.kind = kind_t::archive;
      info.status = 200;
      info.index = *n;
      // The front page and a regular page. /archive/1 (nofollow) links page 1,
      // which its sitemap lists one level higher, and "/", which page 1 links:
      // a crawler that does not follow it reaches the same URLs as deep.
      info.hrefs = {"/", page_path(std::max(*n, 1u) % P)};
    }
  }
  return info;
}

std::vector<std::string> site_model::links(uint32_t h, std::string_view target) const {
  return describe(h, target).hrefs;
}

response site_model::respond(uint32_t h, std::string_view target) const {
  auto res = make_response(h, target);
  // The validators of the page itself (RFC 9110 section 8.8): computed
  // once here, so that the server's cache keeps them with the body.
  if (res.status == 200) {
    res.etag = entity_tag(res.body);
    res.last_modified = http_date(last_modified());
  }
  return res;
}

int64_t site_model::last_modified() const noexcept {
  constexpr int64_t new_year_2026 = 1767225600; // 2026-01-01 00:00:00 UTC
  return new_year_2026 - static_cast<int64_t>(params_.seed % 1000) * 86400;
}

response site_model::make_response(uint32_t h, std::string_view target) const {
  using kind_t = page_info::kind_t;
  auto info = describe(h, target);
  response res;
  res.status = info.status;
  res.content_type = "text/html; charset=utf-8";
  switch (info.kind) {
    case kind_t::robots:
      res.content_type = "text/plain";
      res.body = *robots_txt(h);
      return res;
    case kind_t::redirect:
      res.location = info.location;
      res.body = small_page("Moved", {info.location});
      return res;
    case kind_t::not_found:
      res.body = small_page("Not found", {"/"});
      return res;
    case kind_t::private_page:
      res.body = small_page("Private " + std::to_string(info.index), info.hrefs);
      return res;
    case kind_t::calendar:
      res.body = small_page("Calendar " + std::to_string(info.index / 12) + "-"
                              + std::to_string(info.index % 12 + 1),
                            info.hrefs);
      return res;
    case kind_t::sitemap:
      return sitemap_response(h, target);
    case kind_t::archive:
      return archive_response(std::move(res), info.index, info.hrefs, origin(h));
    case kind_t::page:
      break;
  }
  write_page(res.body, h, info.index, info.hrefs, seed_of(params_.seed, h, info.index) ^ 0xA5A5A5A5ull);
  return res;
}

// The search behind `site_model::truth`: least depths from the seeds and from
// the sitemaps of every host reached, taken in order of depth. A host's
// sitemaps (depth 0) turn up when its first URL is taken, so they may lower
// the depth of URLs taken before: such a URL is taken again at its new depth,
// and its links with it.
struct site_model::truth_search {
  struct item {
    uint32_t depth;
    uint64_t order; // first come, first taken among equal depths
    url at;
  };
  struct later {
    bool operator()(const item& x, const item& y) const noexcept {
      return std::tie(x.depth, x.order) > std::tie(y.depth, y.order);
    }
  };

  truth_search(const site_model& model, const truth_options& options)
    : m(model), opts(options) {}

  const site_model& m;
  const truth_options& opts;
  std::unordered_map<uint32_t, robots_rules> robots;
  std::unordered_map<std::string, uint32_t> depth;    // the least yet, by URL
  std::unordered_map<std::string, std::size_t> entry; // its place in `out`, once taken
  std::unordered_set<std::string> sitemaps;           // URLs reached as sitemaps
  std::unordered_set<uint32_t> hosts;                 // hosts whose robots.txt was read
  std::priority_queue<item, std::vector<item>, later> queue;
  uint64_t next_order = 0;
  std::vector<truth_entry> out;

  const robots_rules& rules_of(uint32_t h) {
    auto i = robots.find(h);
    if (i == robots.end()) {
      auto text = m.robots_txt(h);
      i = robots.emplace(h, text ? robots_rules::parse(*text, opts.user_agent)
                                 : robots_rules::allow_all()).first;
    }
    return i->second;
  }

  // True if a URL at depth `d` is within the depth limit.
  bool within(uint32_t d) const {
    return !opts.max_depth || d <= *opts.max_depth;
  }

  // Reaches `u` at depth `d`, as a sitemap (read for its URLs once taken) or a page.
  void reach(url u, uint32_t d, bool as_sitemap) {
    bool new_sitemap = as_sitemap && sitemaps.insert(u.str()).second;
    auto [it, added] = depth.emplace(u.str(), d);
    if (!added && it->second <= d && !new_sitemap)
      return;
    it->second = std::min(it->second, d);
    queue.push({it->second, next_order++, std::move(u)});
  }

  // A sitemap index lists sitemaps (depth 0), a sitemap pages one level
  // down; entries on another host than the sitemap's are refused.
  void read_sitemap(const url& at, uint32_t h, uint32_t d) {
    auto s = m.sitemap(h, at.target());
    if (!s)
      return;
    for (auto& e : s->entries) {
      auto u = parse_url(e.loc);
      if (!u || u->scheme() != at.scheme() || u->authority() != at.authority())
        continue;
      if (s->index)
        reach(std::move(*u), 0, true);
      else if (within(d + 1))
        reach(std::move(*u), d + 1, false);
    }
  }

  // Takes `u` at depth `d`: reads its host's robots.txt (and reaches the
  // sitemaps it names) the first time, records it, and reaches what it leads to.
  void take(const url& u, uint32_t d) {
    auto h = m.host_index(u.hostname());
    if (!h || u.port() != m.port_ || u.is_https() != m.params_.tls)
      return; // not part of this site
    if (!opts.max_depth && starts_with(u.path(), "/calendar/"))
      return;
    auto& rules = rules_of(*h);
    if (hosts.insert(*h).second && opts.sitemaps)
      for (auto& s : rules.sitemaps())
        if (auto sm = parse_url(s))
          reach(std::move(*sm), 0, true);
    auto [it, added] = entry.emplace(u.str(), out.size());
    if (added)
      out.push_back({u.str(), {}, {}, d});
    out[it->second].depth = d;
    if (!rules.allowed(u.target())) {
      out[it->second].outcome = "robots_denied";
      return;
    }
    auto info = m.describe(*h, u.target());
    out[it->second].outcome = std::to_string(info.status);
    out[it->second].location = info.location;
    if (!info.location.empty()) {
      if (auto next = resolve_url(u, info.location))
        reach(std::move(*next), d, false); // a redirect hop costs no depth
    } else if (info.status == 200) {
      if (within(d + 1))
        for (auto& href : info.hrefs)
          if (auto next = resolve_url(u, href))
            reach(std::move(*next), d + 1, false);
      if (sitemaps.count(u.str()) > 0)
        read_sitemap(u, *h, d);
    }
  }
};

std::vector<truth_entry> site_model::truth(const truth_options& opts) const {
  std::vector<std::string> seeds = opts.seeds;
  if (seeds.empty())
    seeds.push_back(origin(0) + "/");
  truth_search search{*this, opts};
  for (auto& s : seeds)
    if (auto u = parse_url(s))
      search.reach(std::move(*u), 0, false);
  while (!search.queue.empty()) {
    auto next = search.queue.top();
    search.queue.pop();
    if (search.depth[next.at.str()] == next.depth) // else it was reached closer since
      search.take(next.at, next.depth);
  }
  auto out = std::move(search.out);
  std::sort(out.begin(), out.end(),
            [](const truth_entry& x, const truth_entry& y) { return x.url < y.url; });
  return out;
}

void append_escaped(std::string& out, std::string_view s) {
  for (auto c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '"': out += "&quot;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      default: out += c;
    }
  }
}

} // namespace arachne::site
