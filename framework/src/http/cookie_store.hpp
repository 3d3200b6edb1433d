#pragma once

// The HTTP client's cookies: the crawl's jar, or one jar per proxy session
// (--session-per-proxy). Private to the framework.
//
// Cookies cross hosts (a Domain cookie reaches every subdomain), and hosts
// are spread over the IO threads, so this is the one part of the client the
// threads share: a mutex guards it, held only to build one Cookie header or
// to store one response's Set-Cookie headers.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "arachne/cookies.hpp"

namespace arachne::http_detail {

class cookie_store {
public:
  explicit cookie_store(cookie_limits limits) : limits_(limits), shared_(limits) {}

  /// The Cookie header for a request of the session `session` (empty: the
  /// crawl's jar) in its generation `generation`; empty if none applies.
  std::string header(const std::string& session, uint64_t generation, const url& request);

  /// Stores a response's Set-Cookie headers; true if the jar changed.
  bool receive(const std::string& session, uint64_t generation, const url& request,
               const std::vector<std::string_view>& set_cookies);

  /// Adds cookies to the crawl's jar: seeds, a Netscape file; fails with a
  /// one-line reason.
  caf::error seed(const std::vector<std::string>& seeds);
  caf::error load(std::string_view netscape, std::string_view what);

  /// Restores the crawl's jar from a saved Netscape file; cookies the jar
  /// already holds (seeded on the command line) win.
  caf::error restore(std::string_view netscape);

  /// The crawl's jar as a Netscape file, and its version.
  std::string save(uint64_t* version);
  uint64_t version();

  /// Counters over every jar, retired sessions' included.
  cookie_stats stats();

private:
  /// One proxy's session: its generation and jar.
  struct session_jar {
    uint64_t generation = 0;
    cookie_jar jar;
  };

  /// The jar of a session in a generation; null for a generation retired
  /// since (a request that was under way when its proxy was banned).
  cookie_jar* jar_of(const std::string& session, uint64_t generation);
  static void add(cookie_stats& to, const cookie_stats& from);

  cookie_limits limits_;
  std::mutex mtx_;
  cookie_jar shared_;
  std::map<std::string, session_jar> sessions_;
  cookie_stats retired_; // of the jars of sessions retired by a ban
  std::atomic<bool> empty_{true}; // nothing stored yet: requests skip the lock
};

} // namespace arachne::http_detail
