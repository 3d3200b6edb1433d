#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "arachne/sink.hpp"

namespace arachne {

/// Writes every record as one JSON object per line (see `to_json(record)`),
/// with the `crawl_id` of the crawl that made it, to `path`, created or
/// truncated; "-" is standard output. A path ending in
/// `.gz` is written gzip-compressed, one gzip member per batch (what is
/// stored is readable by `zcat`). Every batch is written before it is
/// acknowledged. With `append`, lines are added to an existing file after
/// what a crash left torn at its end is cut (a last line without its newline,
/// a last gzip member cut short). Throws if the file cannot be opened.
class jsonl_sink : public sink_base {
public:
  explicit jsonl_sink(std::string path, bool append = false);
  ~jsonl_sink() override;

  sink_needs open(const crawl_info& info) override;
  void store(std::vector<record>& records) override;
  void flush() override;

private:
  std::string path_;
  std::string crawl_id_;      // as a JSON member: ,"crawl_id":"..."
  std::FILE* file_ = nullptr; // standard output
  bool gzip_ = false;         // .gz: a gzip member per batch
  int fd_ = -1;               // the file
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
