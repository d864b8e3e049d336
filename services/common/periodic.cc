#include "services/common/periodic.h"

#include <string>

#include "services/common/log.h"

namespace peerwell {

PeriodicLoop::PeriodicLoop(absl::Duration interval, std::function<void()> step)
    : interval_(interval), step_(std::move(step)) {
  thread_ = std::thread([this] { Run(); });
}

PeriodicLoop::~PeriodicLoop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void PeriodicLoop::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_) {
    lock.unlock();
    step_();
    lock.lock();
    wake_.wait_for(lock, absl::ToChronoNanoseconds(interval_), [this] { return stopping_; });
  }
}

void WarnIfFailed(const char* what, const absl::Status& status) {
  if (!status.ok()) Log(Severity::kWarning, what, {Field("error", std::string(status.message()))});
}

}  // namespace peerwell
