// Re-crawl rules: conditional requests (RFC 9110 section 13), what a fetch
// says against the last one, and what the state store keeps of it.

#include "arachne/revisit.hpp"

#include <catch2/catch.hpp>

#include <chrono>

using namespace arachne;

namespace {

caf::timestamp at(int64_t ms) {
  return caf::timestamp{std::chrono::milliseconds{ms}};
}

// A page fetched before with both validators.
last_visit fetched_page() {
  last_visit v;
  v.etag = "\"v1\"";
  v.last_modified = "Sat, 05 Dec 2026 10:00:00 GMT";
  v.digest = payload_digest("old page");
  v.fetched_at = at(2000);
  v.payload_at = at(1000);
  v.status = 200;
  v.changes = 1;
  return v;
}

} // namespace

TEST_CASE("payload digests are WARC's sha1 in base32", "[revisit]") {
  // SHA-1("abc") = a9993e36 4706816a ba3e2571 7850c26c 9cd0d89d (FIPS 180-2, B.1).
  CHECK(payload_digest("abc") == "sha1:VGMT4NSHA2AWVOR6EVYXQUGCNSONBWE5");
  CHECK(payload_digest("") == "sha1:3I42H3S6NNFQ2MSVX7XZKYAYSCX5QBYJ");
}

TEST_CASE("RFC 9110 13.1.2 and 13.1.3: a page fetched before is asked with If-None-Match and "
          "If-Modified-Since as the server wrote them",
          "[revisit]") {
  auto v = fetched_page();
  CHECK(conditional_headers(v)
        == std::vector<header_field>{{"If-None-Match", "\"v1\""},
                                     {"If-Modified-Since", "Sat, 05 Dec 2026 10:00:00 GMT"}});
  v.etag.clear();
  CHECK(conditional_headers(v)
        == std::vector<header_field>{{"If-Modified-Since", "Sat, 05 Dec 2026 10:00:00 GMT"}});
  v.last_modified.clear();
  CHECK(conditional_headers(v).empty()); // no validators: an ordinary request
}

TEST_CASE("only a page's validators make a request conditional: a URL never fetched, or whose "
          "last answer was no page, is asked plainly",
          "[revisit]") {
  CHECK(conditional_headers(last_visit{}).empty());
  auto v = fetched_page();
  v.status = 404;
  CHECK(conditional_headers(v).empty());
}

TEST_CASE("a fetch against the last one: changed, unchanged by digest, not modified, gone",
          "[revisit]") {
  auto v = fetched_page();
  CHECK(classify_change(last_visit{}, 200, payload_digest("x")) == page_change::none);
  CHECK(classify_change(v, 200, payload_digest("new page")) == page_change::changed);
  CHECK(classify_change(v, 200, payload_digest("old page")) == page_change::unchanged);
  CHECK(classify_change(v, 304, "") == page_change::not_modified);
  CHECK(classify_change(v, 404, "") == page_change::gone);
  CHECK(classify_change(v, 410, "") == page_change::gone);
  CHECK(classify_change(v, 301, "") == page_change::none);
  CHECK(classify_change(v, 0, "") == page_change::none); // no response
}

TEST_CASE("RFC 9110 15.4.5: a 304 to a request that was not conditional is no news", "[revisit]") {
  auto v = fetched_page();
  v.etag.clear();
  v.last_modified.clear();
  CHECK(classify_change(v, 304, "") == page_change::none);
}

TEST_CASE("a 404 after a 404 is not gone again; a page back after a 404 is changed",
          "[revisit]") {
  last_visit missing;
  missing.status = 404;
  missing.fetched_at = at(1000);
  CHECK(classify_change(missing, 404, "") == page_change::none);
  CHECK(classify_change(missing, 200, payload_digest("back")) == page_change::changed);
}

TEST_CASE("the store keeps a 200's validators and digest, and counts changes", "[revisit]") {
  auto v = fetched_page();
  std::vector<header_field> headers{{"ETag", "\"v2\""}, {"Last-Modified", "Sun, 06 Dec 2026 10:00:00 GMT"}};
  auto next = next_visit(v, 200, headers, payload_digest("new page"), at(3000),
                         page_change::changed);
  CHECK(next.etag == "\"v2\"");
  CHECK(next.last_modified == "Sun, 06 Dec 2026 10:00:00 GMT");
  CHECK(next.digest == payload_digest("new page"));
  CHECK(next.fetched_at == at(3000));
  CHECK(next.payload_at == at(3000));
  CHECK(next.status == 200);
  CHECK(next.changes == 2);
  // Unchanged: the payload is the one fetched before, new validators or not.
  auto same = next_visit(v, 200, headers, payload_digest("old page"), at(3000),
                         page_change::unchanged);
  CHECK(same.payload_at == at(1000));
  CHECK(same.etag == "\"v2\"");
  CHECK(same.changes == 1);
}

TEST_CASE("RFC 9111 4.3.4: a 304 keeps the page it refers to and takes the validators it sends",
          "[revisit]") {
  auto v = fetched_page();
  auto kept = next_visit(v, 304, {}, "", at(3000), page_change::not_modified);
  CHECK(kept.etag == v.etag);
  CHECK(kept.digest == v.digest);
  CHECK(kept.payload_at == at(1000));
  CHECK(kept.fetched_at == at(3000));
  CHECK(kept.status == 200);
  CHECK(kept.changes == 1);
  auto fresh = next_visit(v, 304, {{"etag", "\"v1b\""}}, "", at(3000), page_change::not_modified);
  CHECK(fresh.etag == "\"v1b\"");
  CHECK(fresh.last_modified == v.last_modified);
}

TEST_CASE("continuous mode: an interval starts at --recrawl-every, halves when the page "
          "changed, grows by half when not, within --recrawl-min and --recrawl-max",
          "[revisit]") {
  using std::chrono::minutes;
  caf::timespan every = minutes(60), min = minutes(10), max = minutes(240);
  last_visit v;
  CHECK(next_interval(v, page_change::none, every, min, max) == every); // a first fetch
  v.interval = minutes(60);
  CHECK(next_interval(v, page_change::changed, every, min, max) == minutes(30));
  CHECK(next_interval(v, page_change::unchanged, every, min, max) == minutes(90));
  CHECK(next_interval(v, page_change::not_modified, every, min, max) == minutes(90));
  CHECK(next_interval(v, page_change::gone, every, min, max) == max);
  CHECK(next_interval(v, page_change::none, every, min, max) == minutes(60)); // a redirect, say
  v.interval = minutes(12);
  CHECK(next_interval(v, page_change::changed, every, min, max) == min);
  v.interval = minutes(200);
  CHECK(next_interval(v, page_change::not_modified, every, min, max) == max);
}

TEST_CASE("a page gone is forgotten and counted as a change; 5xx, 429 and no response keep "
          "what was known",
          "[revisit]") {
  auto v = fetched_page();
  auto gone = next_visit(v, 404, {}, "", at(3000), page_change::gone);
  CHECK(gone.status == 404);
  CHECK(gone.digest.empty());
  CHECK(gone.etag.empty());
  CHECK(gone.changes == 2);
  CHECK(conditional_headers(gone).empty());
  for (uint16_t status : {0, 429, 500, 503}) {
    INFO(status);
    auto kept = next_visit(v, status, {}, "", at(3000), page_change::none);
    CHECK(kept.digest == v.digest);
    CHECK(kept.fetched_at == v.fetched_at);
  }
}
