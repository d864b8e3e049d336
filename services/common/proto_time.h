#pragma once

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/timestamp.pb.h"

namespace peerwell {

// An unset time (InfinitePast or InfiniteFuture) maps to the empty Timestamp.
google::protobuf::Timestamp TimestampToProto(absl::Time time);
// Sets a Timestamp field (`mutable_field()` returns it) only for a known time, so that a time not
// yet reached (an alert not acknowledged) stays absent instead of showing the epoch in JSON.
template <typename MutableField>
void SetKnownTime(absl::Time time, MutableField mutable_field) {
  if (time != absl::InfinitePast() && time != absl::InfiniteFuture()) {
    *mutable_field() = TimestampToProto(time);
  }
}
// INVALID_ARGUMENT naming `field` outside Timestamp's range (years 1-9999) or with bad nanos.
absl::StatusOr<absl::Time> TimestampFromProto(const google::protobuf::Timestamp& proto,
                                              absl::string_view field);
// To the nanosecond (seconds and nanos carry the same sign, as Duration requires).
google::protobuf::Duration DurationToProto(absl::Duration d);

}  // namespace peerwell
