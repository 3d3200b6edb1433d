#include "arachne/proxy.hpp"

#include <fstream>

#include "arachne/errors.hpp"
#include "text.hpp"

namespace arachne {

namespace {

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9')
    return c - '0';
  c = text::lower(c);
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

bool percent_decode(std::string_view in, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out += in[i];
      continue;
    }
    if (i + 2 >= in.size())
      return false;
    auto hi = hex_value(in[i + 1]);
    auto lo = hex_value(in[i + 2]);
    if (hi < 0 || lo < 0)
      return false;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return true;
}

// Userinfo characters that need no escaping (RFC 3986 unreserved + sub-delims).
bool userinfo_safe(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
         || std::string_view{"-._~!$&'()*+,;="}.find(c) != std::string_view::npos;
}

std::string percent_encode(std::string_view in) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  for (char c : in) {
    if (userinfo_safe(c)) {
      out += c;
    } else {
      auto u = static_cast<unsigned char>(c);
      out += '%';
      out += digits[u >> 4];
      out += digits[u & 15];
    }
  }
  return out;
}

caf::error bad(std::string_view text, const std::string& why) {
  return make_error(crawl_errc::invalid_url, "bad proxy '" + mask_proxy(text) + "': " + why);
}

// The kind and default port of a (lower-case) scheme; false if unsupported.
bool set_scheme(std::string_view scheme, proxy_spec& spec) {
  if (scheme == "http") {
    spec.kind = proxy_kind::http;
    spec.port = 80;
  } else if (scheme == "https") {
    spec.kind = proxy_kind::https;
    spec.port = 443;
  } else if (scheme == "socks5") {
    spec.kind = proxy_kind::socks5;
    spec.port = 1080;
  } else if (scheme == "socks5h") {
    spec.kind = proxy_kind::socks5h;
    spec.port = 1080;
  } else {
    return false;
  }
  return true;
}

// USER[:PASSWORD], percent-decoded, into `spec`; why not, or null.
const char* read_credentials(std::string_view userinfo, proxy_spec& spec) {
  auto colon = userinfo.find(':');
  if (!percent_decode(userinfo.substr(0, colon), spec.username)
      || (colon != std::string_view::npos
          && !percent_decode(userinfo.substr(colon + 1), spec.password)))
    return "bad percent-encoding in the credentials";
  if (spec.username.empty())
    return "empty user name";
  if ((spec.kind == proxy_kind::socks5 || spec.kind == proxy_kind::socks5h)
      && (spec.username.size() > 255 || spec.password.size() > 255))
    return "SOCKS5 user names and passwords are at most 255 bytes";
  return nullptr;
}

// Splits HOST[:PORT] or [IPv6][:PORT]; why not, or null.
const char* split_host_port(std::string_view hostport, std::string_view& host,
                            std::string_view& port) {
  if (!hostport.empty() && hostport.front() == '[') {
    auto close = hostport.find(']');
    if (close == std::string_view::npos)
      return "unterminated IPv6 address";
    host = hostport.substr(1, close - 1);
    auto after = hostport.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':')
        return "junk after the IPv6 address";
      port = after.substr(1);
    }
  } else {
    auto colon = hostport.rfind(':');
    host = hostport.substr(0, colon);
    if (colon != std::string_view::npos)
      port = hostport.substr(colon + 1);
  }
  return nullptr;
}

// The host (lower-cased) and port, if one is given, into `spec`; why not, or null.
const char* read_host_port(std::string_view hostport, proxy_spec& spec) {
  std::string_view host;
  std::string_view port;
  if (auto why = split_host_port(hostport, host, port))
    return why;
  if (host.empty())
    return "no host";
  for (char c : host)
    if (!(userinfo_safe(c) || c == ':' || c == '%') || c == '&' || c == '\'')
      return "bad character in the host";
  spec.host = text::lower(host);
  if (!port.empty() || (hostport.size() > 0 && hostport.back() == ':')) {
    uint32_t value = 0;
    for (char c : port) {
      if (c < '0' || c > '9' || value > 65535)
        return "bad port";
      value = value * 10 + static_cast<uint32_t>(c - '0');
    }
    if (port.empty() || value == 0 || value > 65535)
      return "bad port";
    spec.port = static_cast<uint16_t>(value);
  }
  return nullptr;
}

