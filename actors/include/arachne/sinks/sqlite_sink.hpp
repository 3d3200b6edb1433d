#pragma once

#include <memory>
#include <string>
#include <vector>

#include "arachne/sink.hpp"

namespace arachne {

/// Stores records in an SQLite database: `pages`, `failures`, `items` (fields
/// as a JSON object) and `links` tables, plus `crawls` (schema in
/// docs/sinks.md). WAL mode, one transaction per batch, indexes on url, host,
/// status and error: readable by the `sqlite3` shell while the crawl runs.
/// Appends to an existing database. Throws if it cannot open or create it.
class sqlite_sink : public sink_base {
public:
  explicit sqlite_sink(std::string path);
  ~sqlite_sink() override;

  sink_needs open(const crawl_info& info) override;
  void store(std::vector<record>& records) override;
  void flush() override;

private:
  struct impl;
  std::string path_;
  std::unique_ptr<impl> impl_;
};

} // namespace arachne
