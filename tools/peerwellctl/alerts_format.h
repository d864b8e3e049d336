#pragma once

// Words on the command line and human-readable output for the alerts commands; format.h holds
// the shared pieces (tables, fields, times, JSON).

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/repeated_ptr_field.h"
#include "peerwell/alerts/v1/alerts.pb.h"
#include "tools/peerwellctl/format.h"

namespace peerwell::ctl {

namespace alerts_v1 = ::peerwell::alerts::v1;

// --- Words on the command line <-> values --------------------------------------------------

// "low", "medium", "high", "critical" (any case; the proto names PRIORITY_... work too).
absl::StatusOr<alerts_v1::Priority> ParsePriority(absl::string_view flag, absl::string_view text);
// "triggered", "acknowledged", "resolved" (also ALERT_STATE_...).
absl::StatusOr<alerts_v1::AlertState> ParseAlertState(absl::string_view flag,
                                                      absl::string_view text);
// "talked", "referred", "rota-changed", "volunteer-declined", "no-action-needed" (also
// underscores and OUTCOME_...).
absl::StatusOr<alerts_v1::Outcome> ParseOutcome(absl::string_view flag, absl::string_view text);
// An RFC 3339 time ("2025-03-01T09:30:00Z") or a span from now ("+3d", "+12h").
absl::StatusOr<absl::Time> ParseUntil(absl::string_view flag, absl::string_view text,
                                      absl::Time now);

std::string PriorityWord(alerts_v1::Priority priority);
std::string AlertStateWord(alerts_v1::AlertState state);
std::string OutcomeWord(alerts_v1::Outcome outcome);
std::string RiskBandWord(alerts_v1::RiskBand band);
std::string AlertEventTypeWord(alerts_v1::AlertEventType type);
// "3d", "24h", "1h30m"; "-" when unset.
std::string FormatDurationProto(const google::protobuf::Duration& duration);

// --- Human-readable output -------------------------------------------------------------------

// Volunteers (and who acknowledged or resolved) by display name, from `names`.
std::string AlertsTable(const std::vector<alerts_v1::Alert>& alerts, const PersonNames& names);
// The alert's fields, then its factors.
std::string AlertText(const alerts_v1::Alert& alert, const PersonNames& names);
// Each factor's row (id, value, threshold, points) with its description on wrapped lines below,
// in the order given.
std::string FactorsText(const std::vector<alerts_v1::Factor>& factors);
// Score, band and time, then the factors, the largest contribution first.
std::string RiskProfileText(const alerts_v1::RiskProfile& profile);
std::string SilencesTable(const std::vector<alerts_v1::Silence>& silences);
std::string SilenceText(const alerts_v1::Silence& silence);
std::string PolicyText(const alerts_v1::AlertPolicy& policy);
// One line of `alerts watch`: time, event, priority, rule, volunteer, alert id.
std::string AlertEventLine(const alerts_v1::AlertEvent& event, const PersonNames& names);

}  // namespace peerwell::ctl
