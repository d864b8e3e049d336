#pragma once

#include <atomic>

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
  virtual ~VolunteerDirectory() = default;
  virtual absl::StatusOr<VolunteerFacts> GetVolunteer(const std::string& organization_id,
                                                      const std::string& volunteer_id) = 0;
};

// The history as it stood at `until`: later points removed.
VolunteerHistory HistoryUntil(VolunteerHistory history, absl::Time until);

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

  absl::Status OnCheckin(const CheckinEvent& event);
  absl::Status OnIncident(const IncidentEvent& event);
  absl::Status OnSupport(const SupportEvent& event);
  // supervision_overdue: raised for an active volunteer the supervision service found past the
  // cadence (no risk_monitoring consent needed: it is the organisation's own duty, not a health
  // score), and closed when they attend supervision again (OnSupervised).
  absl::Status OnSupervisionOverdue(const SupervisionOverdueEvent& event);
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
  // Records the hits of one event; `open` are the volunteer's open alerts if already at hand.
  absl::Status Raise(const std::string& organization_id, const std::string& volunteer_id,
                     const std::vector<RuleHit>& hits, const std::string& event_id,
                     const AlertPolicy& policy, const std::vector<Alert>* open = nullptr);

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
