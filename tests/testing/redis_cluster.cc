#include "tests/testing/redis_cluster.h"

#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <stdexcept>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "services/common/redis_client.h"
#include "services/common/redis_commands.h"
#include "tests/testing/process.h"
#include "tests/testing/redis_server.h"
#include "tests/testing/wait.h"

namespace peerwell::testing {
namespace {

// Free TCP ports of 127.0.0.1, held open together so that they are distinct, then let go for
// the nodes to bind.
std::vector<int> FreePorts(size_t count) {
  std::vector<int> sockets;
  std::vector<int> ports;
  for (size_t i = 0; i < count; ++i) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
      throw std::runtime_error("no free port");
    }
    sockets.push_back(fd);
    ports.push_back(ntohs(address.sin_port));
  }
  for (int fd : sockets) close(fd);
  return ports;
}

std::string InfoField(const RedisReply& info, absl::string_view name) {
  for (absl::string_view line : absl::StrSplit(info.str, "\r\n")) {
    if (absl::ConsumePrefix(&line, name) && absl::ConsumePrefix(&line, ":")) {
      return std::string(line);
    }
  }
  return "";
}

}  // namespace

RedisCluster::RedisCluster(int masters, int replicas) {
  char pattern[] = "/tmp/peerwell-redis-cluster-XXXXXX";
  if (mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
  directory_ = pattern;
  WriteTestAclFile(directory_);
  const size_t count = static_cast<size_t>(masters) * (1 + replicas);
  std::vector<int> ports = FreePorts(2 * count);
  for (size_t i = 0; i < count; ++i) {
    Node node;
    node.port = ports[2 * i];
    node.bus_port = ports[2 * i + 1];
    node.directory = absl::StrCat(directory_, "/node-", i);
    std::filesystem::create_directory(node.directory);
    nodes_.push_back(node);
  }
  for (size_t i = 0; i < count; ++i) Start(i);
  std::vector<std::string> addresses;
  for (const Node& node : nodes_) addresses.push_back(absl::StrCat("127.0.0.1:", node.port));
  const RedisAddress as_tests = TestRedisUser(RedisAddress{});
  const std::string create = absl::StrCat(
      "redis-cli --no-auth-warning --user '", as_tests.username, "' --pass '", as_tests.password,
      "' --cluster create ", absl::StrJoin(addresses, " "), " --cluster-replicas ", replicas,
      " --cluster-yes > '", directory_, "/create.log' 2>&1");
  if (std::system(create.c_str()) != 0) {
    throw std::runtime_error("redis-cli --cluster create failed: see " + directory_ +
                             "/create.log");
  }
  if (!WaitUntilStable(absl::Seconds(30))) {
    throw std::runtime_error("the Redis Cluster did not become ready");
  }
}

RedisCluster::~RedisCluster() {
  for (size_t i = 0; i < nodes_.size(); ++i) Kill(i);
  std::error_code ignored;
  std::filesystem::remove_all(directory_, ignored);
}

void RedisCluster::Start(size_t index) {
  Node& node = nodes_[index];
  if (node.pid > 0) return;
  const RedisAddress as_tests = TestRedisUser(RedisAddress{});
  const pid_t parent = getpid();
  node.pid = fork();
  if (node.pid < 0) throw std::runtime_error("fork failed");
  if (node.pid == 0) {
    DieWithParent(parent);
    const std::string port = absl::StrCat(node.port);
    const std::string bus_port = absl::StrCat(node.bus_port);
    const std::string log = node.directory + "/redis.log";
    const std::string nodes_file = node.directory + "/nodes.conf";
    const std::string acl_file = directory_ + "/users.acl";
    // A replica logs in to its master as the tests' user (production's default user is off).
    // A replica that (re)joins is synced at once, not after Redis's default 5 s of waiting for
    // others to sync with it: with a replica wait, writes are refused until it is.
    execlp("redis-server", "redis-server", "--port", port.c_str(), "--bind", "127.0.0.1",
           "--cluster-enabled", "yes", "--cluster-port", bus_port.c_str(), "--cluster-config-file",
           nodes_file.c_str(), "--cluster-node-timeout", "1000", "--dir", node.directory.c_str(),
           "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--daemonize", "no",
           "--logfile", log.c_str(), "--aclfile", acl_file.c_str(), "--masteruser",
           as_tests.username.c_str(), "--masterauth", as_tests.password.c_str(),
           "--repl-diskless-sync-delay", "0", static_cast<char*>(nullptr));
    _exit(127);
  }
  bool ready = WaitFor(
      [&] {
        auto connection = RedisConnection::Connect(NodeAddress(index), absl::Milliseconds(200));
        if (!connection.ok()) return false;
        auto reply = (*connection)->Execute({"PING"}, absl::Milliseconds(500));
        return reply.ok() && reply->str == "PONG";
      },
      absl::Seconds(20));
  if (!ready) throw std::runtime_error("a Redis Cluster node did not start");
}

void RedisCluster::Kill(size_t index) {
  Node& node = nodes_[index];
  if (node.pid <= 0) return;
  kill(node.pid, SIGCONT);
  kill(node.pid, SIGKILL);
  waitpid(node.pid, nullptr, 0);
  node.pid = -1;
}

void RedisCluster::Pause(size_t index) {
  if (nodes_[index].pid > 0) kill(nodes_[index].pid, SIGSTOP);
}

void RedisCluster::Resume(size_t index) {
  if (nodes_[index].pid > 0) kill(nodes_[index].pid, SIGCONT);
}

size_t RedisCluster::ReplicaOf(size_t master) const {
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (i == master || nodes_[i].pid <= 0) continue;
    auto connection = RedisConnection::Connect(NodeAddress(i), absl::Seconds(1));
    if (!connection.ok()) continue;
    auto replication = (*connection)->Execute({"INFO", "replication"}, absl::Seconds(1));
    if (replication.ok() && InfoField(*replication, "role") == "slave" &&
        InfoField(*replication, "master_port") == absl::StrCat(nodes_[master].port)) {
      return i;
    }
  }
  throw std::runtime_error("the master has no replica");
}

