// The fetcher actor against a real server: requests go in as messages, the
// Beast client works on its IO threads, results come back as messages.

#include "fetcher/fetcher.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <set>

#include "caf/actor_system.hpp"
#include "caf/scoped_actor.hpp"

#include "arachne/config.hpp"
#include "site_server.hpp"

using namespace arachne;
using namespace std::chrono_literals;

TEST_CASE("fetcher actor answers every request with its result", "[fetcher]") {
  site::site_server server{{3, 20, 1, false, 0s}, {}};
  REQUIRE(server.listen() == "");
  server.start();
  auto& m = server.model();
  http_options opts;
  opts.io_threads = 2;
  auto client = http_client::make(opts);
  REQUIRE(client);
  {
    config cfg;
    caf::actor_system sys{cfg};
    auto f = sys.spawn(fetcher, client->get(), fetcher_options{});
    caf::scoped_actor self{sys};
    // Many in flight at once: send them all, then collect the answers.
    std::set<uint64_t> ids;
    std::map<uint16_t, int> statuses;
    constexpr uint64_t n = 200;
    for (uint64_t i = 0; i < n; ++i) {
      fetch_request req;
      req.id = i;
      req.url = m.origin(static_cast<uint32_t>(i % 3))
                + (i % 10 == 9 ? std::string{"/missing/1"} : m.page_path(static_cast<uint32_t>(i % 20)));
      self->send(f, fetch_atom::value, std::move(req));
    }
    for (uint64_t i = 0; i < n; ++i)
      self->receive([&](fetch_result& r) {
        ids.insert(r.id);
        ++statuses[r.status];
        CHECK(r.error == crawl_errc::none);
      }, caf::after(30s) >> [&] { FAIL("no answer within 30s"); });
    CHECK(ids.size() == n);
    CHECK(statuses[200] == 180);
    CHECK(statuses[404] == 20);
    // A redirect followed through the actor.
    fetch_request req;
    req.url = m.origin(0) + "/moved/3";
    self->request(f, 10s, fetch_atom::value, req)
      .receive(
        [&](fetch_result& r) {
          CHECK(r.status == 200);
          CHECK(r.final_url == m.origin(0) + "/docs/3/");
          CHECK(r.redirects.size() == 2);
          CHECK(r.body.view().find("<title>Guide 3 of host 0</title>") != std::string_view::npos);
        },
        [&](caf::error& e) { FAIL(sys.render(e)); });
    // A failure is a result too, not an error reply.
    req.url = "http://127.0.0.1:1/";
    self->request(f, 10s, fetch_atom::value, req)
      .receive([&](fetch_result& r) { CHECK(r.error == crawl_errc::connect_failed); },
               [&](caf::error& e) { FAIL(sys.render(e)); });
    caf::anon_send_exit(f, caf::exit_reason::user_shutdown);
  }
  (*client)->stop();
  server.stop();
}

TEST_CASE("fetcher fetches the demo site over HTTPS with the site's CA", "[fetcher][tls]") {
  site::site_server server{{2, 10, 1, true, 0s}, {}};
  REQUIRE(server.listen() == "");
  server.start();
  REQUIRE(server.tls() != nullptr);
  auto ca_path = "fetcher-test-ca-" + std::to_string(server.port()) + ".pem";
  {
    std::FILE* f = std::fopen(ca_path.c_str(), "w");
    REQUIRE(f != nullptr);
    std::fputs(server.tls()->ca_pem.c_str(), f);
    std::fclose(f);
  }
  http_options opts;
  opts.io_threads = 1;
  opts.ca_file = ca_path;
  auto client = http_client::make(opts);
  std::remove(ca_path.c_str());
  REQUIRE(client);
  {
    config cfg;
    caf::actor_system sys{cfg};
    auto f = sys.spawn(fetcher, client->get(), fetcher_options{});
    caf::scoped_actor self{sys};
    fetch_request req;
    req.url = server.model().origin(1) + "/old/4";
    self->request(f, 10s, fetch_atom::value, req)
      .receive(
        [&](fetch_result& r) {
          CHECK(r.error == crawl_errc::none);
          CHECK(r.status == 200);
          CHECK(r.final_url == server.model().origin(1) + "/p/4");
          CHECK(r.timings.tls.count() > 0);
        },
        [&](caf::error& e) { FAIL(sys.render(e)); });
    caf::anon_send_exit(f, caf::exit_reason::user_shutdown);
  }
  (*client)->stop();
  server.stop();
}
