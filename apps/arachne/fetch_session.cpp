#include "fetch_session.hpp"

#include "caf/actor_system.hpp"
#include "caf/scoped_actor.hpp"

#include "arachne/config.hpp"
#include "arachne/errors.hpp"
#include "fetcher/fetcher.hpp"
#include "proxy_manager/proxy_manager.hpp"

namespace arachne::cli {

struct fetch_session::impl {
  std::unique_ptr<http_client> client;
  std::unique_ptr<caf::actor_system> sys;
  proxy_manager_actor proxies;
  fetcher_impl fetcher;

  ~impl() {
    if (sys) {
      caf::anon_send_exit(fetcher, caf::exit_reason::user_shutdown);
      if (proxies)
        caf::anon_send_exit(proxies, caf::exit_reason::user_shutdown);
      fetcher = fetcher_impl{};
      proxies = proxy_manager_actor{};
      sys.reset(); // (waits for the actors)
    }
    if (client)
      client->stop();
  }
};

caf::expected<std::unique_ptr<fetch_session>> fetch_session::make(config& cfg) {
  auto client = http_client::make(cfg.crawl.http);
  if (!client)
    return client.error();
  auto d = std::make_unique<impl>();
  d->client = std::move(*client);
  d->sys = std::make_unique<caf::actor_system>(cfg);
  d->proxies = spawn_proxy_manager(*d->sys, cfg.crawl.proxies);
  d->fetcher = d->sys->spawn(fetcher, d->client.get(),
                             make_fetcher_options(cfg.crawl.proxies, d->proxies));
  return std::unique_ptr<fetch_session>{new fetch_session(std::move(d))};
}

fetch_session::fetch_session(std::unique_ptr<impl> d) : d_(std::move(d)) {}

fetch_session::~fetch_session() = default;

fetch_result fetch_session::fetch(const std::string& url) {
  fetch_result out;
  out.url = url;
  caf::scoped_actor self{*d_->sys};
  fetch_request req;
  req.url = url;
  self->request(d_->fetcher, caf::infinite, fetch_atom::value, std::move(req))
    .receive([&](fetch_result& r) { out = std::move(r); },
             [&](caf::error& err) {
               out.error = crawl_errc::protocol_error;
               out.error_message = error_text(err);
             });
  return out;
}

} // namespace arachne::cli
