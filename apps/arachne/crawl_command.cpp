// `arachne crawl SEED...`: a whole crawl from the command line, run as any
// crawler program built on the framework runs (arachne/app.hpp), with no
// handler of its own.

#include "arachne/app.hpp"

#include "commands.hpp"

namespace arachne::cli {

int crawl_main(const std::vector<std::string>& args) {
  return run_app(args, {"arachne crawl",
                        "usage: arachne crawl SEED... [--option=value ...]\n\n"
                        "Crawls from the seed URLs politely (robots.txt, per-host pacing) and\n"
                        "writes one record per URL to the sinks; prints a report at the end.\n",
                        {"jsonl:crawl.jsonl"}});
}

} // namespace arachne::cli
