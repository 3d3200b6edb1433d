// CSS selectors (Selectors Level 3, the part with an XPath equivalent):
// each rule checked by what it selects on a real document (libxml2), and
// selectors the translation cannot read refused with the reason.

#include "arachne/css.hpp"
#include "arachne/page.hpp"

#include <catch2/catch.hpp>

using namespace arachne;

namespace {

const char* document = R"(<!DOCTYPE html>
<html><head><title>Shop</title></head>
<body>
<div id="main" class="content  wide">
  <h2 class="name">First</h2><span class="price">1.50</span>
  <ul>
    <li><a href="/a" lang="en-US" data-x="one two">A</a></li>
    <li class="odd"><a href="/b" lang="en">B</a></li>
    <li><a href="/c.pdf" title='say "hi"'>C</a></li>
    <li class="last"><a href="/d" title="it's">D</a><em></em></li>
  </ul>
  <p>one</p><p>two <b>bold</b></p><span>after p</span>
</div>
<div class="content-extra"><p>other</p></div>
</body></html>)";

// What `selector` selects on the document, as string values.
std::vector<std::string> select(const std::string& selector) {
  crawl_request req;
  req.url = "http://shop.test/";
  fetch_result res;
  res.url = res.final_url = req.url;
  res.body = shared_bytes{document};
  page p{req, res, html_scan{}, {}};
  return p.css_all(selector);
}

using strings = std::vector<std::string>;

} // namespace

TEST_CASE("css: type, universal, #id and .class (Selectors 3, 6.1-6.5)", "[css]") {
  CHECK(select("title") == strings{"Shop"});
  CHECK(select("TITLE") == strings{"Shop"}); // (HTML names are case-insensitive)
  CHECK(select("h2.name") == strings{"First"});
  CHECK(select("#main > h2") == strings{"First"});
  CHECK(select(".wide .name") == strings{"First"});
  CHECK(select(".content p").size() == 2);   // not .content-extra's: a class is a whole word
  CHECK(select("li.odd.odd a") == strings{"B"});
  CHECK(select("ul > *").size() == 4);
}

TEST_CASE("css: attribute selectors (Selectors 3, 6.3)", "[css]") {
  CHECK(select("a[title]") == strings{"C", "D"});
  CHECK(select("a[href='/b']") == strings{"B"});
  CHECK(select("a[href=\"/b\"]") == strings{"B"});
  CHECK(select("a[data-x~=two]") == strings{"A"});
  CHECK(select("a[data-x~='on']").empty()); // a whole word
  CHECK(select("a[lang|=en]") == strings{"A", "B"});
  CHECK(select("a[href^='/c']") == strings{"C"});
  CHECK(select("a[href$='.pdf']") == strings{"C"});
  CHECK(select("a[href*=d]") == strings{"C", "D"});
  CHECK(select("a[href^='']").empty()); // an empty value represents nothing
  CHECK(select("a[title='say \"hi\"']") == strings{"C"});
  CHECK(select("a[title=\"it's\"]") == strings{"D"});
}

TEST_CASE("css: combinators (Selectors 3, 8)", "[css]") {
  CHECK(select("div p").size() == 3);      // descendant
  CHECK(select("div > p").size() == 3);    // child (all three are children)
  CHECK(select("body > p").empty());
  CHECK(select("h2 + span") == strings{"1.50"});  // adjacent sibling
  CHECK(select("h2 + ul").empty());               // not adjacent
  CHECK(select("h2 ~ span") == strings{"1.50", "after p"}); // general sibling
  CHECK(select("li+li a") == strings{"B", "C", "D"});
  CHECK(select("title, h2") == strings{"Shop", "First"}); // a group, in document order
}

TEST_CASE("css: structural pseudo-classes and :not (Selectors 3, 6.6)", "[css]") {
  CHECK(select("li:first-child a") == strings{"A"});
  CHECK(select("li:last-child a") == strings{"D"});
  CHECK(select("li:nth-child(2) a") == strings{"B"});
  CHECK(select("li:nth-child(odd) a") == strings{"A", "C"});
  CHECK(select("li:nth-child(2n) a") == strings{"B", "D"});
  CHECK(select("li:nth-child(-n+2) a") == strings{"A", "B"});
  CHECK(select("li:nth-child(n+3) a") == strings{"C", "D"});
  CHECK(select("li:nth-last-child(1) a") == strings{"D"});
  CHECK(select("p:first-of-type") == strings{"one", "other"}); // (the other div's too)
  CHECK(select("#main p:last-of-type") == strings{"two bold"});
  CHECK(select("p:nth-of-type(2)") == strings{"two bold"});
  CHECK(select("div:only-child").empty());
  CHECK(select("em:empty").size() == 1);
  CHECK(select("html:root").size() == 1);
  CHECK(select("li:not(.odd):not(.last) a") == strings{"A", "C"});
  CHECK(select("ul > :not(li)").empty());
}

TEST_CASE("css: ::text and ::attr(name) select text nodes and attribute values", "[css]") {
  CHECK(select("a::attr(href)") == strings{"/a", "/b", "/c.pdf", "/d"});
  CHECK(select("p::text") == strings{"one", "two ", "other"});
  CHECK(select("li.odd a::attr( HREF )") == strings{"/b"});
}

TEST_CASE("css: what the translation cannot read is refused with the reason", "[css]") {
  auto why = [](const char* s) {
    auto x = css_to_xpath(s);
    REQUIRE_FALSE(x);
    return error_text(x.error());
  };
  CHECK(why("a:hover") == "CSS selector 'a:hover': unsupported pseudo-class :hover at offset 7");
  CHECK(why("").find("a selector expected") != std::string::npos);
  CHECK(why("a,").find("a selector expected") != std::string::npos);
  CHECK(why("> a").find("a selector expected") != std::string::npos);
  CHECK(why("a[href").find("an attribute operator expected") != std::string::npos);
  CHECK(why("a[href='x").find("an unclosed string") != std::string::npos);
  CHECK(why("*:first-of-type").find("needs an element name") != std::string::npos);
  CHECK(why("li:nth-child(2x)").find("a bad an+b") != std::string::npos);
  CHECK(why("a::before").find("unknown pseudo-element") != std::string::npos);
  CHECK(why("a::attr(href) b").find("nothing may follow") != std::string::npos);
  CHECK(why("a:not(b c)").find("one simple selector") != std::string::npos);
  // A page's css() throws the same reason.
  CHECK_THROWS_WITH(select("a:hover"), Catch::Contains("unsupported pseudo-class :hover"));
}

TEST_CASE("xpath_error says why an expression is no XPath", "[css]") {
  CHECK(xpath_error("//a[@href]").empty());
  CHECK(xpath_error("//a[") == "XPath '//a[': Invalid expression");
}
