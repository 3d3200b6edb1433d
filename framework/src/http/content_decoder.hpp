#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "arachne/errors.hpp"

namespace arachne::http_detail {

/// Streams a body through its Content-Encoding (gzip, deflate, br, zstd,
/// identity) with a limit on the decoded size and on the compression ratio
/// (bombs).
class content_decoder {
public:
  enum class coding { identity, gzip, deflate, br, zstd };

  /// What requests advertise in Accept-Encoding: every coding decoded here.
  static constexpr const char* accepted = "gzip, deflate, br, zstd";

  /// The coding a Content-Encoding header names; `nullopt` if unsupported.
  static std::optional<coding> from_header(std::string_view content_encoding);

  content_decoder(coding c, uint64_t max_decoded, uint32_t max_ratio);
  ~content_decoder();

  content_decoder(const content_decoder&) = delete;
  content_decoder& operator=(const content_decoder&) = delete;

  /// Decodes `data` and appends to `out`; stops at the limit. Returns
  /// `too_large` when a limit is hit (then `out` holds exactly the limit),
  /// `decode_failed` for corrupt data, `none` otherwise.
  crawl_errc feed(std::string_view data, std::string& out);

  /// Checks that a compressed stream ended properly.
  crawl_errc finish();

  /// What went wrong, for the result's message.
  const std::string& message() const noexcept { return message_; }

private:
  struct zstate;
  struct brotli_state;
  struct zstd_state;

  crawl_errc feed_zlib(std::string_view data, std::string& out);
  crawl_errc feed_brotli(std::string_view data, std::string& out);
  crawl_errc feed_zstd(std::string_view data, std::string& out);

  /// Appends what one step produced, within the limits.
  crawl_errc take(const char* chunk, std::size_t produced, std::string& out);

  const char* name() const noexcept;

  coding coding_;
  uint64_t max_decoded_;
  uint32_t max_ratio_;
  uint64_t encoded_ = 0;
  bool done_ = false;
  bool raw_retry_ = false; // "deflate" without the zlib header, as some servers send
  std::unique_ptr<zstate> z_;
  std::unique_ptr<brotli_state> br_;
  std::unique_ptr<zstd_state> zstd_;
  std::string message_;
};

} // namespace arachne::http_detail
