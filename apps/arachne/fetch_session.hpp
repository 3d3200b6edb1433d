#pragma once

#include <memory>
#include <string>

#include "caf/expected.hpp"

#include "arachne/messages.hpp"

namespace arachne {
class config;
} // namespace arachne

namespace arachne::cli {

/// One fetcher actor (with its proxy manager and HTTP client) for commands
/// that fetch a URL at a time: `arachne fetch`, `arachne shell`.
class fetch_session {
public:
  /// Fails (with the reason) if the HTTP client cannot be made from `cfg`
  /// (an unreadable --ca-file, say).
  static caf::expected<std::unique_ptr<fetch_session>> make(config& cfg);

  ~fetch_session();

  /// Fetches `url`; the result says how it went (an error kind, or a status).
  fetch_result fetch(const std::string& url);

  struct impl;

private:
  explicit fetch_session(std::unique_ptr<impl> d);
  std::unique_ptr<impl> d_;
};

} // namespace arachne::cli
