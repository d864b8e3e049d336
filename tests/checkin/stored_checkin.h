#pragma once

#include <future>
#include <optional>
#include <utility>

#include "services/checkin/checkin_store.h"

namespace peerwell::checkin::testing {

// Stores a check-in as SubmitCheckin does and waits for the write: for tests that put records in
// place before what they test.
inline absl::StatusOr<Created> StoreCheckin(CheckinStore& store, const SealedCheckin& checkin,
                                            const CreateRequest& request) {
  std::promise<absl::StatusOr<Created>> stored;
  store.CreateCheckin(checkin, std::nullopt, request, [&stored](absl::StatusOr<Created> created) {
    stored.set_value(std::move(created));
  });
  return stored.get_future().get();
}

}  // namespace peerwell::checkin::testing
