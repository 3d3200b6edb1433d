// The `arachne` command: one binary, one subcommand per job.

#include <algorithm>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "caf/actor_system.hpp"

#include "arachne/config.hpp"
#include "cluster/cluster.hpp"
#include "observer/observer.hpp"

#include "commands.hpp"

namespace {

struct command {
  const char* name;
  const char* summary;
  int (*run)(const std::vector<std::string>&);
};

const command commands[] = {
  {"crawl", "crawl from seed URLs, politely, writing one record per URL",
   arachne::cli::crawl_main},
  {"fetch", "fetch one URL and print the result as JSON (or --bench a fetcher)",
   arachne::cli::fetch_main},
  {"shell", "fetch a page, then try CSS selectors and XPath on it interactively",
   arachne::cli::shell_main},
  {"site", "serve the bundled demo site (a synthetic web on loopback hosts)",
   arachne::cli::site_main},
  {"state", "show what a crawl's state directory (--state) holds",
   arachne::cli::state_main},
  {"sink-node", "serve sinks to crawls in other processes or on other hosts",
   arachne::cli::sink_node_main},
  {"node", "run a worker node of distributed crawls (arachne crawl --cluster)",
   arachne::cli::node_main},
  {"cluster-ca", "make a cluster CA and certificates for nodes and coordinators",
   arachne::cli::cluster_ca_main},
};

void print_usage(std::ostream& out) {
  out << "usage: arachne COMMAND [--option=value ...]   (arachne --version: " ARACHNE_VERSION ")\n\ncommands:\n";
  for (auto& c : commands)
    out << "  " << c.name << std::string(12 - std::strlen(c.name), ' ')
        << c.summary << "\n";
  out << "\nRun 'arachne COMMAND --help' for a command's options. Options common to\n"
         "crawling commands:\n";
  arachne::config cfg;
  cfg.options().print_help(out);
}

} // namespace

namespace arachne::cli {

std::optional<int> parse_command(config& cfg, const std::vector<std::string>& args,
                                 const char* name, const char* usage) {
  if (auto err = cfg.parse_args(args); !err.empty()) {
    std::cerr << "arachne " << name << ": " << err << "\n";
    return usage_error;
  }
  if (cfg.markdown_help_requested) {
    cfg.options().print_markdown(std::cout);
    return 0;
  }
  if (cfg.help_requested) {
    std::cout << usage;
    cfg.options().print_help(std::cout);
    return 0;
  }
  return std::nullopt;
}

std::optional<std::unique_ptr<observer>> start_observer(caf::actor_system& sys, const config& cfg,
                                                        const char* role) {
  auto& w = cfg.crawl.watch;
  if (w.metrics.empty())
    return std::unique_ptr<observer>{};
  auto ep = parse_endpoint(w.metrics, true);
  if (!ep) {
    std::cerr << "arachne " << role << ": option --metrics expects HOST:PORT, not '" << w.metrics
              << "'\n";
    return std::nullopt;
  }
  observer_options o;
  o.host = ep->first;
  o.port = ep->second;
  o.role = role;
  o.token = w.token;
  auto started = observer::start(sys, std::move(o));
  if (!started) {
    std::cerr << "arachne " << role << ": " << started.error().context().get_as<std::string>(0)
              << "\n";
    return std::nullopt;
  }
  std::cout << "metrics at http://" << (*started)->endpoint() << "/metrics" << std::endl;
  return std::move(*started);
}

} // namespace arachne::cli

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty()) {
    print_usage(std::cerr);
    return arachne::cli::usage_error;
  }
  auto& name = args.front();
  if (name == "--help-markdown") {
    arachne::config cfg;
    cfg.options().print_markdown(std::cout);
    return 0;
  }
  if (name == "--version" || name == "version") {
    std::cout << "arachne " << ARACHNE_VERSION << "\n";
    return 0;
  }
  if (name == "--help" || name == "-h" || name == "help") {
    print_usage(std::cout);
    return 0;
  }
  for (auto& c : commands)
    if (name == c.name)
      return c.run(std::vector<std::string>(args.begin() + 1, args.end()));
  std::cerr << "arachne: unknown command '" << name << "' (see arachne --help)\n";
  return arachne::cli::usage_error;
}
