#include "arachne/page_directives.hpp"

#include <catch2/catch.hpp>

using namespace arachne;

namespace {

bool noindex(std::string_view content) {
  return parse_robots_meta(content).noindex;
}

bool nofollow(std::string_view content) {
  return parse_robots_meta(content).nofollow;
}

robots_directives x_robots(std::vector<std::string_view> values, std::string_view agent = "arachne") {
  return parse_x_robots_tag(values, agent);
}

} // namespace

// Rules from Google Search Central, "Robots meta tag, data-nosnippet, and
// X-Robots-Tag specifications" (developers.google.com/search/docs/crawling-indexing/robots-meta-tag).

TEST_CASE("robots meta: noindex and nofollow are read on their own and together", "[page_directives]") {
  // Google: "noindex", "nofollow"; several rules in one comma-separated list.
  CHECK(noindex("noindex"));
  CHECK(!nofollow("noindex"));
  CHECK(nofollow("nofollow"));
  CHECK(!noindex("nofollow"));
  CHECK(noindex("noindex, nofollow"));
  CHECK(nofollow("noindex, nofollow"));
  CHECK(noindex("nofollow,noindex"));
  CHECK(nofollow("  noindex  nofollow  ")); // space-separated too
  CHECK(!noindex(""));
  CHECK(!nofollow(", ,"));
}

TEST_CASE("robots meta: none means noindex and nofollow", "[page_directives]") {
  // Google: none is equivalent to noindex, nofollow.
  CHECK(noindex("none"));
  CHECK(nofollow("none"));
  CHECK(noindex("noarchive, none"));
}

TEST_CASE("robots meta: all means nothing", "[page_directives]") {
  // Google: all sets no restriction; it is the default and listing it has no effect.
  CHECK(!noindex("all"));
  CHECK(!nofollow("all"));
  CHECK(!noindex("index, follow"));
  CHECK(noindex("all, noindex")); // "all" does not undo a restriction
}

TEST_CASE("robots meta: directives are case-insensitive", "[page_directives]") {
  // Google: the name and content attribute values are case-insensitive.
  CHECK(noindex("NoIndex"));
  CHECK(nofollow("NOFOLLOW"));
  CHECK(noindex("NONE"));
  CHECK(nofollow("None"));
}

TEST_CASE("robots meta: unknown directives and near-misses are ignored", "[page_directives]") {
  // Google: other rules (noarchive, nosnippet, max-snippet, unavailable_after...) say
  // nothing of indexing or following; words merely containing a rule are not that rule.
  CHECK(!noindex("noarchive, nosnippet, max-snippet:50, max-image-preview:large"));
  CHECK(!nofollow("noarchive, nosnippet, max-snippet:50, max-image-preview:large"));
  CHECK(!noindex("unavailable_after: 25 Jun 2010 15:00:00 PST"));
  CHECK(!noindex("nonexistent"));
  CHECK(!nofollow("nonexistent"));
  CHECK(!noindex("noindexing"));
  CHECK(!nofollow("nofollowers"));
  CHECK(noindex("max-snippet:50, noindex"));
}

TEST_CASE("robots_directives combine with |=", "[page_directives]") {
  robots_directives d;
  d |= robots_directives{true, false};
  d |= robots_directives{false, false};
  CHECK(d.noindex);
  CHECK(!d.nofollow);
  d |= robots_directives{false, true};
  CHECK(d.nofollow);
}

TEST_CASE("X-Robots-Tag: directives without an agent apply to every crawler", "[page_directives]") {
  // Google: X-Robots-Tag takes the robots meta tag's rules (noindex; noindex, nofollow).
  CHECK(x_robots({"noindex"}).noindex);
  CHECK(x_robots({"noindex, nofollow"}).nofollow);
  CHECK(x_robots({"NONE"}, "").noindex);
  CHECK(!x_robots({"all"}).noindex);
}

