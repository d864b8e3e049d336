#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "services/common/config.h"

namespace peerwell::testing {

// A real Redis Cluster for one test: `masters` masters with `replicas` replicas each, every node a
// redis-server on free TCP ports of 127.0.0.1 (its own and its cluster bus's, picked when it
// starts), with its own temporary directory, append-only persistence with appendfsync always and
// the ACL users of production (as RedisServer). Made with `redis-cli --cluster create`; ready
// once every node says the cluster is ok and every replica is in sync. Nodes can be killed and
// started again on their data, to test failovers.
class RedisCluster {
 public:
  explicit RedisCluster(int masters = 3, int replicas = 0);
  ~RedisCluster();
  RedisCluster(const RedisCluster&) = delete;
  RedisCluster& operator=(const RedisCluster&) = delete;

  // Cluster mode, every node a seed, as the tests' own user.
  RedisAddress address() const;
  // As one of production's users.
  RedisAddress address_for(const std::string& user) const;

  size_t size() const { return nodes_.size(); }
  int port(size_t node) const { return nodes_[node].port; }
  pid_t pid(size_t node) const { return nodes_[node].pid; }
  const std::string& directory(size_t node) const { return nodes_[node].directory; }
  void Kill(size_t node);   // SIGKILL, as a crash
  void Start(size_t node);  // again, on its data and ports
  void Pause(size_t node);  // SIGSTOP: connected, answering nothing
  void Resume(size_t node);  // SIGCONT
  // A replica of `master`, as it says itself.
  size_t ReplicaOf(size_t master) const;
  // The node that is the master of `key`'s slot now, as the node `asked` says.
  size_t MasterOf(std::string_view key, size_t asked = 0) const;
  // Moves `slot` with all its keys to the master `target`, as `redis-cli --cluster reshard`
  // does: the slot marked importing and migrating, its keys MIGRATEd a batch at a time (clients
  // meanwhile redirected with ASK, or TRYAGAIN for several keys split between the nodes), then
  // given to the target on every node. Throws when a step fails.
  void MoveSlot(int slot, size_t target, int keys_per_batch = 10);
  // Until every running node says cluster_state:ok and names the same masters; false at timeout.
  bool WaitUntilStable(absl::Duration timeout) const;

 private:
  struct Node {
    int port = 0;
    int bus_port = 0;
    std::string directory;
    pid_t pid = -1;
  };
  RedisAddress NodeAddress(size_t node) const;
  std::string NodeId(size_t node) const;

  std::string directory_;
  std::vector<Node> nodes_;
};

}  // namespace peerwell::testing
