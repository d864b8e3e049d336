#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "grpcpp/server.h"
#include "grpcpp/support/server_interceptor.h"
#include "services/common/config.h"
#include "services/common/metrics.h"
#include "services/common/redis_client.h"

namespace peerwell {

struct ServerHostOptions {
  std::string listen_addr;
  absl::Duration shutdown_grace = absl::Seconds(10);
  // How often health asks Redis, and how long it waits for the answer.
  absl::Duration health_interval = absl::Milliseconds(250);
  absl::Duration health_timeout = absl::Milliseconds(750);
};

// The grpc.health.v1 service name that answers SERVING for as long as the process runs, whatever
// Redis says: for a liveness probe, which must not restart every pod while Redis is away. The
// empty name (readiness) follows Redis.
inline constexpr char kLivenessHealthService[] = "liveness";

// Hosts a service's gRPC server with what every PeerWell server has: grpc.health.v1 following
// Redis (NOT_SERVING while it is unreachable or loading; kLivenessHealthService aside),
// reflection, keepalive, the metrics interceptor, a bound on message size, and a drain on
// shutdown.
class ServerHost {
 public:
  ServerHost(ServerHostOptions options, Metrics& metrics, RedisClient& redis);
  ~ServerHost();

  void AddService(grpc::Service* service);
  // Runs at the start of Shutdown, before the drain: for ending long-lived streams.
  void AddShutdownHook(std::function<void()> hook) { hooks_.push_back(std::move(hook)); }
  // Binds, starts serving and logs {"message":"serving","port":N}.
  absl::Status Start();
  int port() const { return port_; }
  // Health turns NOT_SERVING, in-flight calls get up to the grace period to finish, then the
  // rest are cancelled.
  void Shutdown();

 private:
  void HealthLoop();

  ServerHostOptions options_;
  Metrics& metrics_;
  RedisClient& redis_;
  std::vector<grpc::Service*> services_;
  std::vector<std::function<void()>> hooks_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::mutex mu_;
  std::condition_variable stop_health_;
  bool stopping_ = false;
  bool serving_ = false;
  std::thread health_thread_;
};

// Blocks SIGTERM and SIGINT in the calling thread and every thread it starts afterwards; call it
// first thing in main so that WaitForTerminationSignal alone receives them.
void BlockTerminationSignals();
// Returns the signal that arrived.
int WaitForTerminationSignal();

// Debian builds Abseil without NDEBUG, so every absl::Mutex acquisition (gRPC's own locks among
// them, on every call) also walks a deadlock-cycle graph. Profiles of the check-in path showed it;
// release binaries turn it off first thing in main.
void DisableMutexDeadlockDetection();

// Runs a server binary: parses config (exit 2 with a message on error), sets up logging,
// metrics and Redis, lets `build` add the services, serves until SIGTERM or SIGINT, drains,
// exits 0. `build` returns the objects that must outlive the server.
struct ServerRuntime {
  const ServiceConfig& config;
  Metrics& metrics;
  RedisClient& redis;
};
using ServiceBuilder = std::function<absl::StatusOr<std::vector<std::shared_ptr<void>>>(
    ServerRuntime& runtime, ServerHost& host)>;
int RunServerMain(int argc, char** argv, const ServiceDefaults& defaults,
                  const ServiceBuilder& build);

}  // namespace peerwell
