// The hello crawler: follow every link, emit each page's title.
// Run: build/bin/example_hello --per-host-delay=100ms http://127.0.1.1:PORT/
#include <iostream>

#include "arachne/arachne.hpp"

void caf_main(caf::actor_system& sys, const arachne::config& cfg) {
  arachne::crawl c{sys, cfg};
  c.on_page([](const arachne::page& p, arachne::context& ctx) {
    for (auto& url : arachne::extract_links(p))
      ctx.follow(url);
    ctx.emit({p.url(), {{"title", arachne::xpath_string(p, "//title")}}});
  });
  auto sink = arachne::open_sink(sys, "jsonl:pages.jsonl");
  if (!sink) {
    std::cerr << sys.render(sink.error()) << "\n";
    return;
  }
  c.add_sink(*sink);
  if (auto report = c.run(cfg.positional))
    std::cout << report->tally.pages << " pages, " << report->tally.items << " items\n";
}

CAF_MAIN(caf::io::middleman)
