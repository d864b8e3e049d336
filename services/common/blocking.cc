#include "services/common/blocking.h"

#include <atomic>

namespace peerwell {
namespace {

thread_local NonBlockingScope* current_scope = nullptr;
std::atomic<uint64_t> scopes_opened{0};  // serials start at 1
constexpr char kWouldBlockPayload[] = "peerwell/would-block";

}  // namespace

NonBlockingScope::NonBlockingScope()
    : previous_(current_scope), serial_(scopes_opened.fetch_add(1, std::memory_order_relaxed) + 1) {
  current_scope = this;
}

NonBlockingScope::~NonBlockingScope() { current_scope = previous_; }

NonBlockingScope* NonBlockingScope::Current() { return current_scope; }

absl::Status WouldBlock() {
  absl::Status status = absl::UnavailableError("this work must wait, and may not here");
  status.SetPayload(kWouldBlockPayload, absl::Cord("1"));
  return status;
}

bool IsWouldBlock(const absl::Status& status) {
  return status.GetPayload(kWouldBlockPayload).has_value();
}

}  // namespace peerwell
