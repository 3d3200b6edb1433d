#include "support/nginx_server.hpp"

#include <catch2/catch.hpp>

#include <fstream>

namespace arachne::testing {

namespace fs = std::filesystem;

nginx_server::nginx_server(fs::path d, std::string extra_config)
  : dir(std::move(d)), extra(std::move(extra_config)) {
  auto program = find_program("nginx");
  if (program.empty() && fs::exists("/usr/sbin/nginx"))
    program = "/usr/sbin/nginx";
  REQUIRE(!program.empty()); // scripts/install-deps installs nginx-light
  fs::create_directories(dir / "tmp");
  // The port was free a moment ago; if it was taken since, nginx exits
  // and another is tried.
  for (int attempt = 0; attempt < 5 && !(proc && proc->alive()); ++attempt) {
    port = free_port();
    write_config();
    proc = std::make_unique<child_process>(
      std::vector<std::string>{program, "-p", dir.string(), "-c", (dir / "nginx.conf").string()},
      (dir / "stdout.log").string());
    if (!proc->started() || !wait_for_port(port))
      proc.reset();
  }
  REQUIRE((proc && proc->alive()));
}

void nginx_server::write_config() {
  auto tmp = (dir / "tmp").string();
  std::ofstream conf{dir / "nginx.conf"};
  conf << "daemon off;\nmaster_process off;\nworker_processes 1;\n"
       << "pid " << (dir / "nginx.pid").string() << ";\n"
       << "error_log " << (dir / "error.log").string() << ";\n"
       << "events { worker_connections 64; }\n"
       << "http {\n"
       << "  log_format wire '$request';\n"
       << "  access_log " << (dir / "access.log").string() << " wire;\n"
       << "  client_body_temp_path " << tmp << "; proxy_temp_path " << tmp << ";\n"
       << "  fastcgi_temp_path " << tmp << "; uwsgi_temp_path " << tmp << ";\n"
       << "  scgi_temp_path " << tmp << ";\n"
       << "  types { text/html html; text/plain txt; application/xml xml; application/gzip gz; }\n"
       << "  server {\n    listen 127.0.0.1:" << port << ";\n"
       << "    root " << (dir / "www").string() << ";\n"
       << extra << "  }\n}\n";
}

std::multiset<std::string> nginx_server::targets() const {
  std::multiset<std::string> out;
  std::ifstream in{dir / "access.log"};
  for (std::string line; std::getline(in, line);) {
    auto first = line.find(' ');
    auto last = line.rfind(' ');
    if (first != std::string::npos && last > first)
      out.insert(line.substr(first + 1, last - first - 1));
  }
  return out;
}

} // namespace arachne::testing
