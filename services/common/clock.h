#pragma once

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace peerwell {

// Time as the domain sees it; tests substitute a fake clock.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  absl::Time Now() const override { return absl::Now(); }
};

}  // namespace peerwell
