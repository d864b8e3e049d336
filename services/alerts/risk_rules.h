#pragma once

#include <optional>
#include <string>
#include <vector>

#include "services/alerts/alerts.h"

namespace peerwell::alerts {

// The burnout-risk rules of SPEC §4 as pure functions of a volunteer's history. Thresholds come
// from the organisation's policy. Rule ids: critical_incident, support_requested, cbi_rise,
// cbi_high, who5_drop, proqol_high, talk_repeated, hours_over_commitment, checkins_missed,
// supervision_overdue.

// Every rule id above: a volunteer has at most one open alert per rule.
const std::vector<std::string>& AllRuleIds();

// The median of the values in the baseline window before `before` (exclusive); nullopt without
// earlier values.
std::optional<double> Baseline(const std::vector<ScorePoint>& points, absl::Time before,
                               absl::Duration window);

// The rules' view of a volunteer's check-ins (oldest first): scores, pulses and hours by time.
VolunteerHistory HistoryOf(const std::vector<CheckinEvent>& checkins);

// Rules that a check-in of `instrument_id` can fire, evaluated on the history that already
// includes it ("" evaluates every instrument's rules, for the risk profile).
std::vector<RuleHit> EvaluateCheckinRules(const AlertPolicy& policy,
                                          const VolunteerHistory& history,
                                          const std::string& instrument_id, absl::Time now);

RuleHit CriticalIncidentHit(const std::string& incident_type, absl::Time occur_time);
RuleHit SupportRequestedHit(const std::string& source, bool urgent);
// The periodic sweep: an active volunteer without a check-in for checkins_missed_after.
std::optional<RuleHit> CheckinsMissedHit(const AlertPolicy& policy, const VolunteerHistory& history,
                                         absl::Time now);
// From the supervision service (arrives with it): days past the volunteer's cadence.
std::optional<RuleHit> SupervisionOverdueHit(int days_overdue);

// Without consent to share scores: keeps what fired and why in words, drops the numbers. Only
// factors known to carry no score pass unchanged; one this function has no words for is
// redacted all the same.
Factor RedactFactor(const Factor& factor);

struct RiskProfile {
  double risk_score = 0;  // 0-100
  RiskBand band = RiskBand::kUnspecified;
  std::vector<Factor> factors;
};

// The score is the sum of the factors' contributions, capped at 100; bands: below 25 low,
// below 50 moderate, below 75 high, else severe (docs/RISK.md).
RiskProfile ComposeRiskProfile(const std::vector<RuleHit>& hits);

}  // namespace peerwell::alerts
