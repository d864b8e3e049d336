#include "tests/testing/service_redis.h"

#include <stdlib.h>

#include <set>
#include <stdexcept>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/common/redis_client.h"

namespace peerwell::testing {

ServiceRedis::Kind ServiceRedis::KindFromEnvironment() {
  const char* kind = getenv("PEERWELL_TEST_REDIS");
  if (kind == nullptr || std::string(kind).empty() || std::string(kind) == "server") {
    return Kind::kServer;
  }
  if (std::string(kind) == "cluster") return Kind::kCluster;
  throw std::invalid_argument(
      absl::StrCat("PEERWELL_TEST_REDIS: expected server or cluster, got '", kind, "'"));
}

ServiceRedis::ServiceRedis(Kind kind, int cluster_replicas) {
  if (kind == Kind::kCluster) {
    cluster_ = std::make_unique<RedisCluster>(3, cluster_replicas);
  } else {
    server_ = std::make_unique<RedisServer>();
  }
}

RedisAddress ServiceRedis::address() const {
  return cluster_ ? cluster_->address() : server_->address();
}

RedisAddress ServiceRedis::address_for(const std::string& user) const {
  return cluster_ ? cluster_->address_for(user) : server_->address_for(user);
}

std::vector<std::pair<std::string, std::string>> ServiceRedis::ServiceEnv(
    const std::string& service) const {
  if (!cluster_) return server_->ServiceEnv(service);
  const RedisAddress address = cluster_->address_for(service);
  return {{"PEERWELL_REDIS_ADDR", absl::StrJoin(address.seeds, ",",
                                                [](std::string* out, const auto& seed) {
                                                  absl::StrAppend(out, seed.first, ":",
                                                                  seed.second);
                                                })},
          {"PEERWELL_REDIS_MODE", "cluster"},
          {"PEERWELL_REDIS_USER", address.username},
          {"PEERWELL_REDIS_PASSWORD", address.password}};
}

std::vector<RedisAddress> ServiceRedis::NodeAddresses() const {
  if (!cluster_) return {server_->address()};
  std::vector<RedisAddress> nodes;
  for (const auto& [host, port] : cluster_->address().seeds) {
    nodes.push_back(cluster_->address().Node(host, port));
  }
  return nodes;
}

std::vector<std::string> ServiceRedis::Keys(const std::string& match) const {
  std::set<std::string> keys;
  for (const RedisAddress& node : NodeAddresses()) {
    RedisClient redis(RedisOptions{node});
    std::string cursor = "0";
    do {
      auto page = redis.Execute({"SCAN", cursor, "MATCH", match, "COUNT", "1000"});
      if (!page.ok() || page->elements.size() != 2) {
        throw std::runtime_error(absl::StrCat(
            "SCAN ", match, ": ", page.ok() ? page->str : std::string(page.status().message())));
      }
      cursor = page->elements[0].str;
      for (const RedisReply& key : page->elements[1].elements) keys.insert(key.str);
    } while (cursor != "0");
  }
  return {keys.begin(), keys.end()};
}

std::vector<std::pair<std::string, pid_t>> ServiceRedis::Processes() const {
  if (!cluster_) return {{"redis-server", server_->pid()}};
  std::vector<std::pair<std::string, pid_t>> processes;
  for (size_t node = 0; node < cluster_->size(); ++node) {
    processes.push_back({absl::StrCat("redis-node-", node), cluster_->pid(node)});
  }
  return processes;
}

std::vector<std::string> ServiceRedis::DataDirectories() const {
  if (!cluster_) return {server_->directory()};
  std::vector<std::string> directories;
  for (size_t node = 0; node < cluster_->size(); ++node) {
    directories.push_back(cluster_->directory(node));
  }
  return directories;
}

RedisServer& ServiceRedis::server() {
  if (!server_) throw std::logic_error("this test's Redis is a cluster, not one server");
  return *server_;
}

RedisCluster& ServiceRedis::cluster() {
  if (!cluster_) throw std::logic_error("this test's Redis is one server, not a cluster");
  return *cluster_;
}

}  // namespace peerwell::testing
