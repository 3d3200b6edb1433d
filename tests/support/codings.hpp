#pragma once

// Compressors for test servers (the crawler itself only decodes).

#include <string>

namespace arachne::testing {

/// `data` as one brotli stream (RFC 7932) of the given quality (0-11).
std::string compress_brotli(const std::string& data, int quality);

/// `data` as one zstd frame (RFC 8878). With `window_log`, streamed with no
/// content size in the frame, so that the frame names that window (else the
/// whole size, as one segment).
std::string compress_zstd(const std::string& data, int window_log = 0);

} // namespace arachne::testing
