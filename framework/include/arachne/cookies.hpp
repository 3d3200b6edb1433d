#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "caf/expected.hpp"

#include "arachne/url.hpp"

namespace arachne {

/// One stored cookie, as RFC 6265 §5.3 keeps it.
struct cookie {
  std::string name;
  std::string value;
  std::string domain;     // lower case, IDNA-encoded, no leading dot
  std::string path;       // starts with '/'
  bool host_only = true;  // sent to `domain` only, not to its subdomains
  bool secure = false;    // sent over https only
  bool http_only = false; // kept for the cookie file; every request here is HTTP
  bool persistent = false;
  std::chrono::system_clock::time_point expires{}; // when persistent
  uint64_t created = 0;   // order of creation (ties in the Cookie header)
  uint64_t accessed = 0;  // order of last use (eviction)
};

/// The bounds of a cookie jar; RFC 6265 §6.1 names these as the least a
/// user agent should keep.
struct cookie_limits {
  uint64_t max_bytes = 4096;   // name + value of one cookie; larger ones are refused
  uint32_t per_domain = 50;    // per registrable domain; the least recently used goes
  uint32_t total = 3000;       // in the whole jar; the least recently used goes
};

/// What became of one Set-Cookie header.
enum class cookie_verdict : uint8_t {
  stored,    // a new cookie, or a new value for one with the same name, domain and path
  removed,   // it expired a stored cookie (or was born expired)
  malformed, // not a cookie: no '=', an empty name, control characters
  rejected,  // a cookie the rules refuse: another domain, a public suffix, too large,
             // Secure (or a __Secure-/__Host- name) from http, overwriting a Secure one from http
};

/// Counters of a cookie jar, for the crawl report.
struct cookie_stats {
  uint64_t stored = 0;
  uint64_t removed = 0;
  uint64_t malformed = 0;
  uint64_t rejected = 0;
  uint64_t evicted = 0; // pushed out by a limit
};

/// A cookie jar as RFC 6265 §5 describes a user agent's, with the later
/// rules browsers follow (RFC 6265bis): Secure cookies only from https,
/// `__Secure-` and `__Host-` name prefixes, lifetimes capped at 400 days.
/// Not thread-safe; the HTTP client guards its jars. See docs/cookies.md.
class cookie_jar {
public:
  using clock = std::chrono::system_clock;

  explicit cookie_jar(cookie_limits limits = {}) : limits_(limits) {}

  /// Receives one Set-Cookie header of a response to `request` (§5.2, §5.3).
  cookie_verdict set(const url& request, std::string_view set_cookie, clock::time_point now);

  /// As above, and says why a cookie was not stored.
  cookie_verdict set(const url& request, std::string_view set_cookie, clock::time_point now,
                     std::string& why);

  /// The Cookie header for a request to `request` (§5.4); empty if no cookie
  /// applies. Expired cookies met on the way are dropped.
  std::string header(const url& request, clock::time_point now);

  /// Adds a cookie as the command line names one: `HOST:NAME=VALUE[; attributes]`
  /// is stored as if `http://HOST/` had set it with `Domain=HOST` (so it
  /// reaches HOST and its subdomains, and nothing else) unless the attributes
  /// say otherwise. Fails with a one-line reason.
  caf::error seed(std::string_view entry, clock::time_point now);

  /// Adds the cookies of a Netscape cookie file (the format curl and browser
  /// extensions write); expired ones are skipped. Fails with the line number
  /// of the first line that is not a cookie. Returns the number added.
  caf::expected<std::size_t> load_netscape(std::string_view text, clock::time_point now);

  /// The jar as a Netscape cookie file (session cookies with expiry 0), in
  /// creation order; `load_netscape` reads it back.
  std::string to_netscape(clock::time_point now) const;

  /// Forgets every cookie.
  void clear();

  /// Cookies held now (expired ones may still count until next met).
  std::size_t size() const noexcept { return size_; }

  /// Changes with every stored, removed or evicted cookie (for saving).
  uint64_t version() const noexcept { return version_; }

  const cookie_stats& stats() const noexcept { return stats_; }

  /// Every cookie, in creation order (for tests and the state directory).
  std::vector<cookie> all() const;

private:
  /// The cookies of one domain, and the registrable domain they count against.
  struct domain_entry {
    std::string site;
    std::vector<cookie> cookies;
  };

  cookie_verdict insert(cookie c, clock::time_point now);
  bool shadows_secure(const cookie& c) const;
  void evict(const std::string* site, clock::time_point now);
  void drop(domain_entry& entry, std::size_t i);

  cookie_limits limits_;
  // Keyed by the cookie's domain: a request's host and its parent domains
  // are looked up, no scan of the jar.
  std::unordered_map<std::string, domain_entry> by_domain_;
  // Cookies per registrable domain, for `per_domain`.
  std::unordered_map<std::string, uint32_t> per_site_;
  std::size_t size_ = 0;
  uint64_t serial_ = 0;
  uint64_t version_ = 0;
  cookie_stats stats_;
};

/// Parses a cookie-date (RFC 6265 §5.1.1, as in Expires).
caf::expected<cookie_jar::clock::time_point> parse_cookie_date(std::string_view text);

/// True if `host` domain-matches `domain` (RFC 6265 §5.1.3).
bool cookie_domain_match(std::string_view host, std::string_view domain);

/// True if `request_path` path-matches `cookie_path` (RFC 6265 §5.1.4).
bool cookie_path_match(std::string_view request_path, std::string_view cookie_path);

/// The default-path of a request path (RFC 6265 §5.1.4).
std::string cookie_default_path(std::string_view request_path);

} // namespace arachne
