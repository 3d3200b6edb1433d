// The crawl facade's setup: handlers, sinks, progress, stop (the run is in
// crawl.cpp).

#include "arachne/crawl.hpp"

#include "crawl/impl.hpp"

namespace arachne {

double crawl_report::pages_per_second() const {
  auto s = std::chrono::duration<double>(elapsed).count();
  return s > 0 ? static_cast<double>(tally.pages) / s : 0.0;
}

crawl::crawl(caf::actor_system& sys, const config& cfg)
  : impl_(std::make_unique<impl>(sys, cfg.crawl)) {
  impl_->args = cfg.crawl_args();
}

crawl::~crawl() = default;

void crawl::on_page(page_handler handler) {
  impl_->program->handler = std::move(handler);
}

void crawl::route(std::string label, page_handler handler) {
  impl_->program->routes[std::move(label)] = std::move(handler);
}

void crawl::pipeline(item_stage stage) {
  impl_->program->pipeline.push_back(std::move(stage));
}

void crawl::add_sink(sink_actor sink) {
  impl_->sinks.push_back(std::move(sink));
  impl_->reopen.emplace_back();
}

void crawl::add_sink(std::function<caf::expected<sink_actor>()> open) {
  auto sink = open();
  if (!sink) {
    impl_->sink_open_failed = std::move(sink.error());
    return;
  }
  impl_->sinks.push_back(std::move(*sink));
  impl_->reopen.push_back(std::move(open));
}

void crawl::on_progress(std::function<void(const crawl_progress&)> f, caf::timespan every) {
  impl_->progress = std::move(f);
  impl_->progress_every = every;
}

void crawl::stop() {
  impl_->stop_requested = true;
}

void crawl::stop_now() {
  impl_->stop_now = true;
  impl_->stop_requested = true;
}

} // namespace arachne
