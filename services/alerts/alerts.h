#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace peerwell::alerts {

enum class Priority { kUnspecified = 0, kLow = 1, kMedium = 2, kHigh = 3, kCritical = 4 };
enum class RiskBand { kUnspecified = 0, kLow = 1, kModerate = 2, kHigh = 3, kSevere = 4 };

// One reason behind an alert or a risk score, with the numbers that make it.
struct Factor {
  std::string factor_id;
  std::string description;  // one sentence a supervisor understands
  double value = 0;
  double threshold = 0;
  double contribution = 0;  // risk-score points
};

// An organisation's alert policy; DefaultAlertPolicy() holds SPEC §4's defaults.
struct AlertPolicy {
  absl::Duration ack_deadline_critical = absl::Minutes(60);
  absl::Duration ack_deadline_high = absl::Hours(24);
  absl::Duration ack_deadline_medium = absl::Hours(72);
  absl::Duration ack_deadline_low = absl::Hours(24 * 7);
  int max_escalations = 3;
  double cbi_rise_points = 15;
  bool cbi_high_enabled = true;
  double cbi_high_threshold = 50;
  double who5_drop_points = 10;
  double who5_low_threshold = 28;
  double proqol_high_threshold = 42;
  int talk_repeated_count = 2;
  absl::Duration talk_repeated_window = absl::Hours(24 * 14);
  double hours_over_commitment_ratio = 1.25;
  absl::Duration hours_window = absl::Hours(24 * 28);
  absl::Duration checkins_missed_after = absl::Hours(24 * 21);  // kMinCheckinsMissedAfter or more
  absl::Duration baseline_window = absl::Hours(24 * 90);
};

// The shortest checkins_missed_after a policy may set: the missed-check-in sweep looks only at
// volunteers quiet for at least this long.
inline constexpr absl::Duration kMinCheckinsMissedAfter = absl::Hours(24 * 7);

struct ScorePoint {
  absl::Time time;
  double value = 0;
};

struct PulsePoint {
  absl::Time time;
  bool stayed_with_me = false;
  bool want_to_talk = false;
};

struct HoursPoint {
  absl::Time time;
  double hours = 0;
};

// What the risk engine knows of one volunteer, built from check-in events.
struct VolunteerHistory {
  std::map<std::string, std::vector<ScorePoint>> scores;  // by scale id, oldest first
  std::vector<PulsePoint> pulses;                         // oldest first
  std::vector<HoursPoint> hours;                          // oldest first
  std::optional<absl::Time> last_checkin;
  int commitment_hours_per_month = 0;
  bool active = true;
};

// A rule that fires, with the factors that explain it. One open alert per volunteer and rule.
struct RuleHit {
  std::string rule_id;
  Priority priority = Priority::kUnspecified;
  std::vector<Factor> factors;
};

enum class AlertState { kUnspecified = 0, kTriggered = 1, kAcknowledged = 2, kResolved = 3 };
enum class Outcome {
  kUnspecified = 0,
  kTalked = 1,
  kReferred = 2,
  kRotaChanged = 3,
  kVolunteerDeclined = 4,
  kNoActionNeeded = 5,
};

struct Alert {
  std::string id;
  std::string organization_id;
  std::string volunteer_id;
  std::string rule_id;
  Priority priority = Priority::kUnspecified;
  AlertState state = AlertState::kUnspecified;
  std::string dedup_key;  // "<volunteer>/<rule>"
  std::vector<Factor> factors;
  absl::Time trigger_time = absl::InfinitePast();
  absl::Time ack_deadline_time = absl::InfinitePast();
  absl::Time acknowledge_time = absl::InfinitePast();
  std::string acknowledged_by;
  int escalation_level = 0;
  absl::Time resolve_time = absl::InfinitePast();
  std::string resolved_by;
  Outcome outcome = Outcome::kUnspecified;
  int occurrence_count = 0;
  absl::Time last_occurrence_time = absl::InfinitePast();
  bool silenced = false;
  bool inhibited = false;
  // The resolution note as the service opened it for a reader; the store never holds it in
  // plain text (SealedAlert). Empty when none, or when it no longer opens.
  std::string resolution_note;
};

// What the check-in service announced, as the risk engine reads it.
struct CheckinEvent {
  std::string event_id;  // the stream entry id: processing is idempotent by it
  std::string organization_id;
  std::string volunteer_id;
  std::string instrument_id;
  absl::Time submit_time;
  std::map<std::string, double> scores;  // scale id -> value
  std::map<std::string, int> answers;    // item id -> value
  double hours = 0;
};

struct IncidentEvent {
  std::string event_id;
  std::string organization_id;
  std::string volunteer_id;
  std::string incident_type;  // e.g. "aggression"
  absl::Time occur_time;
  absl::Time report_time;
};

// From the supervision service: a volunteer past the organisation's supervision cadence.
struct SupervisionOverdueEvent {
  std::string event_id;
  std::string organization_id;
  std::string volunteer_id;
  int days_overdue = 0;
};

struct SupportEvent {
  std::string event_id;
  std::string organization_id;
  std::string volunteer_id;
  bool urgent = false;
  std::string source;  // "request" or "pulse"
  absl::Time time;
};

// While a silence covers a volunteer, their alerts are recorded but not notified.
struct Silence {
  std::string id;
  std::string organization_id;
  std::string volunteer_id;
  absl::Time end_time;
  std::string reason;
  std::string created_by;
  absl::Time create_time;
};

absl::Duration AckDeadline(const AlertPolicy& policy, Priority priority);

}  // namespace peerwell::alerts
