#include "arachne/html.hpp"

#include <catch2/catch.hpp>

using namespace arachne;

namespace {

std::vector<std::string> hrefs(const html_scan& s) {
  std::vector<std::string> out;
  for (auto& l : s.links)
    out.push_back(l.href);
  return out;
}

using strings = std::vector<std::string>;

} // namespace

TEST_CASE("scan_html finds links however attributes are written", "[html]") {
  CHECK(hrefs(scan_html("<a href=\"/dq\">x</a>")) == strings{"/dq"});
  CHECK(hrefs(scan_html("<a href='/sq'>x</a>")) == strings{"/sq"});
  CHECK(hrefs(scan_html("<a href=/unquoted>x</a><a href=\"/after\">y</a>"))
        == strings{"/unquoted", "/after"});
  CHECK(hrefs(scan_html("<a href=/self/closing/>x</a>")) == strings{"/self/closing/"});
  CHECK(hrefs(scan_html("<A HREF=\"/UPPER\">x</A>")) == strings{"/UPPER"});
  CHECK(hrefs(scan_html("<a\nclass=x\thref = \"/spaced\" >x</a>")) == strings{"/spaced"});
  CHECK(hrefs(scan_html("<a title='a > b' href='/gt-in-attr'>x</a>")) == strings{"/gt-in-attr"});
  CHECK(hrefs(scan_html("<a href=\"/a?x=1&amp;y=2&#38;z=&#x33;\">")) == strings{"/a?x=1&y=2&z=3"});
  CHECK(hrefs(scan_html("<a name=anchor>no href</a><a href=\"\">empty</a>")).empty());
  CHECK(hrefs(scan_html("<a href=\"/unterminated")) == strings{"/unterminated"});
  CHECK(hrefs(scan_html("1 < 2 and <a href=/ok>ok</a> <3")) == strings{"/ok"});
}

TEST_CASE("scan_html skips comments, scripts and styles", "[html]") {
  auto s = scan_html("<!-- <a href=/commented>x</a> -->"
                     "<script>var s = '<a href=\"/in-script\">';</script>"
                     "<STYLE>a[href='/in-style']{}</STYLE>"
                     "<!DOCTYPE html><?xml x?>"
                     "<a href=/real>y</a>");
  CHECK(hrefs(s) == strings{"/real"});
  CHECK(hrefs(scan_html("<script>never closed <a href=/no>")).empty());
}

TEST_CASE("scan_html knows which elements link to pages", "[html]") {
  auto s = scan_html("<link rel=stylesheet href=/s.css><link rel=\"shortcut icon\" href=/i.ico>"
                     "<link rel=next href=/next><link rel=alternate hreflang=de href=/de>"
                     "<img src=/img.png><script src=/s.js></script>"
                     "<iframe src=/frame></iframe><frame src=/f2><area href=/area>"
                     "<a rel=\"nofollow noopener\" href=/nf>n</a>");
  CHECK(hrefs(s) == strings{"/next", "/de", "/frame", "/f2", "/area", "/nf"});
  CHECK(s.links[0].kind == html_link::kind_t::link);
  CHECK(s.links[2].kind == html_link::kind_t::frame);
  CHECK(s.links[4].kind == html_link::kind_t::area);
  CHECK(s.links[5].nofollow);
  CHECK(!s.links[4].nofollow);
}

TEST_CASE("scan_html reads base, title, charset, meta robots and refresh", "[html]") {
  auto s = scan_html("<html><head><meta charset=UTF-8><base href=\"http://b.test/d/\">"
                     "<base href=/ignored/><title>  Caf&eacute; &amp;\n  more </title>"
                     "<meta name=\"ROBOTS\" content=\"NoIndex, NoFollow\">"
                     "<meta http-equiv=refresh content=\"5; URL='/later'\"></head></html>");
  CHECK(s.base == "http://b.test/d/");
  CHECK(s.title == "Caf&eacute; & more");
  CHECK(s.charset == "utf-8");
  CHECK(s.noindex);
  CHECK(s.nofollow);
  REQUIRE(s.links.size() == 1);
  CHECK(s.links[0].href == "/later");
  CHECK(s.links[0].kind == html_link::kind_t::refresh);
  auto t = scan_html("<meta http-equiv=\"Content-Type\" content=\"text/html; charset=ISO-8859-1\">"
                     "<meta name=robots content=none>");
  CHECK(t.charset == "iso-8859-1");
  CHECK(t.nofollow);
  CHECK(t.noindex);
  auto u = scan_html("<meta name=robots content=\"index,follow\"><title>x");
  CHECK(!u.nofollow);
  CHECK(!u.noindex);
  CHECK(u.title == "x");
}

