#pragma once

#include <cstdint>
#include <functional>

#include "absl/status/status.h"

namespace peerwell {

// gRPC's own threads must never wait: a handler that runs there (UnaryCallRunner::RunAsync) does
// so inside a NonBlockingScope, where what would wait for Redis or another service (the Redis
// client's synchronous calls, a directory lookup that misses its cache) answers WouldBlock()
// at once instead, before doing anything, and the handler's work moves to the executor, where
// it starts again from the beginning.
class NonBlockingScope {
 public:
  NonBlockingScope();
  ~NonBlockingScope();
  NonBlockingScope(const NonBlockingScope&) = delete;
  NonBlockingScope& operator=(const NonBlockingScope&) = delete;

  // The scope the current thread is in; null outside any.
  static NonBlockingScope* Current();
  // Unique in the process: tells this scope from a later one at the same address.
  uint64_t serial() const { return serial_; }

  // Whether something in the scope answered WouldBlock and the caller gave up on it.
  bool blocked() const { return blocked_; }
  void set_blocked() { blocked_ = true; }

 private:
  NonBlockingScope* previous_;
  uint64_t serial_;
  bool blocked_ = false;
};

// Where work that may wait goes when it cannot run where it is (a callback on the Redis
// client's I/O thread): the service's executor.
class TaskQueue {
 public:
  virtual ~TaskQueue() = default;
  // False when the task is refused (the queue is full, or shutting down); it is not run.
  virtual bool Submit(std::function<void()> task) = 0;
};

// False inside a NonBlockingScope.
inline bool MayBlock() { return NonBlockingScope::Current() == nullptr; }
// UNAVAILABLE, marked so that IsWouldBlock tells it from Redis or a service being away.
absl::Status WouldBlock();
bool IsWouldBlock(const absl::Status& status);

}  // namespace peerwell
