#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/field_mask.pb.h"
#include "google/protobuf/struct.pb.h"
#include "peerwell/alerts/v1/alerts.pb.h"
#include "services/alerts/alerts.h"
#include "services/alerts/alerts_service.h"
#include "services/alerts/risk_rules.h"

namespace peerwell::alerts {

// The record families of this service's part of a person's export; RedisAlertStore's
// PersonKeyFamilies names them too.
inline constexpr char kAlertsFamily[] = "alerts";
inline constexpr char kRiskHistoryFamily[] = "riskHistory";
inline constexpr char kSilencesFamily[] = "silences";
inline constexpr char kLastCheckinFamily[] = "lastCheckin";

v1::Alert AlertToProto(const Alert& alert);
v1::Silence SilenceToProto(const Silence& silence);
// ExportPersonRecordsResponse.records: each family (all of them, empty ones too) with its
// records as Alert (with its resolution note), RiskHistoryEntry, Silence and LastCheckin.
absl::Status PersonRecordsToProto(const PersonRecords& records, google::protobuf::Struct* out);
v1::RiskProfile RiskProfileToProto(const std::string& volunteer_id, const RiskProfile& profile,
                                   absl::Time evaluate_time);
absl::StatusOr<AlertFilter> AlertFilterFromRequest(const v1::ListAlertsRequest& request);
absl::StatusOr<Outcome> OutcomeFromProto(int value);
v1::AlertPolicy AlertPolicyToProto(const AlertPolicy& policy);
// The inverse, for a policy as stored: validated when it was set, so read back as it is, even
// where today's rules would refuse it. A duration the stored form lacks keeps its default.
AlertPolicy AlertPolicyFromProto(const v1::AlertPolicy& proto);
// Applies the fields of `proto` named in `mask` to `policy`; INVALID_ARGUMENT for an unknown
// path or a value out of range (deadlines at least 1 s).
absl::StatusOr<AlertPolicy> ApplyAlertPolicy(AlertPolicy policy, const v1::AlertPolicy& proto,
                                             const google::protobuf::FieldMask& mask);

}  // namespace peerwell::alerts
