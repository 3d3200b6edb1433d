#include "arachne/sinks/jsonl_sink.hpp"

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fcntl.h>
#include <unistd.h>

#include "arachne/json.hpp"
#include "sinks/file_repair.hpp"

namespace arachne {

namespace {

bool ends_with(const std::string& s, const char* suffix) {
  auto n = std::strlen(suffix);
  return s.size() >= n && s.compare(s.size() - n, n, suffix) == 0;
}

std::runtime_error io_error(const std::string& what, const std::string& path) {
  return std::runtime_error(what + " '" + path + "': " + std::strerror(errno));
}

} // namespace

jsonl_sink::jsonl_sink(std::string path, bool append) : path_(std::move(path)) {
  if (path_ == "-") {
    file_ = stdout;
    return;
  }
  if (ends_with(path_, ".gz")) {
    // One gzip member per batch: a file cut by a crash loses only its last,
    // torn member, which is cut before the file is added to.
    gzip_ = true;
    if (append)
      cut_torn_gzip_tail(path_);
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC) | O_CLOEXEC, 0644);
    if (fd_ < 0)
      throw io_error("cannot open", path_);
    return;
  }
  // Plain files are written with write(2), a batch at a time: nothing sits
  // in a buffer when the sink fails, and a file opened again after a failure
  // loses a torn last line first (its record is sent again).
  fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | (append ? 0 : O_TRUNC) | O_CLOEXEC, 0644);
  if (fd_ < 0)
    throw io_error("cannot open", path_);
  auto end = ::lseek(fd_, 0, SEEK_END);
  if (append && end > 0) {
    char c = 0;
    auto keep = end;
    while (keep > 0 && ::pread(fd_, &c, 1, keep - 1) == 1 && c != '\n')
      --keep;
    if (keep != end && ::ftruncate(fd_, keep) != 0)
      throw io_error("cannot repair", path_);
    ::lseek(fd_, keep, SEEK_SET);
  }
}

jsonl_sink::~jsonl_sink() {
  if (fd_ >= 0)
    ::close(fd_);
  if (file_ != nullptr && file_ != stdout)
    std::fclose(file_);
}

namespace {

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    auto n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

} // namespace

sink_needs jsonl_sink::open(const crawl_info& info) {
  crawl_id_.clear();
  if (!info.crawl_id.empty()) {
    crawl_id_ = ",\"crawl_id\":";
    append_json_string(crawl_id_, info.crawl_id);
  }
  return {};
}

void jsonl_sink::store(std::vector<record>& records) {
  std::string lines;
  for (auto& r : records) {
    lines += to_json(r);
    if (!crawl_id_.empty()) { // (the last member: before the object's closing brace)
      lines.pop_back();
      lines += crawl_id_;
      lines += '}';
    }
    lines += '\n';
  }
  if (gzip_) {
    if (!write_all(fd_, gzip_member(lines, 6)))
      throw io_error("cannot write", path_);
  } else if (file_ != nullptr) {
    if (std::fwrite(lines.data(), 1, lines.size(), file_) != lines.size())
      throw io_error("cannot write", path_);
  } else if (!write_all(fd_, lines)) {
    throw io_error("cannot write", path_);
  }
}

void jsonl_sink::flush() {
  if (file_ != nullptr) { // standard output
    if (std::fflush(file_) != 0)
      throw io_error("cannot flush", path_);
    return;
  }
  // A character device or a pipe (/dev/null, a FIFO) has nothing to sync:
  // fsync says EINVAL (or EROFS) there.
  if (::fsync(fd_) != 0 && errno != EINVAL && errno != EROFS)
    throw io_error("cannot sync", path_);
}

} // namespace arachne
