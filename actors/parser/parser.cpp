#include "parser/parser.hpp"

#include <functional>

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
  link_list links{scan.links.size()};
  auto page_url = parse_url(res.final_url.empty() ? req.url : res.final_url, st.opts.urls);
  if (page_url) {
    auto base = *page_url;
    if (!scan.base.empty())
      if (auto b = resolve_url(*page_url, scan.base, st.opts.urls))
        base = std::move(*b);
    bool follow_all = st.opts.follow_nofollow;
    if (!scan.nofollow || follow_all) {
      for (auto& l : scan.links) {
        if (l.nofollow && !follow_all)
          continue;
        if (auto u = resolve_url(base, l.href, st.opts.urls))
          links.add(u->str());
      }
    }
  }
  if (!st.handler) {
    out.links = std::move(links).take();
    return out;
  }
  page p{req, res, std::move(scan), std::move(links).take().strings()};
  context ctx{p, st.opts.urls};
  (*st.handler)(p, ctx);
  link_list followed{ctx.followed().size()};
  for (auto& l : ctx.followed())
    followed.add(l);
  out.links = std::move(followed).take();
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
