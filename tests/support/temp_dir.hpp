#pragma once

#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

#include <unistd.h>

namespace arachne::testing {

/// A fresh directory for one test's files (anyone may write it: a proxy
/// started as root writes its log as nobody), removed at the end.
struct temp_dir {
  std::filesystem::path path;

  explicit temp_dir(const std::string& name) {
    namespace fs = std::filesystem;
    path = fs::temp_directory_path() / ("arachne-" + name + "-" + std::to_string(::getpid()));
    fs::remove_all(path);
    fs::create_directories(path);
    fs::permissions(path, fs::perms::all);
  }

  ~temp_dir() {
    std::error_code ignored;
    std::filesystem::remove_all(path, ignored);
  }

  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
};

/// Writes `bytes` to `path`, making its directories first.
inline void write_file(const std::filesystem::path& path, const std::string& bytes) {
  std::filesystem::create_directories(path.parent_path());
  std::ofstream{path, std::ios::binary} << bytes;
}

} // namespace arachne::testing
