#pragma once

#include "absl/time/time.h"

namespace peerwell {

// The deadline of the call the current thread is serving. The handler sets it once on the
// executor thread; the Redis client bounds every command by it, so domain code does not have to
// pass deadlines through every signature.
absl::Time CurrentDeadline();

class ScopedDeadline {
 public:
  explicit ScopedDeadline(absl::Time deadline);
  ~ScopedDeadline();
  ScopedDeadline(const ScopedDeadline&) = delete;
  ScopedDeadline& operator=(const ScopedDeadline&) = delete;

 private:
  absl::Time previous_;
};

}  // namespace peerwell
