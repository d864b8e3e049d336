#pragma once

#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/field_mask.pb.h"
#include "peerwell/alerts/v1/alerts.pb.h"
#include "services/alerts/alerts.h"
#include "services/alerts/alerts_service.h"
#include "services/alerts/risk_rules.h"

namespace peerwell::alerts {

v1::Alert AlertToProto(const Alert& alert);
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
