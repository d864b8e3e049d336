#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/time/time.h"
#include "services/common/redis_client.h"

namespace peerwell {

// How a RedisClient in cluster mode sends a command group: each command (or MULTI ... EXEC) to
// the master that owns its keys' slot, through a pipelining client of that node's own (so callers
// still share round trips, node by node), the replies put back in the group's order. The map of
// slots comes from CLUSTER SLOTS, asked of a known node or a seed when the client starts, after a
// MOVED redirection, and after a node stops answering (a failover). A MOVED command is sent again
// to the node named; an ASK one to that node after ASKING; one refused with TRYAGAIN (keys of a
// slot being migrated) or CLUSTERDOWN (a failover under way) again a moment later. All within
// the call's deadline: past it, the call ends with DEADLINE_EXCEEDED.
class RedisClusterRouter {
 public:
  RedisClusterRouter(const RedisOptions& options, RedisObserver* observer);
  ~RedisClusterRouter();
  RedisClusterRouter(const RedisClusterRouter&) = delete;
  RedisClusterRouter& operator=(const RedisClusterRouter&) = delete;

  // `keyless_slot`: where a command without keys goes (-1: to the master of slot 0).
  void Route(std::vector<RedisCommand> commands, absl::Time deadline, RedisRepliesDone done,
             int keyless_slot = -1);

 private:
  struct Node;
  struct Call;
  struct Unit;

  // Sends every unit of the call that has no reply yet to its node, or hands the call to the
  // router's thread when a slot's node is not known (the map is asked for there).
  void Dispatch(const std::shared_ptr<Call>& call);
  // A node's replies are in: settles the units they answer, then sends again what was
  // redirected, or finishes the call.
  void OnNodeReplies(const std::shared_ptr<Call>& call, std::vector<size_t> units,
                     absl::StatusOr<std::vector<RedisReply>> replies);
  // Answers the call: its replies, or the failure it met. Once.
  void Finish(const std::shared_ptr<Call>& call);
  void Fail(const std::shared_ptr<Call>& call, absl::Status status);
  void Later(const std::shared_ptr<Call>& call, absl::Duration delay);
  // The node's index in nodes_, its client made when it is new.
  int IndexLocked(const std::string& host, int port) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // CLUSTER SLOTS from the first node that answers: the known ones, then the seeds.
  void RefreshMap();
  void Loop();

  const RedisOptions options_;
  RedisObserver* const observer_;
  std::mutex mu_;
  std::condition_variable wake_;
  // Nodes are kept while the router lives: a call in flight may hold one.
  std::vector<std::unique_ptr<Node>> nodes_ ABSL_GUARDED_BY(mu_);
  std::vector<int> slot_node_ ABSL_GUARDED_BY(mu_);  // index in nodes_, -1 when unknown
  bool refresh_wanted_ ABSL_GUARDED_BY(mu_) = true;
  absl::Time last_refresh_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  struct Delayed {
    absl::Time due;
    std::shared_ptr<Call> call;
  };
  std::deque<Delayed> delayed_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  int sending_ ABSL_GUARDED_BY(mu_) = 0;  // Dispatch calls handing groups to nodes' clients
  std::thread thread_;
};

// A connection of its own for commands that block on one key (WatchAlerts' XREAD BLOCK on an
// organisation's feed), which the pipelining client must not carry. On a cluster it goes to the
// master of the key's slot: to a seed first (each in turn), then wherever a MOVED reply points,
// connecting again there, and again through the seeds after the node stops answering (a
// failover); a key that has gone ahead to the node its slot migrates to (ASK) is asked there
// after ASKING; a slot refused for a moment (TRYAGAIN, CLUSTERDOWN) is asked again shortly. On
// one server it is a plain connection. Not thread-safe.
class RedisKeyConnection {
 public:
  explicit RedisKeyConnection(RedisAddress address) : address_(std::move(address)) {}

  // The command's reply from the node that holds its key, within `timeout`; a failure to reach
  // it is UNAVAILABLE (or DEADLINE_EXCEEDED).
  absl::StatusOr<RedisReply> Execute(const RedisCommand& command, absl::Duration timeout);

 private:
  RedisAddress address_;
  std::unique_ptr<RedisConnection> connection_;
  // Where the next connection goes: a node a redirection named, else the next seed.
  std::optional<std::pair<std::string, int>> redirected_to_;
  size_t next_seed_ = 0;
};

}  // namespace peerwell
