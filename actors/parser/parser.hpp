#pragma once

#include <memory>
#include <set>
#include <string>

#include "caf/stateful_actor.hpp"
#include "caf/typed_event_based_actor.hpp"

#include "arachne/actor_types.hpp"
#include "arachne/page.hpp"
#include "arachne/sitemap.hpp"
#include "arachne/url.hpp"

namespace arachne {

/// How parsers treat pages.
struct parser_options {
  url_options urls;             // normalisation of the links found
  bool follow_nofollow = false; // follow rel=nofollow links and pages with meta nofollow
  std::string agent;            // robots token for agent-specific directives ("arachne")
  sitemap_limits sitemaps;      // reading one sitemap file
  uint32_t sitemap_max_depth = 2; // sitemap index levels followed
};

/// A parser's state: its options and the user's handlers and item pipeline
/// (may be null).
struct parser_state {
  parser_options opts;
  std::shared_ptr<const page_program> program;
  std::set<std::string> handler_errors; // what handlers or stages threw, each said once (100 at most)
  static inline const char* name = "parser";
};

/// A parser: scans HTML in one pass for links, title, robots directives
/// (meta and X-Robots-Tag) and the canonical URL, then runs the user's page
/// handler for the page's label if there is one (and the item pipeline on
/// what it emits). Without a handler every link is followed; with one, what
/// the handler follows. Non-HTML bodies yield no links. Reads
/// fetched sitemaps for their URLs (those on a host the sitemap may list).
parser_actor::behavior_type parser(parser_actor::stateful_pointer<parser_state> self,
                                   parser_options opts,
                                   std::shared_ptr<const page_program> program);

/// True for media types that are parsed as HTML.
bool is_html(const fetch_result& res);

} // namespace arachne
