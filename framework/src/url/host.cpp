#include "url/host.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>

#include <idn2.h>

#include "arachne/errors.hpp"
#include "url/percent.hpp"
#include "text.hpp"

namespace arachne::url_detail {

namespace {

caf::error invalid(std::string reason) {
  return make_error(crawl_errc::invalid_url, std::move(reason));
}

bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

// -- IPv6 (WHATWG URL 3.5, "IPv6 parser" and "IPv6 serializer") --

using ipv6_address = std::array<uint16_t, 8>;

// The IPv6 parser's steps for an IPv4 address from `p` to the end of `in`:
// its four numbers go into `address` from `piece` on, two to a piece.
bool parse_ipv4_pieces(std::string_view in, std::size_t p, ipv6_address& address,
                       std::size_t& piece) {
  auto at = [&](std::size_t i) { return i < in.size() ? in[i] : '\0'; };
  int numbers_seen = 0;
  while (p < in.size()) {
    if (numbers_seen > 0) {
      if (in[p] != '.' || numbers_seen >= 4)
        return false;
      ++p;
    }
    if (!is_digit(at(p)))
      return false;
    int v4 = -1;
    while (is_digit(at(p))) {
      if (v4 == 0)
        return false; // a leading zero
      v4 = (v4 < 0 ? 0 : v4 * 10) + (in[p] - '0');
      if (v4 > 255)
        return false;
      ++p;
    }
    address[piece] = static_cast<uint16_t>(address[piece] * 0x100 + v4);
    if (++numbers_seen == 2 || numbers_seen == 4)
      ++piece;
  }
  return numbers_seen == 4;
}

std::optional<ipv6_address> parse_ipv6(std::string_view in) {
  ipv6_address address{};
  std::size_t piece = 0;
  std::optional<std::size_t> compress;
  std::size_t p = 0;
  auto at = [&](std::size_t i) { return i < in.size() ? in[i] : '\0'; };
  if (at(p) == ':') {
    if (at(p + 1) != ':')
      return std::nullopt;
    p += 2;
    compress = ++piece;
  }
  while (p < in.size()) {
    if (piece == 8)
      return std::nullopt;
    if (in[p] == ':') {
      if (compress)
        return std::nullopt;
      ++p;
      compress = ++piece;
      continue;
    }
    unsigned value = 0;
    std::size_t length = 0;
    while (length < 4 && hex_value(at(p)) >= 0) {
      value = value * 16 + static_cast<unsigned>(hex_value(in[p]));
      ++p;
      ++length;
    }
    if (at(p) == '.') {
      // An IPv4 address in the last two pieces ("::ffff:1.2.3.4").
      if (length == 0 || piece > 6 || !parse_ipv4_pieces(in, p - length, address, piece))
        return std::nullopt;
      break;
    }
    if (at(p) == ':') {
      if (++p == in.size())
        return std::nullopt;
    } else if (p < in.size()) {
      return std::nullopt;
    }
    address[piece++] = static_cast<uint16_t>(value);
  }
  if (compress) {
    auto swaps = piece - *compress;
    piece = 7;
    while (piece != 0 && swaps > 0) {
      std::swap(address[piece], address[*compress + swaps - 1]);
      --piece;
      --swaps;
    }
  } else if (piece != 8) {
    return std::nullopt;
  }
  return address;
}

std::string serialize_ipv6(const ipv6_address& a) {
  // The first longest run of two or more zero pieces becomes "::".
  std::size_t best = 8, best_len = 1;
  for (std::size_t i = 0; i < 8;) {
    std::size_t j = i;
    while (j < 8 && a[j] == 0)
      ++j;
    if (j - i > best_len) {
      best = i;
      best_len = j - i;
    }
    i = j == i ? i + 1 : j;
  }
  static constexpr char digits[] = "0123456789abcdef";
  std::string out = "[";
  for (std::size_t i = 0; i < 8; ++i) {
    if (i == best) {
      out += i == 0 ? "::" : ":";
      i += best_len - 1;
      continue;
    }
    bool started = false;
    for (int shift = 12; shift >= 0; shift -= 4) {
      auto d = (a[i] >> shift) & 0xF;
      if (d != 0 || started || shift == 0) {
        out += digits[d];
        started = true;
      }
    }
    if (i != 7)
      out += ':';
  }
  out += ']';
  return out;
}

// -- IPv4 (WHATWG URL 3.5, "IPv4 parser", "ends in a number checker") --

// One part: decimal, octal after a leading 0, hex after 0x; at most 2^32
// (anything larger saturates: it fails later either way).
std::optional<uint64_t> parse_ipv4_number(std::string_view in) {
  if (in.empty())
    return std::nullopt;
  int radix = 10;
  if (in.size() >= 2 && in[0] == '0' && (in[1] == 'x' || in[1] == 'X')) {
    in.remove_prefix(2);
    radix = 16;
  } else if (in.size() >= 2 && in[0] == '0') {
    in.remove_prefix(1);
    radix = 8;
  }
  uint64_t value = 0;
  for (char c : in) {
    int d = hex_value(c);
    if (d < 0 || d >= radix)
      return std::nullopt;
    value = std::min<uint64_t>(value * static_cast<uint64_t>(radix) + static_cast<uint64_t>(d),
                               uint64_t{1} << 33);
  }
  return value;
}

std::vector<std::string_view> split_dots(std::string_view in) {
  std::vector<std::string_view> parts;
  for (;;) {
    auto dot = in.find('.');
    parts.push_back(in.substr(0, dot));
    if (dot == std::string_view::npos)
      return parts;
    in.remove_prefix(dot + 1);
  }
}

// True if `pred` holds for some dot-separated label of `domain` (no
// allocation: the fast path asks this of every absolute link).
template <class Predicate>
bool any_label(std::string_view domain, Predicate pred) {
  for (;;) {
    auto dot = domain.find('.');
    if (pred(domain.substr(0, dot)))
      return true;
    if (dot == std::string_view::npos)
      return false;
    domain.remove_prefix(dot + 1);
  }
}

bool ends_in_a_number(std::string_view domain) {
  // The last label, not counting one empty label after a final dot.
  if (domain.empty())
    return false;
  if (domain.back() == '.')
    domain.remove_suffix(1);
  auto last = domain.substr(domain.rfind('.') + 1); // (npos + 1 == 0)
  if (!last.empty() && std::all_of(last.begin(), last.end(), is_digit))
    return true;
  return parse_ipv4_number(last).has_value();
}

caf::expected<std::string> parse_ipv4(std::string_view domain) {
  auto parts = split_dots(domain);
  if (parts.back().empty() && parts.size() > 1)
    parts.pop_back();
  if (parts.size() > 4)
    return invalid("IPv4 address with more than four parts");
  std::vector<uint64_t> numbers;
  for (auto part : parts) {
    auto n = parse_ipv4_number(part);
    if (!n)
      return invalid("host ends in a number but is no IPv4 address");
    numbers.push_back(*n);
  }
  for (std::size_t i = 0; i + 1 < numbers.size(); ++i)
    if (numbers[i] > 255)
      return invalid("IPv4 address part above 255");
  if (numbers.back() >= (uint64_t{1} << (8 * (5 - numbers.size()))))
    return invalid("IPv4 address out of range");
  uint64_t ipv4 = numbers.back();
  for (std::size_t i = 0; i + 1 < numbers.size(); ++i)
    ipv4 += numbers[i] << (8 * (3 - i));
  std::string out;
  for (int shift = 24; shift >= 0; shift -= 8) {
    out += std::to_string((ipv4 >> shift) & 0xFF);
    if (shift != 0)
      out += '.';
  }
  return out;
}

// -- domains --

bool valid_utf8(std::string_view s) noexcept {
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = c < 0x80 ? 0 : (c >> 5) == 0x6 ? 1 : (c >> 4) == 0xE ? 2 : (c >> 3) == 0x1E ? 3 : 9;
    if (n == 9 || i + n >= s.size())
      return false;
    uint32_t cp = n == 0 ? c : c & (0x3F >> n);
    for (std::size_t k = 1; k <= n; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80)
        return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000)
        || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return false;
    i += n + 1;
  }
  return true;
}

