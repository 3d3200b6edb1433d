#include "arachne/url.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <memory>
#include <optional>

#include <boost/url.hpp>
#include <idn2.h>
#include <libpsl.h>

#include "arachne/errors.hpp"

namespace urls = boost::urls; // from <boost/url.hpp>

namespace arachne {

caf::expected<url> make_url(std::string spec, bool https, std::size_t host_len,
                            std::size_t authority_len, uint16_t port);

namespace {

bool is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

int hex_value(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  return (c | 0x20) - 'a' + 10;
}

void append_pct(std::string& out, unsigned char c) {
  static constexpr char digits[] = "0123456789ABCDEF";
  out += '%';
  out += digits[c >> 4];
  out += digits[c & 0x0F];
}

std::string pct_decode(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size() && is_hex(in[i + 1]) && is_hex(in[i + 2])) {
      out += static_cast<char>(hex_value(in[i + 1]) * 16 + hex_value(in[i + 2]));
      i += 2;
    } else {
      out += in[i];
    }
  }
  return out;
}

// Brings text as found in pages into a form RFC 3986 parsers accept, the way
// browsers do (WHATWG URL): surrounding spaces and controls go, tabs and line
// breaks inside vanish, a backslash before the query is a slash, and bytes that
// may not appear in a URL (spaces, quotes, non-ASCII UTF-8, a `%` that starts
// no escape, a second `#`) are percent-encoded.
std::string clean(std::string_view in) {
  auto is_trim = [](char c) { return static_cast<unsigned char>(c) <= 0x20; };
  while (!in.empty() && is_trim(in.front()))
    in.remove_prefix(1);
  while (!in.empty() && is_trim(in.back()))
    in.remove_suffix(1);
  std::string out;
  out.reserve(in.size() + 8);
  // Where the authority ends; '[' and ']' are legal only inside it.
  std::size_t authority_end = 0;
  {
    auto scheme_end = in.find("://");
    std::size_t start = std::string_view::npos;
    if (in.substr(0, 2) == "//")
      start = 2;
    else if (scheme_end != std::string_view::npos
             && in.find_first_of("/?#") == scheme_end + 1)
      start = scheme_end + 3;
    if (start != std::string_view::npos) {
      auto end = in.find_first_of("/?#\\", start);
      authority_end = end == std::string_view::npos ? in.size() : end;
    }
  }
  bool in_query_or_fragment = false;
  bool seen_fragment = false;
  for (std::size_t i = 0; i < in.size(); ++i) {
    auto c = static_cast<unsigned char>(in[i]);
    if (c == '\t' || c == '\n' || c == '\r')
      continue;
    switch (c) {
      case '\\':
        if (in_query_or_fragment)
          append_pct(out, c);
        else
          out += '/';
        continue;
      case '%':
        if (i + 2 < in.size() && is_hex(in[i + 1]) && is_hex(in[i + 2]))
          out += '%';
        else
          out += "%25";
        continue;
      case '?':
        in_query_or_fragment = true;
        out += '?';
        continue;
      case '#':
        if (seen_fragment) {
          append_pct(out, c);
        } else {
          seen_fragment = in_query_or_fragment = true;
          out += '#';
        }
        continue;
      case '[':
      case ']':
        if (i < authority_end)
          out += static_cast<char>(c);
        else
          append_pct(out, c);
        continue;
      case ' ':
      case '"':
      case '<':
      case '>':
      case '`':
      case '{':
      case '}':
      case '|':
      case '^':
        append_pct(out, c);
        continue;
      default:
        if (c < 0x20 || c >= 0x7F)
          append_pct(out, c);
        else
          out += static_cast<char>(c);
    }
  }
  return out;
}

bool unreserved(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'
         || c == '.' || c == '_' || c == '~';
}

