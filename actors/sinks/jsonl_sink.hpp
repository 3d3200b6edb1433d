#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "arachne/sink.hpp"

namespace arachne {

/// Writes every record as one JSON object per line (see `to_json(record)`)
/// to `path`, created or truncated; "-" is standard output. A path ending in
/// `.gz` is written gzip-compressed (a flush ends a gzip block, so what is
/// flushed is readable by `zcat`). With `append`, lines are added to an
/// existing file (a gzip file gets a new member). Throws if the file cannot be
/// opened.
class jsonl_sink : public sink_base {
public:
  explicit jsonl_sink(std::string path, bool append = false);
  ~jsonl_sink() override;

  void store(std::vector<record>& records) override;
  void flush() override;

private:
  std::string path_;
  std::FILE* file_ = nullptr; // standard output
  void* gz_ = nullptr;        // gzFile, for .gz
  int fd_ = -1;               // the file (plain, or under gz_)
};

/// Counts records and keeps nothing: the baseline for benchmarks.
class null_sink : public sink_base {
public:
  void store(std::vector<record>& records) override { count_ += records.size(); }
  uint64_t count() const noexcept { return count_; }

private:
  uint64_t count_ = 0;
};

} // namespace arachne
