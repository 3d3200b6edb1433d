#include "arachne/page_directives.hpp"

#include "text.hpp"

#include <initializer_list>
#include <optional>
#include <utility>

namespace arachne {

namespace {

using text::has_word;
using text::iequals;
using text::trim;

bool is_space(char c) noexcept {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

// Directives that take a value after a colon ("max-snippet: 50"): before a
// colon they name no crawler.
bool takes_value(std::string_view name) noexcept {
  for (std::string_view d :
       {"unavailable_after", "max-snippet", "max-image-preview", "max-video-preview"})
    if (iequals(name, d))
      return true;
  return false;
}

// An X-Robots-Tag element's crawler and the rest: "googlebot: noindex" gives
// {"googlebot", " noindex"}; nothing if the element names no crawler.
std::optional<std::pair<std::string_view, std::string_view>>
split_agent(std::string_view element) noexcept {
  auto colon = element.find(':');
  if (colon == std::string_view::npos)
    return std::nullopt;
  auto name = trim(element.substr(0, colon));
  if (name.empty() || takes_value(name))
    return std::nullopt;
  for (char c : name)
    if (is_space(c)) // "25 Jun 2010 15" of a date cut at its comma
      return std::nullopt;
  return std::make_pair(name, element.substr(colon + 1));
}

// Reads a Link header value (RFC 8288 section 3), one link at a time.
class link_reader {
public:
  explicit link_reader(std::string_view value) : s_(value) {}

  // Moves to the next link's target; false at the end of the value.
  bool next_target(std::string_view& target) {
    while (true) {
      // Empty list elements are allowed (RFC 9110 section 5.6.1).
      while (i_ < s_.size() && (is_space(s_[i_]) || s_[i_] == ','))
        ++i_;
      if (i_ >= s_.size())
        return false;
      if (s_[i_] == '<') {
        auto close = s_.find('>', i_);
        if (close == std::string_view::npos)
          return false;
        target = s_.substr(i_ + 1, close - i_ - 1);
        i_ = close + 1;
        return true;
      }
      skip_link(); // not a link: skip it
    }
  }

  // Reads the current link's next parameter; false after its last one.
  bool next_param(std::string_view& name, std::string& value) {
    if (!eat(';'))
      return false;
    name = token();
    value.clear();
    if (eat('=')) {
      skip_ows();
      if (i_ < s_.size() && s_[i_] == '"')
        quoted(value);
      else
        value = token();
    }
    return true;
  }

  // Skips what is left of the current link, up to the ',' that ends it.
  void skip_link() {
    while (i_ < s_.size() && s_[i_] != ',') {
      if (s_[i_] == '"') {
        std::string ignored;
        quoted(ignored);
      } else {
        ++i_;
      }
    }
  }

private:
  void skip_ows() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\t'))
      ++i_;
  }

  bool eat(char c) {
    skip_ows();
    if (i_ >= s_.size() || s_[i_] != c)
      return false;
    ++i_;
    return true;
  }

  // A parameter name or unquoted value: up to a delimiter or white space.
  std::string_view token() {
    skip_ows();
    auto start = i_;
    while (i_ < s_.size() && !is_space(s_[i_]) && s_[i_] != ';' && s_[i_] != ','
           && s_[i_] != '=' && s_[i_] != '"')
      ++i_;
    return s_.substr(start, i_ - start);
  }

  // A quoted-string at `s_[i_]`, its escapes undone, into `out`.
  void quoted(std::string& out) {
    ++i_;
    while (i_ < s_.size() && s_[i_] != '"') {
      if (s_[i_] == '\\' && i_ + 1 < s_.size())
        ++i_;
      out += s_[i_++];
    }
    if (i_ < s_.size())
      ++i_;
  }

  std::string_view s_;
  std::size_t i_ = 0;
};

} // namespace

robots_directives& robots_directives::operator|=(const robots_directives& o) noexcept {
  noindex = noindex || o.noindex;
  nofollow = nofollow || o.nofollow;
  return *this;
}

robots_directives parse_robots_meta(std::string_view content) noexcept {
  robots_directives out;
  std::size_t i = 0;
  while (i < content.size()) {
    while (i < content.size() && (is_space(content[i]) || content[i] == ','))
      ++i;
    auto start = i;
    while (i < content.size() && !is_space(content[i]) && content[i] != ',')
      ++i;
    auto word = content.substr(start, i - start);
    if (iequals(word, "none")) {
      out.noindex = true;
      out.nofollow = true;
    } else if (iequals(word, "noindex")) {
      out.noindex = true;
    } else if (iequals(word, "nofollow")) {
      out.nofollow = true;
    } // "all", "index", "follow" and the rest add nothing
  }
  return out;
}

robots_directives parse_x_robots_tag(const std::vector<std::string_view>& values,
                                     std::string_view agent) {
  robots_directives out;
  for (auto value : values) {
    bool ours = true; // until a "name:" says for whom the rest of the value is
    while (!value.empty()) {
      auto comma = value.find(',');
      auto element = value.substr(0, comma);
      value = comma == std::string_view::npos ? std::string_view{} : value.substr(comma + 1);
      if (auto named = split_agent(element)) {
        ours = !agent.empty() && iequals(named->first, agent);
        element = named->second;
      }
      if (ours)
        out |= parse_robots_meta(element);
    }
  }
  return out;
}

std::string canonical_from_link_header(std::string_view value) {
  link_reader reader{value};
  std::string_view target, name;
  std::string param;
  while (reader.next_target(target)) {
    bool canonical = false, have_rel = false, anchored = false;
    while (reader.next_param(name, param)) {
      if (iequals(name, "rel") && !have_rel) {
        // Only the first rel counts (RFC 8288 section 3.3).
        have_rel = true;
        canonical = has_word(param, "canonical");
      } else if (iequals(name, "anchor")) {
        anchored = anchored || !param.empty();
      }
    }
    if (canonical && !anchored)
      return std::string{target};
    reader.skip_link();
  }
  return {};
}

robots_directives x_robots_tag(const std::vector<std::pair<std::string, std::string>>& headers,
                               std::string_view agent) {
  std::vector<std::string_view> values;
  for (auto& [name, value] : headers)
    if (iequals(name, "x-robots-tag"))
      values.push_back(value);
  return values.empty() ? robots_directives{} : parse_x_robots_tag(values, agent);
}

std::string canonical_from_headers(const std::vector<std::pair<std::string, std::string>>& headers) {
  for (auto& [name, value] : headers)
    if (iequals(name, "link"))
      if (auto target = canonical_from_link_header(value); !target.empty())
        return target;
  return {};
}

} // namespace arachne