RedisAddress RedisCluster::NodeAddress(size_t index) const {
  RedisAddress address;
  address.host = "127.0.0.1";
  address.port = nodes_[index].port;
  return TestRedisUser(std::move(address));
}

RedisAddress RedisCluster::address_for(const std::string& user) const {
  RedisAddress address;
  address.cluster = true;
  for (const Node& node : nodes_) address.seeds.emplace_back("127.0.0.1", node.port);
  address.host = "127.0.0.1";
  address.port = nodes_.front().port;
  return TestRedisUser(std::move(address), user);
}

RedisAddress RedisCluster::address() const { return TestRedisUser(address_for("")); }

size_t RedisCluster::MasterOf(std::string_view key, size_t asked) const {
  auto connection = RedisConnection::Connect(NodeAddress(asked), absl::Seconds(1));
  if (!connection.ok()) throw std::runtime_error(std::string(connection.status().message()));
  auto slots = (*connection)->Execute({"CLUSTER", "SLOTS"}, absl::Seconds(1));
  if (!slots.ok() || !slots->IsArray()) throw std::runtime_error("CLUSTER SLOTS failed");
  const long long slot = KeySlot(key);
  for (const RedisReply& range : slots->elements) {
    if (range.elements[0].integer > slot || range.elements[1].integer < slot) continue;
    const long long port = range.elements[2].elements[1].integer;
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (nodes_[i].port == port) return i;
    }
  }
  throw std::runtime_error("no master has the key's slot");
}

std::string RedisCluster::NodeId(size_t node) const {
  auto connection = RedisConnection::Connect(NodeAddress(node), absl::Seconds(1));
  if (!connection.ok()) throw std::runtime_error(std::string(connection.status().message()));
  auto id = (*connection)->Execute({"CLUSTER", "MYID"}, absl::Seconds(1));
  if (!id.ok() || id->IsError()) throw std::runtime_error("CLUSTER MYID failed");
  return id->str;
}