// Decodes escapes of unreserved characters and upper-cases the others
// (RFC 3986 section 6.2.2.2).
std::string normalize_pct(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%' && i + 2 < in.size() && is_hex(in[i + 1]) && is_hex(in[i + 2])) {
      auto c = static_cast<char>(hex_value(in[i + 1]) * 16 + hex_value(in[i + 2]));
      if (unreserved(c)) {
        out += c;
      } else {
        out += '%';
        out += static_cast<char>(std::toupper(static_cast<unsigned char>(in[i + 1])));
        out += static_cast<char>(std::toupper(static_cast<unsigned char>(in[i + 2])));
      }
      i += 2;
    } else {
      out += in[i];
    }
  }
  return out;
}

// RFC 3986 section 5.2.4 for an absolute path ("" counts as "/"); ".." never
// climbs above the root.
std::string remove_dot_segments(std::string_view path) {
  std::vector<std::string_view> out;
  bool trailing_slash = false;
  if (!path.empty() && path.front() == '/')
    path.remove_prefix(1);
  while (true) {
    auto slash = path.find('/');
    auto seg = path.substr(0, slash);
    bool last = slash == std::string_view::npos;
    if (seg == ".") {
      trailing_slash = last;
    } else if (seg == "..") {
      if (!out.empty())
        out.pop_back();
      trailing_slash = last;
    } else {
      out.push_back(seg);
      trailing_slash = false;
    }
    if (last)
      break;
    path.remove_prefix(slash + 1);
  }
  std::string result;
  for (auto seg : out) {
    result += '/';
    result += seg;
  }
  if (trailing_slash || result.empty())
    result += '/';
  return result;
}

caf::error invalid(std::string reason) {
  return make_error(crawl_errc::invalid_url, std::move(reason));
}

// Hosts may not contain these once decoded (WHATWG's forbidden host code points).
bool forbidden_host_char(unsigned char c) {
  return c <= 0x20 || c == 0x7F || c == '#' || c == '%' || c == '/' || c == ':'
         || c == '<' || c == '>' || c == '?' || c == '@' || c == '[' || c == '\\'
         || c == ']' || c == '^' || c == '|';
}

