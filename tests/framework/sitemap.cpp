#include "arachne/sitemap.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include <zlib.h>

using namespace arachne;

namespace {

constexpr const char* xmlns = "http://www.sitemaps.org/schemas/sitemap/0.9";

// A <urlset> around `urls`.
std::string urlset(const std::string& urls) {
  return std::string{"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<urlset xmlns=\""} + xmlns
         + "\">\n" + urls + "</urlset>\n";
}

// One <url> with only a <loc>.
std::string url(const std::string& loc) {
  return "<url><loc>" + loc + "</loc></url>\n";
}

// `text` gzip-compressed (windowBits 31: a gzip header and trailer).
std::string gzip(const std::string& text) {
  z_stream s{};
  REQUIRE(deflateInit2(&s, Z_BEST_COMPRESSION, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&s, text.size()), '\0');
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(text.data()));
  s.avail_in = static_cast<uInt>(text.size());
  s.next_out = reinterpret_cast<Bytef*>(out.data());
  s.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&s, Z_FINISH) == Z_STREAM_END);
  out.resize(s.total_out);
  deflateEnd(&s);
  return out;
}

std::vector<std::string> locs(const sitemap_file& f) {
  std::vector<std::string> out;
  for (auto& e : f.entries)
    out.push_back(e.loc);
  return out;
}

using refusals = std::vector<std::pair<std::string, uint64_t>>;

// How many </url> end tags of `doc` end within its first `n` bytes.
std::size_t ended_before(const std::string& doc, std::size_t n) {
  std::size_t count = 0;
  for (auto i = doc.find("</url>"); i != std::string::npos && i + 6 <= n;
       i = doc.find("</url>", i + 1))
    ++count;
  return count;
}

} // namespace

TEST_CASE("sitemap reads a urlset's loc, lastmod, changefreq and priority", "[sitemap]") {
  // sitemaps.org, "XML tag definitions": <urlset>, <url>, <loc>, and the
  // optional <lastmod>, <changefreq>, <priority>.
  auto f = read_sitemap(urlset("<url>\n  <loc> http://www.example.com/ </loc>\n"
                               "  <lastmod>2005-01-01</lastmod>\n"
                               "  <changefreq>Monthly</changefreq>\n"
                               "  <priority>0.8</priority>\n</url>\n"
                               + url("http://www.example.com/catalog?item=12")));
  CHECK(f.kind == sitemap_file::kind_t::urlset);
  CHECK(f.error == crawl_errc::none);
  CHECK(f.refused.empty());
  REQUIRE(f.entries.size() == 2);
  CHECK(f.entries[0].loc == "http://www.example.com/");
  CHECK(f.entries[0].lastmod == "2005-01-01");
  CHECK(f.entries[0].changefreq == change_freq::monthly);
  CHECK(f.entries[0].priority == Approx(0.8f));
  CHECK(f.entries[1].loc == "http://www.example.com/catalog?item=12");
  CHECK(f.entries[1].lastmod.empty());
  CHECK(f.entries[1].changefreq == change_freq::unknown);
  CHECK(f.entries[1].priority == -1);
}

TEST_CASE("sitemap reads a sitemap index's loc and lastmod", "[sitemap]") {
  // sitemaps.org, "Sitemap index XML tag definitions": <sitemapindex>,
  // <sitemap>, <loc>, optional <lastmod>; no <changefreq> or <priority>.
  auto f = read_sitemap(std::string{"<sitemapindex xmlns=\""} + xmlns + "\">"
                        "<sitemap><loc>http://www.example.com/sitemap1.xml.gz</loc>"
                        "<lastmod>2004-10-01T18:23:17+00:00</lastmod></sitemap>"
                        "<sitemap><loc>http://www.example.com/sitemap2.xml.gz</loc>"
                        "<priority>0.5</priority></sitemap></sitemapindex>");
  CHECK(f.kind == sitemap_file::kind_t::index);
  CHECK(f.error == crawl_errc::none);
  REQUIRE(f.entries.size() == 2);
  CHECK(f.entries[0].loc == "http://www.example.com/sitemap1.xml.gz");
  CHECK(f.entries[0].lastmod == "2004-10-01T18:23:17+00:00");
  CHECK(f.entries[1].loc == "http://www.example.com/sitemap2.xml.gz");
  CHECK(f.entries[1].priority == -1);
}

