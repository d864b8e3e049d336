#include "tests/testing/redis_server.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <stdexcept>

#include "absl/strings/str_cat.h"
#include "services/common/redis_client.h"
#include "tests/testing/process.h"
#include "tests/testing/wait.h"

namespace peerwell::testing {

RedisServer::RedisServer() {
  char pattern[] = "/tmp/peerwell-redis-XXXXXX";
  if (mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
  directory_ = pattern;
  socket_path_ = directory_ + "/redis.sock";
  Start();
}

RedisServer::~RedisServer() {
  Kill();
  std::error_code ignored;
  std::filesystem::remove_all(directory_, ignored);
}

void RedisServer::Start() {
  if (pid_ > 0) return;
  const pid_t parent = getpid();
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    DieWithParent(parent);
    std::string log = directory_ + "/redis.log";
    execlp("redis-server", "redis-server", "--port", "0", "--unixsocket", socket_path_.c_str(),
           "--unixsocketperm", "700", "--dir", directory_.c_str(), "--appendonly", "yes",
           "--appendfsync", "always", "--save", "", "--daemonize", "no", "--logfile", log.c_str(),
           static_cast<char*>(nullptr));
    _exit(127);
  }
  bool ready = WaitFor(
      [this] {
        auto connection = RedisConnection::Connect(address(), absl::Milliseconds(200));
        if (!connection.ok()) return false;
        auto reply = (*connection)->Execute({"EXISTS", "probe"}, absl::Milliseconds(500));
        return reply.ok() && !reply->IsError();
      },
      absl::Seconds(20));
  if (!ready) throw std::runtime_error("redis-server did not become ready");
}

void RedisServer::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGCONT);
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
  unlink(socket_path_.c_str());
}

void RedisServer::Stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

void RedisServer::Pause() {
  if (pid_ > 0) kill(pid_, SIGSTOP);
}

void RedisServer::Resume() {
  if (pid_ > 0) kill(pid_, SIGCONT);
}

RedisAddress RedisServer::address() const {
  RedisAddress address;
  address.unix_path = socket_path_;
  return address;
}

}  // namespace peerwell::testing
