// The hello crawler: follow every link, emit each page's title.
// Run: build/bin/example_hello --per-host-delay=100ms http://127.0.1.1:PORT/
// It takes every option of `arachne crawl`; its records go to pages.jsonl
// unless --out says otherwise.
#include "arachne/arachne.hpp"

int main(int argc, char** argv) {
  arachne::app_info app{"example_hello",
                        "usage: example_hello SEED... [--option=value ...]\n\n"
                        "Follows every link and emits each page's title.\n",
                        {"jsonl:pages.jsonl"}};
  return arachne::run_app(argc, argv, app, [](caf::actor_system&, arachne::crawl& c) {
    c.on_page([](const arachne::page& p, arachne::context& ctx) {
      for (auto& url : arachne::extract_links(p))
        ctx.follow(url);
      ctx.emit({p.url(), {{"title", arachne::xpath_string(p, "//title")}}});
    });
  });
}
