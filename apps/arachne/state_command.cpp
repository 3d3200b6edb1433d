// `arachne state DIR`: what a crawl's state directory (--state) holds.

#include <iomanip>
#include <iostream>

#include "arachne/options.hpp"

#include "commands.hpp"
#include "arachne/state/journal.hpp"

namespace arachne::cli {

int state_main(const std::vector<std::string>& args) {
  uint64_t show_hosts = 20;
  option_set opts;
  opts.section("state")
    .add("hosts", show_hosts, "hosts to list, those with most left to do first; 0 = all");
  auto parsed = opts.parse(args);
  if (!parsed.error.empty()) {
    std::cerr << "arachne state: " << parsed.error << "\n";
    return usage_error;
  }
  if (parsed.markdown) {
    opts.print_markdown(std::cout);
    return 0;
  }
  if (parsed.help) {
    std::cout << "usage: arachne state DIR [--option=value ...]\n\n"
                 "Prints what a crawl's state directory (arachne crawl --state=DIR) holds:\n"
                 "URLs queued, taken up but not recorded (fetched again on resume) and\n"
                 "done, in all and per host. Reads only; safe while the crawl runs.\n";
    opts.print_help(std::cout);
    return 0;
  }
  if (parsed.positional.size() != 1) {
    std::cerr << "arachne state: expects one state directory (see --help)\n";
    return usage_error;
  }
  auto summary = read_state(parsed.positional.front());
  if (!summary) {
    std::cerr << "arachne state: " << summary.error().context().get_as<std::string>(0) << "\n";
    return 1;
  }
  auto& s = *summary;
  auto& t = s.total;
  std::cout << "state " << parsed.positional.front() << ": " << s.shards << " shard(s), "
            << s.hosts.size() << " host(s), " << std::fixed << std::setprecision(1)
            << static_cast<double>(s.bytes) / (1024.0 * 1024.0) << " MiB, pass " << s.pass
            << (s.pass > 1 ? " (re-crawls: --recrawl)" : "") << "\n"
            << "  seen " << (t.queued + t.taken + t.done) << ", queued " << t.queued
            << ", taken up (fetched again on resume) " << t.taken << ", done " << t.done
            << (t.queued + t.taken + t.done == 0
                  ? " (no URL stored yet: a resumed crawl starts from its seeds)"
                  : t.queued + t.taken == 0 ? " (the crawl is complete; --recrawl crawls it again)"
                                            : "")
            << "\n";
  std::size_t n = 0;
  for (auto& [host, c] : s.hosts) {
    if (show_hosts != 0 && n++ == show_hosts) {
      std::cout << "  ... " << (s.hosts.size() - show_hosts) << " more host(s) (--hosts=0 lists all)\n";
      break;
    }
    std::cout << "  " << host << ": queued " << c.queued << ", taken up " << c.taken << ", done "
              << c.done << "\n";
  }
  return 0;
}

} // namespace arachne::cli