TEST_CASE("sitemap reads a text file, one URL a line, past a BOM, CRLF and blank lines",
          "[sitemap]") {
  // sitemaps.org, "Other sitemap formats: Text file": one URL per line, UTF-8.
  auto f = read_sitemap("\xEF\xBB\xBF  http://www.example.com/a\r\n\r\n"
                        "  http://www.example.com/b  \r\n\n\nhttp://www.example.com/c");
  CHECK(f.kind == sitemap_file::kind_t::text);
  CHECK(f.error == crawl_errc::none);
  CHECK(locs(f) == std::vector<std::string>{"http://www.example.com/a", "http://www.example.com/b",
                                            "http://www.example.com/c"});
}

TEST_CASE("sitemap refuses text lines longer than 2,048 characters", "[sitemap]") {
  // sitemaps.org, "Other sitemap formats: Text file" and "XML tag definitions"
  // (<loc>: less than 2,048 characters).
  auto long_url = "http://www.example.com/" + std::string(3000, 'a');
  auto f = read_sitemap("http://www.example.com/a\n" + long_url + "\nhttp://www.example.com/b\n");
  CHECK(locs(f)
        == std::vector<std::string>{"http://www.example.com/a", "http://www.example.com/b"});
  CHECK(f.refused == refusals{{"a URL longer than 2,048 characters", 1}});
}

TEST_CASE("sitemap decodes entities in loc", "[sitemap]") {
  // sitemaps.org, "Entity escaping": &amp; &apos; &quot; &gt; &lt; and
  // character references stand for their characters.
  auto f = read_sitemap(urlset(url("http://www.example.com/view?a=1&amp;b=&apos;2&apos;&#38;c")));
  CHECK(f.error == crawl_errc::none);
  CHECK(locs(f) == std::vector<std::string>{"http://www.example.com/view?a=1&b='2'&c"});
}

TEST_CASE("sitemap takes only elements of the sitemap's namespace", "[sitemap]") {
  // sitemaps.org, "XML tag definitions" and "Extending the Sitemaps protocol":
  // elements of other namespaces (an image extension's <image:loc>) are not
  // the URL's own tags.
  auto f = read_sitemap(std::string{"<urlset xmlns=\""} + xmlns
                        + "\" xmlns:image=\"http://www.google.com/schemas/sitemap-image/1.1\">"
                          "<url><image:image><image:loc>http://www.example.com/i.jpg</image:loc>"
                          "</image:image><loc>http://www.example.com/page</loc>"
                          "<image:loc>http://www.example.com/j.jpg</image:loc><extra>x</extra>"
                          "</url><url><image:loc>http://www.example.com/k.jpg</image:loc></url>"
                          "</urlset>");
  CHECK(f.error == crawl_errc::none);
  CHECK(locs(f) == std::vector<std::string>{"http://www.example.com/page"});
  CHECK(f.refused == refusals{{"an entry without <loc>", 1}});
}

