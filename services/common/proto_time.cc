#include "services/common/proto_time.h"

#include "absl/strings/string_view.h"
#include "services/common/validation.h"

namespace peerwell {
namespace {
constexpr int64_t kMinTimestampSeconds = -62135596800;  // 0001-01-01T00:00:00Z
constexpr int64_t kMaxTimestampSeconds = 253402300799;  // 9999-12-31T23:59:59Z
}  // namespace

google::protobuf::Timestamp TimestampToProto(absl::Time time) {
  google::protobuf::Timestamp proto;
  if (time == absl::InfinitePast() || time == absl::InfiniteFuture()) return proto;
  int64_t seconds = absl::ToUnixSeconds(time);
  proto.set_seconds(seconds);
  proto.set_nanos(
      static_cast<int32_t>(absl::ToInt64Nanoseconds(time - absl::FromUnixSeconds(seconds))));
  return proto;
}

absl::StatusOr<absl::Time> TimestampFromProto(const google::protobuf::Timestamp& proto,
                                              absl::string_view field) {
  if (proto.seconds() < kMinTimestampSeconds || proto.seconds() > kMaxTimestampSeconds ||
      proto.nanos() < 0 || proto.nanos() > 999'999'999) {
    return InvalidField(field, "is not a valid timestamp");
  }
  return absl::FromUnixSeconds(proto.seconds()) + absl::Nanoseconds(proto.nanos());
}

google::protobuf::Duration DurationToProto(absl::Duration d) {
  google::protobuf::Duration proto;
  proto.set_seconds(absl::ToInt64Seconds(d));
  proto.set_nanos(static_cast<int32_t>(absl::ToInt64Nanoseconds(d % absl::Seconds(1))));
  return proto;
}

}  // namespace peerwell