TEST_CASE("scan_html reads the first canonical, which is not a link", "[html]") {
  auto s = scan_html("<link rel=\"canonical\" href=\"https://c.test/p?a=1&amp;b=2\">"
                     "<link rel=canonical href=/second><link rel=next href=/next>");
  CHECK(s.canonical == "https://c.test/p?a=1&b=2");
  CHECK(hrefs(s) == strings{"/next"});
  // rel is a case-insensitive list of words: a canonical among others is one,
  // a word merely containing it is not.
  auto t = scan_html("<LINK REL=\"alternate  CANONICAL\" HREF=/c>"
                     "<link rel=noncanonical href=/other>");
  CHECK(t.canonical == "/c");
  CHECK(hrefs(t) == strings{"/other"});
  // Only <link> declares a canonical; without href it declares nothing.
  auto u = scan_html("<link rel=canonical><a rel=canonical href=/a>a</a><link rel=canonical href=/l>");
  CHECK(u.canonical == "/l");
  CHECK(hrefs(u) == strings{"/a"});
  CHECK(scan_html("<a href=/x>x</a>").canonical.empty());
}

TEST_CASE("scan_html reads meta robots for its own agent, not for others", "[html]") {
  auto page = "<meta name=\"Arachne\" content=\"noindex\"><meta name=otherbot content=nofollow>";
  auto ours = scan_html(page, "arachne");
  CHECK(ours.noindex);
  CHECK(!ours.nofollow);
  auto theirs = scan_html(page, "somebot");
  CHECK(!theirs.noindex);
  CHECK(!theirs.nofollow);
  auto anonymous = scan_html(page);
  CHECK(!anonymous.noindex);
  CHECK(!anonymous.nofollow);
  // name=robots and name=AGENT add up.
  auto both = scan_html("<meta name=robots content=nofollow><meta name=ARACHNE content=NOINDEX>",
                        "arachne");
  CHECK(both.noindex);
  CHECK(both.nofollow);
}

TEST_CASE("scan_html reads meta robots directives as words", "[html]") {
  // "none" is a directive, not a substring: "nonexistent" says nothing.
  auto s = scan_html("<meta name=robots content=\"nonexistent\">");
  CHECK(!s.noindex);
  CHECK(!s.nofollow);
  auto t = scan_html("<meta name=robots content=\"max-snippet:50, noarchive, all\">");
  CHECK(!t.noindex);
  CHECK(!t.nofollow);
  auto u = scan_html("<meta name=robots content=\"noarchive NONE\">");
  CHECK(u.noindex);
  CHECK(u.nofollow);
}

TEST_CASE("decode_entities handles numeric, named and broken references", "[html]") {
  CHECK(decode_entities("a &amp; b") == "a & b");
  CHECK(decode_entities("&lt;&gt;&quot;&apos;") == "<>\"'");
  CHECK(decode_entities("&#47;&#x2F;&#X2f;") == "///");
  CHECK(decode_entities("&#233;") == "\xC3\xA9");
  CHECK(decode_entities("&#x1F577;") == "\xF0\x9F\x95\xB7");
  CHECK(decode_entities("&#0;") == "\xEF\xBF\xBD");
  CHECK(decode_entities("&amp") == "&");
  CHECK(decode_entities("&unknown; & &#;") == "&unknown; & &#;");
  CHECK(decode_entities("no entities") == "no entities");
}
