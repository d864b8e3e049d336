#pragma once

#include <functional>
#include <thread>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace peerwell::testing {

// Waits until `condition` holds or the deadline passes; returns whether it held. Tests wait on
// conditions like this instead of sleeping for a guessed time.
inline bool WaitFor(const std::function<bool()>& condition,
                    absl::Duration timeout = absl::Seconds(10),
                    absl::Duration poll = absl::Milliseconds(10)) {
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(absl::ToChronoNanoseconds(poll));
  }
  return condition();
}

}  // namespace peerwell::testing
