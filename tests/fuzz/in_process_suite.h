#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/common/config.h"
#include "services/common/metrics.h"
#include "services/common/redis_client.h"
#include "services/common/server.h"
#include "tests/testing/redis_server.h"

namespace peerwell::fuzz {

// Every gRPC service of the suite in this one process, each wired exactly as its binary wires
// it (Build<Name>Server), on 127.0.0.1:0 and one real redis-server: the fuzzers' coverage then
// follows the services' own code, which a suite of child processes would hide from them.
class InProcessSuite {
 public:
  struct Service {
    std::string name;
    std::string package;  // its RPCs' proto package: "peerwell.checkin.v1"
    std::string address;  // 127.0.0.1:<port>
    std::unique_ptr<ServiceConfig> config;
    std::unique_ptr<Metrics> metrics;
    std::unique_ptr<RedisClient> redis;
    std::unique_ptr<ServerRuntime> runtime;
    std::unique_ptr<ServerHost> host;
    std::vector<std::shared_ptr<void>> parts;
  };

  // The services sign and check tokens with testing::kTestJwtSecret and seal with the test keys
  // of tests/testing/tokens.h. `settings` are further flags for every service
  // ({"log_level", "error"}, ...).
  static absl::StatusOr<std::unique_ptr<InProcessSuite>> Start(
      const std::vector<std::pair<std::string, std::string>>& settings = {});
  ~InProcessSuite();

  // The proto package of every service Start starts, in order.
  static std::vector<std::string> ServedPackages();

  // The service that serves the RPCs of `package`, or nullptr.
  const Service* ServiceForPackage(const std::string& package) const;
  const Service* service(const std::string& name) const;

 private:
  InProcessSuite() = default;

  std::unique_ptr<testing::RedisServer> redis_server_;
  std::vector<Service> services_;
};

}  // namespace peerwell::fuzz