// The proxy's URL in one form (credentials re-encoded, port explicit) and
// its label, the same with the credentials masked.
void set_url_and_label(const std::string& scheme, proxy_spec& spec) {
  auto host_part = spec.host.find(':') != std::string::npos ? "[" + spec.host + "]" : spec.host;
  auto tail = host_part + ":" + std::to_string(spec.port);
  spec.label = scheme + "://" + (spec.has_credentials() ? "***@" : "") + tail;
  spec.url = scheme + "://";
  if (spec.has_credentials())
    spec.url += percent_encode(spec.username) + ":" + percent_encode(spec.password) + "@";
  spec.url += tail;
}

} // namespace

std::string mask_proxy(std::string_view text) {
  // Everything up to the last '@' may be credentials (a password may hold
  // '/', '?' or '#'): all of it is masked.
  auto scheme_end = text.find("://");
  auto start = scheme_end == std::string_view::npos ? 0 : scheme_end + 3;
  auto at = text.rfind('@');
  if (at == std::string_view::npos || at < start)
    return std::string{text};
  std::string out{text.substr(0, start)};
  out += "***@";
  out += text.substr(at + 1);
  return out;
}

caf::expected<proxy_spec> parse_proxy(std::string_view text) {
  text = text::trim(text);
  proxy_spec spec;
  if (text::iequals(text, "direct")) {
    spec.url = spec.label = "direct";
    return spec;
  }
  auto scheme_end = text.find("://");
  if (scheme_end == std::string_view::npos)
    return bad(text, "expected scheme://host:port or 'direct'");
  auto scheme = text::lower(text.substr(0, scheme_end));
  if (!set_scheme(scheme, spec))
    return bad(text, "unsupported scheme '" + scheme + "' (http, https, socks5, socks5h)");
  auto rest = text.substr(scheme_end + 3);
  // A trailing '/' is tolerated; a path is not.
  if (!rest.empty() && rest.back() == '/')
    rest.remove_suffix(1);
  auto at = rest.rfind('@');
  auto hostport = at == std::string_view::npos ? rest : rest.substr(at + 1);
  if (hostport.find_first_of("/?#") != std::string_view::npos)
    return bad(text, "a proxy URL has no path, query or fragment");
  if (at != std::string_view::npos) {
    if (auto why = read_credentials(rest.substr(0, at), spec))
      return bad(text, why);
  }
  if (auto why = read_host_port(hostport, spec))
    return bad(text, why);
  set_url_and_label(scheme, spec);
  return spec;
}

caf::expected<std::vector<std::string>> read_proxy_file(const std::string& path) {
  std::ifstream in{path};
  if (!in)
    return make_error(crawl_errc::invalid_url, "cannot read proxy file '" + path + "'");
  std::vector<std::string> out;
  std::size_t number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    // '#' starts a comment at the line's start or after a blank (a '#' inside
    // a password does not).
    std::size_t hash = 0;
    while ((hash = line.find('#', hash)) != std::string::npos && hash > 0 && line[hash - 1] != ' '
           && line[hash - 1] != '\t')
      ++hash;
    auto entry = text::trim(std::string_view{line}.substr(0, hash));
    if (entry.empty())
      continue;
    if (auto spec = parse_proxy(entry); !spec)
      return make_error(crawl_errc::invalid_url,
                        path + ":" + std::to_string(number) + ": bad proxy '" + mask_proxy(entry)
                          + "'");
    out.emplace_back(entry);
  }
  return out;
}

} // namespace arachne
