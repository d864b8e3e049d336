#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"

namespace peerwell::testing {

// A server binary started by a test, its stdout and stderr captured to a file so the test can
// read the JSON log lines (the bound port, for one).
class ServerProcess {
 public:
  ServerProcess(std::string binary, std::vector<std::string> args,
                std::vector<std::pair<std::string, std::string>> env);
  ~ServerProcess();

  void Start();
  // The `port` of the first log line with "message":"serving" (or of `field` on a line with
  // `message`); 0 if none appeared in time.
  int WaitForLoggedPort(absl::Duration timeout, const std::string& message = "serving",
                        const std::string& field = "port");
  std::string Output() const;
  void Signal(int signal);
  // The exit code, or nullopt if it did not exit in time.
  std::optional<int> WaitForExit(absl::Duration timeout);
  pid_t pid() const { return pid_; }

 private:
  std::string binary_;
  std::vector<std::string> args_;
  std::vector<std::pair<std::string, std::string>> env_;
  std::string output_path_;
  pid_t pid_ = -1;
};

// A plain HTTP GET against 127.0.0.1:port (for /metrics); the body, or empty on failure.
std::string HttpGet(int port, const std::string& path);

}  // namespace peerwell::testing