TEST_CASE("X-Robots-Tag: directives for our agent apply to us", "[page_directives]") {
  // Google: the crawler's name and a colon before the rules (googlebot: nofollow).
  CHECK(x_robots({"arachne: noindex"}).noindex);
  CHECK(!x_robots({"arachne: noindex"}).nofollow);
  CHECK(x_robots({"Arachne: NoFollow"}).nofollow); // agent names are case-insensitive
  CHECK(x_robots({"arachne:noindex"}).noindex);
  // The elements after "name:" in the same value are for that agent too.
  auto d = x_robots({"arachne: noindex, nofollow"});
  CHECK(d.noindex);
  CHECK(d.nofollow);
}

TEST_CASE("X-Robots-Tag: directives for another agent do not apply to us", "[page_directives]") {
  // Google: otherbot: noindex, nofollow speaks to otherbot only.
  auto d = x_robots({"otherbot: noindex, nofollow"});
  CHECK(!d.noindex);
  CHECK(!d.nofollow);
  CHECK(!x_robots({"googlebot: none"}).noindex);
  // Without a robots token of our own, no agent-specific value is ours.
  CHECK(!x_robots({"arachne: noindex"}, "").noindex);
  // A second "name:" in the same value takes over from the first.
  auto e = x_robots({"otherbot: noindex, arachne: nofollow"});
  CHECK(!e.noindex);
  CHECK(e.nofollow);
  auto f = x_robots({"arachne: nofollow, otherbot: noindex"});
  CHECK(!f.noindex);
  CHECK(f.nofollow);
  // Elements before any "name:" are for everyone.
  auto g = x_robots({"noindex, otherbot: nofollow"});
  CHECK(g.noindex);
  CHECK(!g.nofollow);
}

TEST_CASE("X-Robots-Tag: several header values combine", "[page_directives]") {
  // Google: several X-Robots-Tag headers may be combined in one response (its
  // example: googlebot: nofollow, then otherbot: noindex, nofollow); an agent
  // prefix lasts to the end of its own value only.
  auto d = x_robots({"otherbot: nofollow", "noindex"});
  CHECK(d.noindex);
  CHECK(!d.nofollow);
  auto e = x_robots({"arachne: noindex", "nofollow"});
  CHECK(e.noindex);
  CHECK(e.nofollow);
  auto f = x_robots({"googlebot: nofollow", "otherbot: noindex, nofollow"});
  CHECK(!f.noindex);
  CHECK(!f.nofollow);
  CHECK(!x_robots({}).noindex);
}

TEST_CASE("X-Robots-Tag: a directive with a value is not an agent name", "[page_directives]") {
  // Google's example unavailable_after: 25 Jun 2010 15:00:00 PST is a rule, not an
  // agent; the rules after it still apply to everyone.
  auto d = x_robots({"unavailable_after: 25 Jun 2010 15:00:00 PST, noindex"});
  CHECK(d.noindex);
  // An RFC 850 date carries a comma: its second half names no agent either.
  CHECK(x_robots({"unavailable_after: Friday, 25-Jun-10 15:00:00 GMT, nofollow"}).nofollow);
  CHECK(x_robots({"max-snippet: 50, noindex"}).noindex);
  CHECK(x_robots({"MAX-IMAGE-PREVIEW: large, noindex"}).noindex);
  CHECK(x_robots({"max-video-preview:-1, nofollow"}).nofollow);
  // After an agent prefix, such rules stay with that agent.
  CHECK(!x_robots({"otherbot: unavailable_after: 25 Jun 2010 15:00:00 PST, noindex"}).noindex);
}

// Link header rules from RFC 8288 section 3 (Link = #link-value;
// link-value = "<" URI-Reference ">" *( OWS ";" OWS link-param )).

TEST_CASE("Link header: a rel=canonical link's target, as written", "[page_directives]") {
  // RFC 8288 section 3: the target between angle brackets, then parameters
  // (Google Search Central documents rel="canonical" Link headers for PDFs).
  CHECK(canonical_from_link_header("<https://www.example.com/white-paper.pdf>; rel=\"canonical\"")
        == "https://www.example.com/white-paper.pdf");
  CHECK(canonical_from_link_header("</relative?a=1&b=2>; rel=canonical") == "/relative?a=1&b=2");
  CHECK(canonical_from_link_header("").empty());
  CHECK(canonical_from_link_header("<https://x.test/>; rel=\"next\"").empty());
  CHECK(canonical_from_link_header("<https://x.test/>").empty());
}

