#include "arachne/json.hpp"

#include <catch2/catch.hpp>

using namespace arachne;

namespace {

std::string json(std::string_view s) {
  std::string out;
  append_json_string(out, s);
  return out;
}

} // namespace

TEST_CASE("JSON strings escape what they must and repair broken UTF-8", "[json]") {
  CHECK(json("plain") == "\"plain\"");
  CHECK(json("a\"b\\c") == "\"a\\\"b\\\\c\"");
  CHECK(json("line\nbreak\ttab\r") == "\"line\\nbreak\\ttab\\r\"");
  CHECK(json(std::string_view{"\x01\x1f\x7f", 3}) == "\"\\u0001\\u001f\\u007f\"");
  CHECK(json("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x95\xB7") == "\"caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x95\xB7\"");
  CHECK(json("bad \xFF byte") == "\"bad \xEF\xBF\xBD byte\"");
  CHECK(json("cut \xE2\x82") == "\"cut \xEF\xBF\xBD\xEF\xBF\xBD\"");
  CHECK(json("overlong \xC0\xAF") == "\"overlong \xEF\xBF\xBD\xEF\xBF\xBD\"");
  CHECK(json("surrogate \xED\xA0\x80") == "\"surrogate \xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");
  CHECK(json(std::string_view{"nul\0x", 5}) == "\"nul\\u0000x\"");
}

TEST_CASE("a record's JSON carries what a page asked and what a sitemap said, only when said",
          "[json][sitemap]") {
  record plain;
  plain.url = "http://a.test/";
  auto text = to_json(plain);
  for (auto* field : {"noindex", "canonical", "lastmod", "changefreq", "priority", "sitemap"})
    CHECK(text.find(std::string{"\""} + field + "\"") == std::string::npos);
  record page = plain;
  page.noindex = true;
  page.canonical = "http://a.test/c";
  page.hints = {"2026-11-01", change_freq::monthly, 0.5f};
  text = to_json(page);
  CHECK(text.find(R"("noindex":true)") != std::string::npos);
  CHECK(text.find(R"("canonical":"http://a.test/c")") != std::string::npos);
  CHECK(text.find(R"("lastmod":"2026-11-01")") != std::string::npos);
  CHECK(text.find(R"("changefreq":"monthly")") != std::string::npos);
  CHECK(text.find(R"("priority":0.5)") != std::string::npos);
  record map = plain;
  map.sitemap = {true, false, 7, {{"on another site than the sitemap", 2}}};
  CHECK(to_json(map).find(
          R"("sitemap":{"index":false,"urls":7,"refused":{"on another site than the sitemap":2}})")
        != std::string::npos);
}

namespace {

bool has(const std::string& text, std::string_view member) {
  return text.find(member) != std::string::npos;
}

record recrawled(page_change change) {
  record r;
  r.url = "http://a.test/";
  r.status = change == page_change::not_modified ? 304 : change == page_change::gone ? 404 : 200;
  r.change = change;
  return r;
}

constexpr page_change all_changes[] = {page_change::none, page_change::changed,
                                       page_change::unchanged, page_change::not_modified,
                                       page_change::gone};

} // namespace

TEST_CASE("a record's JSON carries its payload digest only when it has one", "[json][recrawl]") {
  record r;
  r.url = "http://a.test/";
  CHECK(!has(to_json(r), "\"digest\""));
  r.digest = "sha1:3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ";
  CHECK(has(to_json(r), R"("digest":"sha1:3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ")"));
}

TEST_CASE("a record's JSON names what a re-crawl found, and says nothing without one",
          "[json][recrawl]") {
  CHECK(!has(to_json(recrawled(page_change::none)), "\"change\""));
  CHECK(has(to_json(recrawled(page_change::changed)), R"("change":"changed")"));
  CHECK(has(to_json(recrawled(page_change::unchanged)), R"("change":"unchanged")"));
  CHECK(has(to_json(recrawled(page_change::not_modified)), R"("change":"not_modified")"));
  CHECK(has(to_json(recrawled(page_change::gone)), R"("change":"gone")"));
}

TEST_CASE("a record's JSON says not_modified only of a 304 to a conditional request",
          "[json][recrawl]") {
  for (auto change : all_changes) {
    INFO(to_string(change));
    CHECK(has(to_json(recrawled(change)), R"("not_modified":true)")
          == (change == page_change::not_modified));
  }
}

TEST_CASE("a record's JSON says gone only of a page now 404 or 410", "[json][recrawl]") {
  for (auto change : all_changes) {
    INFO(to_string(change));
    CHECK(has(to_json(recrawled(change)), R"("gone":true)") == (change == page_change::gone));
  }
}

TEST_CASE("a record's JSON dates the payload an unchanged or not-modified page refers to",
          "[json][recrawl]") {
  auto then = caf::timestamp{std::chrono::milliseconds{1790000000123}};
  for (auto change : all_changes) {
    INFO(to_string(change));
    auto r = recrawled(change);
    CHECK(!has(to_json(r), "\"refers_to\"")); // not set: not said
    r.refers_to = then;
    auto refers = change == page_change::unchanged || change == page_change::not_modified;
    CHECK(has(to_json(r), "\"refers_to\":\"" + format_timestamp(then) + "\"") == refers);
    CHECK(has(to_json(r), "\"refers_to\"") == refers);
  }
  CHECK(format_timestamp(then) == "2026-09-21T14:13:20.123Z"); // as fetched_at is written
}

TEST_CASE("a record's JSON keeps its other fields as they were when a re-crawl adds its own",
          "[json][recrawl]") {
  auto plain = recrawled(page_change::none);
  plain.title = "T";
  auto text = to_json(plain);
  REQUIRE(text.back() == '}');
  auto r = plain;
  r.change = page_change::unchanged;
  r.digest = "sha1:3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ";
  r.refers_to = caf::timestamp{std::chrono::seconds{1790000000}};
  // The same members in the same order, the new ones after them.
  CHECK(to_json(r).rfind(text.substr(0, text.size() - 1) + ",", 0) == 0);
}