TEST_CASE("sitemap drops an invalid lastmod, changefreq or priority but keeps the entry",
          "[sitemap]") {
  // sitemaps.org, "XML tag definitions": lastmod is a W3C Datetime, changefreq
  // one of seven words, priority 0.0 to 1.0.
  auto f = read_sitemap(urlset("<url><loc>http://e.com/1</loc><lastmod>yesterday</lastmod>"
                               "<changefreq>daily</changefreq><priority>0.3</priority></url>"
                               "<url><loc>http://e.com/2</loc><lastmod>2005-01-01</lastmod>"
                               "<changefreq>sometimes</changefreq><priority>1</priority></url>"
                               "<url><loc>http://e.com/3</loc><lastmod>2005-01</lastmod>"
                               "<changefreq>never</changefreq><priority>1.5</priority></url>"
                               "<url><loc>http://e.com/4</loc><priority>5e-1</priority></url>"));
  CHECK(f.refused.empty());
  REQUIRE(f.entries.size() == 4);
  CHECK(f.entries[0].lastmod.empty());
  CHECK(f.entries[0].changefreq == change_freq::daily);
  CHECK(f.entries[0].priority == Approx(0.3f));
  CHECK(f.entries[1].lastmod == "2005-01-01");
  CHECK(f.entries[1].changefreq == change_freq::unknown);
  CHECK(f.entries[1].priority == 1.0f);
  CHECK(f.entries[2].lastmod == "2005-01");
  CHECK(f.entries[2].changefreq == change_freq::never);
  CHECK(f.entries[2].priority == -1);
  CHECK(f.entries[3].priority == -1);
}

TEST_CASE("sitemap refuses an entry without loc and counts it", "[sitemap]") {
  // sitemaps.org, "XML tag definitions": <loc> is required.
  auto f = read_sitemap(urlset("<url><lastmod>2005-01-01</lastmod></url>" + url("http://e.com/a")
                               + "<url><loc>  </loc></url><url/>" + url("http://e.com/b")));
  CHECK(locs(f) == std::vector<std::string>{"http://e.com/a", "http://e.com/b"});
  CHECK(f.refused == refusals{{"an entry without <loc>", 3}});
  CHECK(f.error == crawl_errc::none);
}

TEST_CASE("sitemap refuses a loc longer than 2,048 characters", "[sitemap]") {
  // sitemaps.org, "XML tag definitions": <loc> must be less than 2,048 characters.
  auto f = read_sitemap(urlset(url("http://e.com/" + std::string(2100, 'a')) + url("http://e.com/b")
                               + url("http://e.com/" + std::string(2035, 'c'))));
  REQUIRE(f.entries.size() == 2);
  CHECK(f.entries[0].loc == "http://e.com/b");
  CHECK(f.entries[1].loc.size() == 2048);
  CHECK(f.refused == refusals{{"a <loc> longer than 2,048 characters", 1}});
}

TEST_CASE("sitemap refuses and counts entries past max_urls", "[sitemap]") {
  // sitemaps.org, "Using Sitemap index files" (limits): no more than 50,000
  // URLs in one sitemap; a smaller limit here.
  sitemap_limits limits;
  limits.max_urls = 2;
  std::string urls;
  for (int i = 0; i < 5; ++i)
    urls += url("http://e.com/" + std::to_string(i));
  auto f = read_sitemap(urlset(urls + "<url/>"), limits);
  CHECK(locs(f) == std::vector<std::string>{"http://e.com/0", "http://e.com/1"});
  CHECK(f.refused
        == refusals{{"more than 2 URLs in one sitemap", 3}, {"an entry without <loc>", 1}});
  CHECK(f.error == crawl_errc::none);
  auto t = read_sitemap("http://e.com/0\nhttp://e.com/1\nhttp://e.com/2\n", limits);
  CHECK(t.entries.size() == 2);
  CHECK(t.refused == refusals{{"more than 2 URLs in one sitemap", 1}});
}

TEST_CASE("sitemap stops at max_bytes with too_large and keeps earlier entries", "[sitemap]") {
  // sitemaps.org, "Using Sitemap index files" (limits): no larger than 50MB
  // (52,428,800 bytes) uncompressed; a smaller limit here.
  std::string urls;
  for (int i = 0; i < 100; ++i)
    urls += url("http://e.com/" + std::to_string(i));
  auto doc = urlset(urls);
  sitemap_limits limits;
  limits.max_bytes = doc.size() / 2;
  auto f = read_sitemap(doc, limits);
  CHECK(f.error == crawl_errc::too_large);
  CHECK(f.error_message == "sitemap larger than " + std::to_string(limits.max_bytes) + " bytes");
  // libxml2's reader parses 512 bytes at a time and drops the nodes of the
  // chunk that failed: the entries before that chunk are kept, in order.
  CHECK(f.entries.size() >= ended_before(doc, limits.max_bytes - 512));
  CHECK(f.entries.size() <= ended_before(doc, limits.max_bytes));
  for (std::size_t i = 0; i < f.entries.size(); ++i)
    CHECK(f.entries[i].loc == "http://e.com/" + std::to_string(i));
  auto t = read_sitemap("http://e.com/a\nhttp://e.com/b\nhttp://e.com/c\n", {50000, 20, 200});
  CHECK(t.error == crawl_errc::too_large);
  CHECK(locs(t) == std::vector<std::string>{"http://e.com/a"}); // the cut line is not taken
}

