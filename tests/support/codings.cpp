#include "codings.hpp"

#include <cstdint>

#include <brotli/encode.h>
#include <zstd.h>

namespace arachne::testing {

std::string compress_brotli(const std::string& data, int quality) {
  std::string out(BrotliEncoderMaxCompressedSize(data.size()), '\0');
  auto size = out.size();
  BrotliEncoderCompress(quality, BROTLI_DEFAULT_WINDOW, BROTLI_MODE_GENERIC, data.size(),
                        reinterpret_cast<const uint8_t*>(data.data()), &size,
                        reinterpret_cast<uint8_t*>(out.data()));
  out.resize(size);
  return out;
}

std::string compress_zstd(const std::string& data, int window_log) {
  auto* cctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, 3);
  if (window_log != 0) {
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, window_log);
    ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0);
  }
  std::string out(ZSTD_compressBound(data.size()), '\0');
  auto size = ZSTD_compress2(cctx, out.data(), out.size(), data.data(), data.size());
  ZSTD_freeCCtx(cctx);
  out.resize(ZSTD_isError(size) ? 0 : size);
  return out;
}

} // namespace arachne::testing
