#include "http/content_decoder.hpp"

#include <cstring>

#include <brotli/decode.h>
#include <zlib.h>
#include <zstd.h>

#include "text.hpp"

namespace arachne::http_detail {

namespace {

// Decoded bytes per step.
constexpr std::size_t chunk_size = 16384;

// A zstd frame may ask for a window of up to 2^31 bytes; for HTTP (RFC 8878
// section 3.1.1.1.2) decoders need not go past 8 MiB, so a frame that asks
// more is refused instead of allocating it.
constexpr int zstd_window_log_max = 23;

} // namespace

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

struct content_decoder::brotli_state {
  BrotliDecoderState* s = BrotliDecoderCreateInstance(nullptr, nullptr, nullptr);

  ~brotli_state() {
    if (s)
      BrotliDecoderDestroyInstance(s);
  }
};

struct content_decoder::zstd_state {
  ZSTD_DCtx* s = ZSTD_createDCtx();
  bool in_frame = false; // a frame has begun and not ended

  zstd_state() {
    if (s)
      ZSTD_DCtx_setParameter(s, ZSTD_d_windowLogMax, zstd_window_log_max);
  }

  ~zstd_state() {
    ZSTD_freeDCtx(s);
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
  if (lower == "br")
    return coding::br;
  if (lower == "zstd")
    return coding::zstd;
  return std::nullopt;
}

content_decoder::content_decoder(coding c, uint64_t max_decoded, uint32_t max_ratio)
  : coding_(c), max_decoded_(max_decoded), max_ratio_(max_ratio) {
  switch (c) {
    case coding::identity:
      break;
    case coding::gzip:
    case coding::deflate:
      z_ = std::make_unique<zstate>();
      // 15 + 32: zlib or gzip header, detected; 15: zlib (RFC 1950) for deflate.
      z_->init(c == coding::gzip ? 15 + 32 : 15);
      break;
    case coding::br:
      br_ = std::make_unique<brotli_state>();
      break;
    case coding::zstd:
      zstd_ = std::make_unique<zstd_state>();
      break;
  }
}

content_decoder::~content_decoder() = default;

const char* content_decoder::name() const noexcept {
  switch (coding_) {
    case coding::gzip:
      return "gzip";
    case coding::deflate:
      return "deflate";
    case coding::br:
      return "brotli";
    case coding::zstd:
      return "zstd";
    default:
      return "identity";
  }
}

crawl_errc content_decoder::feed(std::string_view data, std::string& out) {
  encoded_ += data.size();
  switch (coding_) {
    case coding::identity:
      break;
    case coding::gzip:
    case coding::deflate:
      return feed_zlib(data, out);
    case coding::br:
      return feed_brotli(data, out);
    case coding::zstd:
      return feed_zstd(data, out);
  }
  auto room = max_decoded_ - std::min<uint64_t>(max_decoded_, out.size());
  if (data.size() > room) {
    out.append(data.data(), room);
    message_ = "body larger than " + std::to_string(max_decoded_) + " bytes";
    return crawl_errc::too_large;
  }
  out.append(data.data(), data.size());
  return crawl_errc::none;
}

crawl_errc content_decoder::take(const char* chunk, std::size_t produced, std::string& out) {
  auto room = max_decoded_ - std::min<uint64_t>(max_decoded_, out.size());
  if (produced > room) {
    out.append(chunk, room);
    message_ = "decoded body larger than " + std::to_string(max_decoded_) + " bytes";
    return crawl_errc::too_large;
  }
  out.append(chunk, produced);
  // A bomb is judged only past 1 MiB of output: small bodies compress well too.
  if (out.size() > (1u << 20) && max_ratio_ > 0
      && out.size() / std::max<uint64_t>(1, encoded_) > max_ratio_) {
    message_ = "compression ratio above " + std::to_string(max_ratio_)
               + " (a decompression bomb?)";
    return crawl_errc::too_large;
  }
  return crawl_errc::none;
}

crawl_errc content_decoder::feed_zlib(std::string_view data, std::string& out) {
  if (!z_->initialised) {
    message_ = "cannot start zlib";
    return crawl_errc::decode_failed;
  }
  auto& s = z_->s;
  s.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  s.avail_in = static_cast<uInt>(data.size());
  char chunk[chunk_size];
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
      message_ = std::string{"corrupt "} + name() + " body"
                 + (s.msg ? std::string{": "} + s.msg : std::string{});
      return crawl_errc::decode_failed;
    }
    auto produced = sizeof(chunk) - s.avail_out;
    if (auto kind = take(chunk, produced, out); kind != crawl_errc::none)
      return kind;
    if (rc == Z_STREAM_END)
      done_ = true;
    else if (rc == Z_BUF_ERROR && produced == 0)
      break;
  }
  return crawl_errc::none;
}

crawl_errc content_decoder::feed_brotli(std::string_view data, std::string& out) {
  if (!br_->s) {
    message_ = "cannot start the brotli decoder";
    return crawl_errc::decode_failed;
  }
  auto next_in = reinterpret_cast<const uint8_t*>(data.data());
  auto avail_in = data.size();
  char chunk[chunk_size];
  // Until the input is used up (and what it holds decoded), or the stream ends.
  while (!done_) {
    auto next_out = reinterpret_cast<uint8_t*>(chunk);
    std::size_t avail_out = sizeof(chunk);
    auto rc = BrotliDecoderDecompressStream(br_->s, &avail_in, &next_in, &avail_out, &next_out,
                                            nullptr);
    if (rc == BROTLI_DECODER_RESULT_ERROR) {
      message_ = std::string{"corrupt brotli body: "}
                 + BrotliDecoderErrorString(BrotliDecoderGetErrorCode(br_->s));
      return crawl_errc::decode_failed;
    }
    if (auto kind = take(chunk, sizeof(chunk) - avail_out, out); kind != crawl_errc::none)
      return kind;
    if (rc == BROTLI_DECODER_RESULT_SUCCESS)
      done_ = true;
    else if (rc == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT)
      break;
  }
  if (done_ && avail_in > 0) {
    message_ = "bytes after the end of the brotli body";
    return crawl_errc::decode_failed;
  }
  return crawl_errc::none;
}

crawl_errc content_decoder::feed_zstd(std::string_view data, std::string& out) {
  if (!zstd_->s) {
    message_ = "cannot start the zstd decoder";
    return crawl_errc::decode_failed;
  }
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  char chunk[chunk_size];
  // A body may hold several frames, one after another (RFC 8878 section 3).
  while (true) {
    ZSTD_outBuffer o{chunk, sizeof(chunk), 0};
    auto rc = ZSTD_decompressStream(zstd_->s, &o, &in);
    if (ZSTD_isError(rc)) {
      message_ = std::string{"corrupt zstd body: "} + ZSTD_getErrorName(rc);
      return crawl_errc::decode_failed;
    }
    if (auto kind = take(chunk, o.pos, out); kind != crawl_errc::none)
      return kind;
    zstd_->in_frame = rc != 0;
    // Done with this input when it is used up and the decoder holds nothing
    // more to flush (a full output chunk may mean more is waiting).
    if (in.pos == in.size && o.pos < o.size)
      break;
  }
  done_ = !zstd_->in_frame;
  return crawl_errc::none;
}

crawl_errc content_decoder::finish() {
  if (coding_ != coding::identity && !done_ && encoded_ > 0) {
    message_ = std::string{"truncated "} + name() + " body";
    return crawl_errc::decode_failed;
  }
  return crawl_errc::none;
}

} // namespace arachne::http_detail
