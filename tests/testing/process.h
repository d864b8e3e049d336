#pragma once

#include <sys/types.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "grpcpp/channel.h"

namespace peerwell::testing {

// The value of `field` on the first of `output`'s JSON log lines whose "message" is `message`:
// a string's text or a number's digits; empty when no such line has it.
std::string LoggedField(absl::string_view output, absl::string_view message,
                        absl::string_view field);

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
                        const std::string& field = "port",
                        absl::Duration poll = absl::Milliseconds(10));
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

// A free loopback port held for a server that is about to take it, so that servers which call
// each other can all be told every address before any of them starts. The socket is bound with
// SO_REUSEPORT, as gRPC binds its servers', so the server can bind the port beside it; nobody
// else can take it meanwhile. Released when destroyed (once the server is serving).
class ReservedPort {
 public:
  static absl::StatusOr<ReservedPort> Take();
  ReservedPort(ReservedPort&& other) noexcept;
  ReservedPort& operator=(ReservedPort&&) = delete;
  ~ReservedPort();

  int port() const { return port_; }
  std::string address() const;  // 127.0.0.1:<port>

 private:
  ReservedPort(int fd, int port) : fd_(fd), port_(port) {}
  int fd_ = -1;
  int port_ = 0;
};

// A PeerWell server binary started on free loopback ports (gRPC and metrics), with `env` (its
// PEERWELL_* settings), once it has logged the port it bound.
struct StartedServer {
  std::unique_ptr<ServerProcess> process;
  std::string address;  // 127.0.0.1:<port>
  int metrics_port = 0;
};
// `first`'s settings, then `then`'s (a later one of the same name wins).
std::vector<std::pair<std::string, std::string>> Env(
    std::vector<std::pair<std::string, std::string>> first,
    const std::vector<std::pair<std::string, std::string>>& then);

// "checkin" for ".../peerwell-checkin": the service a server binary runs.
std::string ServiceOfBinary(const std::string& binary);

// `listen_addr` a ReservedPort's address, or any free port by default.
absl::StatusOr<StartedServer> StartServer(const std::string& binary,
                                          std::vector<std::pair<std::string, std::string>> env,
                                          absl::Duration poll = absl::Milliseconds(10),
                                          const std::string& listen_addr = "127.0.0.1:0");

// In a child just forked from `parent`: dies with the parent (a test or the tool), even when that
// is killed. The signal follows the forking thread, and every caller forks from its main thread.
void DieWithParent(pid_t parent);

// A plain HTTP GET against 127.0.0.1:port (for /metrics); the body, or empty on failure.
std::string HttpGet(int port, const std::string& path);

// Calls `method` as a raw stream with one request message, so that the test needs no copy of
// reflection.proto (whose descriptors libgrpc++_reflection already holds) and can call methods
// that do not exist. Returns the first response message's bytes.
std::string CallRaw(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                    const std::string& request_bytes);

}  // namespace peerwell::testing
