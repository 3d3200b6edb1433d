// A router: listing pages follow product pages with a label and data; the
// label picks the product handler, which reads the data; an item pipeline
// checks and cleans what it emits.
// Run: build/bin/example_router --per-host-delay=100ms http://127.0.1.1:PORT/
#include "arachne/arachne.hpp"

int main(int argc, char** argv) {
  arachne::app_info app{"example_router",
                        "usage: example_router SEED... [--option=value ...]\n\n"
                        "Routes the demo site's product pages to a handler of their own.\n",
                        {"jsonl:products.jsonl"}};
  return arachne::run_app(argc, argv, app, [](caf::actor_system&, arachne::crawl& c) {
    // Every other page: a listing. Products get a label, where they were
    // listed, and go first in their site's queue.
    c.on_page([](const arachne::page& p, arachne::context& ctx) {
      for (auto& url : arachne::extract_links(p))
        if (url.find("/catalog/item?id=") != std::string::npos)
          ctx.follow(url, {"product", {{"listed_on", p.url()}}, 10});
        else
          ctx.follow(url);
    });
    // Pages followed with the label "product".
    c.route("product", [](const arachne::page& p, arachne::context& ctx) {
      ctx.emit({p.url(),
                {{"name", arachne::css_string(p, "h2.name")},
                 {"price", arachne::css_string(p, "span.price")},
                 {"listed_on", std::string{p.data("listed_on")}}}});
    });
    // The pipeline: no item without a price; prices with a currency.
    c.pipeline([](arachne::item& it) { return !it.fields[1].second.empty(); });
    c.pipeline([](arachne::item& it) {
      it.fields[1].second = "EUR " + it.fields[1].second;
      return true;
    });
  });
}