TEST_CASE("sitemap refuses a root other than urlset or sitemapindex", "[sitemap]") {
  // sitemaps.org, "XML tag definitions": the file starts with <urlset> (or,
  // "Sitemap index XML tag definitions", <sitemapindex>).
  auto html = read_sitemap("<!DOCTYPE html>\n<html><body><a href=\"/x\">x</a></body></html>");
  CHECK(html.kind == sitemap_file::kind_t::unknown);
  CHECK(html.error == crawl_errc::decode_failed);
  CHECK(html.error_message == "not a sitemap: the root element is <html>");
  CHECK(html.entries.empty());
  auto rss = read_sitemap("<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><item>"
                          "<link>http://e.com/a</link></item></channel></rss>");
  CHECK(rss.error == crawl_errc::decode_failed);
  CHECK(rss.error_message == "not a sitemap: the root element is <rss>");
  CHECK(rss.entries.empty());
  // An HTML page that is not even well-formed XML is named all the same.
  auto page = read_sitemap("<!DOCTYPE html>\n<!-- a soft 404 -->\n<HTML lang=en><head>"
                           "<meta charset=utf-8><title>Not found</title></head>"
                           "<body><p>Sorry<br></html>");
  CHECK(page.error == crawl_errc::decode_failed);
  CHECK(page.error_message == "not a sitemap: the root element is <HTML>");
}

TEST_CASE("sitemap keeps entries read before malformed XML", "[sitemap]") {
  // sitemaps.org, "XML tag definitions": a sitemap is a well-formed XML document.
  auto doc = urlset(url("http://e.com/a") + url("http://e.com/b"));
  auto cut = doc.substr(0, doc.find("http://e.com/b") + 8);
  auto f = read_sitemap(cut);
  CHECK(f.kind == sitemap_file::kind_t::urlset);
  CHECK(f.error == crawl_errc::decode_failed);
  CHECK_FALSE(f.error_message.empty());
  CHECK(f.error_message.find('\n') == std::string::npos);
  CHECK(locs(f) == std::vector<std::string>{"http://e.com/a"});
  // A mismatched end tag: libxml2's reader drops the nodes of the 512-byte
  // chunk that failed, so only entries ended before that chunk are sure.
  std::string urls;
  for (int i = 0; i < 100; ++i)
    urls += url("http://e.com/" + std::to_string(i));
  auto doc2 = urlset(urls + "<url><loc>x</lock></url>" + url("http://e.com/z"));
  auto bad = read_sitemap(doc2);
  CHECK(bad.error == crawl_errc::decode_failed);
  CHECK(bad.error_message.find("lock") != std::string::npos);
  CHECK(bad.entries.size() >= ended_before(doc2, doc2.find("</lock>") - 512));
  CHECK(bad.entries.size() <= 100);
  for (std::size_t i = 0; i < bad.entries.size(); ++i)
    CHECK(bad.entries[i].loc == "http://e.com/" + std::to_string(i));
}

