#include "arachne/url.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <memory>
#include <optional>

#include <libpsl.h>

#include "arachne/errors.hpp"
#include "url/host.hpp"
#include "url/parser.hpp"
#include "url/percent.hpp"

namespace arachne {

caf::expected<url> make_url(std::string spec, bool https, std::size_t host_len,
                            std::size_t authority_len, uint16_t port);

namespace {

using url_detail::escape_at;
using url_detail::hex_value;
using url_detail::percent_decode;

bool unreserved(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'
         || c == '.' || c == '_' || c == '~';
}

caf::error invalid(std::string reason) {
  return make_error(crawl_errc::invalid_url, std::move(reason));
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
    auto key = percent_decode(param.substr(0, param.find('=')));
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

// Appends "?query" to a URL being built: the query as the options want it.
// An empty query ("/p?") is kept, as the standard keeps it; one that the
// options empty (all parameters stripped, or dropped) goes with its '?'.
void append_query(std::string& spec, bool has_query, std::string_view query,
                  const url_options& opts) {
  if (!has_query || opts.query == url_options::query_mode::drop)
    return;
  if (query.empty()) {
    spec += '?';
    return;
  }
  auto canonical = canonical_query(query, opts);
  if (canonical.empty())
    return;
  spec += '?';
  spec += canonical;
}

// Arachne's normalisation of what the standard's parser returns: escapes of
// unreserved characters decoded, the others' hex digits upper case (RFC 3986
// section 6.2.2.2), the query as the options say; then the length limit.
caf::expected<url> from_parts(const url_detail::url_parts& p, const url_options& opts) {
  auto path = normalize_percent_encoding(p.path);
  std::string spec;
  spec.reserve(8 + p.host.size() + 6 + path.size() + p.query.size() + 1);
  spec += p.https ? "https://" : "http://";
  spec += p.host;
  if (p.port != (p.https ? 443 : 80)) {
    spec += ':';
    spec += std::to_string(p.port);
  }
  auto authority_len = spec.size() - (p.https ? 8 : 7);
  spec += path;
  append_query(spec, p.has_query, normalize_percent_encoding(p.query), opts);
  if (spec.size() > opts.max_length)
    return invalid("longer than " + std::to_string(opts.max_length) + " characters");
  return make_url(std::move(spec), p.https, p.host.size(), authority_len, p.port);
}

} // namespace

std::string normalize_percent_encoding(std::string_view in) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    auto c = static_cast<unsigned char>(in[i]);
    if (escape_at(in, i)) {
      auto decoded = static_cast<char>(hex_value(in[i + 1]) * 16 + hex_value(in[i + 2]));
      // A decoded hex digit must not complete an escape with a lone '%'
      // before it ("%3%65" is not "%3e"): then it stays encoded.
      auto n = out.size();
      bool joins = hex_value(decoded) >= 0
                   && ((n >= 1 && out[n - 1] == '%') || (n >= 2 && out[n - 2] == '%'
                                                          && hex_value(out[n - 1]) >= 0));
      if (unreserved(decoded) && !joins)
        out += decoded;
      else
        url_detail::append_escape(out, static_cast<unsigned char>(decoded));
      i += 2;
    } else if (c <= 0x20 || c >= 0x7F) {
      url_detail::append_escape(out, c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

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
  auto parts = url_detail::parse_http_url(text, nullptr);
  if (!parts)
    return std::move(parts.error());
  return from_parts(*parts, opts);
}

namespace {

// Characters a reference may hold that the standard's parser copies as they
// are, in the path and the query alike (but for '\'' in a query):
// unreserved, sub-delims, ':', '@', '/', '?'. No '%', no '\\', no spaces or
// controls: nothing to decode, encode or drop.
constexpr bool plain_char(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'
         || c == '.' || c == '_' || c == '~' || c == '!' || c == '$' || c == '&' || c == '\''
         || c == '(' || c == ')' || c == '*' || c == '+' || c == ',' || c == ';' || c == '='
         || c == ':' || c == '@' || c == '/' || c == '?';
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
  if (qmark != std::string_view::npos && body.find('\'', qmark) != std::string_view::npos)
    return std::nullopt; // encoded as %27 in a query
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
  spec.reserve(8 + base.authority.size() + body.size() + 1);
  spec += base.https ? "https://" : "http://";
  spec += base.authority;
  spec += path;
  if (qmark != std::string_view::npos)
    append_query(spec, true, body.substr(qmark + 1), opts);
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
  if (!url_detail::is_plain_host(host))
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
  // The fast paths see the reference as the standard's parser starts it:
  // without the spaces and controls around it (any left inside send it the
  // general way).
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
  return detail::resolve_url_general(base, ref_text, opts);
}

caf::expected<url> detail::resolve_url_general(const url& base, std::string_view ref_text,
                                               const url_options& opts) {
  if (ref_text.size() > 4 * opts.max_length + 64)
    return invalid("longer than " + std::to_string(opts.max_length) + " characters");
  auto has_query = base.target().find('?') != std::string_view::npos;
  url_detail::url_base parent{base.is_https(), base.host(), base.port(), base.path(), has_query,
                              base.query()};
  auto parts = url_detail::parse_http_url(ref_text, &parent);
  if (!parts)
    return std::move(parts.error());
  return from_parts(*parts, opts);
}

std::string_view host_key(const url& u) noexcept {
  return u.hostname();
}

namespace {

// Loaded once: the list Debian's publicsuffix package keeps up to date, or
// libpsl's built-in copy. psl_ctx_t is read-only after loading.
const psl_ctx_t* suffix_list() {
  static const psl_ctx_t* ctx = [] {
    auto* latest = psl_latest(nullptr);
    return latest ? latest : psl_builtin();
  }();
  return ctx;
}

} // namespace

bool is_public_suffix(std::string_view host) {
  // A fully qualified name's final dot is not a label: libpsl would not
  // find "co.uk." in the list (it does find "com.", by the default rule).
  if (host.size() > 1 && host.back() == '.')
    host.remove_suffix(1);
  std::string h{host};
  if (h.empty() || h.front() == '[' || h.find(':') != std::string::npos
      || url_detail::is_ipv4_literal(h))
    return false;
  auto* ctx = suffix_list();
  if (ctx != nullptr)
    return psl_is_public_suffix(ctx, h.c_str()) != 0;
  return h.find('.') == std::string::npos; // no list: a single label
}

std::string registrable_domain(std::string_view host) {
  std::string h{host};
  if (h.empty() || h.front() == '[')
    return h;
  if (url_detail::is_ipv4_literal(h))
    return h;
  auto* ctx = suffix_list();
  if (ctx != nullptr) {
    // (Looked up without a fully qualified name's final dot, given back with it.)
    auto dot = h.size() > 1 && h.back() == '.';
    auto name = dot ? h.substr(0, h.size() - 1) : h;
    if (auto* rd = psl_registrable_domain(ctx, name.c_str()))
      return std::string{rd} + (dot ? "." : "");
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