// The host in its canonical ASCII form: lower case, IDNA (UTS #46) for Unicode.
caf::expected<std::string> canonical_host(const urls::url& u) {
  switch (u.host_type()) {
    case urls::host_type::ipv4:
      return std::string(u.encoded_host());
    case urls::host_type::ipv6:
      return "[" + u.host_ipv6_address().to_string() + "]";
    case urls::host_type::ipvfuture:
      return invalid("unsupported IP literal in host");
    default:
      break;
  }
  auto host = pct_decode(u.encoded_host());
  if (host.empty())
    return invalid("empty host");
  bool ascii = std::all_of(host.begin(), host.end(),
                           [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  if (!ascii) {
    char* out = nullptr;
    auto rc = idn2_to_ascii_8z(host.c_str(), &out, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
    if (rc != IDN2_OK) {
      auto reason = std::string{"invalid internationalised host: "} + idn2_strerror(rc);
      return invalid(std::move(reason));
    }
    host = out;
    idn2_free(out);
  }
  for (auto& c : host) {
    if (forbidden_host_char(static_cast<unsigned char>(c)))
      return invalid("forbidden character in host");
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c | 0x20);
  }
  if (host.size() > 253)
    return invalid("host longer than 253 characters");
  return host;
}

bool param_stripped(std::string_view key, const std::vector<std::string>& patterns) {
  for (auto& p : patterns) {
    if (!p.empty() && p.back() == '*') {
      if (key.substr(0, p.size() - 1) == std::string_view{p}.substr(0, p.size() - 1))
        return true;
    } else if (key == p) {
      return true;
    }
  }
  return false;
}

std::string canonical_query(std::string_view q, const url_options& opts) {
  if (opts.query == url_options::query_mode::drop)
    return {};
  if (opts.strip_params.empty() && opts.query == url_options::query_mode::keep)
    return std::string{q};
  std::vector<std::string_view> params;
  while (!q.empty()) {
    auto amp = q.find('&');
    auto param = q.substr(0, amp);
    q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
    if (param.empty())
      continue;
    auto key = pct_decode(param.substr(0, param.find('=')));
    if (!param_stripped(key, opts.strip_params))
      params.push_back(param);
  }
  if (opts.query == url_options::query_mode::sort)
    std::stable_sort(params.begin(), params.end());
  std::string out;
  for (auto p : params) {
    if (!out.empty())
      out += '&';
    out += p;
  }
  return out;
}

// Turns a resolved URL into its canonical text and checks what a crawler needs.
caf::expected<url> finish(urls::url& u, const url_options& opts) {
  auto scheme = u.scheme_id();
  if (scheme != urls::scheme::http && scheme != urls::scheme::https) {
    return make_error(crawl_errc::unsupported_scheme,
                      "unsupported scheme '" + std::string(u.scheme()) + "'");
  }
  if (!u.has_authority())
    return invalid("no host");
  auto host = canonical_host(u);
  if (!host)
    return std::move(host.error());
  bool https = scheme == urls::scheme::https;
  uint16_t port = https ? 443 : 80;
  if (u.has_port() && !u.port().empty()) {
    auto p = u.port();
    if (p.size() > 5 || !std::all_of(p.begin(), p.end(), [](char c) { return c >= '0' && c <= '9'; }))
      return invalid("invalid port");
    auto n = std::strtoul(std::string(p).c_str(), nullptr, 10);
    if (n == 0 || n > 65535)
      return invalid("port out of range");
    port = static_cast<uint16_t>(n);
  }
  auto raw_path = u.encoded_path();
  if (!raw_path.empty() && raw_path.front() != '/')
    return invalid("path does not start with '/'");
  // Boost.URL 1.81's normalize() decodes %2F into '/', changing the path, and
  // its resolve() keeps ".." segments above the root (boostorg/url#808), so
  // percent-encoding and dot segments are normalised here.
  auto path = remove_dot_segments(normalize_pct(raw_path));
  std::string query = u.has_query() ? canonical_query(normalize_pct(u.encoded_query()), opts)
                                    : std::string{};
  std::string spec;
  spec.reserve(8 + host->size() + 6 + path.size() + query.size() + 1);
  spec += https ? "https://" : "http://";
  spec += *host;
  if (port != (https ? 443 : 80)) {
    spec += ':';
    spec += std::to_string(port);
  }
  auto authority_len = spec.size() - (https ? 8 : 7);
  spec += path;
  if (!query.empty()) {
    spec += '?';
    spec += query;
  }
  if (spec.size() > opts.max_length)
    return invalid("longer than " + std::to_string(opts.max_length) + " characters");
  return make_url(std::move(spec), https, host->size(), authority_len, port);
}

} // namespace

caf::expected<url> make_url(std::string spec, bool https, std::size_t host_len,
                            std::size_t authority_len, uint16_t port) {
  if (spec.size() > UINT16_MAX)
    return invalid("URL too long");
  url u;
  u.spec_ = std::move(spec);
  u.https_ = https;
  u.host_len_ = static_cast<uint16_t>(host_len);
  u.authority_len_ = static_cast<uint16_t>(authority_len);
  u.port_ = port;
  return u;
}

std::string_view url::scheme() const noexcept {
  return https_ ? std::string_view{"https"} : std::string_view{"http"};
}

std::string_view url::host() const noexcept {
  return std::string_view{spec_}.substr(https_ ? 8 : 7, host_len_);
}

std::string_view url::hostname() const noexcept {
  auto h = host();
  if (h.size() >= 2 && h.front() == '[')
    return h.substr(1, h.size() - 2);
  return h;
}

std::string_view url::authority() const noexcept {
  return std::string_view{spec_}.substr(https_ ? 8 : 7, authority_len_);
}

std::string_view url::target() const noexcept {
  if (spec_.empty())
    return {};
  return std::string_view{spec_}.substr((https_ ? 8 : 7) + authority_len_);
}

std::string_view url::path() const noexcept {
  auto t = target();
  return t.substr(0, t.find('?'));
}

std::string_view url::query() const noexcept {
  auto t = target();
  auto q = t.find('?');
  return q == std::string_view::npos ? std::string_view{} : t.substr(q + 1);
}

namespace {
std::optional<caf::expected<url>> resolve_plain_absolute(std::string_view ref,
                                                         const url_options& opts);
} // namespace

caf::expected<url> parse_url(std::string_view text, const url_options& opts) {
  if (text.size() > 4 * opts.max_length + 64)
    return invalid("longer than " + std::to_string(opts.max_length) + " characters");
  // URLs the crawl made itself are canonical already: the fast path reads them.
  if (auto plain = resolve_plain_absolute(text, opts))
    return std::move(*plain);
  return detail::parse_url_general(text, opts);
}

caf::expected<url> detail::parse_url_general(std::string_view text, const url_options& opts) {
  if (text.size() > 4 * opts.max_length + 64)
    return invalid("longer than " + std::to_string(opts.max_length) + " characters");
  auto cleaned = clean(text);
  auto ref = urls::parse_uri_reference(cleaned);
  if (!ref)
    return invalid("not a URL (" + ref.error().message() + ")");
  if (!ref->has_scheme())
    return invalid("relative URL without a base");
  urls::url u{*ref};
  u.remove_fragment();
  u.remove_userinfo();
  return finish(u, opts);
}

namespace {

// Characters an absolute-path reference may hold without any rewriting:
// unreserved, sub-delims, ':', '@', '/', '?' (no '%', no '\\', no spaces or
// controls, nothing clean() would percent-encode).
constexpr bool plain_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'
         || c == '.' || c == '_' || c == '~' || c == '!' || c == '$' || c == '&' || c == '\''
         || c == '(' || c == ')' || c == '*' || c == '+' || c == ',' || c == ';' || c == '='
         || c == ':' || c == '@' || c == '/' || c == '?';
}

// The common link, "/path?query", needs no general resolution: it is the
// base's origin plus the reference, when the reference has no dot segments,
// no percent-escapes and nothing to clean. Returns nullopt for anything else
// (the general path then decides, with the same result for these).
// A host that is already canonical: lower-case LDH labels (no IDNA), or a
// dotted quad without leading zeros. Anything else takes the general path.
bool plain_host(std::string_view h) noexcept {
  if (h.empty() || h.size() > 253 || h.front() == '.' || h.back() == '.' || h.front() == '-')
    return false;
  bool all_digits = true;
  std::size_t label = 0;
  for (std::size_t i = 0; i < h.size(); ++i) {
    char c = h[i];
    if (c == '.') {
      if (label == 0)
        return false;
      label = 0;
      continue;
    }
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
      return false;
    all_digits = all_digits && c >= '0' && c <= '9';
    if (++label > 63)
      return false;
  }
  if (h.find("xn--") != std::string_view::npos)
    return false; // punycode: validated by the general path
  if (!all_digits)
    return h.back() < '0' || h.back() > '9'; // "a.1" (numeric last label): general path
  // Digits and dots only: four parts 0-255, no leading zeros.
  int parts = 0;
  std::size_t start = 0;
  while (start <= h.size()) {
    auto end = h.find('.', start);
    auto part = h.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (part.empty() || part.size() > 3 || (part.size() > 1 && part[0] == '0'))
      return false;
    int v = 0;
    for (char c : part)
      v = v * 10 + (c - '0');
    if (v > 255)
      return false;
    ++parts;
    if (end == std::string_view::npos)
      break;
    start = end + 1;
  }
  return parts == 4;
}

// What plain resolution needs of a base: its scheme, canonical authority
// ("host" or "host:port") and the directory relative paths start in.
struct plain_base {
  bool https = false;
  std::string_view authority;
  std::size_t host_len = 0;
  uint16_t port = 0;
  std::string_view path; // "/" at least
};

plain_base plain_base_of(const url& base) {
  return {base.is_https(), base.authority(), base.host().size(), base.port(), base.path()};
}

// A reference made of plain characters only, resolved against `base`:
// "/a/b?q", "page.html", "../x/y". Returns nullopt for anything else.
std::optional<caf::expected<url>> resolve_plain(const plain_base& base, std::string_view ref,
                                                const url_options& opts) {
  if (ref.empty() || ref[0] == '?' || ref[0] == '#' || (ref.size() > 1 && ref[0] == '/' && ref[1] == '/'))
    return std::nullopt;
  auto hash = ref.find('#');
  auto body = ref.substr(0, hash);
  auto qmark = body.find('?');
  auto path = body.substr(0, qmark);
  for (char c : body)
    if (!plain_char(c))
      return std::nullopt;
  // A relative path ("page.html", "../x/y"): leading "./" and "../" step
  // through the base's directory (never above the root), the rest is plain.
  std::string joined;
  if (path.empty() || path[0] != '/') {
    auto first_segment = path.substr(0, path.find('/'));
    if (first_segment.find(':') != std::string_view::npos)
      return std::nullopt; // "mailto:x", "a:b": a scheme, or ambiguous
    joined.assign(base.path.substr(0, base.path.rfind('/') + 1)); // its directory, "/" at least
    for (;;) {
      if (path.substr(0, 2) == "./") {
        path.remove_prefix(2);
      } else if (path.substr(0, 3) == "../") {
        path.remove_prefix(3);
        if (joined.size() > 1) {
          joined.pop_back();
          joined.erase(joined.rfind('/') + 1);
        }
      } else {
        break;
      }
    }
    if (path.empty() || path == "." || path == "..")
      return std::nullopt;
    joined += path;
    path = joined;
  }
  // Dot segments ("/./", "/../", a trailing "/." or "/..") need removing.
  for (auto i = path.find("/."); i != std::string_view::npos; i = path.find("/.", i + 1)) {
    auto rest = path.substr(i + 2);
    if (rest.empty() || rest[0] == '/' || (rest[0] == '.' && (rest.size() == 1 || rest[1] == '/')))
      return std::nullopt;
  }
  std::string spec;
  std::string query;
  if (qmark != std::string_view::npos)
    query = canonical_query(body.substr(qmark + 1), opts);
  spec.reserve(8 + base.authority.size() + path.size() + 1 + query.size());
  spec += base.https ? "https://" : "http://";
  spec += base.authority;
  spec += path;
  if (!query.empty()) {
    spec += '?';
    spec += query;
  }
  if (spec.size() > opts.max_length)
    return caf::expected<url>{invalid("longer than " + std::to_string(opts.max_length) + " characters")};
  return make_url(std::move(spec), base.https, base.host_len, base.authority.size(), base.port);
}

// The common link to another origin, "host[:port]/path?query" after its
// "http(s)://" or "//", with a canonical host and a plain path: put together
// without the general machinery. Returns nullopt for anything else.
std::optional<caf::expected<url>> resolve_plain_origin(bool https, std::string_view rest,
                                                       const url_options& opts) {
  auto end = rest.find_first_of("/?#");
  auto authority = rest.substr(0, end);
  auto colon = authority.find(':');
  auto host = authority.substr(0, colon);
  if (!plain_host(host))
    return std::nullopt;
  uint16_t port = https ? 443 : 80;
  if (colon != std::string_view::npos) {
    auto digits = authority.substr(colon + 1);
    if (digits.empty() || digits.size() > 5 || digits[0] == '0')
      return std::nullopt;
    uint32_t n = 0;
    for (char c : digits) {
      if (c < '0' || c > '9')
        return std::nullopt;
      n = n * 10 + static_cast<uint32_t>(c - '0');
    }
    if (n == 0 || n > 65535)
      return std::nullopt;
    if (n == port)
      authority = host; // a default port written out is dropped
    port = static_cast<uint16_t>(n);
  }
  plain_base base{https, authority, host.size(), port, "/"};
  auto tail = end == std::string_view::npos ? std::string_view{} : rest.substr(end);
  if (tail.empty() || tail[0] != '/') {
    // "http://host", "http://host?q": the path is "/".
    std::string with_slash = "/";
    with_slash += tail;
    return resolve_plain(base, with_slash, opts);
  }
  return resolve_plain(base, tail, opts);
}

// An absolute "http(s)://..." link through resolve_plain_origin.
std::optional<caf::expected<url>> resolve_plain_absolute(std::string_view ref,
                                                         const url_options& opts) {
  if (ref.substr(0, 8) == "https://")
    return resolve_plain_origin(true, ref.substr(8), opts);
  if (ref.substr(0, 7) == "http://")
    return resolve_plain_origin(false, ref.substr(7), opts);
  return std::nullopt;
}

} // namespace

