#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "support/process.hpp"

namespace arachne::testing {

/// nginx on a free loopback port serving `dir/www`, logging each request
/// line exactly as it arrived (`$request`) to `dir/access.log`. `extra` is
/// added to its server block (locations that add headers, say), with
/// `{port}` replaced by the port (`listen 127.0.0.2:{port};`).
struct nginx_server {
  std::filesystem::path dir;
  std::string extra;
  uint16_t port = 0;
  std::unique_ptr<child_process> proc;

  explicit nginx_server(std::filesystem::path d, std::string extra_config = {});

  /// `http://127.0.0.1:PORT`.
  std::string origin() const { return "http://127.0.0.1:" + std::to_string(port); }

  /// Waits until nginx logged every request it has answered (targets() and
  /// requests() do, before they read the log).
  void settle() const;

  /// The request targets nginx logged ("GET /a%2Fb HTTP/1.1" -> "/a%2Fb").
  std::multiset<std::string> targets() const;

  /// One request as nginx answered it.
  struct request_line {
    std::string target;
    int status = 0;
    uint64_t bytes = 0;             // sent, headers included ($bytes_sent)
    std::string if_none_match;      // as the client sent them; empty if not
    std::string if_modified_since;
    std::string host;               // the Host header's name
    std::string cookie;             // the Cookie header; empty if none
    std::string via;                // the Via header (a proxy's); empty if none
    std::string server_address;     // the address it was received on
    double ended = 0;               // when the answer was sent ($msec, seconds since 1970)
    double took = 0;                // from the first request byte to the last answer byte
  };

  /// Every request answered so far, in order.
  std::vector<request_line> requests() const;

private:
  void write_config();
  std::string with_port(std::string text) const;
};

} // namespace arachne::testing
