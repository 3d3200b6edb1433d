#pragma once

#include <filesystem>
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

} // namespace arachne::testing
