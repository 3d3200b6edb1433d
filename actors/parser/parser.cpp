#include "parser/parser.hpp"

#include <unordered_set>

#include "arachne/html.hpp"

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

parse_result parse_page(const parser_state& st, const crawl_request& req, const fetch_result& res) {
  parse_result out;
  out.id = res.id;
  if (!is_html(res))
    return out;
  auto scan = scan_html(res.body.view());
  out.title = scan.title;
  out.nofollow = scan.nofollow;
  out.noindex = scan.noindex;
  // Links resolve against <base href> if the page has one, else its URL.
  std::vector<std::string> links;
  auto page_url = parse_url(res.final_url.empty() ? req.url : res.final_url, st.opts.urls);
  if (page_url) {
    auto base = *page_url;
    if (!scan.base.empty())
      if (auto b = resolve_url(*page_url, scan.base, st.opts.urls))
        base = std::move(*b);
    bool follow_all = st.opts.follow_nofollow;
    if (!scan.nofollow || follow_all) {
      std::unordered_set<std::string> seen;
      for (auto& l : scan.links) {
        if (l.nofollow && !follow_all)
          continue;
        auto u = resolve_url(base, l.href, st.opts.urls);
        if (u && seen.insert(u->str()).second)
          links.push_back(u->str());
      }
    }
  }
  if (!st.handler) {
    out.links = std::move(links);
    return out;
  }
  page p{req, res, std::move(scan), std::move(links)};
  context ctx{p, st.opts.urls};
  (*st.handler)(p, ctx);
  std::unordered_set<std::string> seen;
  for (auto& l : ctx.followed())
    if (seen.insert(l).second)
      out.links.push_back(std::move(l));
  for (auto& it : ctx.emitted()) {
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

} // namespace

parser_actor::behavior_type parser(parser_actor::stateful_pointer<parser_state> self,
                                   parser_options opts,
                                   std::shared_ptr<const page_handler> handler) {
  self->state.opts = std::move(opts);
  self->state.handler = std::move(handler);
  return {
    [=](parse_atom, const crawl_request& req, const fetch_result& res) {
      return parse_page(self->state, req, res);
    },
  };
}

} // namespace arachne
