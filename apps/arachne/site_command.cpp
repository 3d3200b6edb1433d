// `arachne site`: serves the deterministic demo web on loopback addresses.

#include <csignal>
#include <ctime>
#include <fstream>
#include <iostream>
#include <optional>

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

// What `arachne site` is asked to do.
struct site_args {
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
};

void add_options(option_set& opts, site_args& a) {
  opts.section("The site")
    .add("hosts", a.params.hosts, "hosts, each on its own address 127.0.1.1, 127.0.1.2, ...")
    .add("pages", a.params.pages, "pages per host")
    .add("seed", a.params.seed, "varies links and text; the same seed gives the same site")
    .add("tls", a.params.tls, "serve HTTPS with a freshly generated CA")
    .add("ca-file", a.ca_file, "where --tls writes the CA certificate for clients")
    .add("trap", a.params.trap, "link the endless calendar from every front page")
    .add("crawl-delay", a.params.crawl_delay,
         "Crawl-delay declared by the hosts that declare one; 0 = none does")
    .section("Serving")
    .add("port", a.port, "port on every host's address; 0 = a free one")
    .add("threads", a.server_opts.threads, "IO threads")
    .add("latency", a.server_opts.latency, "delay before every response")
    .add("load-latency", a.server_opts.load_latency,
         "more delay per request the host is already answering (an overloaded server)")
    .add("idle-timeout", a.server_opts.idle_timeout, "close idle keep-alive connections after")
    .add_size("cache", a.server_opts.cache_bytes,
              "keep generated responses up to this many body bytes and serve them again "
              "(a cheaper server for benchmarks); 0 = generate every response")
    .add("access-log", a.server_opts.access_log,
         "append 'start_us end_us host target status bytes peer' lines to this file "
         "(request read, response ready; microseconds since the epoch)")
    .add("serve-for", a.serve_for, "stop after this long; 0 = until SIGINT or SIGTERM")
    .section("Truth (the URLs a polite crawler records)")
    .add("print-truth", a.print_truth,
         "print 'url outcome depth location' lines for --port and exit")
    .add("truth-out", a.truth_out, "write the truth to this file once the port is known")
    .add("truth-seeds", a.truth_seeds, "start URLs; default: the front page of the first host")
    .add("truth-max-depth", a.truth_max_depth,
         "follow links this deep; -1 = unlimited (the calendar trap is then left out)")
    .add("truth-agent", a.truth_agent, "robots.txt token to obey");
}

int bad_usage(const std::string& msg) {
  std::cerr << "arachne site: " << msg << "\n";
  return usage_error;
}

// Why the arguments make no site, if they do not.
std::optional<std::string> invalid(const site_args& a, const std::vector<std::string>& positional) {
  if (!positional.empty())
    return "unexpected argument '" + positional.front() + "'";
  if (a.params.hosts < 1 || a.params.hosts > site::max_hosts)
    return "option --hosts expects 1 to " + std::to_string(site::max_hosts);
  if (a.params.pages < 1)
    return "option --pages expects at least 1";
  if (a.port > 65535)
    return "option --port expects 0 to 65535";
  if (a.server_opts.threads < 1)
    return "option --threads expects at least 1";
  return std::nullopt;
}

site::truth_options truth_options_of(const site_args& a) {
  site::truth_options truth;
  truth.seeds = a.truth_seeds;
  truth.user_agent = a.truth_agent;
  if (a.truth_max_depth >= 0)
    truth.max_depth = static_cast<uint32_t>(a.truth_max_depth);
  return truth;
}

// Writes the CA (--tls) and the truth (--truth-out) once the port is known;
// false (after saying why) if a file cannot be written.
bool write_files(const site::site_server& server, const site_args& a,
                 const site::truth_options& truth) {
  if (auto* tls = server.tls()) {
    std::ofstream out{a.ca_file, std::ios::trunc};
    if (!(out << tls->ca_pem)) {
      std::cerr << "arachne site: cannot write the CA to '" << a.ca_file << "'\n";
      return false;
    }
  }
  if (!a.truth_out.empty()) {
    std::ofstream out{a.truth_out, std::ios::trunc};
    write_truth(out, server.model(), truth);
    if (!out) {
      std::cerr << "arachne site: cannot write the truth to '" << a.truth_out << "'\n";
      return false;
    }
  }
  return true;
}

void announce(const site::site_server& server, const site_args& a) {
  auto& model = server.model();
  std::cout << "arachne site: " << a.params.hosts << " hosts x " << a.params.pages << " pages at "
            << model.origin(0) << "/";
  if (a.params.hosts > 1)
    std::cout << " .. " << model.origin(a.params.hosts - 1) << "/";
  std::cout << "\nport " << server.port() << "\n";
  if (server.tls())
    std::cout << "CA certificate: " << a.ca_file << "\n";
  std::cout << std::flush;
}

// Serves until --serve-for has passed or SIGINT or SIGTERM comes.
int serve(const site_args& a, const site::truth_options& truth) {
  // Signals are taken synchronously below; block them before threads start
  // so that every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  site::site_server server{a.params, a.server_opts};
  if (auto err = server.listen(static_cast<uint16_t>(a.port)); !err.empty()) {
    std::cerr << "arachne site: " << err << "\n";
    return 1;
  }
  if (!write_files(server, a, truth))
    return 1;
  server.start();
  announce(server, a);
  if (a.serve_for.count() > 0) {
    auto ns = a.serve_for.count();
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

} // namespace

int site_main(const std::vector<std::string>& args) {
  site_args a;
  option_set opts;
  add_options(opts, a);
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
  if (auto msg = invalid(a, parsed.positional))
    return bad_usage(*msg);
  auto truth = truth_options_of(a);
  if (a.print_truth) {
    if (a.port == 0)
      return bad_usage("--print-truth needs --port (the port is part of every URL)");
    site::site_model model{a.params, static_cast<uint16_t>(a.port)};
    write_truth(std::cout, model, truth);
    return 0;
  }
  return serve(a, truth);
}

} // namespace arachne::cli
