#include "arachne/robots.hpp"

#include "text.hpp"

#include "arachne/url.hpp"

#include <cmath>
#include <cstdlib>
#include <initializer_list>
#include <optional>
#include <utility>

namespace arachne {

namespace {

using text::iequals;
using text::trim;

// The directives, with the misspellings many files carry (a documented
// choice, as Google's parser makes it: docs/robots.md).
enum class directive { user_agent, allow, disallow, sitemap, crawl_delay, other };

directive directive_of(std::string_view key) {
  auto any_of = [&](std::initializer_list<std::string_view> names) {
    for (auto n : names)
      if (iequals(key, n))
        return true;
    return false;
  };
  if (any_of({"user-agent", "useragent", "user agent"}))
    return directive::user_agent;
  if (any_of({"allow"}))
    return directive::allow;
  if (any_of({"disallow", "dissallow", "dissalow", "disalow", "diasllow", "disallaw"}))
    return directive::disallow;
  if (any_of({"sitemap", "site-map"}))
    return directive::sitemap;
  if (any_of({"crawl-delay"}))
    return directive::crawl_delay;
  return directive::other;
}

// A line's directive and value: "key: value", or "key value" with the
// colon forgotten (accepted only for a known directive and a one-word value).
std::optional<std::pair<directive, std::string_view>> split_line(std::string_view line) {
  if (auto colon = line.find(':'); colon != std::string_view::npos)
    return std::make_pair(directive_of(trim(line.substr(0, colon))), trim(line.substr(colon + 1)));
  auto space = line.find_first_of(" \t");
  if (space == std::string_view::npos)
    return std::nullopt;
  auto kind = directive_of(line.substr(0, space));
  auto value = trim(line.substr(space));
  if (kind == directive::other || value.find_first_of(" \t") != std::string_view::npos)
    return std::nullopt;
  return std::make_pair(kind, value);
}

struct group {
  std::vector<std::string> agents;
  std::vector<robots_rules::rule> rules;
  std::optional<caf::timespan> crawl_delay;
};

} // namespace

bool robots_pattern_matches(std::string_view pattern, std::string_view target) {
  bool anchored = !pattern.empty() && pattern.back() == '$';
  if (anchored)
    pattern.remove_suffix(1);
  // Greedy matching of '*'-separated pieces with backtracking to the last '*'.
  std::size_t p = 0, t = 0;
  std::size_t star = std::string_view::npos, star_t = 0;
  while (t < target.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      star_t = t;
    } else if (p < pattern.size() && pattern[p] == target[t]) {
      ++p;
      ++t;
    } else if (p == pattern.size() && !anchored) {
      return true; // a prefix match is enough
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++star_t;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*')
    ++p;
  return p == pattern.size();
}

robots_rules robots_rules::allow_all() {
  return {};
}

robots_rules robots_rules::disallow_all() {
  robots_rules r;
  r.disallow_all_ = true;
  return r;
}

bool is_product_token(std::string_view token) noexcept {
  if (token.empty())
    return false;
  for (char c : token)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '-'))
      return false;
  return true;
}

std::string_view product_token(std::string_view user_agent) noexcept {
  return user_agent.substr(0, user_agent.find_first_of("/ \t"));
}

robots_rules robots_rules::parse(std::string_view text, std::string_view user_agent,
                                 std::size_t max_bytes) {
  if (text.size() > max_bytes) {
    // Only whole lines within the limit: a line cut short could allow more.
    text = text.substr(0, max_bytes);
    text = text.substr(0, text.find_last_of("\r\n") + 1);
  }
  // A UTF-8 byte order mark (or the start of one) before the first line.
  for (std::string_view bom : {"\xEF\xBB\xBF", "\xEF\xBB", "\xEF"})
    if (text.substr(0, bom.size()) == bom) {
      text.remove_prefix(bom.size());
      break;
    }
  auto token = product_token(user_agent);
  robots_rules result;
  std::vector<group> groups;
  bool in_agents = false; // consecutive user-agent lines open one group
  while (!text.empty()) {
    auto eol = text.find_first_of("\r\n");
    auto line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    auto pair = split_line(trim(line.substr(0, line.find('#'))));
    if (!pair)
      continue;
    auto [kind, value] = *pair;
    switch (kind) {
      case directive::user_agent:
        if (!in_agents)
          groups.emplace_back();
        in_agents = true;
        groups.back().agents.emplace_back(product_token(value));
        continue;
      case directive::sitemap:
        if (!value.empty())
          result.sitemaps_.emplace_back(value);
        continue;
      case directive::crawl_delay:
        // Not in RFC 9309: read where a group is open, and closes no group.
        if (!groups.empty()) {
          char* end = nullptr;
          std::string v{value};
          auto seconds = std::strtod(v.c_str(), &end);
          // (At most a year: the nanoseconds of a larger value overflow.)
          constexpr double longest = 365.0 * 24 * 3600;
          if (!v.empty() && *end == '\0' && std::isfinite(seconds) && seconds >= 0)
            groups.back().crawl_delay =
              caf::timespan{static_cast<int64_t>(std::min(seconds, longest) * 1e9)};
        }
        continue;
      case directive::other:
        continue; // unknown lines close no group either
      case directive::allow:
      case directive::disallow:
        break;
    }
    in_agents = false;
    if (groups.empty())
      continue; // rules before any user-agent line belong to no group
    if (value.empty())
      continue; // "Disallow:" with no path allows everything: no rule needed
    // RFC 9309 section 2.2.2: patterns compare in the URLs' percent-encoding.
    groups.back().rules.push_back(
      rule{kind == directive::allow, normalize_percent_encoding(value)});
  }
  // Every group naming our token applies (merged); otherwise every '*' group.
  auto collect = [&](auto&& pred) {
    bool any = false;
    for (auto& g : groups)
      for (auto& a : g.agents)
        if (pred(a)) {
          any = true;
          result.rules_.insert(result.rules_.end(), g.rules.begin(), g.rules.end());
          if (g.crawl_delay && !result.crawl_delay_)
            result.crawl_delay_ = g.crawl_delay;
          break;
        }
    return any;
  };
  if (!is_product_token(token) || !collect([&](const std::string& a) { return iequals(a, token); }))
    collect([](const std::string& a) { return a == "*"; });
  return result;
}

robots_status classify_robots_fetch(uint16_t status, crawl_errc error) noexcept {
  switch (error) {
    case crawl_errc::none:
      break;
    case crawl_errc::too_many_redirects:
    case crawl_errc::redirect_loop:
      return robots_status::unavailable; // section 2.3.1.2
    default:
      return robots_status::unreachable;
  }
  if (status >= 200 && status < 300)
    return robots_status::parsed;
  if (status == 429)
    return robots_status::unreachable; // rate limited: not "unavailable" (docs/robots.md)
  if ((status >= 300 && status < 400) || (status >= 400 && status < 500))
    return robots_status::unavailable;
  return robots_status::unreachable;
}

bool robots_rules::allowed(std::string_view target) const {
  if (target == "/robots.txt")
    return true;
  if (disallow_all_)
    return false;
  auto t = normalize_percent_encoding(target);
  // The longest matching pattern wins; Allow wins a tie.
  std::size_t best_len = 0;
  bool best_allow = true;
  bool matched = false;
  for (auto& r : rules_) {
    if (!robots_pattern_matches(r.pattern, t))
      continue;
    auto len = r.pattern.size();
    if (!matched || len > best_len || (len == best_len && r.allow && !best_allow)) {
      matched = true;
      best_len = len;
      best_allow = r.allow;
    }
  }
  return best_allow;
}

} // namespace arachne
