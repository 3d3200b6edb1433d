// `arachne site`: serves the deterministic demo web on loopback addresses.

#include <csignal>
#include <ctime>
#include <fstream>
#include <iostream>

#include "arachne/options.hpp"

#include "commands.hpp"
#include "site_server.hpp"

namespace arachne::cli {

namespace {

void write_truth(std::ostream& out, const site::site_model& model,
                 const site::truth_options& opts) {
  for (auto& e : model.truth(opts))
    out << e.url << '\t' << e.outcome << '\t' << e.depth << '\t' << e.location << '\n';
  if (!opts.max_depth)
    std::cerr << "arachne site: the truth leaves out the endless /calendar/ trap "
                 "(--truth-max-depth includes it up to a depth)\n";
}

} // namespace

int site_main(const std::vector<std::string>& args) {
  site::site_params params;
  site::server_options server_opts;
  uint32_t port = 0;
  std::string ca_file = "site-ca.pem";
  bool print_truth = false;
  std::string truth_out;
  std::vector<std::string> truth_seeds;
  int64_t truth_max_depth = -1;
  std::string truth_agent = "arachne";
  caf::timespan serve_for{0};
  option_set opts;
  opts.section("The site")
    .add("hosts", params.hosts, "hosts, each on its own address 127.0.1.1, 127.0.1.2, ...")
    .add("pages", params.pages, "pages per host")
    .add("seed", params.seed, "varies links and text; the same seed gives the same site")
    .add("tls", params.tls, "serve HTTPS with a freshly generated CA")
    .add("ca-file", ca_file, "where --tls writes the CA certificate for clients")
    .add("trap", params.trap, "link the endless calendar from every front page")
    .add("crawl-delay", params.crawl_delay,
         "Crawl-delay declared by the hosts that declare one; 0 = none does")
    .section("Serving")
    .add("port", port, "port on every host's address; 0 = a free one")
    .add("threads", server_opts.threads, "IO threads")
    .add("latency", server_opts.latency, "delay before every response")
    .add("load-latency", server_opts.load_latency,
         "more delay per request the host is already answering (an overloaded server)")
    .add("idle-timeout", server_opts.idle_timeout, "close idle keep-alive connections after")
    .add_size("cache", server_opts.cache_bytes,
              "keep generated responses up to this many body bytes and serve them again "
              "(a cheaper server for benchmarks); 0 = generate every response")
    .add("access-log", server_opts.access_log,
         "append 'start_us end_us host target status bytes peer' lines to this file "
         "(request read, response ready; microseconds since the epoch)")
    .add("serve-for", serve_for, "stop after this long; 0 = until SIGINT or SIGTERM")
    .section("Truth (the URLs a polite crawler records)")
    .add("print-truth", print_truth,
         "print 'url outcome depth location' lines for --port and exit")
    .add("truth-out", truth_out, "write the truth to this file once the port is known")
    .add("truth-seeds", truth_seeds, "start URLs; default: the front page of the first host")
    .add("truth-max-depth", truth_max_depth,
         "follow links this deep; -1 = unlimited (the calendar trap is then left out)")
    .add("truth-agent", truth_agent, "robots.txt token to obey");
  auto parsed = opts.parse(args);
  if (!parsed.error.empty()) {
    std::cerr << "arachne site: " << parsed.error << "\n";
    return usage_error;
  }
  if (parsed.markdown) {
    opts.print_markdown(std::cout);
    return 0;
  }
  if (parsed.help) {
    std::cout << "usage: arachne site [--option=value ...]\n\n"
                 "Serves a deterministic synthetic web: every host on its own loopback\n"
                 "address, all on one port, with robots.txt, redirects, 404s, a redirect\n"
                 "loop and an endless calendar trap.\n";
    opts.print_help(std::cout);
    return 0;
  }
  auto bad = [](const std::string& msg) {
    std::cerr << "arachne site: " << msg << "\n";
    return usage_error;
  };
  if (!parsed.positional.empty())
    return bad("unexpected argument '" + parsed.positional.front() + "'");
  if (params.hosts < 1 || params.hosts > site::max_hosts)
    return bad("option --hosts expects 1 to " + std::to_string(site::max_hosts));
  if (params.pages < 1)
    return bad("option --pages expects at least 1");
  if (port > 65535)
    return bad("option --port expects 0 to 65535");
  if (server_opts.threads < 1)
    return bad("option --threads expects at least 1");
  site::truth_options truth;
  truth.seeds = truth_seeds;
  truth.user_agent = truth_agent;
  if (truth_max_depth >= 0)
    truth.max_depth = static_cast<uint32_t>(truth_max_depth);
  if (print_truth) {
    if (port == 0)
      return bad("--print-truth needs --port (the port is part of every URL)");
    site::site_model model{params, static_cast<uint16_t>(port)};
    write_truth(std::cout, model, truth);
    return 0;
  }
  // Signals are taken synchronously below; block them before threads start
  // so that every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  site::site_server server{params, server_opts};
  if (auto err = server.listen(static_cast<uint16_t>(port)); !err.empty()) {
    std::cerr << "arachne site: " << err << "\n";
    return 1;
  }
  auto& model = server.model();
  if (auto* tls = server.tls()) {
    std::ofstream out{ca_file, std::ios::trunc};
    if (!(out << tls->ca_pem)) {
      std::cerr << "arachne site: cannot write the CA to '" << ca_file << "'\n";
      return 1;
    }
  }
  if (!truth_out.empty()) {
    std::ofstream out{truth_out, std::ios::trunc};
    write_truth(out, model, truth);
    if (!out) {
      std::cerr << "arachne site: cannot write the truth to '" << truth_out << "'\n";
      return 1;
    }
  }
  server.start();
  std::cout << "arachne site: " << params.hosts << " hosts x " << params.pages << " pages at "
            << model.origin(0) << "/";
  if (params.hosts > 1)
    std::cout << " .. " << model.origin(params.hosts - 1) << "/";
  std::cout << "\nport " << server.port() << "\n";
  if (server.tls())
    std::cout << "CA certificate: " << ca_file << "\n";
  std::cout << std::flush;
  if (serve_for.count() > 0) {
    auto ns = serve_for.count();
    timespec limit{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
    sigtimedwait(&signals, nullptr, &limit);
  } else {
    int sig = 0;
    sigwait(&signals, &sig);
  }
  server.stop();
  std::cerr << "arachne site: stopped after " << server.responses() << " responses\n";
  return 0;
}

} // namespace arachne::cli
