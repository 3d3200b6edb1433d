#pragma once

#include <string>
#include <vector>

namespace arachne::cli {

/// Exit code for a bad option or value.
constexpr int usage_error = 2;

/// `arachne crawl`: a whole crawl with JSON-lines output and a report.
int crawl_main(const std::vector<std::string>& args);

/// `arachne fetch`: one request (or a benchmark) through a fetcher actor.
int fetch_main(const std::vector<std::string>& args);

/// `arachne site`: serves the demo site. Takes the arguments after "site".
int site_main(const std::vector<std::string>& args);

} // namespace arachne::cli
