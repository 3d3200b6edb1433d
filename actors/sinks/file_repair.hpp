#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace arachne {

/// `data` as one complete gzip member (RFC 1952) at zlib `level`. Files made
/// of members are valid gzip files, and a cut one can be repaired.
std::string gzip_member(std::string_view data, int level);

/// Cuts what a crash left half-written at the end of a file a sink appends
/// to: for `.gz` files, bytes after the last complete gzip member; for WARC
/// files, after the last complete record. Returns the bytes cut; throws
/// std::runtime_error if the file cannot be read or cut.
uint64_t cut_torn_gzip_tail(const std::string& path);
uint64_t cut_torn_warc_tail(const std::string& path);

} // namespace arachne
