#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <sys/types.h>

namespace arachne::testing {

/// A child process for tests (a real proxy server, say): started with
/// `argv`, its output to `log_path`; killed (SIGKILL) and reaped by `kill`
/// or the destructor.
class child_process {
public:
  child_process(const std::vector<std::string>& argv, const std::string& log_path);
  ~child_process();

  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  /// True if the process started (its program exists and is executable).
  bool started() const noexcept { return pid_ > 0; }

  /// Kills the process and waits for it.
  void kill();

  /// True if the process has not exited (a server that could not bind exits).
  bool alive();

  /// Sends `sig` (SIGHUP to reload, say).
  void signal(int sig);

private:
  pid_t pid_ = -1;
};

/// A TCP port on 127.0.0.1 that was free a moment ago (for servers that
/// cannot report the port they bound).
uint16_t free_port();

/// Waits until something accepts connections on 127.0.0.1:`port`; false
/// after `limit`.
bool wait_for_port(uint16_t port, std::chrono::milliseconds limit = std::chrono::seconds(10));

/// The full path of `program` on PATH, or empty if it is not installed.
std::string find_program(const std::string& program);

} // namespace arachne::testing
