#include "arachne/robots.hpp"

#include "text.hpp"

#include <cmath>
#include <cctype>
#include <cstdlib>

namespace arachne {

namespace {

using text::iequals;
using text::trim;

// Upper-cases percent escapes and encodes bytes outside printable ASCII, so
// that patterns and targets compare in one form.
std::string canonical(std::string_view s) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == '%' && i + 2 < s.size() && std::isxdigit(static_cast<unsigned char>(s[i + 1]))
        && std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += '%';
      out += static_cast<char>(std::toupper(static_cast<unsigned char>(s[i + 1])));
      out += static_cast<char>(std::toupper(static_cast<unsigned char>(s[i + 2])));
      i += 2;
    } else if (c <= 0x20 || c >= 0x7F) {
      out += '%';
      out += digits[c >> 4];
      out += digits[c & 0x0F];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
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

robots_rules robots_rules::parse(std::string_view text, std::string_view user_agent,
                                 std::size_t max_bytes) {
  if (text.size() > max_bytes)
    text = text.substr(0, max_bytes);
  auto token = user_agent.substr(0, user_agent.find_first_of("/ "));
  robots_rules result;
  std::vector<group> groups;
  bool in_agents = false; // consecutive user-agent lines open one group
  while (!text.empty()) {
    auto eol = text.find_first_of("\r\n");
    auto line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    line = trim(line.substr(0, line.find('#')));
    auto colon = line.find(':');
    if (colon == std::string_view::npos)
      continue;
    auto key = trim(line.substr(0, colon));
    auto value = trim(line.substr(colon + 1));
    if (iequals(key, "user-agent")) {
      if (!in_agents)
        groups.emplace_back();
      in_agents = true;
      groups.back().agents.emplace_back(value.substr(0, value.find_first_of("/ \t")));
      continue;
    }
    if (iequals(key, "sitemap")) {
      if (!value.empty())
        result.sitemaps_.emplace_back(value);
      continue;
    }
    bool allow = iequals(key, "allow");
    bool disallow = iequals(key, "disallow");
    bool delay = iequals(key, "crawl-delay");
    if (!allow && !disallow && !delay)
      continue;
    in_agents = false;
    if (groups.empty())
      continue; // rules before any user-agent line belong to no group
    if (delay) {
      char* end = nullptr;
      std::string v{value};
      auto seconds = std::strtod(v.c_str(), &end);
      if (!v.empty() && *end == '\0' && std::isfinite(seconds) && seconds >= 0)
        groups.back().crawl_delay = caf::timespan{static_cast<int64_t>(seconds * 1e9)};
      continue;
    }
    if (value.empty())
      continue; // "Disallow:" with no path allows everything: no rule needed
    groups.back().rules.push_back(rule{allow, canonical(value)});
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
  if (token.empty() || !collect([&](const std::string& a) { return iequals(a, token); }))
    collect([](const std::string& a) { return a == "*"; });
  return result;
}

bool robots_rules::allowed(std::string_view target) const {
  if (target == "/robots.txt")
    return true;
  if (disallow_all_)
    return false;
  auto t = canonical(target);
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