void RedisCluster::MoveSlot(int slot, size_t target, int keys_per_batch) {
  const std::string slot_text = absl::StrCat(slot);
  // The node that serves the slot now, as the target says.
  size_t from = nodes_.size();
  {
    auto connection = RedisConnection::Connect(NodeAddress(target), absl::Seconds(1));
    if (!connection.ok()) throw std::runtime_error("the target does not answer");
    auto slots = (*connection)->Execute({"CLUSTER", "SLOTS"}, absl::Seconds(1));
    if (!slots.ok() || !slots->IsArray()) throw std::runtime_error("CLUSTER SLOTS failed");
    for (const RedisReply& range : slots->elements) {
      if (range.elements[0].integer > slot || range.elements[1].integer < slot) continue;
      for (size_t i = 0; i < nodes_.size(); ++i) {
        if (nodes_[i].port == range.elements[2].elements[1].integer) from = i;
      }
    }
  }
  if (from == nodes_.size()) throw std::runtime_error("no master serves the slot");
  if (from == target) return;
  auto step = [&](size_t node, const RedisCommand& command, absl::Duration timeout) {
    auto connection = RedisConnection::Connect(NodeAddress(node), absl::Seconds(1));
    if (!connection.ok()) throw std::runtime_error(std::string(connection.status().message()));
    auto reply = (*connection)->Execute(command, timeout);
    if (!reply.ok() || reply->IsError()) {
      throw std::runtime_error(absl::StrCat(command[0], " ", command[1], " failed: ",
                                            reply.ok() ? reply->str : reply.status().ToString()));
    }
    return *std::move(reply);
  };
  step(target, {"CLUSTER", "SETSLOT", slot_text, "IMPORTING", NodeId(from)}, absl::Seconds(1));
  step(from, {"CLUSTER", "SETSLOT", slot_text, "MIGRATING", NodeId(target)}, absl::Seconds(1));
  const RedisAddress as_tests = address();
  while (true) {
    RedisReply keys =
        step(from, {"CLUSTER", "GETKEYSINSLOT", slot_text, absl::StrCat(keys_per_batch)},
             absl::Seconds(1));
    if (keys.elements.empty()) break;
    RedisCommand migrate = {"MIGRATE",
                            "127.0.0.1",
                            absl::StrCat(nodes_[target].port),
                            "",
                            "0",
                            "5000",
                            "AUTH2",
                            as_tests.username,
                            as_tests.password,
                            "KEYS"};
    for (const RedisReply& key : keys.elements) migrate.push_back(key.str);
    step(from, migrate, absl::Seconds(6));
  }
  // The target first, so that it serves the slot before the source redirects there for good.
  step(target, {"CLUSTER", "SETSLOT", slot_text, "NODE", NodeId(target)}, absl::Seconds(1));
  step(from, {"CLUSTER", "SETSLOT", slot_text, "NODE", NodeId(target)}, absl::Seconds(1));
  // The other masters sooner than by gossip (a replica refuses SETSLOT, and learns it from its
  // master).
  for (size_t node = 0; node < nodes_.size(); ++node) {
    if (node == from || node == target || nodes_[node].pid <= 0) continue;
    auto connection = RedisConnection::Connect(NodeAddress(node), absl::Seconds(1));
    if (!connection.ok()) continue;
    (void)(*connection)
        ->Execute({"CLUSTER", "SETSLOT", slot_text, "NODE", NodeId(target)}, absl::Seconds(1));
  }
}

bool RedisCluster::WaitUntilStable(absl::Duration timeout) const {
  return WaitFor(
      [&] {
        std::map<long long, long long> masters;  // slot range start -> port, as the first says
        bool first = true;
        for (size_t i = 0; i < nodes_.size(); ++i) {
          if (nodes_[i].pid <= 0) continue;
          auto connection = RedisConnection::Connect(NodeAddress(i), absl::Milliseconds(200));
          if (!connection.ok()) return false;
          auto info = (*connection)->Execute({"CLUSTER", "INFO"}, absl::Milliseconds(500));
          if (!info.ok() || InfoField(*info, "cluster_state") != "ok") return false;
          auto replication = (*connection)->Execute({"INFO", "replication"}, absl::Seconds(1));
          if (!replication.ok()) return false;
          if (InfoField(*replication, "role") == "slave" &&
              InfoField(*replication, "master_link_status") != "up") {
            return false;
          }
          auto slots = (*connection)->Execute({"CLUSTER", "SLOTS"}, absl::Milliseconds(500));
          if (!slots.ok() || !slots->IsArray()) return false;
          std::map<long long, long long> seen;
          for (const RedisReply& range : slots->elements) {
            seen[range.elements[0].integer] = range.elements[2].elements[1].integer;
          }
          if (first) {
            masters = seen;
            first = false;
          } else if (seen != masters) {
            return false;
          }
        }
        return !masters.empty();
      },
      timeout);
}

}  // namespace peerwell::testing
