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