TEST_CASE("sitemap reads gzip the same as plain", "[sitemap]") {
  // sitemaps.org, "Using Sitemap index files": sitemaps may be compressed with gzip.
  std::string urls;
  for (int i = 0; i < 2000; ++i)
    urls += "<url><loc>http://e.com/" + std::to_string(i)
            + "</loc><lastmod>2005-01-01</lastmod><priority>0.5</priority></url>\n";
  auto doc = urlset(urls);
  auto plain = read_sitemap(doc);
  auto zipped = read_sitemap(gzip(doc));
  CHECK(zipped.error == crawl_errc::none);
  CHECK(zipped.kind == sitemap_file::kind_t::urlset);
  CHECK(zipped.entries.size() == 2000);
  CHECK(locs(zipped) == locs(plain));
  auto text = read_sitemap(gzip("\xEF\xBB\xBFhttp://e.com/a\r\nhttp://e.com/b\r\n"));
  CHECK(text.kind == sitemap_file::kind_t::text);
  CHECK(locs(text) == std::vector<std::string>{"http://e.com/a", "http://e.com/b"});
}

TEST_CASE("sitemap stops a gzip bomb with too_large", "[sitemap]") {
  // sitemaps.org, "Using Sitemap index files": once uncompressed, no larger
  // than 50MB; 64 MiB of zeros squeezed into ~64 KiB is stopped early.
  auto doc = urlset(url("http://e.com/a") + "<!--" + std::string(64u << 20, '0') + "-->");
  auto zipped = gzip(doc);
  auto f = read_sitemap(zipped);
  CHECK(f.error == crawl_errc::too_large);
  CHECK(f.error_message.find("compression ratio above 200") != std::string::npos);
  CHECK(locs(f) == std::vector<std::string>{"http://e.com/a"});
  sitemap_limits size_only;
  size_only.max_ratio = 0;
  size_only.max_bytes = 8u << 20;
  auto g = read_sitemap(zipped, size_only);
  CHECK(g.error == crawl_errc::too_large);
  CHECK(g.error_message == "sitemap larger than 8388608 bytes uncompressed");
  CHECK(locs(g) == std::vector<std::string>{"http://e.com/a"});
}

TEST_CASE("sitemap reports a truncated gzip body as decode_failed", "[sitemap]") {
  // sitemaps.org, "Using Sitemap index files": a gzip-compressed sitemap.
  auto zipped = gzip(urlset(url("http://e.com/a")));
  auto f = read_sitemap(zipped.substr(0, zipped.size() - 6));
  CHECK(f.error == crawl_errc::decode_failed);
  CHECK(f.error_message == "truncated gzip body");
  auto g = read_sitemap(zipped.substr(0, 4));
  CHECK(g.error == crawl_errc::decode_failed);
  CHECK(g.entries.empty());
}

TEST_CASE("sitemap does not read external entities", "[sitemap]") {
  // sitemaps.org, "Entity escaping": only XML's own escapes belong in a
  // sitemap; an external entity must not pull a local file in.
  auto f = read_sitemap(std::string{"<?xml version=\"1.0\"?>\n<!DOCTYPE urlset ["
                                    "<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n"
                                    "<urlset xmlns=\""}
                        + xmlns + "\"><url><loc>http://e.com/&x;</loc></url>"
                        + "<url><loc>&x;</loc></url></urlset>");
  for (auto& e : f.entries)
    CHECK(e.loc.find("root:") == std::string::npos);
  CHECK(f.entries.size() <= 1);
}

TEST_CASE("sitemap survives billion laughs", "[sitemap]") {
  // sitemaps.org, "Entity escaping": internal entities nested ten deep would
  // expand to 10^9 "lol"s; they are not expanded into the loc.
  std::string dtd = "<!ENTITY lol \"lol\">\n<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;"
                    "&lol;&lol;&lol;&lol;&lol;\">\n";
  for (int i = 2; i <= 9; ++i) {
    auto prev = "&lol" + std::to_string(i - 1) + ";";
    dtd += "<!ENTITY lol" + std::to_string(i) + " \"";
    for (int k = 0; k < 10; ++k)
      dtd += prev;
    dtd += "\">\n";
  }
  auto f = read_sitemap("<?xml version=\"1.0\"?>\n<!DOCTYPE urlset [\n" + dtd
                        + "]>\n<urlset xmlns=\"" + xmlns
                        + "\"><url><loc>http://e.com/&lol9;</loc></url></urlset>");
  CHECK(f.entries.size() <= 1);
  for (auto& e : f.entries)
    CHECK(e.loc.size() <= 2048);
}