caf::expected<url> resolve_url(const url& base, std::string_view ref_text,
                               const url_options& opts) {
  if (ref_text.size() > 4 * opts.max_length + 64)
    return invalid("longer than " + std::to_string(opts.max_length) + " characters");
  // The fast paths see the reference as clean() would start it: without the
  // spaces and controls around it (any left inside send it the general way).
  auto trimmed = ref_text;
  while (!trimmed.empty() && static_cast<unsigned char>(trimmed.front()) <= 0x20)
    trimmed.remove_prefix(1);
  while (!trimmed.empty() && static_cast<unsigned char>(trimmed.back()) <= 0x20)
    trimmed.remove_suffix(1);
  if (auto plain = resolve_plain(plain_base_of(base), trimmed, opts))
    return std::move(*plain);
  if (trimmed.substr(0, 2) == "//") {
    if (auto plain = resolve_plain_origin(base.is_https(), trimmed.substr(2), opts))
      return std::move(*plain);
  } else if (auto plain = resolve_plain_absolute(trimmed, opts)) {
    return std::move(*plain);
  }
  auto cleaned = clean(ref_text);
  auto ref = urls::parse_uri_reference(cleaned);
  if (!ref)
    return invalid("not a URL (" + ref.error().message() + ")");
  if (ref->has_scheme() && ref->scheme_id() != urls::scheme::http
      && ref->scheme_id() != urls::scheme::https) {
    return make_error(crawl_errc::unsupported_scheme,
                      "unsupported scheme '" + std::string(ref->scheme()) + "'");
  }
  auto base_view = urls::parse_uri(base.str());
  if (!base_view)
    return invalid("base is not an absolute URL");
  urls::url u;
  if (auto r = urls::resolve(*base_view, *ref, u); !r)
    return invalid("cannot resolve (" + r.error().message() + ")");
  u.remove_fragment();
  u.remove_userinfo();
  return finish(u, opts);
}

