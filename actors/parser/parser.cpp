#include "parser/parser.hpp"

#include <functional>
#include <iostream>

#include "arachne/html.hpp"
#include "arachne/page_directives.hpp"

namespace arachne {

bool is_html(const fetch_result& res) {
  auto& t = res.content_type;
  if (t == "text/html" || t == "application/xhtml+xml")
    return true;
  if (!t.empty())
    return false;
  // No Content-Type: sniff the first bytes as browsers do.
  auto body = res.body.view().substr(0, 512);
  auto lt = body.find_first_not_of(" \t\r\n");
  return lt != std::string_view::npos && body[lt] == '<';
}

namespace {

/// The links of one page in order, each once, in one buffer. An
/// open-addressing table of indices into the list finds repeats: one
/// allocation for the table, none per link.
class link_list {
public:
  explicit link_list(std::size_t expected) {
    std::size_t size = 16;
    while (size < 2 * expected)
      size *= 2;
    slots_.assign(size, 0);
    links_.reserve(expected, expected * 48);
  }

  /// Appends `link` unless the list has it already.
  void add(std::string_view link) {
    if (2 * (links_.size() + 1) > slots_.size())
      grow();
    auto& slot = find(link);
    if (slot != 0)
      return;
    links_.push_back(link);
    slot = static_cast<uint32_t>(links_.size());
  }

  url_list take() && { return std::move(links_); }

private:
  // The slot holding `link`'s index + 1, or the empty slot where it belongs.
  uint32_t& find(std::string_view link) {
    auto mask = slots_.size() - 1;
    for (auto i = std::hash<std::string_view>{}(link) & mask;; i = (i + 1) & mask)
      if (slots_[i] == 0 || links_[slots_[i] - 1] == link)
        return slots_[i];
  }

  void grow() {
    slots_.assign(2 * slots_.size(), 0);
    for (std::size_t i = 0; i < links_.size(); ++i)
      find(links_[i]) = static_cast<uint32_t>(i + 1);
  }

