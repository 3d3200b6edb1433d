#include "http/content_decoder.hpp"

#include <cstring>

#include <zlib.h>

#include "text.hpp"

namespace arachne::http_detail {

struct content_decoder::zstate {
  z_stream s{};
  bool initialised = false;

  ~zstate() {
    if (initialised)
      inflateEnd(&s);
  }

  bool init(int window_bits) {
    if (initialised)
      inflateEnd(&s);
    std::memset(&s, 0, sizeof(s));
    initialised = inflateInit2(&s, window_bits) == Z_OK;
    return initialised;
  }
};

std::optional<content_decoder::coding> content_decoder::from_header(std::string_view v) {
  auto lower = text::lower(text::trim(v));
  if (lower.empty() || lower == "identity")
    return coding::identity;
  if (lower == "gzip" || lower == "x-gzip")
    return coding::gzip;
  if (lower == "deflate")
    return coding::deflate;
  return std::nullopt;
}

content_decoder::content_decoder(coding c, uint64_t max_decoded, uint32_t max_ratio)
  : coding_(c), max_decoded_(max_decoded), max_ratio_(max_ratio) {
  if (c != coding::identity) {
    z_ = std::make_unique<zstate>();
    // 15 + 32: zlib or gzip header, detected; 15: zlib (RFC 1950) for deflate.
    z_->init(c == coding::gzip ? 15 + 32 : 15);
  }
}

content_decoder::~content_decoder() = default;

crawl_errc content_decoder::feed(std::string_view data, std::string& out) {
  encoded_ += data.size();
  if (coding_ == coding::identity) {
    auto room = max_decoded_ - std::min<uint64_t>(max_decoded_, out.size());
    if (data.size() > room) {
      out.append(data.data(), room);
      message_ = "body larger than " + std::to_string(max_decoded_) + " bytes";
      return crawl_errc::too_large;
    }
    out.append(data.data(), data.size());
    return crawl_errc::none;
  }
  if (!z_->initialised) {
    message_ = "cannot start zlib";
    return crawl_errc::decode_failed;
  }
  auto& s = z_->s;
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  s.avail_in = static_cast<uInt>(data.size());
  char chunk[16384];
  while (s.avail_in > 0 && !done_) {
    s.next_out = reinterpret_cast<Bytef*>(chunk);
    s.avail_out = sizeof(chunk);
    auto rc = inflate(&s, Z_NO_FLUSH);
    if (rc == Z_DATA_ERROR && coding_ == coding::deflate && !raw_retry_ && s.total_out == 0) {
      // Many servers send raw DEFLATE (RFC 1951) as "deflate": start over raw.
      raw_retry_ = true;
      z_->init(-15);
      encoded_ -= data.size();
      return feed(data, out);
    }
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) {
      message_ = std::string{"corrupt "} + (coding_ == coding::gzip ? "gzip" : "deflate")
                 + " body" + (s.msg ? std::string{": "} + s.msg : std::string{});
      return crawl_errc::decode_failed;
    }
    auto produced = sizeof(chunk) - s.avail_out;
    auto room = max_decoded_ - std::min<uint64_t>(max_decoded_, out.size());
    if (produced > room) {
      out.append(chunk, room);
      message_ = "decoded body larger than " + std::to_string(max_decoded_) + " bytes";
      return crawl_errc::too_large;
    }
    out.append(chunk, produced);
    if (out.size() > (1u << 20) && max_ratio_ > 0 && out.size() / std::max<uint64_t>(1, encoded_) > max_ratio_) {
      message_ = "compression ratio above " + std::to_string(max_ratio_)
                 + " (a decompression bomb?)";
      return crawl_errc::too_large;
    }
    if (rc == Z_STREAM_END)
      done_ = true;
    else if (rc == Z_BUF_ERROR && produced == 0)
      break;
  }
  return crawl_errc::none;
}

crawl_errc content_decoder::finish() {
  if (coding_ != coding::identity && !done_ && encoded_ > 0) {
    message_ = std::string{"truncated "} + (coding_ == coding::gzip ? "gzip" : "deflate") + " body";
    return crawl_errc::decode_failed;
  }
  return crawl_errc::none;
}

} // namespace arachne::http_detail
