#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "support/process.hpp"

namespace arachne::testing {

/// A real DNS server for tests: Debian's dnsmasq on a free loopback port,
/// answering only from its own hosts file (no upstream, no /etc/hosts) with
/// time to live `ttl` seconds, NXDOMAIN for other names under `.test`, and
/// logging every query.
struct dnsmasq {
  std::filesystem::path dir;
  uint16_t port = 0;
  std::unique_ptr<child_process> proc;

  /// `hosts` as in /etc/hosts: "ADDRESS NAME" lines.
  dnsmasq(std::filesystem::path d, const std::string& hosts, int ttl);

  /// `ADDRESS:PORT`, for --dns-server.
  std::string server() const { return "127.0.0.1:" + std::to_string(port); }

  /// Replaces the records and makes dnsmasq read them again (SIGHUP); waits
  /// until it has.
  void set_hosts(const std::string& hosts);

  /// Queries of `type` (A, AAAA) dnsmasq has answered for `name`.
  int queries(const std::string& name, const std::string& type = "A") const;

private:
  void start(int ttl);
};

} // namespace arachne::testing
