#pragma once

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

#include "services/common/config.h"

namespace peerwell::testing {

// The password a test Redis gives `user`, and an address that logs in as them (or as the tests'
// own user, which may run any command on any key).
std::string TestRedisPassword(const std::string& user);
RedisAddress TestRedisUser(RedisAddress address, const std::string& user);
RedisAddress TestRedisUser(RedisAddress address);
// Writes `directory`/users.acl: production's ACL users (deploy/base/redis-acl-rules.conf, the
// default user off), each with its test password, and the tests' own user.
void WriteTestAclFile(const std::string& directory);

// A real redis-server for one test: its own temporary directory, a Unix socket (no TCP port, so
// nothing can clash), append-only persistence with appendfsync always, and the ACL users of
// production (deploy/base/redis-acl-rules.conf, the default user off). It can be killed,
// restarted on the same data, paused and resumed to test failures.
class RedisServer {
 public:
  RedisServer();
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  // Starts (or restarts on the same directory) and waits until it answers PING.
  void Start();
  void Kill();  // SIGKILL, as a crash
  void Stop();  // SHUTDOWN-like SIGTERM, waits for exit
  void Restart() {
    Kill();
    Start();
  }
  void Pause();   // SIGSTOP: the socket stays open but nothing answers
  void Resume();  // SIGCONT

  // As the tests' own user, which may run any command on any key.
  RedisAddress address() const;
  // As one of production's users: a service's ("checkin"), or "probe".
  RedisAddress address_for(const std::string& user) const;
  // What a service's process needs to reach this server as its own user: PEERWELL_REDIS_ADDR,
  // PEERWELL_REDIS_USER and PEERWELL_REDIS_PASSWORD.
  std::vector<std::pair<std::string, std::string>> ServiceEnv(const std::string& service) const;
  // The socket alone, without credentials.
  std::string address_string() const { return "unix:" + socket_path_; }
  const std::string& socket_path() const { return socket_path_; }
  const std::string& directory() const { return directory_; }
  pid_t pid() const { return pid_; }

 private:
  std::string directory_;
  std::string socket_path_;
  pid_t pid_ = -1;
};

}  // namespace peerwell::testing
