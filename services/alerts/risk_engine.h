#pragma once

#include <atomic>
#include <variant>

#include "absl/status/statusor.h"
#include "services/alerts/alerts.h"
#include "services/alerts/alerts_store.h"
#include "services/alerts/risk_rules.h"
#include "services/common/clock.h"

namespace peerwell::alerts {

// What the engine needs to know about a volunteer, from the directory.
struct VolunteerFacts {
  bool risk_monitoring = false;
  bool active = true;
  int commitment_hours_per_month = 0;
  std::vector<std::string> supervisor_ids;
  bool share_scores_with_supervisor = false;
};

class VolunteerDirectory {
 public:
  struct VolunteerRef {
    std::string organization_id;
    std::string volunteer_id;
  };
  virtual ~VolunteerDirectory() = default;
  virtual absl::StatusOr<VolunteerFacts> GetVolunteer(const std::string& organization_id,
                                                      const std::string& volunteer_id) = 0;
  // GetVolunteer of each; a directory that can asks for them side by side.
  virtual std::vector<absl::StatusOr<VolunteerFacts>> GetVolunteers(
      const std::vector<VolunteerRef>& volunteers) {
    std::vector<absl::StatusOr<VolunteerFacts>> facts;
    for (const VolunteerRef& v : volunteers) {
      facts.push_back(GetVolunteer(v.organization_id, v.volunteer_id));
    }
    return facts;
  }
};

// An event the risk engine judges.
using RiskEvent = std::variant<CheckinEvent, IncidentEvent, SupportEvent, SupervisionOverdueEvent>;

// The hits of one event as the store records them: silenced and inhibited as the volunteer's
// state says (a critical incident is never silenced; while one is open, medium and low hits are
// inhibited), each with its acknowledge deadline from `now`.
std::vector<HitToRecord> HitsToRecord(const std::vector<RuleHit>& hits, const std::string& event_id,
                                      const VolunteerState& state, absl::Time now);

// Turns check-in events into alerts, and closes operational (low) alerts whose condition has
// cleared. Check-ins count only for volunteers with risk_monitoring
// consent; incidents and support requests always do (the volunteer asked). An event about a
// volunteer the directory no longer knows (NOT_FOUND: erased) is dropped, so that nothing about
// an erased person is raised or kept again. Processing is idempotent by event, so a redelivered
// event changes nothing. A critical incident is never silenced; while one is open, the
// volunteer's medium and low alerts are inhibited.
class RiskEngine {
 public:
  RiskEngine(AlertStore& store, VolunteerDirectory& directory, const Clock& clock)
      : store_(store), directory_(directory), clock_(clock) {}

  // Judges events of different volunteers together: their reads share one Redis round trip and
  // their writes one more. A volunteer's events come one per call, in order. One status per
  // event.
  std::vector<absl::Status> OnEvents(const std::vector<RiskEvent>& events);

  absl::Status OnCheckin(const CheckinEvent& event) { return OnEvents({event}).front(); }
  absl::Status OnIncident(const IncidentEvent& event) { return OnEvents({event}).front(); }
  absl::Status OnSupport(const SupportEvent& event) { return OnEvents({event}).front(); }
  // supervision_overdue: raised for an active volunteer the supervision service found past the
  // cadence (no risk_monitoring consent needed: it is the organisation's own duty, not a health
  // score), and closed when they attend supervision again (OnSupervised).
  absl::Status OnSupervisionOverdue(const SupervisionOverdueEvent& event) {
    return OnEvents({event}).front();
  }
  absl::Status OnSupervised(const std::string& organization_id, const std::string& volunteer_id);
  // The periodic sweep for checkins_missed: active, consenting volunteers whose last check-in is
  // older than the policy allows. Each sweep looks at `batch` of the quiet volunteers, going on
  // where the last sweep stopped and starting over after the quietest, so volunteers who stay
  // quiet without an alert (no consent, inactive, already alerted) cannot hide the others.
  // Returns how many volunteers it looked at.
  absl::StatusOr<int> SweepMissedCheckins(int batch = 500);

 private:
  absl::Status ResolveCleared(const CheckinEvent& event, const std::vector<RuleHit>& hits,
                              const std::vector<Alert>& open);
  // Records the hits of one event, silenced and inhibited as the volunteer's state says.
  absl::Status Raise(const std::string& organization_id, const std::string& volunteer_id,
                     const std::vector<RuleHit>& hits, const std::string& event_id,
                     const VolunteerState& state, absl::Time now);

  AlertStore& store_;
  VolunteerDirectory& directory_;
  const Clock& clock_;
  std::atomic<int> sweep_offset_{0};  // into the quiet volunteers, oldest check-in first
};

// Escalates alerts not acknowledged by their deadline to the organisation's coordinators. Safe
// to run on every replica at once: the store escalates each deadline exactly once.
class Escalator {
 public:
  Escalator(AlertStore& store, const Clock& clock) : store_(store), clock_(clock) {}
  // Handles the deadlines due now; returns how many alerts this call escalated.
  absl::StatusOr<int> EscalateDue();
  // Deadlines that passed more than `grace` ago and are still waiting: escalations the sweep is
  // not keeping up with, or that no replica is running. The suite's own alerting watches this.
  absl::StatusOr<long long> Overdue(absl::Duration grace);

 private:
  AlertStore& store_;
  const Clock& clock_;
};

}  // namespace peerwell::alerts
