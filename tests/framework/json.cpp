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