TEST_CASE("is_w3c_datetime takes the formats sitemaps.org allows and nothing else",
          "[sitemap]") {
  // sitemaps.org, "XML tag definitions": <lastmod> in W3C Datetime format
  // (https://www.w3.org/TR/NOTE-datetime).
  for (auto valid : {"2005", "2005-01", "2005-01-01", "2004-12-23T18:00:15+00:00",
                     "2004-12-23T18:00Z", "1997-07-16T19:20:30.45+01:00", "2004-02-29",
                     "2005-12-31T23:59:59-11:30"}) {
    INFO(valid);
    CHECK(is_w3c_datetime(valid));
  }
  for (auto invalid : {"", "05", "2005-13-01", "2005-1-1", "2004-12-23T18:00",
                       "2004-12-23 18:00:15Z", "2005-02-29", "2005-01-32", "2005-01-00",
                       "2004-12-23T24:00Z", "2004-12-23T18:60Z", "2004-12-23T18:00:61Z",
                       "2004-12-23T18:00:15.Z", "2004-12-23T18:00+0100", "2004-12-23T18:00Z ",
                       "2004-12-23T18:00+24:00", "2004-12-23T18:00z", "2005-01-01T"}) {
    INFO(invalid);
    CHECK_FALSE(is_w3c_datetime(invalid));
  }
}

TEST_CASE("parse_w3c_datetime names the instant: a date alone is its start in UTC, a zone is "
          "taken off",
          "[sitemap]") {
  auto ms = [](const char* text) -> int64_t {
    auto t = parse_w3c_datetime(text);
    REQUIRE(t);
    return std::chrono::duration_cast<std::chrono::milliseconds>(t->time_since_epoch()).count();
  };
  // 2004-12-23T18:00:15Z is 1103824815 s after the epoch.
  CHECK(ms("2004-12-23T18:00:15Z") == 1103824815000);
  CHECK(ms("2004-12-23T18:00:15+00:00") == 1103824815000);
  CHECK(ms("2004-12-23T19:00:15+01:00") == 1103824815000);
  CHECK(ms("2004-12-23T17:30:15-00:30") == 1103824815000);
  CHECK(ms("2004-12-23T18:00:15.25Z") == 1103824815250);
  CHECK(ms("2004-12-23T18:00Z") == 1103824800000);
  CHECK(ms("2004-12-23") == 1103760000000);
  CHECK(ms("2004-12") == 1101859200000);
  CHECK(ms("2005") == 1104537600000);
  CHECK(ms("1970-01-01") == 0);
  CHECK(ms("2000-02-29") == 951782400000);
  CHECK(parse_w3c_datetime("9999-12-31") == caf::timestamp::max()); // (a common "never")
  CHECK(parse_w3c_datetime("0001-01-01") == caf::timestamp::min());
  CHECK_FALSE(parse_w3c_datetime("2005-02-29"));
  CHECK_FALSE(parse_w3c_datetime("2004-12-23T18:00"));
}

TEST_CASE("change_freq parses and prints sitemaps.org's seven words", "[sitemap]") {
  // sitemaps.org, "XML tag definitions": <changefreq> is always, hourly,
  // daily, weekly, monthly, yearly or never.
  for (auto f : {change_freq::always, change_freq::hourly, change_freq::daily, change_freq::weekly,
                 change_freq::monthly, change_freq::yearly, change_freq::never})
    CHECK(parse_change_freq(to_string(f)) == f);
  CHECK(to_string(change_freq::weekly) == "weekly");
  CHECK(to_string(change_freq::unknown).empty());
  CHECK(parse_change_freq(" \n HOURLY\t") == change_freq::hourly);
  CHECK_FALSE(parse_change_freq("sometimes"));
  CHECK_FALSE(parse_change_freq(""));
  CHECK_FALSE(parse_change_freq("unknown"));
}
