#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "caf/fwd.hpp"

namespace arachne {
class config;
class observer;
} // namespace arachne

namespace arachne::cli {

/// Parses a command's options into `cfg`, printing a one-line error or the
/// help (`usage` first) as asked. Returns the exit code if the command is
/// done (bad options, --help), or nothing if it should run.
std::optional<int> parse_command(config& cfg, const std::vector<std::string>& args,
                                 const char* name, const char* usage);

/// --metrics of a node or sink-node: its observer (null without the option),
/// or nothing after printing why it cannot listen.
std::optional<std::unique_ptr<observer>> start_observer(caf::actor_system& sys, const config& cfg,
                                                        const char* role);

/// Exit code for a bad option or value.
constexpr int usage_error = 2;

/// `arachne crawl`: a whole crawl with JSON-lines output and a report.
int crawl_main(const std::vector<std::string>& args);

/// `arachne fetch`: one request (or a benchmark) through a fetcher actor.
int fetch_main(const std::vector<std::string>& args);

/// `arachne shell`: a page fetched once, then selectors tried on it.
int shell_main(const std::vector<std::string>& args);

/// `arachne sink-node`: sinks served to crawls elsewhere over CAF remoting.
int sink_node_main(const std::vector<std::string>& args);

/// `arachne node`: a worker node of distributed crawls.
int node_main(const std::vector<std::string>& args);

/// `arachne cluster-ca DIR`: a cluster CA and certificates for its processes.
int cluster_ca_main(const std::vector<std::string>& args);

/// `arachne state DIR`: what a crawl's state directory holds.
int state_main(const std::vector<std::string>& args);

/// `arachne site`: serves the demo site. Takes the arguments after "site".
int site_main(const std::vector<std::string>& args);

} // namespace arachne::cli
