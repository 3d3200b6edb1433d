// `arachne cluster-ca DIR --names=...`: the certificates of a cluster. Its
// processes (nodes and coordinators) accept only peers whose certificate the
// cluster CA signed (mutual TLS over CAF's OpenSSL transport).

#include <arpa/inet.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include "arachne/options.hpp"

#include "commands.hpp"
#include "tls_material.hpp"

namespace arachne::cli {

namespace {

bool exists(const std::string& path) {
  struct stat st{};
  return ::stat(path.c_str(), &st) == 0;
}

std::string read_all(const std::string& path) {
  std::ifstream in{path};
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

/// Writes `text` to a new file readable by its owner only (keys) or all.
bool write_new(const std::string& path, const std::string& text, bool secret) {
  auto old = ::umask(secret ? 077 : 022);
  std::ofstream out{path, std::ios::trunc};
  out << text;
  out.close();
  ::umask(old);
  return static_cast<bool>(out);
}

bool is_ip(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

// Why the arguments make no certificates, if they do not.
std::optional<std::string> invalid(const std::vector<std::string>& positional,
                                   const std::vector<std::string>& names, uint64_t days) {
  if (positional.size() != 1)
    return "expects one directory (see --help)";
  if (names.empty())
    return "expects --names=NAME,... (see --help)";
  if (days == 0 || days > 36500)
    return "option --days expects 1 to 36500, not '" + std::to_string(days) + "'";
  for (auto& n : names)
    if (n.find_first_of("/\\") != std::string::npos || n == "ca" || n.front() == '.')
      return "'" + n + "' cannot name a certificate file";
  return std::nullopt;
}

// The cluster CA in `dir`, made and written there if there is none yet;
// nothing (after saying why) if it cannot be written. Throws as make_ca.
std::optional<site::pem_pair> cluster_ca(const std::string& dir, const std::string& org,
                                         std::chrono::seconds valid) {
  site::pem_pair ca;
  auto ca_cert = dir + "/ca.pem";
  auto ca_key = dir + "/ca.key";
  if (exists(ca_cert) && exists(ca_key)) {
    ca = {read_all(ca_cert), read_all(ca_key)};
    std::cout << "using the cluster CA in " << ca_cert << "\n";
    return ca;
  }
  ca = site::make_ca(org, valid);
  if (!write_new(ca_key, ca.key_pem, true) || !write_new(ca_cert, ca.cert_pem, false)) {
    std::cerr << "arachne cluster-ca: cannot write " << ca_cert << "\n";
    return std::nullopt;
  }
  std::cout << "made the cluster CA: " << ca_cert << " (its key " << ca_key
            << " signs more; keep it off the nodes)\n";
  return ca;
}

// Writes DIR/NAME.pem and DIR/NAME.key for every name, signed by the
// cluster CA; the exit code. Throws as make_ca and make_peer_cert.
int make_certificates(const std::string& dir, const std::vector<std::string>& names,
                      const std::vector<std::string>& hosts, uint64_t days) {
  const std::string org = "Arachne cluster";
  std::chrono::seconds valid{static_cast<int64_t>(days) * 86400};
  auto ca = cluster_ca(dir, org, valid);
  if (!ca)
    return 1;
  site::tls_request req;
  req.not_after = valid;
  for (auto& h : hosts)
    (is_ip(h) ? req.ip_names : req.dns_names).push_back(h);
  for (auto& n : names) {
    auto cert = site::make_peer_cert(*ca, org, n, req);
    auto base = dir + "/" + n;
    if (!write_new(base + ".key", cert.key_pem, true)
        || !write_new(base + ".pem", cert.cert_pem, false)) {
      std::cerr << "arachne cluster-ca: cannot write " << base << ".pem\n";
      return 1;
    }
    std::cout << "made " << base << ".pem and " << base << ".key\n";
  }
  return 0;
}

} // namespace

int cluster_ca_main(const std::vector<std::string>& args) {
  std::vector<std::string> names;
  std::vector<std::string> hosts;
  uint64_t days = 365;
  option_set opts;
  opts.section("cluster-ca")
    .add("names", names, "a certificate per name (a node, a coordinator): DIR/NAME.pem, DIR/NAME.key")
    .add("hosts", hosts, "host names and addresses put in every certificate (subjectAltName)")
    .add("days", days, "how long the certificates are valid");
  auto parsed = opts.parse(args);
  if (!parsed.error.empty()) {
    std::cerr << "arachne cluster-ca: " << parsed.error << "\n";
    return usage_error;
  }
  if (parsed.markdown) {
    opts.print_markdown(std::cout);
    return 0;
  }
  if (parsed.help) {
    std::cout << "usage: arachne cluster-ca DIR --names=NAME,... [--option=value ...]\n\n"
                 "Makes the certificates of a cluster: DIR/ca.pem and DIR/ca.key (the cluster\n"
                 "CA, made once and reused to sign more), and DIR/NAME.pem with DIR/NAME.key\n"
                 "for each name. Give each node and coordinator its pair and ca.pem\n"
                 "(--cluster-cert, --cluster-key, --cluster-ca); keep ca.key elsewhere.\n";
    opts.print_help(std::cout);
    return 0;
  }
  if (auto msg = invalid(parsed.positional, names, days)) {
    std::cerr << "arachne cluster-ca: " << *msg << "\n";
    return usage_error;
  }
  auto& dir = parsed.positional.front();
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
    std::cerr << "arachne cluster-ca: cannot create '" << dir << "': " << std::strerror(errno) << "\n";
    return 1;
  }
  for (auto& n : names)
    if (exists(dir + "/" + n + ".pem") || exists(dir + "/" + n + ".key")) {
      std::cerr << "arachne cluster-ca: " << dir << "/" << n << ".pem or .key exists; "
                << "remove it to make a new one\n";
      return usage_error;
    }
  try {
    return make_certificates(dir, names, hosts, days);
  } catch (const std::exception& e) {
    std::cerr << "arachne cluster-ca: " << e.what() << "\n";
    return 1;
  }
}

} // namespace arachne::cli
