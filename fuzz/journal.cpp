// The state store (--state) as a crash, a full disk or a bad sector may
// leave it: any bytes as a shard file, optionally beside a write-ahead log,
// checked as a crawl checks it before resuming (the WAL read for lost
// commits, SQLite's quick_check), then read as a resumed crawl reads it:
// hosts, every URL, each host's pending URLs, and the summary `arachne
// state` prints. Nothing may crash; a file that passes the checks must read.
// Input: the first byte's low bit says whether a WAL follows; if it does,
// the next four bytes (big-endian) say where the WAL's bytes begin.
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include <unistd.h>

#include "arachne/errors.hpp"
#include "arachne/sitemap.hpp"
#include "arachne/state/journal.hpp"

namespace fs = std::filesystem;

namespace {

void write(const fs::path& path, std::string_view bytes) {
  std::ofstream out{path, std::ios::binary | std::ios::trunc};
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0)
    return 0;
  static const fs::path dir = fs::temp_directory_path()
                              / ("arachne-fuzz-journal-" + std::to_string(::getpid()));
  std::error_code ec;
  fs::remove_all(dir, ec);
  fs::create_directories(dir);
  std::string_view in{reinterpret_cast<const char*>(data + 1), size - 1};
  std::string_view db = in, wal;
  if ((data[0] & 1) != 0 && in.size() >= 4) {
    auto at = (uint32_t{data[1]} << 24) | (uint32_t{data[2]} << 16) | (uint32_t{data[3]} << 8)
              | uint32_t{data[4]};
    in.remove_prefix(4);
    db = in.substr(0, std::min<std::size_t>(at, in.size()));
    wal = in.substr(db.size());
    write(dir / "shard-0.db-wal", wal);
  }
  write(dir / "shard-0.db", db);
  auto info = arachne::check_state_dir(dir.string(), false);
  if (!info || !info->exists)
    return 0;
  (void) arachne::read_state(dir.string());
  if (info->shards != 1)
    return 0;
  auto j = arachne::frontier_journal::open(dir.string(), 0, 1);
  if (!j)
    return 0;
  (*j)->each_url([](std::string_view url, arachne::url_kind) { (void) url.size(); });
  for (auto& host : (*j)->hosts())
    for (auto& p : (*j)->pending(host.id, 0, 64)) {
      // What a resumed shard does with a row: names its kinds, counts it.
      if (static_cast<std::size_t>(p.decided) >= arachne::crawl_errc_count)
        std::abort();
      (void) arachne::to_string(p.decided);
      (void) arachne::to_string(p.req.hints.changefreq);
    }
  (void) (*j)->pass();
  (void) (*j)->finished();
  return 0;
}
