#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/testing/process.h"
#include "tests/testing/service_redis.h"

namespace peerwell::testing {

struct SuiteOptions {
  // A build tree (services/<name>/peerwell-<name>) or a folder holding the peerwell-<name>
  // binaries.
  std::string binaries;
  // Processes of each service, all on the same Redis, as a Deployment with that many pods.
  int replicas = 1;
  // One redis-server, or a Redis Cluster of three masters.
  ServiceRedis::Kind redis = ServiceRedis::KindFromEnvironment();
  int redis_cluster_replicas = 0;  // of each master, on a cluster
  // Further settings for every service, e.g. {"PEERWELL_EVENT_CLAIM_IDLE", "1s"}.
  std::vector<std::pair<std::string, std::string>> env;
  // Given the suite's redis-server once it runs: PEERWELL_REDIS_ADDR for some services by name,
  // in place of its own address (a proxy in front of it, for network faults between them).
  std::function<std::map<std::string, std::string>(RedisServer&)> redis_addr_for = nullptr;
};

// The whole suite, as production runs it: a redis-server of its own (append-only, appendfsync
// always, on a Unix socket in a temporary directory) or a local Redis Cluster, and the directory,
// check-in, alerts, supervision and network binaries on free loopback ports, started in that order,
// with fresh secrets, and the HTTP gateway in front of them. Each service finds those started
// before it through Target(), which names every replica, as a headless Service does in Kubernetes.
// Everything stops when it goes out of scope.
class LocalSuite {
 public:
  struct Service {
    std::string name;
    std::string address;  // 127.0.0.1:<port>
    int metrics_port = 0;
    absl::Duration start_to_serving;
    std::unique_ptr<ServerProcess> process;
  };

  static absl::StatusOr<std::unique_ptr<LocalSuite>> Start(const SuiteOptions& options);
  ~LocalSuite();

  const std::string& jwt_secret() const { return jwt_secret_; }
  ServiceRedis& redis() { return *redis_; }
  // The first replica of `name`.
  const Service& service(const std::string& name) const;
  std::vector<const Service*> replicas(const std::string& name) const;
  // A gRPC target naming every replica of `name` ("ipv4:127.0.0.1:a,127.0.0.1:b"), for a
  // round_robin channel.
  std::string Target(const std::string& name) const;
  const std::vector<Service>& services() const { return services_; }
  // The port of the gateway's HTTP server on 127.0.0.1.
  int gateway_port() const;
  // Every process of the suite by name, to read what each spends: "redis-server" (or each
  // "redis-node-<i>" of a cluster), then the
  // services in the order they started ("checkin"; a further replica "checkin-2"), the gateway
  // last.
  std::vector<std::pair<std::string, pid_t>> Processes() const;
  // The most resident memory a service has had so far, in MiB (VmHWM): its peak under the load,
  // even when read after an idle baseline round.
  static double ResidentMiB(const Service& service);

 private:
  LocalSuite() = default;
  std::string jwt_secret_;
  std::unique_ptr<ServiceRedis> redis_;
  std::vector<Service> services_;
};

}  // namespace peerwell::testing
