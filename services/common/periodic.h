#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace peerwell {

// Runs `step` on a thread of its own at once and then every `interval` until destroyed; the
// destructor wakes the thread and waits for the step in hand. For a service's periodic work
// (sweeps, gauges), which every replica runs and whose stores make each effect happen once.
class PeriodicLoop {
 public:
  PeriodicLoop(absl::Duration interval, std::function<void()> step);
  ~PeriodicLoop();
  PeriodicLoop(const PeriodicLoop&) = delete;
  PeriodicLoop& operator=(const PeriodicLoop&) = delete;

 private:
  void Run();

  const absl::Duration interval_;
  const std::function<void()> step_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

// Logs a warning "<what>" with the error when a periodic step failed; it is tried again next time.
void WarnIfFailed(const char* what, const absl::Status& status);

}  // namespace peerwell
