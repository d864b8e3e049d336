#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "services/common/config.h"
#include "tests/testing/redis_cluster.h"
#include "tests/testing/redis_server.h"

namespace peerwell::testing {

// What the services of a test run on: one redis-server, or a local Redis Cluster of three
// masters. The integration suites run twice, the second time with PEERWELL_TEST_REDIS=cluster
// (tests/CMakeLists.txt), so that every service is tried on both.
class ServiceRedis {
 public:
  enum class Kind { kServer, kCluster };
  // As PEERWELL_TEST_REDIS says: "cluster", or a server when unset.
  static Kind KindFromEnvironment();

  // A cluster's masters have `cluster_replicas` replicas each (for failovers).
  explicit ServiceRedis(Kind kind = KindFromEnvironment(), int cluster_replicas = 0);

  bool is_cluster() const { return cluster_ != nullptr; }
  // As the tests' own user, which may run any command on any key.
  RedisAddress address() const;
  // As one of production's users.
  RedisAddress address_for(const std::string& user) const;
  // What a service's process needs to reach it as its own user: PEERWELL_REDIS_ADDR (the
  // cluster's nodes as seeds), PEERWELL_REDIS_MODE, PEERWELL_REDIS_USER, PEERWELL_REDIS_PASSWORD.
  std::vector<std::pair<std::string, std::string>> ServiceEnv(const std::string& service) const;
  // Each node alone (not as a cluster), as the tests' own user: for what a cluster answers node
  // by node (SCAN of every key).
  std::vector<RedisAddress> NodeAddresses() const;
  // Every key matching the pattern, on every node (SCAN as the tests' user); throws when a node
  // does not answer.
  std::vector<std::string> Keys(const std::string& match) const;
  // The redis-server processes, "redis-server" or "redis-node-<i>" each.
  std::vector<std::pair<std::string, pid_t>> Processes() const;
  // The folders holding append-only files (appendonlydir/), one per node.
  std::vector<std::string> DataDirectories() const;

  // The one server, for tests of its faults (kill, pause); throws on a cluster.
  RedisServer& server();
  // The cluster; throws on a server.
  RedisCluster& cluster();

 private:
  std::unique_ptr<RedisServer> server_;
  std::unique_ptr<RedisCluster> cluster_;
};

}  // namespace peerwell::testing
