#pragma once

// What a crawl facade holds between its setup and its run. Private to
// actors/crawl.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "caf/actor_system.hpp"

#include "arachne/crawl.hpp"

namespace arachne {

struct crawl::impl {
  impl(caf::actor_system& s, const settings& c) : sys(s), cfg(c) {}

  caf::actor_system& sys;
  settings cfg;
  std::shared_ptr<page_program> program = std::make_shared<page_program>();
  std::vector<sink_actor> sinks;
  std::vector<std::function<caf::expected<sink_actor>()>> reopen; // per sink; empty if none
  caf::error sink_open_failed;
  std::function<void(const crawl_progress&)> progress;
  caf::timespan progress_every{std::chrono::seconds(1)};
  std::atomic<bool> stop_requested{false};
  std::atomic<bool> stop_now{false};
  std::vector<std::string> args; // the options, for the nodes of a distributed crawl
};

} // namespace arachne
