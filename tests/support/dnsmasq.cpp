#include "dnsmasq.hpp"

#include <chrono>
#include <csignal>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

namespace arachne::testing {

namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path& p) {
  std::ifstream in{p};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int count_of(const std::string& text, const std::string& needle) {
  int n = 0;
  for (auto pos = text.find(needle); pos != std::string::npos; pos = text.find(needle, pos + 1))
    ++n;
  return n;
}

} // namespace

dnsmasq::dnsmasq(fs::path d, const std::string& hosts, int ttl) : dir(std::move(d)) {
  fs::create_directories(dir);
  fs::permissions(dir, fs::perms::all); // (it runs as nobody)
  std::ofstream{dir / "hosts"} << hosts;
  fs::permissions(dir / "hosts", fs::perms::all);
  // The port was free a moment ago; if another process took it since,
  // dnsmasq exits and we try another.
  for (int attempt = 0; attempt < 5 && !(proc && proc->alive()); ++attempt)
    start(ttl);
  REQUIRE((proc && proc->alive()));
}

void dnsmasq::start(int ttl) {
  port = free_port();
  proc = std::make_unique<child_process>(
    std::vector<std::string>{"dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null",
                             "--port=" + std::to_string(port), "--listen-address=127.0.0.1",
                             "--bind-interfaces", "--no-resolv", "--no-hosts", "--local=/test/",
                             "--addn-hosts=" + (dir / "hosts").string(),
                             "--local-ttl=" + std::to_string(ttl), "--pid-file=", "--user=nobody",
                             "--log-queries", "--log-facility=" + (dir / "queries.log").string()},
    (dir / "stdout.log").string());
  if (!proc->started() || !wait_for_port(port)) {
    proc.reset();
    return;
  }
}

void dnsmasq::set_hosts(const std::string& hosts) {
  auto log = dir / "queries.log";
  auto reads = count_of(slurp(log), "read " + (dir / "hosts").string());
  std::ofstream{dir / "hosts", std::ios::trunc} << hosts;
  proc->signal(SIGHUP);
  // dnsmasq logs each time it reads the file.
  for (int i = 0; i < 100 && count_of(slurp(log), "read " + (dir / "hosts").string()) <= reads; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  REQUIRE(count_of(slurp(log), "read " + (dir / "hosts").string()) > reads);
}

int dnsmasq::queries(const std::string& name, const std::string& type) const {
  return count_of(slurp(dir / "queries.log"), "query[" + type + "] " + name + " from ");
}

} // namespace arachne::testing