  std::vector<uint32_t> slots_;
  url_list links_;
};

// A link that is no usable URL (not one of another scheme, which is no URL
// of the crawl): kept, as written and cut after `max_length` characters,
// for its record.
void note_invalid(parse_result& out, std::string_view href, const caf::error& err,
                  std::size_t max_length) {
  if (crawl_errc_of(err) != crawl_errc::invalid_url)
    return;
  std::string text{href.substr(0, max_length)};
  if (href.size() > max_length)
    text += "...";
  for (auto& [seen, why] : out.invalid)
    if (seen == text)
      return;
  auto why = err.context().match_elements<std::string>() ? err.context().get_as<std::string>(0)
                                                         : std::string{"not a URL"};
  out.invalid.emplace_back(std::move(text), std::move(why));
}

// Runs the item pipeline's stages on `it`; false if one dropped it (or
// threw: said once per message, as a handler's exception is).
bool passes_pipeline(parser_state& st, item& it, const std::string& page_url) {
  for (auto& stage : st.program->pipeline) {
    try {
      if (!stage(it))
        return false;
    } catch (const std::exception& e) {
      if (st.handler_errors.size() < 100 && st.handler_errors.insert(e.what()).second)
        std::cerr << "arachne: the item pipeline failed on an item of " << page_url << ": "
                  << e.what() << "\n";
      return false;
    }
  }
  return true;
}

parse_result parse_page(parser_state& st, const crawl_request& req, const fetch_result& res) {
  parse_result out;
  out.id = res.id;
  if (!is_html(res))
    return out;
  auto scan = scan_html(res.body.view(), st.opts.agent);
  out.title = scan.title;
  auto asked = x_robots_tag(res.headers, st.opts.agent);
  out.nofollow = scan.nofollow || asked.nofollow;
  out.noindex = scan.noindex || asked.noindex;
  // Links resolve against <base href> if the page has one, else its URL.
  link_list links{scan.links.size()};
  auto page_url = parse_url(res.final_url.empty() ? req.url : res.final_url, st.opts.urls);
  if (page_url) {
    auto base = *page_url;
    if (!scan.base.empty())
      if (auto b = resolve_url(*page_url, scan.base, st.opts.urls))
        base = std::move(*b);
    if (!scan.canonical.empty())
      if (auto c = resolve_url(base, scan.canonical, st.opts.urls))
        out.canonical = c->str();
    bool follow_all = st.opts.follow_nofollow;
    if (!out.nofollow || follow_all) {
      for (auto& l : scan.links) {
        if (l.nofollow && !follow_all)
          continue;
        if (auto u = resolve_url(base, l.href, st.opts.urls))
          links.add(u->str());
        else
          note_invalid(out, l.href, u.error(), st.opts.urls.max_length);
      }
    }
  }
  auto* handler = st.program ? st.program->for_label(req.opts().label) : nullptr;
  if (handler == nullptr) {
    out.links = std::move(links).take();
    return out;
  }
  page p{req, res, std::move(scan), std::move(links).take().strings()};
  context ctx{p, st.opts.urls};
  try {
    (*handler)(p, ctx);
  } catch (const std::exception& e) {
    // A handler that throws (a bad CSS selector, say) loses what it did on
    // this page; the page keeps its record and the crawl goes on, saying so
    // once per message.
    if (st.handler_errors.size() < 100 && st.handler_errors.insert(e.what()).second)
      std::cerr << "arachne: the page handler failed on " << req.url << ": " << e.what() << "\n";
    ctx.followed().clear();
    ctx.followed_with().clear();
    ctx.emitted().clear();
  }
  link_list followed{ctx.followed().size()};
  for (auto& l : ctx.followed())
    followed.add(l);
  out.links = std::move(followed).take();
  for (auto& [url, opts] : ctx.followed_with()) {
    crawl_request r;
    r.url = std::move(url);
    r.priority = opts.priority;
    request_options o{std::move(opts.label), std::move(opts.data), std::move(opts.method),
                      std::move(opts.body), std::move(opts.body_type)};
    if (!o.empty())
      r.options = std::make_shared<const request_options>(std::move(o));
    out.requests.push_back(std::move(r));
  }
  for (auto& it : ctx.emitted()) {
    if (!passes_pipeline(st, it, req.url)) {
      ++out.items_dropped;
      continue;
    }
    record r;
    r.kind = record::kind_t::item;
    r.url = std::move(it.url);
    r.fields = std::move(it.fields);
    r.depth = req.depth;
    r.fetched_at = res.fetched_at;
    out.items.push_back(std::move(r));
  }
  return out;
}

// The site of normalised URL `u`: scheme://authority.
std::string_view site_of(std::string_view u) {
  auto scheme = u.find("://");
  auto slash = scheme == std::string_view::npos ? u.size() : u.find('/', scheme + 3);
  return u.substr(0, slash);
}

// Counts one more entry refused for `why`.
void refuse(std::vector<std::pair<std::string, uint64_t>>& refused, std::string_view why) {
  for (auto& [reason, n] : refused)
    if (reason == why) {
      ++n;
      return;
    }
  refused.emplace_back(std::string{why}, 1);
}

// Why reading stopped, if it did: a body cut at --sitemap-max-size says so
// rather than what the cut made of the XML or gzip.
void note_error(const parser_state& st, const fetch_result& res, sitemap_file& file,
                sitemap_result& out) {
  if (res.truncated) {
    out.error = crawl_errc::too_large;
    out.error_message = "sitemap larger than " + std::to_string(st.opts.sitemaps.max_bytes)
                        + " bytes (--sitemap-max-size): read up to there";
  } else {
    out.error = file.error;
    out.error_message = std::move(file.error_message);
  }
}

// Reads a fetched sitemap. Its URLs must be absolute and, as sitemaps.org
// says, of its own site (scheme, host and port) or of the site whose
// robots.txt named it.
sitemap_result read_sitemap_file(const parser_state& st, const crawl_request& req,
                                 const fetch_result& res) {
  sitemap_result out;
  out.id = res.id;
  auto file = read_sitemap(res.body.view(), st.opts.sitemaps);
  out.refused = std::move(file.refused);
  if (file.error != crawl_errc::none || res.truncated)
    note_error(st, res, file, out);
  out.index = file.kind == sitemap_file::kind_t::index;
  if (out.index && req.nesting + 1 > st.opts.sitemap_max_depth) {
    for (std::size_t i = 0; i < file.entries.size(); ++i)
      refuse(out.refused, "a sitemap index nested deeper than --sitemap-max-depth");
    return out;
  }
  auto own = site_of(req.url);
  if (res.truncated && file.kind == sitemap_file::kind_t::text && !file.entries.empty())
    file.entries.pop_back(); // (the line the cut went through)
  out.urls.reserve(file.entries.size(), file.entries.size() * 64);
  for (auto& e : file.entries) {
    auto u = parse_url(e.loc, st.opts.urls);
    if (!u) {
      refuse(out.refused, "not an absolute http(s) URL");
      continue;
    }
    auto site = site_of(u->str());
    if (site != own && site != req.vouched) {
      refuse(out.refused, "on another site than the sitemap");
      continue;
    }
    out.urls.push_back(u->str());
    if (!out.index)
      out.hints.push_back(sitemap_hints{std::move(e.lastmod), e.changefreq, e.priority});
  }
  return out;
}

} // namespace

parser_actor::behavior_type parser(parser_actor::stateful_pointer<parser_state> self,
                                   parser_options opts,
                                   std::shared_ptr<const page_program> program) {
  self->state.opts = std::move(opts);
  self->state.program = std::move(program);
  return {
    [=](parse_atom, const crawl_request& req, const fetch_result& res) {
      return parse_page(self->state, req, res);
    },
    [=](sitemap_atom, const crawl_request& req, const fetch_result& res) {
      return read_sitemap_file(self->state, req, res);
    },
  };
}

} // namespace arachne
