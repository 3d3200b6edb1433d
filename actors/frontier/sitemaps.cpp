// The shard's sitemaps: named by robots.txt (or by --sitemap, with the
// seeds), fetched as URLs of their hosts under the same scope, robots.txt
// and politeness as pages, read by parsers, and their URLs taken like
// links. And what pages ask of crawlers, settled in their records.

#include "frontier/shard.hpp"

namespace arachne::shard {

void take_sitemaps(pointer self, const host_entry& h) {
  auto& st = self->state;
  if (st.cfg.scope.sitemaps == sitemap_mode::off)
    return;
  for (auto& line : h.rules.sitemaps()) {
    crawl_request req;
    req.referrer = h.origin + "/robots.txt";
    req.kind = url_kind::sitemap;
    // sitemaps.org: a sitemap robots.txt names may list that site's URLs
    // wherever the sitemap lives.
    req.vouched = h.origin;
    auto u = parse_url(line, st.cfg.urls);
    if (!u) {
      // An unusable Sitemap line ends in a record, once, as written.
      req.url = line;
      if (note_seen(st, req)) {
        ++st.seen;
        record_decision(self, req, crawl_errc::invalid_url,
                        "a Sitemap line of " + req.referrer + " that is not a URL");
      }
      continue;
    }
    req.url = u->str();
    take_url(self, std::move(req));
  }
}

namespace {

// What the parser read: the sitemap's record, then its URLs (sitemaps of
// an index, or pages with what the sitemap said of them) to their shards.
void on_sitemap(pointer self, record r, const crawl_request& from, sitemap_result& sr) {
  r.sitemap.read = true;
  r.sitemap.index = sr.index;
  r.sitemap.urls = sr.urls.size();
  r.sitemap.refused = std::move(sr.refused);
  if (sr.error != crawl_errc::none) {
    r.kind = record::kind_t::failure;
    r.error = sr.error;
    r.error_message = std::move(sr.error_message);
  }
  add_record(self, std::move(r), from.id);
  for (std::size_t i = 0; i < sr.urls.size(); ++i) {
    crawl_request next;
    next.url = std::string{sr.urls[i]};
    next.referrer = from.url;
    if (sr.index) {
      next.kind = url_kind::sitemap;
      next.depth = from.depth;
      next.nesting = from.nesting + 1;
      next.vouched = from.vouched;
    } else {
      next.depth = from.depth + 1;
      if (i < sr.hints.size())
        next.hints = std::move(sr.hints[i]);
    }
    take_url(self, std::move(next));
  }
  --self->state.in_flight;
  pump(self, origin_of(from.url));
}

} // namespace

void read_sitemap(pointer self, crawl_request req, fetch_result& res) {
  auto& st = self->state;
  auto& p = st.parsers[st.next_parser++ % st.parsers.size()];
  auto r = std::make_shared<record>(make_record(st.cfg, req, res));
  auto from = std::make_shared<crawl_request>(req);
  self->request(p, caf::infinite, sitemap_atom::value, std::move(req), std::move(res))
    .then([=](sitemap_result& sr) { on_sitemap(self, std::move(*r), *from, sr); },
          [=](caf::error& err) {
            auto failed = std::move(*r);
            failed.kind = record::kind_t::failure;
            failed.error = crawl_errc::cancelled;
            failed.error_message = "parser failed: " + self->system().render(err);
            add_record(self, std::move(failed), from->id);
            --self->state.in_flight;
            pump(self, origin_of(from->url));
          });
}

void settle_directives(pointer self, record& page, parse_result& pr) {
  page.noindex = page.noindex || pr.noindex;
  if (!pr.canonical.empty()) // (the page's own word over its Link header)
    page.canonical = std::move(pr.canonical);
  queue_canonical(self, page);
}

void queue_canonical(pointer self, const record& page) {
  auto& scope = self->state.cfg.scope;
  if (!scope.follow_canonical || page.canonical.empty() || page.canonical == page.url
      || page.canonical == page.final_url)
    return;
  if (scope.max_depth < 0 || page.depth < static_cast<uint64_t>(scope.max_depth))
    take_url(self, crawl_request{page.canonical, page.depth + 1, page.url, 0, 0, 0});
}

} // namespace arachne::shard
