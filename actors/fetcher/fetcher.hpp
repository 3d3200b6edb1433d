#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <regex>
#include <unordered_map>
#include <utility>
#include <vector>

#include "caf/stateful_actor.hpp"
#include "caf/typed_event_based_actor.hpp"
#include "caf/typed_response_promise.hpp"

#include "arachne/actor_types.hpp"
#include "arachne/http_client.hpp"
#include "arachne/proxy.hpp"

namespace arachne {

/// Tells a fetcher that one of its requests finished (sent from an IO thread).
using fetched_atom = caf::atom_constant<caf::atom("fetched")>;

/// Tells a fetcher that one of its lookups finished (sent from an IO thread).
using resolved_atom = caf::atom_constant<caf::atom("resolved")>;

/// The fetcher's interface including the completions it sends itself.
using fetcher_impl = fetcher_actor::extend<
  caf::reacts_to<fetched_atom, uint64_t, fetch_result>,
  caf::reacts_to<resolved_atom, uint64_t, std::vector<std::string>>>;

/// What a fetcher needs besides the HTTP client: the proxy pool and the ban
/// policy. Without a proxy manager every request goes direct.
struct fetcher_options {
  proxy_manager_actor proxies;              // may be invalid: no proxies
  std::vector<uint16_t> ban_status;         // statuses that look like a ban
  std::shared_ptr<const std::regex> ban_body; // on proxied HTML bodies; may be null
  uint32_t page_fault_after = 3;            // proxies a URL is tried through at most
  caf::timespan lease_timeout = std::chrono::seconds(60); // bound on waiting for a lease
  bool session_per_proxy = false;           // each proxy's requests use its own cookie jar
};

/// The fetcher options for a crawl's proxy settings and its proxy manager
/// (assumes `settings::check` passed).
fetcher_options make_fetcher_options(const proxy_options& opts, proxy_manager_actor proxies);

/// One request of a fetcher, with the proxies it has been tried through.
struct fetch_job {
  caf::typed_response_promise<fetch_result> promise;
  fetch_request request;
  proxy_lease lease;                    // the current attempt's
  std::vector<uint32_t> tried;          // pool indexes with an inconclusive answer
  uint32_t proxy_failures = 0;          // attempts that failed at the proxy
  std::string last_proxy_error;         // the latest proxy failure, for the final message
  std::vector<std::pair<uint32_t, proxy_outcome>> suspects; // judged when another proxy gets through
  std::optional<fetch_result> last;     // the last inconclusive result
};

/// The fetcher's state: the requests in flight.
struct fetcher_state {
  fetcher_options opts;
  uint64_t next_id = 0;
  std::unordered_map<uint64_t, fetch_job> jobs;
  std::unordered_map<uint64_t, caf::typed_response_promise<std::vector<std::string>>> lookups;
  static inline const char* name = "fetcher";
};

/// A fetcher: hands requests to `client` (which must outlive it) and answers
/// each with its `fetch_result`. Many requests may be in flight at once. With
/// a proxy manager, each attempt goes through a leased proxy and each
/// proxy's part is reported to the manager. Proxy failures are retried through
/// whichever proxy the policy picks. Ban-like answers and refused tunnels are
/// retried through proxies not yet tried for the URL, and count against a
/// proxy only once another proxy got through; a URL that fails the same way
/// through `page_fault_after` proxies (or every live one) is the page's fault,
/// returned as it is. See docs/proxies.md.
fetcher_impl::behavior_type fetcher(fetcher_impl::stateful_pointer<fetcher_state> self,
                                    http_client* client, fetcher_options opts);

} // namespace arachne