TEST_CASE("Link header: several links, the first canonical wins", "[page_directives]") {
  // RFC 8288 section 3: several link-values in one comma-separated field; a
  // comma inside a target or a quoted parameter does not split links.
  CHECK(canonical_from_link_header("<https://x.test/next>; rel=next, <https://x.test/c>; rel=canonical")
        == "https://x.test/c");
  CHECK(canonical_from_link_header(
            "<https://x.test/a,b>; rel=canonical, <https://x.test/second>; rel=canonical")
        == "https://x.test/a,b");
  CHECK(canonical_from_link_header(
            "<https://x.test/t>; title=\"a, rel=canonical\", <https://x.test/c>; rel=canonical")
        == "https://x.test/c");
  CHECK(canonical_from_link_header(", ,<https://x.test/c>;rel=canonical,") == "https://x.test/c");
  CHECK(canonical_from_link_header("junk; rel=canonical, <https://x.test/c>; rel=canonical")
        == "https://x.test/c");
}

TEST_CASE("Link header: rel is a case-insensitive list, quoted or not", "[page_directives]") {
  // RFC 8288 section 3.3: rel may hold several space-separated relation
  // types; section 2.1.1: they compare case-insensitively; section 3: token
  // or quoted-string values; only the first rel parameter counts.
  CHECK(canonical_from_link_header("<https://x.test/c>; rel=\"alternate canonical\"")
        == "https://x.test/c");
  CHECK(canonical_from_link_header("<https://x.test/c>; REL=CANONICAL") == "https://x.test/c");
  CHECK(canonical_from_link_header("<https://x.test/c>; rel=\"Canonical\"") == "https://x.test/c");
  CHECK(canonical_from_link_header("<https://x.test/c>; rel=\"canonicalish\"").empty());
  CHECK(canonical_from_link_header("<https://x.test/c>; rel=next; rel=canonical").empty());
  CHECK(canonical_from_link_header("<https://x.test/c>; hreflang=de; rel=\"can\\onical\"")
        == "https://x.test/c"); // a quoted-pair in a quoted-string
}

TEST_CASE("Link header: white space around parameters is allowed", "[page_directives]") {
  // RFC 8288 section 3: OWS around ';', BWS around '='.
  CHECK(canonical_from_link_header("  <https://x.test/c>  ;  rel = \"canonical\"  ")
        == "https://x.test/c");
  CHECK(canonical_from_link_header("<https://x.test/c>\t;\trel=canonical\t,<https://x.test/n>")
        == "https://x.test/c");
}

TEST_CASE("Link header: a link anchored elsewhere is not this page's canonical", "[page_directives]") {
  // RFC 8288 section 3.2: the anchor parameter makes another resource the
  // link's context.
  CHECK(canonical_from_link_header("<https://x.test/c>; rel=canonical; anchor=\"https://x.test/other\"")
            .empty());
  CHECK(canonical_from_link_header(
            "<https://x.test/a>; anchor=\"#part\"; rel=canonical, <https://x.test/c>; rel=canonical")
        == "https://x.test/c");
}

TEST_CASE("response headers give X-Robots-Tag from every field of that name and the first "
          "canonical Link",
          "[directives]") {
  // RFC 9110 5.3: a field may occur more than once; names ignore case.
  std::vector<std::pair<std::string, std::string>> headers{
    {"Content-Type", "text/html"},
    {"x-robots-tag", "nofollow"},
    {"X-Robots-Tag", "arachne: noindex"},
    {"Link", "</style.css>; rel=\"stylesheet\""},
    {"LINK", "</canonical>; rel=canonical"},
  };
  auto d = x_robots_tag(headers, "arachne");
  CHECK(d.nofollow);
  CHECK(d.noindex);
  CHECK_FALSE(x_robots_tag(headers, "otherbot").noindex);
  CHECK(canonical_from_headers(headers) == "/canonical");
  CHECK(canonical_from_headers({{"Content-Type", "text/html"}}).empty());
}
