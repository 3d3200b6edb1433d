// Micro-benchmarks: link extraction per page on the demo site's pages, Arachne's
// own scanner (scan_html) against libwget's wget_html_get_urls_inline; and
// resolving a page's links (resolve_url, its fast paths against the general
// WHATWG parser alone).
// Run: build/bin/arachne_bench_links

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#define restrict __restrict
#include <wget.h>
#undef restrict

#include "arachne/html.hpp"
#include "arachne/url.hpp"
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

// Every page's links as the scanner returns them, with the page's URL.
struct page_links {
  arachne::url base;
  std::vector<std::string> hrefs;
};

const std::vector<page_links>& links() {
  static const std::vector<page_links> all = [] {
    std::vector<page_links> out;
    std::size_t k = 0;
    for (auto& p : pages()) {
      auto base = arachne::parse_url("http://127.0.1." + std::to_string(1 + k / 50) + ":8080/p/"
                                     + std::to_string(k % 50));
      ++k;
      page_links pl{*base, {}};
      for (auto& l : arachne::scan_html(p).links)
        pl.hrefs.push_back(l.href);
      out.push_back(std::move(pl));
    }
    return out;
  }();
  return all;
}

template <class Resolve>
void resolve_pages(benchmark::State& state, Resolve resolve) {
  std::size_t i = 0;
  std::size_t n = 0;
  for (auto _ : state) {
    auto& pl = links()[i++ % links().size()];
    for (auto& href : pl.hrefs) {
      auto u = resolve(pl.base, href);
      benchmark::DoNotOptimize(u);
      ++n;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
  state.counters["links/page"] = static_cast<double>(n) / static_cast<double>(state.iterations());
}

void BM_resolve_page_links(benchmark::State& state) {
  resolve_pages(state, [](const arachne::url& base, const std::string& href) {
    return arachne::resolve_url(base, href);
  });
}
BENCHMARK(BM_resolve_page_links);

void BM_resolve_page_links_general(benchmark::State& state) {
  resolve_pages(state, [](const arachne::url& base, const std::string& href) {
    return arachne::detail::resolve_url_general(base, href);
  });
}
BENCHMARK(BM_resolve_page_links_general);

} // namespace

BENCHMARK_MAIN();
