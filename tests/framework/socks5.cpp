#include "http/socks5.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <cstdint>
#include <string>

namespace socks5 = arachne::http_detail::socks5;
using arachne::crawl_errc;
using bytes = socks5::bytes;

TEST_CASE("SOCKS5 greeting offers no authentication, and username/password with credentials "
          "(RFC 1928 section 3)",
          "[socks5]") {
  // VER NMETHODS METHODS...
  CHECK(socks5::greeting(false) == bytes{0x05, 0x01, 0x00});
  CHECK(socks5::greeting(true) == bytes{0x05, 0x02, 0x00, 0x02});
}

TEST_CASE("SOCKS5 method selection is read as the proxy's choice (RFC 1928 section 3)",
          "[socks5]") {
  using choice = socks5::method_choice;
  auto parse = [](std::array<uint8_t, 2> reply, bool offered_credentials) {
    return socks5::parse_method_reply(reply.data(), offered_credentials);
  };
  CHECK(parse({0x05, 0x00}, false) == choice::no_auth);
  CHECK(parse({0x05, 0x00}, true) == choice::no_auth);
  CHECK(parse({0x05, 0x02}, true) == choice::username_password);
  // Username/password chosen though only "no authentication" was offered.
  CHECK(parse({0x05, 0x02}, false) == choice::not_offered);
  // GSSAPI (0x01) is never offered.
  CHECK(parse({0x05, 0x01}, true) == choice::not_offered);
  CHECK(parse({0x05, 0xFF}, false) == choice::none_acceptable);
  CHECK(parse({0x05, 0xFF}, true) == choice::none_acceptable);
  // A SOCKS4 server, or an HTTP proxy answering "HTTP/1.1 ...".
  CHECK(parse({0x04, 0x00}, false) == choice::not_socks5);
  CHECK(parse({'H', 'T'}, true) == choice::not_socks5);
}

TEST_CASE("SOCKS5 username/password request carries both with their lengths "
          "(RFC 1929 section 2)",
          "[socks5]") {
  // VER ULEN UNAME PLEN PASSWD, VER being the subnegotiation's version 1.
  CHECK(socks5::auth_request("user", "secret")
        == bytes{0x01, 4, 'u', 's', 'e', 'r', 6, 's', 'e', 'c', 'r', 'e', 't'});
  CHECK(socks5::auth_request("u", "") == bytes{0x01, 1, 'u', 0});
  auto longest = std::string(255, 'x');
  auto request = socks5::auth_request(longest, longest);
  REQUIRE(request.size() == 1u + 1 + 255 + 1 + 255);
  CHECK(request[1] == 255);
  CHECK(request[257] == 255);
}

TEST_CASE("SOCKS5 username/password reply grants access only with status 0 "
          "(RFC 1929 section 2)",
          "[socks5]") {
  std::array<uint8_t, 2> success{0x01, 0x00};
  std::array<uint8_t, 2> failure{0x01, 0x01};
  std::array<uint8_t, 2> other_failure{0x01, 0xFF};
  CHECK(socks5::auth_accepted(success.data()));
  CHECK(!socks5::auth_accepted(failure.data()));
  CHECK(!socks5::auth_accepted(other_failure.data()));
}

TEST_CASE("SOCKS5 CONNECT request names an IPv4 address, an IPv6 address or a domain name "
          "(RFC 1928 sections 4 and 5)",
          "[socks5]") {
  // VER CMD RSV ATYP DST.ADDR DST.PORT, the port in network byte order.
  CHECK(socks5::connect_request_ipv4({127, 0, 0, 1}, 8080)
        == bytes{0x05, 0x01, 0x00, 0x01, 127, 0, 0, 1, 0x1F, 0x90});
  std::array<uint8_t, 16> loopback6{};
  loopback6[15] = 1;
  CHECK(socks5::connect_request_ipv6(loopback6, 443)
        == bytes{0x05, 0x01, 0x00, 0x04, 0, 0, 0, 0, 0, 0, 0, 0,
                 0,    0,    0,    0,    0, 0, 0, 1, 0x01, 0xBB});
  auto name = socks5::connect_request_name("example.com", 80);
  REQUIRE(name);
  CHECK(*name
        == bytes{0x05, 0x01, 0x00, 0x03, 11, 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'm',
                 0x00, 0x50});
}

TEST_CASE("SOCKS5 CONNECT request takes names of at most 255 bytes (RFC 1928 section 5)",
          "[socks5]") {
  auto longest = socks5::connect_request_name(std::string(255, 'a'), 65535);
  REQUIRE(longest);
  CHECK(longest->size() == 4u + 1 + 255 + 2);
  CHECK((*longest)[4] == 255);
  CHECK(longest->back() == 0xFF);
  CHECK(!socks5::connect_request_name(std::string(256, 'a'), 80));
}

TEST_CASE("SOCKS5 reply head tells how many bytes of bound address and port follow "
          "(RFC 1928 section 6)",
          "[socks5]") {
  auto parse = [](std::array<uint8_t, socks5::reply_head_size> head) {
    return socks5::parse_reply_head(head.data());
  };
  // VER REP RSV ATYP and the first byte of BND.ADDR.
  auto v4 = parse({0x05, 0x00, 0x00, 0x01, 10});
  CHECK(!v4.malformed);
  CHECK(v4.reply == 0);
  CHECK(v4.rest == 3u + 2); // three more address bytes, then the port
  auto v6 = parse({0x05, 0x00, 0x00, 0x04, 0});
  CHECK(!v6.malformed);
  CHECK(v6.rest == 15u + 2);
  auto name = parse({0x05, 0x00, 0x00, 0x03, 9}); // a 9-byte name
  CHECK(!name.malformed);
  CHECK(name.rest == 9u + 2);
  auto refused = parse({0x05, 0x05, 0x00, 0x01, 0});
  CHECK(!refused.malformed);
  CHECK(refused.reply == 0x05);
  CHECK(parse({0x04, 0x00, 0x00, 0x01, 0}).malformed);  // not version 5
  CHECK(parse({0x05, 0x00, 0x00, 0x02, 0}).malformed);  // no such address type
  CHECK(!parse({0x05, 0x01, 0x00, 0x02, 0}).malformed); // a refusal is read as such
}

TEST_CASE("SOCKS5 refusal codes give their reason, kind and fault (RFC 1928 section 6)",
          "[socks5]") {
  struct expected_refusal {
    uint8_t rep;
    const char* reason;
    crawl_errc kind;
    bool tunnel_fault;
  };
  const expected_refusal table[] = {
    {0x01, "general failure", crawl_errc::proxy_failed, true},
    {0x02, "not allowed by its rules", crawl_errc::proxy_failed, true},
    {0x03, "network unreachable", crawl_errc::connect_failed, true},
    {0x04, "host unreachable", crawl_errc::connect_failed, true},
    {0x05, "connection refused", crawl_errc::connect_failed, true},
    {0x06, "TTL expired", crawl_errc::timeout, true},
    // The proxy's own shortcomings: no other target would fare better.
    {0x07, "command not supported", crawl_errc::proxy_failed, false},
    {0x08, "address type not supported", crawl_errc::proxy_failed, false},
    {0x09, "error 9", crawl_errc::proxy_failed, false},
    {0xFF, "error 255", crawl_errc::proxy_failed, false},
  };
  for (auto& x : table) {
    INFO("REP " << int{x.rep});
    auto r = socks5::explain_refusal(x.rep);
    CHECK(r.reason == x.reason);
    CHECK(r.kind == x.kind);
    CHECK(r.tunnel_fault == x.tunnel_fault);
  }
}
