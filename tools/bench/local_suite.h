#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/testing/process.h"
#include "tests/testing/redis_server.h"

namespace peerwell::bench {

// The whole suite started by the tool for one run, as production runs it: a redis-server of its
// own (append-only, appendfsync always, on a Unix socket in a temporary directory) and the
// directory, check-in and alerts binaries on free loopback ports, with fresh secrets. Everything
// stops when it goes out of scope.
class LocalSuite {
 public:
  struct Service {
    std::string name;
    std::string address;  // 127.0.0.1:<port>
    absl::Duration start_to_serving;
    std::unique_ptr<peerwell::testing::ServerProcess> process;
  };

  // `binaries` is a build tree (services/<name>/peerwell-<name>) or a folder holding the
  // peerwell-<name> binaries.
  static absl::StatusOr<std::unique_ptr<LocalSuite>> Start(const std::string& binaries);
  ~LocalSuite();

  const std::string& jwt_secret() const { return jwt_secret_; }
  const Service& service(const std::string& name) const;
  const std::vector<Service>& services() const { return services_; }
  // The most resident memory a service has had so far, in MiB (VmHWM): its peak under the load,
  // even when read after an idle baseline round.
  static double ResidentMiB(const Service& service);

 private:
  LocalSuite() = default;
  std::string jwt_secret_;
  std::unique_ptr<peerwell::testing::RedisServer> redis_;
  std::vector<Service> services_;
};

// Where the services of this build are: next to the tool in the build tree.
std::string DefaultServiceBinaries();

}  // namespace peerwell::bench
