// Micro-benchmark: link extraction per page on the demo site's pages, Arachne's
// own scanner (scan_html) against libwget's wget_html_get_urls_inline.
// Run: build/bin/arachne_bench_links

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#define restrict __restrict
#include <wget.h>
#undef restrict

#include "arachne/html.hpp"
#include "site_model.hpp"

namespace {

const std::vector<std::string>& pages() {
  static const std::vector<std::string> all = [] {
    arachne::site::site_model model{{4, 50, 1, false, std::chrono::seconds(1)}, 8080};
    std::vector<std::string> out;
    for (uint32_t h = 0; h < 4; ++h)
      for (uint32_t k = 0; k < 50; ++k)
        out.push_back(model.respond(h, model.page_path(k)).body);
    return out;
  }();
  return all;
}

void bytes_and_items(benchmark::State& state) {
  std::size_t bytes = 0;
  for (auto& p : pages())
    bytes += p.size();
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * bytes / pages().size()));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}

void BM_scan_html(benchmark::State& state) {
  std::size_t i = 0;
  for (auto _ : state) {
    auto scan = arachne::scan_html(pages()[i++ % pages().size()]);
    benchmark::DoNotOptimize(scan.links.data());
  }
  bytes_and_items(state);
}
BENCHMARK(BM_scan_html);

void BM_libwget(benchmark::State& state) {
  std::size_t i = 0;
  for (auto _ : state) {
    auto* parsed = wget_html_get_urls_inline(pages()[i++ % pages().size()].c_str(), nullptr, nullptr);
    benchmark::DoNotOptimize(parsed);
    wget_html_free_urls_inline(&parsed);
  }
  bytes_and_items(state);
}
BENCHMARK(BM_libwget);

} // namespace

BENCHMARK_MAIN();