bool has_xn_label(std::string_view domain) noexcept {
  return any_label(domain, [](std::string_view label) {
    return label.size() >= 4 && (label[0] | 0x20) == 'x' && (label[1] | 0x20) == 'n'
           && label[2] == '-' && label[3] == '-';
  });
}

// Forbidden domain code points: the forbidden host code points, C0
// controls, '%' and DEL.
bool forbidden_in_domain(unsigned char c) noexcept {
  return c <= 0x20 || c == 0x7F || c == '#' || c == '%' || c == '/' || c == ':' || c == '<'
         || c == '>' || c == '?' || c == '@' || c == '[' || c == '\\' || c == ']' || c == '^'
         || c == '|';
}

// "domain to ASCII" with beStrict false: ASCII without an "xn--" label is
// only lower-cased; anything else goes through UTS #46 (non-transitional).
caf::expected<std::string> domain_to_ascii(std::string domain) {
  bool ascii = std::all_of(domain.begin(), domain.end(),
                           [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  if (ascii && !has_xn_label(domain)) {
    domain = text::lower(domain);
  } else {
    char* out = nullptr;
    auto rc = idn2_to_ascii_8z(domain.c_str(), &out, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
    if (rc != IDN2_OK)
      return invalid(std::string{"invalid internationalised host: "} + idn2_strerror(rc));
    domain = out;
    idn2_free(out);
  }
  if (domain.empty())
    return invalid("empty host");
  return domain;
}

} // namespace

caf::expected<std::string> parse_host(std::string_view input) {
  if (input.empty())
    return invalid("empty host");
  if (input.front() == '[') {
    if (input.back() != ']')
      return invalid("IPv6 address without its closing ']'");
    auto address = parse_ipv6(input.substr(1, input.size() - 2));
    if (!address)
      return invalid("invalid IPv6 address");
    return serialize_ipv6(*address);
  }
  auto domain = percent_decode(input);
  if (!valid_utf8(domain))
    return invalid("host is not UTF-8");
  auto ascii = domain_to_ascii(std::move(domain));
  if (!ascii)
    return ascii;
  for (char c : *ascii)
    if (forbidden_in_domain(static_cast<unsigned char>(c)))
      return invalid("forbidden character in host");
  if (ends_in_a_number(*ascii))
    return parse_ipv4(*ascii);
  return ascii;
}

bool is_ipv4_literal(std::string_view h) noexcept {
  int parts = 0;
  bool bad = any_label(h, [&](std::string_view part) {
    ++parts;
    if (part.empty() || part.size() > 3 || (part.size() > 1 && part[0] == '0')
        || !std::all_of(part.begin(), part.end(), is_digit))
      return true;
    int v = 0;
    for (char c : part)
      v = v * 10 + (c - '0');
    return v > 255;
  });
  return !bad && parts == 4;
}

bool is_plain_host(std::string_view h) noexcept {
  if (h.empty())
    return false;
  bool all_digits_and_dots = true;
  for (char c : h) {
    if (!((c >= 'a' && c <= 'z') || is_digit(c) || c == '-' || c == '.'))
      return false;
    all_digits_and_dots = all_digits_and_dots && (is_digit(c) || c == '.');
  }
  if (all_digits_and_dots)
    return is_ipv4_literal(h);
  if (has_xn_label(h) || h.front() == '.' || h.find("..") != std::string_view::npos)
    return false;
  return !ends_in_a_number(h);
}

} // namespace arachne::url_detail
