#include "sinks/file_repair.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <vector>

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>

namespace arachne {

namespace {

struct fd_guard {
  int fd;
  ~fd_guard() {
    if (fd >= 0)
      ::close(fd);
  }
};

std::runtime_error io_error(const std::string& what, const std::string& path) {
  return std::runtime_error(what + " '" + path + "': " + std::strerror(errno));
}

// The file opened for repair, or -1 if there is none; throws if it cannot be opened.
int open_existing(const std::string& path) {
  auto fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0 && errno != ENOENT)
    throw io_error("cannot open", path);
  return fd;
}

// Truncates `path` to `keep` bytes if it is longer; the bytes cut.
uint64_t cut(int fd, const std::string& path, uint64_t keep, uint64_t size) {
  if (keep >= size)
    return 0;
  if (::ftruncate(fd, static_cast<off_t>(keep)) != 0)
    throw io_error("cannot repair", path);
  return size - keep;
}

} // namespace

std::string gzip_member(std::string_view data, int level) {
  z_stream z{};
  if (deflateInit2(&z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw std::runtime_error("zlib: cannot start a gzip member");
  std::string out(deflateBound(&z, data.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  auto rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END)
    throw std::runtime_error("zlib: gzip member incomplete");
  return out;
}

uint64_t cut_torn_gzip_tail(const std::string& path) {
  fd_guard f{open_existing(path)};
  if (f.fd < 0)
    return 0;
  auto size = static_cast<uint64_t>(std::max<off_t>(0, ::lseek(f.fd, 0, SEEK_END)));
  z_stream z{};
  if (inflateInit2(&z, 15 + 16) != Z_OK)
    throw std::runtime_error("zlib: cannot start inflating '" + path + "'");
  std::vector<unsigned char> in(1 << 16);
  std::vector<unsigned char> out(1 << 16);
  uint64_t good = 0;   // end of the last complete member
  uint64_t offset = 0; // file offset of in[0]
  bool broken = false;
  while (!broken && offset < size) {
    auto n = ::pread(f.fd, in.data(), in.size(), static_cast<off_t>(offset));
    if (n < 0) {
      inflateEnd(&z);
      throw io_error("cannot read", path);
    }
    if (n == 0)
      break;
    z.next_in = in.data();
    z.avail_in = static_cast<uInt>(n);
    while (z.avail_in > 0) {
      z.next_out = out.data();
      z.avail_out = static_cast<uInt>(out.size());
      auto rc = inflate(&z, Z_NO_FLUSH);
      if (rc == Z_STREAM_END) {
        good = offset + static_cast<uint64_t>(z.next_in - in.data());
        inflateReset(&z);
      } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
        broken = true; // not gzip from here on: cut it
        break;
      }
    }
    offset += static_cast<uint64_t>(n);
  }
  inflateEnd(&z);
  return cut(f.fd, path, good, size);
}

uint64_t cut_torn_warc_tail(const std::string& path) {
  fd_guard f{open_existing(path)};
  if (f.fd < 0)
    return 0;
  auto size = static_cast<uint64_t>(std::max<off_t>(0, ::lseek(f.fd, 0, SEEK_END)));
  uint64_t good = 0;
  std::string head;
  while (good < size) {
    // A record: "WARC/1.1" header lines, a blank line, Content-Length bytes, CRLF CRLF.
    head.assign(std::min<uint64_t>(size - good, 1 << 16), '\0');
    auto n = ::pread(f.fd, head.data(), head.size(), static_cast<off_t>(good));
    if (n <= 0)
      break;
    head.resize(static_cast<std::size_t>(n));
    auto end = head.find("\r\n\r\n");
    if (head.rfind("WARC/", 0) != 0 || end == std::string::npos)
      break;
    uint64_t length = 0;
    bool has_length = false;
    for (std::size_t at = head.find("\r\n"); at < end; at = head.find("\r\n", at + 2)) {
      static constexpr std::string_view name = "content-length:";
      if (head.size() < at + 2 + name.size())
        break;
      bool match = true;
      for (std::size_t i = 0; i < name.size() && match; ++i)
        match = (head[at + 2 + i] | 0x20) == name[i];
      if (match) {
        length = std::strtoull(head.c_str() + at + 2 + name.size(), nullptr, 10);
        has_length = true;
      }
    }
    auto next = good + end + 4 + length + 4;
    char tail[4] = {};
    if (!has_length || next > size
        || ::pread(f.fd, tail, 4, static_cast<off_t>(next - 4)) != 4
        || std::memcmp(tail, "\r\n\r\n", 4) != 0)
      break;
    good = next;
  }
  return cut(f.fd, path, good, size);
}

} // namespace arachne
