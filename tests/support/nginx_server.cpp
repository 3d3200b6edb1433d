#include "support/nginx_server.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

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

std::string nginx_server::with_port(std::string text) const {
  auto p = std::to_string(port);
  for (auto at = text.find("{port}"); at != std::string::npos; at = text.find("{port}", at))
    text.replace(at, 6, p);
  return text;
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
       << "  log_format detail '$status\\t$bytes_sent\\t$http_if_none_match\\t"
          "$http_if_modified_since\\t$host\\t$http_cookie\\t$http_via\\t$server_addr\\t$msec\\t$request_time\\t$request';\n"
       << "  access_log " << (dir / "detail.log").string() << " detail;\n"
       << "  client_body_temp_path " << tmp << "; proxy_temp_path " << tmp << ";\n"
       << "  fastcgi_temp_path " << tmp << "; uwsgi_temp_path " << tmp << ";\n"
       << "  scgi_temp_path " << tmp << ";\n"
       << "  types { text/html html; text/plain txt; application/xml xml; application/gzip gz; }\n"
       << "  server {\n    listen 127.0.0.1:" << port << ";\n"
       << "    root " << (dir / "www").string() << ";\n"
       << "    location = /.settle { access_log off; return 204; }\n"
       << with_port(extra) << "  }\n}\n";
}

// nginx (one worker, one thread) writes a request's log lines right after
// the last byte of its answer, in the same turn of its event loop: a client
// that has its answer may read the log a moment too early. An answer to a
// request sent after that (to /.settle, not logged) means the turn is over.
void nginx_server::settle() const {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  timeval limit{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(port);
  to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool answered = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) == 0) {
    std::string ask = "GET /.settle HTTP/1.0\r\n\r\n";
    if (::send(fd, ask.data(), ask.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(ask.size())) {
      char buf[512];
      ssize_t n;
      while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0)
        answered = true;
      answered = answered && n == 0; // the whole answer, to its end
    }
  }
  ::close(fd);
  REQUIRE(answered);
}

std::multiset<std::string> nginx_server::targets() const {
  settle();
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

std::vector<nginx_server::request_line> nginx_server::requests() const {
  settle();
  std::vector<request_line> out;
  std::ifstream in{dir / "detail.log"};
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> f;
    for (std::size_t at = 0;;) {
      auto tab = line.find('\t', at);
      f.push_back(line.substr(at, tab == std::string::npos ? std::string::npos : tab - at));
      if (tab == std::string::npos)
        break;
      at = tab + 1;
    }
    if (f.size() != 11)
      continue;
    auto unset = [](std::string& v) { return v == "-" ? std::string{} : v; }; // nginx logs "-"
    request_line r;
    r.status = std::atoi(f[0].c_str());
    r.bytes = std::strtoull(f[1].c_str(), nullptr, 10);
    r.if_none_match = unset(f[2]);
    r.if_modified_since = unset(f[3]);
    r.host = f[4];
    r.cookie = unset(f[5]);
    r.via = unset(f[6]);
    r.server_address = f[7];
    r.ended = std::strtod(f[8].c_str(), nullptr);
    r.took = std::strtod(f[9].c_str(), nullptr);
    auto first = f[10].find(' ');
    auto last = f[10].rfind(' ');
    if (first != std::string::npos && last > first)
      r.target = f[10].substr(first + 1, last - first - 1);
    out.push_back(std::move(r));
  }
  return out;
}

} // namespace arachne::testing
