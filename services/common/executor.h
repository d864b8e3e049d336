#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "services/common/blocking.h"

namespace peerwell {

// A fixed pool of threads with a bounded queue. Handlers run their blocking work (Redis round
// trips, calls to other services) here, never on gRPC's own threads.
class BoundedExecutor final : public TaskQueue {
 public:
  BoundedExecutor(int threads, size_t max_queued);
  ~BoundedExecutor() override;
  BoundedExecutor(const BoundedExecutor&) = delete;
  BoundedExecutor& operator=(const BoundedExecutor&) = delete;

  // False when the queue is full or the executor is shutting down; the task is not run.
  bool Submit(std::function<void()> task) override;
  // Runs what is queued, then joins the threads.
  void Shutdown();

 private:
  void Loop();

  const size_t max_queued_;
  std::mutex mu_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> tasks_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace peerwell