std::string_view host_key(const url& u) noexcept {
  return u.hostname();
}

std::string registrable_domain(std::string_view host) {
  std::string h{host};
  if (h.empty() || h.front() == '[')
    return h;
  if (auto v4 = urls::parse_ipv4_address(h); v4)
    return h;
  // Loaded once: the list Debian's publicsuffix package keeps up to date, or
  // libpsl's built-in copy. psl_ctx_t is read-only after loading.
  static const psl_ctx_t* ctx = [] {
    auto* latest = psl_latest(nullptr);
    return latest ? latest : psl_builtin();
  }();
  if (ctx != nullptr) {
    if (auto* rd = psl_registrable_domain(ctx, h.c_str()))
      return std::string{rd};
    return h;
  }
  // No list at all: the last two labels.
  auto last = h.rfind('.');
  if (last == std::string::npos || last == 0)
    return h;
  auto prev = h.rfind('.', last - 1);
  return prev == std::string::npos ? h : h.substr(prev + 1);
}

std::string_view url_host(std::string_view u) noexcept {
  auto scheme = u.find("://");
  if (scheme == std::string_view::npos)
    return {};
  auto start = scheme + 3;
  auto end = u.find_first_of("/?#", start);
  auto authority = u.substr(start, end == std::string_view::npos ? u.size() - start : end - start);
  if (!authority.empty() && authority.front() == '[') {
    auto close = authority.find(']');
    return authority.substr(1, close == std::string_view::npos ? authority.size() - 1 : close - 1);
  }
  return authority.substr(0, authority.find(':'));
}

} // namespace arachne
