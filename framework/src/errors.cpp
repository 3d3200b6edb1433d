#include "arachne/errors.hpp"

#include <array>

#include "caf/make_message.hpp"

namespace arachne {

namespace {

constexpr std::array<std::string_view, crawl_errc_count> names = {
  "none",           "invalid_url",      "unsupported_scheme", "dns_failed",
  "connect_failed", "tls_failed",       "timeout",            "too_large",
  "too_many_redirects", "redirect_loop", "http_status",       "protocol_error",
  "connection_reset", "decode_failed",  "robots_denied",      "out_of_scope",
  "proxy_failed",   "proxy_auth_failed", "proxy_exhausted",   "retries_exhausted",
  "cancelled",      "noindex",
};

} // namespace

std::string_view to_string_view(crawl_errc x) noexcept {
  auto i = static_cast<std::size_t>(x);
  return i < names.size() ? names[i] : std::string_view{"unknown"};
}

std::string to_string(crawl_errc x) {
  return std::string{to_string_view(x)};
}

std::optional<crawl_errc> parse_crawl_errc(std::string_view name) noexcept {
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == name)
      return static_cast<crawl_errc>(i);
  return std::nullopt;
}

caf::error make_error(crawl_errc x) {
  return caf::error{static_cast<uint8_t>(x), crawl_errc_category};
}

caf::error make_error(crawl_errc x, std::string detail) {
  return caf::error{static_cast<uint8_t>(x), crawl_errc_category,
                    caf::make_message(std::move(detail))};
}

std::string error_text(const caf::error& err) {
  auto& ctx = err.context();
  if (ctx.match_elements<std::string>())
    return ctx.get_as<std::string>(0);
  return caf::to_string(err);
}

std::optional<crawl_errc> crawl_errc_of(const caf::error& err) noexcept {
  if (!err || err.category() != crawl_errc_category || err.code() >= crawl_errc_count)
    return std::nullopt;
  return static_cast<crawl_errc>(err.code());
}

} // namespace arachne
