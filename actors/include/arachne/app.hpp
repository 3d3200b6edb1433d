#pragma once

#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

#include "caf/fwd.hpp"

namespace arachne {

class crawl;
struct crawl_report;

/// What a crawler program says of itself: the name its error lines begin
/// with, the text `--help` shows above the options, and its sinks when no
/// `--out` is given.
struct app_info {
  std::string name;                                   // "example_hello"
  std::string usage;                                  // "usage: example_hello SEED... ..."
  std::vector<std::string> outs{"jsonl:crawl.jsonl"}; // --out's default; empty: none
};

/// What a program adds to its crawl before it runs: handlers, its own sinks.
/// A std::exception it throws ends the program with its what() as the error.
using app_setup = std::function<void(caf::actor_system& sys, crawl& c)>;

/// Runs a crawler program as `arachne crawl` runs: every option of
/// `arachne crawl` (--help, --out, --state, --cluster, ...), one-line errors,
/// the seeds from the command line, Ctrl-C stopping gracefully, the report
/// (on standard error if a sink writes standard output) and the exit code:
/// 0 the crawl ended, 1 no URL got an answer or a sink, the state store or
/// the program's setup failed, 2 a bad option, value or seed (nothing
/// written), 130 interrupted.
int run_app(int argc, char** argv, const app_info& info, const app_setup& setup = {});

/// `run_app` with the arguments after the program's name.
int run_app(const std::vector<std::string>& args, const app_info& info,
            const app_setup& setup = {});

/// Prints the report `run_app` prints; `outs` names the sinks in the order
/// they were added (the --out values), for the lines of those that failed.
void print_report(std::ostream& out, const crawl_report& r, const std::vector<std::string>& outs);

} // namespace arachne
