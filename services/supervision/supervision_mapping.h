#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/field_mask.pb.h"
#include "google/protobuf/struct.pb.h"
#include "peerwell/supervision/v1/supervision.pb.h"
#include "services/supervision/supervision.h"
#include "services/supervision/supervision_service.h"

namespace peerwell::supervision {

// Proto ↔ domain for supervision. Conversions from requests check what only the wire can get
// wrong (enum values outside the contract, sizes, timestamps, "HH:MM"); the domain checks the
// rest.
absl::StatusOr<SessionKind> SessionKindFromProto(int value, absl::string_view field);
absl::StatusOr<SessionState> SessionStateFromProto(int value, absl::string_view field);
SeriesScope SeriesScopeFromProto(v1::SeriesScope scope);
absl::StatusOr<std::optional<absl::Duration>> DurationFromProto(
    bool present, const google::protobuf::Duration& proto, absl::string_view field);
absl::StatusOr<absl::Time> MicrosecondTime(const google::protobuf::Timestamp& proto,
                                           absl::string_view field);
absl::StatusOr<absl::Time> RequiredTime(bool present, const google::protobuf::Timestamp& proto,
                                        absl::string_view field);

absl::StatusOr<Availability> AvailabilityFromProto(const v1::Availability& proto);
v1::Availability AvailabilityToProto(const Availability& availability);
// The fields a client sets when creating a session; output-only fields are ignored.
absl::StatusOr<Session> SessionFromProto(const v1::Session& proto);
v1::Session SessionToProto(const Session& session);
absl::StatusOr<std::vector<Attendance>> AttendanceFromProto(
    const google::protobuf::RepeatedPtrField<v1::Attendance>& attendance);
absl::StatusOr<SessionQuery> SessionQueryFromProto(const v1::ListSessionsRequest& request);
v1::Slot SlotToProto(const Slot& slot);
v1::OverdueVolunteer OverdueToProto(const OverdueVolunteer& overdue);
// A feed as the wire shows it; with the token of a feed just created, its path
// ("/calendar/<token>.ics", where the gateway serves it), which is never shown again.
v1::CalendarFeed CalendarFeedToProto(const CalendarFeed& feed, absl::string_view token = "");
v1::Series SeriesToProto(const Series& series);
// ExportPersonRecords' answer: every family named, also when the person has nothing in it.
absl::Status PersonRecordsToProto(const PersonRecords& records, google::protobuf::Struct* out);
v1::SupervisionPolicy PolicyToProto(const SupervisionPolicy& policy);
absl::StatusOr<PolicyUpdate> PolicyUpdateFromProto(const v1::SupervisionPolicy& policy,
                                                   const google::protobuf::FieldMask& mask);

}  // namespace peerwell::supervision
