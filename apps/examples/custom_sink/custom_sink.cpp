// A crawler with its own sink: product names and prices, extracted with
// XPath from the demo site's product pages, written to a CSV file.
// Run: build/bin/example_custom_sink --per-host-delay=100ms http://127.0.1.1:PORT/
#include <fstream>
#include <iostream>

#include "arachne/arachne.hpp"

// The sink: store a batch, make it durable. Credits, batching and shutdown
// come from spawn_sink.
class csv_sink : public arachne::sink_base {
public:
  explicit csv_sink(const std::string& path) : out_(path) {
    if (!out_)
      throw std::runtime_error("cannot write " + path);
    out_ << "url,name,price\n";
  }

  void store(std::vector<arachne::record>& records) override {
    for (auto& r : records)
      if (r.kind == arachne::record::kind_t::item)
        out_ << r.url << ',' << r.fields[0].second << ',' << r.fields[1].second << '\n';
    if (!out_)
      throw std::runtime_error("write failed");
  }

  void flush() override { out_.flush(); }

private:
  std::ofstream out_;
};

void caf_main(caf::actor_system& sys, const arachne::config& cfg) {
  arachne::crawl c{sys, cfg};
  c.on_page([](const arachne::page& p, arachne::context& ctx) {
    for (auto& url : arachne::extract_links(p))
      ctx.follow(url);
    auto name = arachne::xpath_string(p, "//h2[@class='name']");
    if (!name.empty())
      ctx.emit({p.url(), {{"name", name}, {"price", arachne::xpath_string(p, "//span[@class='price']")}}});
  });
  c.add_sink(arachne::spawn_sink(sys, std::make_unique<csv_sink>("products.csv")));
  if (auto report = c.run(cfg.positional))
    std::cout << report->tally.items << " products in products.csv\n";
}

CAF_MAIN(caf::io::middleman)
