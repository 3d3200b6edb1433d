// A crawler with its own sink: product names and prices, extracted with
// XPath from the demo site's product pages, written to a CSV file.
// Run: build/bin/example_custom_sink --per-host-delay=100ms http://127.0.1.1:PORT/
#include <fstream>

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

int main(int argc, char** argv) {
  arachne::app_info app{"example_custom_sink",
                        "usage: example_custom_sink SEED... [--option=value ...]\n\n"
                        "Writes the demo site's products (name, price) to products.csv.\n",
                        {}}; // (no --out unless asked: products.csv is its output)
  return arachne::run_app(argc, argv, app, [](caf::actor_system& sys, arachne::crawl& c) {
    c.on_page([](const arachne::page& p, arachne::context& ctx) {
      for (auto& url : arachne::extract_links(p))
        ctx.follow(url);
      auto name = arachne::xpath_string(p, "//h2[@class='name']");
      if (!name.empty())
        ctx.emit({p.url(),
                  {{"name", name}, {"price", arachne::xpath_string(p, "//span[@class='price']")}}});
    });
    // A sink that cannot open throws: the program says why and exits 1.
    c.add_sink(arachne::spawn_sink(sys, std::make_unique<csv_sink>("products.csv")));
  });
}
