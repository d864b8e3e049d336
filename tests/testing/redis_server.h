#pragma once

#include <sys/types.h>

#include <string>

#include "services/common/config.h"

namespace peerwell::testing {

// A real redis-server for one test: its own temporary directory, a Unix socket (no TCP port, so
// nothing can clash), append-only persistence with appendfsync always, as in production. It can
// be killed, restarted on the same data, paused and resumed to test failures.
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

  RedisAddress address() const;
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
