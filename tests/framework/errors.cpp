#include "arachne/errors.hpp"

#include <catch2/catch.hpp>

#include <set>

#include "caf/actor_system.hpp"

#include "arachne/config.hpp"

using namespace arachne;

TEST_CASE("crawl_errc names are unique and parse back", "[errors]") {
  std::set<std::string> names;
  for (std::size_t i = 0; i < crawl_errc_count; ++i) {
    auto kind = static_cast<crawl_errc>(i);
    auto name = to_string(kind);
    CHECK(names.insert(name).second);
    CHECK(parse_crawl_errc(name) == kind);
  }
  CHECK(to_string(crawl_errc::robots_denied) == "robots_denied");
  CHECK(!parse_crawl_errc("no_such_kind"));
}

TEST_CASE("crawl_errc travels inside caf::error and renders with its detail", "[errors]") {
  caf::error plain = crawl_errc::timeout;
  CHECK(crawl_errc_of(plain) == crawl_errc::timeout);
  auto detailed = make_error(crawl_errc::dns_failed, "no such host 'x.invalid'");
  CHECK(crawl_errc_of(detailed) == crawl_errc::dns_failed);
  CHECK(!crawl_errc_of(caf::error{}));
  CHECK(!crawl_errc_of(caf::make_error(caf::sec::request_timeout)));
  config cfg;
  caf::actor_system sys{cfg};
  CHECK(sys.render(detailed).find("dns_failed: no such host 'x.invalid'") != std::string::npos);
}
