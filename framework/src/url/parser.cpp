#include "url/parser.hpp"

#include <algorithm>

#include "arachne/errors.hpp"
#include "url/host.hpp"
#include "url/percent.hpp"
#include "text.hpp"

namespace arachne::url_detail {

namespace {

caf::error invalid(std::string reason) {
  return make_error(crawl_errc::invalid_url, std::move(reason));
}

bool is_alpha(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool is_slash(char c) noexcept {
  return c == '/' || c == '\\'; // a backslash is a slash in special URLs
}

// The standard's percent-encode sets (section 1.3) for the path and for the
// query of a special URL; both include the C0 control set (controls and
// everything above U+007E, i.e. every byte of a non-ASCII code point).
bool in_path_set(unsigned char c) noexcept {
  return c < 0x20 || c > 0x7E || c == ' ' || c == '"' || c == '#' || c == '<' || c == '>'
         || c == '?' || c == '^' || c == '`' || c == '{' || c == '}';
}

bool in_special_query_set(unsigned char c) noexcept {
  return c < 0x20 || c > 0x7E || c == ' ' || c == '"' || c == '#' || c == '<' || c == '>'
         || c == '\'';
}

template <class Predicate>
void append_encoded(std::string& out, std::string_view in, Predicate in_set) {
  for (char ch : in) {
    auto c = static_cast<unsigned char>(ch);
    if (in_set(c))
      append_escape(out, c);
    else
      out += ch;
  }
}

using text::iequals;

bool single_dot(std::string_view s) noexcept {
  return s == "." || iequals(s, "%2e");
}

bool double_dot(std::string_view s) noexcept {
  return s == ".." || iequals(s, ".%2e") || iequals(s, "%2e.") || iequals(s, "%2e%2e");
}

// "shorten a URL's path": the last segment goes.
void shorten(std::string& path) {
  auto slash = path.rfind('/');
  path.erase(slash == std::string::npos ? 0 : slash);
}

// The path state: `in` is the path after its first slash, up to '?', '#' or
// the end; each segment is appended to `path`, dot segments applied.
void parse_path(std::string& path, std::string_view in) {
  for (;;) {
    std::size_t end = 0;
    while (end < in.size() && !is_slash(in[end]))
      ++end;
    auto segment = in.substr(0, end);
    bool last = end == in.size();
    if (double_dot(segment)) {
      shorten(path);
      if (last)
        path += '/';
    } else if (single_dot(segment)) {
      if (last)
        path += '/';
    } else {
      path += '/';
      append_encoded(path, segment, in_path_set);
    }
    if (last)
      break;
    in.remove_prefix(end + 1);
  }
}

// What follows the path: the query up to '#'; the fragment is dropped.
void parse_query_and_fragment(url_parts& out, std::string_view in) {
  if (in.empty() || in.front() != '?')
    return;
  in.remove_prefix(1);
  out.has_query = true;
  out.query.clear();
  append_encoded(out.query, in.substr(0, in.find('#')), in_special_query_set);
}

// The path and what follows it: `in` starts after the path's first slash.
void parse_path_and_query(url_parts& out, std::string_view in) {
  auto end = std::min(in.find_first_of("?#"), in.size());
  parse_path(out.path, in.substr(0, end));
  parse_query_and_fragment(out, in.substr(end));
}

// The special authority ignore slashes state: any number of '/' and '\'.
std::string_view skip_slashes(std::string_view in) noexcept {
  auto start = in.find_first_not_of("/\\");
  return start == std::string_view::npos ? std::string_view{} : in.substr(start);
}

// The authority, host, port and path start states, then the path: `in`
// starts after the slashes before the authority.
caf::expected<url_parts> parse_authority_and_rest(bool https, std::string_view in) {
  std::size_t end = 0;
  while (end < in.size() && !is_slash(in[end]) && in[end] != '?' && in[end] != '#')
    ++end;
  auto authority = in.substr(0, end);
  auto rest = in.substr(end);
  // Userinfo ends at the last '@'; Arachne does not keep it.
  if (auto at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);
    if (authority.empty())
      return invalid("credentials without a host");
  }
  // The port starts at the first ':' outside brackets.
  std::size_t colon = std::string_view::npos;
  bool in_brackets = false;
  for (std::size_t i = 0; i < authority.size(); ++i) {
    if (authority[i] == '[')
      in_brackets = true;
    else if (authority[i] == ']')
      in_brackets = false;
    else if (authority[i] == ':' && !in_brackets) {
      colon = i;
      break;
    }
  }
  url_parts out;
  out.https = https;
  out.port = https ? 443 : 80;
  auto host_text = authority.substr(0, colon);
  if (host_text.empty())
    return invalid("no host");
  auto host = parse_host(host_text);
  if (!host)
    return std::move(host.error());
  out.host = std::move(*host);
  if (colon != std::string_view::npos) {
    auto digits = authority.substr(colon + 1);
    if (!digits.empty()) {
      uint32_t port = 0;
      for (char c : digits) {
        if (c < '0' || c > '9')
          return invalid("invalid port");
        port = port * 10 + static_cast<uint32_t>(c - '0');
        if (port > 65535)
          return invalid("port out of range");
      }
      out.port = static_cast<uint16_t>(port);
    }
  }
  // The path start state takes one slash (or backslash).
  if (!rest.empty() && is_slash(rest.front()))
    rest.remove_prefix(1);
  parse_path_and_query(out, rest);
  return out;
}

// The relative state: `in` is resolved against the base's host and path.
caf::expected<url_parts> parse_relative(const url_base& base, std::string_view in) {
  if (in.size() >= 2 && is_slash(in[0]) && is_slash(in[1])) {
    // Two slashes (either kind): a new authority ("//host/..."); any more are skipped.
    return parse_authority_and_rest(base.https, skip_slashes(in));
  }
  url_parts out;
  out.https = base.https;
  out.host = std::string{base.host};
  out.port = base.port;
  if (!in.empty() && is_slash(in.front())) {
    // The relative slash state: a path from the root.
    in.remove_prefix(1);
  } else if (in.empty() || in.front() == '?' || in.front() == '#') {
    // The base's path, and its query unless one is given.
    out.path = std::string{base.path};
    out.has_query = base.has_query;
    out.query = std::string{base.query};
    parse_query_and_fragment(out, in);
    return out;
  } else {
    out.path = std::string{base.path};
    shorten(out.path);
  }
  parse_path_and_query(out, in);
  return out;
}

// Leading and trailing C0 controls and spaces go, and so do tabs and line
// breaks anywhere (section 4.4, steps 1 to 3).
std::string_view preprocess(std::string_view input, std::string& storage) {
  while (!input.empty() && static_cast<unsigned char>(input.front()) <= 0x20)
    input.remove_prefix(1);
  while (!input.empty() && static_cast<unsigned char>(input.back()) <= 0x20)
    input.remove_suffix(1);
  if (input.find_first_of("\t\n\r") == std::string_view::npos)
    return input;
  storage.reserve(input.size());
  for (char c : input)
    if (c != '\t' && c != '\n' && c != '\r')
      storage += c;
  return storage;
}

} // namespace

caf::expected<url_parts> parse_http_url(std::string_view input, const url_base* base) {
  std::string storage;
  auto in = preprocess(input, storage);
  // The scheme start and scheme states.
  std::size_t scheme_end = 0;
  if (!in.empty() && is_alpha(in[0])) {
    scheme_end = 1;
    while (scheme_end < in.size()
           && (is_alpha(in[scheme_end]) || (in[scheme_end] >= '0' && in[scheme_end] <= '9')
               || in[scheme_end] == '+' || in[scheme_end] == '-' || in[scheme_end] == '.'))
      ++scheme_end;
    if (scheme_end == in.size() || in[scheme_end] != ':')
      scheme_end = 0;
  }
  if (scheme_end == 0) {
    // The no scheme state: only a base makes sense of it.
    if (base == nullptr)
      return invalid("relative URL without a base");
    return parse_relative(*base, in);
  }
  auto scheme = in.substr(0, scheme_end);
  bool https = iequals(scheme, "https");
  if (!https && !iequals(scheme, "http")) {
    return make_error(crawl_errc::unsupported_scheme,
                      "unsupported scheme '" + text::lower(scheme) + "'");
  }
  auto rest = in.substr(scheme_end + 1);
  // The special relative or authority state: "http:foo" against an http
  // base is a relative reference (two slashes start an authority there too).
  if (base != nullptr && base->https == https)
    return parse_relative(*base, rest);
  // The special authority slashes and ignore slashes states.
  return parse_authority_and_rest(https, skip_slashes(rest));
}

} // namespace arachne::url_detail
