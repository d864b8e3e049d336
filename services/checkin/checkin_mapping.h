#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/struct.pb.h"
#include "peerwell/checkin/v1/checkin.pb.h"
#include "services/checkin/checkin.h"
#include "services/checkin/checkin_service.h"

namespace peerwell::checkin {

// Proto ↔ domain for check-ins. Conversions from requests check what only the wire can get
// wrong (enum values outside the contract, sizes, timestamps); the domain checks the rest.
v1::Instrument InstrumentToProto(const Instrument& instrument);
absl::StatusOr<std::vector<Answer>> AnswersFromProto(
    const google::protobuf::RepeatedPtrField<v1::Answer>& answers);
CheckinContext ContextFromProto(const v1::CheckinContext& context);
v1::Checkin CheckinToProto(const Checkin& checkin);
absl::StatusOr<IncidentType> IncidentTypeFromProto(int value);
v1::Incident IncidentToProto(const Incident& incident);
absl::StatusOr<Urgency> UrgencyFromProto(int value);
v1::SupportRequest SupportRequestToProto(const SupportRequest& request);
v1::SupportResource SupportResourceToProto(const SupportResource& resource);
void TrendToProto(const Trend& trend, v1::GetTrendResponse* response);
v1::DueCheckin DueCheckinToProto(const DueCheckin& due);
absl::StatusOr<CheckinSettings> SettingsFromProto(const v1::CheckinSettings& proto);
v1::CheckinSettings SettingsToProto(const CheckinSettings& settings);
absl::StatusOr<AggregatePeriod> AggregatePeriodFromProto(int value);
v1::AggregateCell AggregateCellToProto(const std::string& scale_id, const AggregateCell& cell);
v1::ExportedCheckin ExportedCheckinToProto(const ExportedCheckin& exported);
// A person's part of their data export (ExportPersonRecordsResponse.records): every family,
// empty or not, each record as the API message that shows it elsewhere.
absl::Status PersonRecordsToProto(const PersonRecords& records, google::protobuf::Struct* out);

}  // namespace peerwell::checkin
