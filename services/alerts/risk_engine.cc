#include "services/alerts/risk_engine.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace peerwell::alerts {

absl::Duration AckDeadline(const AlertPolicy& policy, Priority priority) {
  switch (priority) {
    case Priority::kCritical:
      return policy.ack_deadline_critical;
    case Priority::kHigh:
      return policy.ack_deadline_high;
    case Priority::kMedium:
      return policy.ack_deadline_medium;
    default:
      return policy.ack_deadline_low;
  }
}

VolunteerHistory HistoryUntil(VolunteerHistory history, absl::Time until) {
  auto keep = [until](auto& points) {
    points.erase(std::remove_if(points.begin(), points.end(),
                                [until](const auto& point) { return point.time > until; }),
                 points.end());
  };
  for (auto& [scale, points] : history.scores) keep(points);
  keep(history.pulses);
  keep(history.hours);
  if (history.last_checkin.has_value() && *history.last_checkin > until) {
    history.last_checkin = until;
  }
  return history;
}

absl::Status RiskEngine::Raise(const std::string& organization_id, const std::string& volunteer_id,
                               const std::vector<RuleHit>& hits, const std::string& event_id,
                               const AlertPolicy& policy, const std::vector<Alert>* open) {
  if (hits.empty()) return absl::OkStatus();
  absl::Time now = clock_.Now();
  // What every hit of the event needs, looked up once: a silence, an open critical incident.
  bool any_silenceable = std::any_of(hits.begin(), hits.end(), [](const RuleHit& hit) {
    return hit.priority != Priority::kCritical;
  });
  bool any_inhibitable = std::any_of(hits.begin(), hits.end(), [](const RuleHit& hit) {
    return hit.priority <= Priority::kMedium;
  });
  bool covered = false;
  if (any_silenceable) {
    auto silenced = store_.IsSilenced(organization_id, volunteer_id, now);
    if (!silenced.ok()) return silenced.status();
    covered = *silenced;
  }
  bool incident_open = false;
  if (any_inhibitable) {
    std::vector<Alert> fetched;
    if (open == nullptr) {
      auto alerts = store_.OpenAlerts(organization_id, volunteer_id);
      if (!alerts.ok()) return alerts.status();
      fetched = *std::move(alerts);
      open = &fetched;
    }
    incident_open = std::any_of(open->begin(), open->end(), [](const Alert& alert) {
      return alert.rule_id == "critical_incident";
    });
  }
  for (const RuleHit& hit : hits) {
    bool silenced = covered && hit.priority != Priority::kCritical;
    bool inhibited = incident_open && hit.priority <= Priority::kMedium;
    auto outcome =
        store_.Trigger(organization_id, volunteer_id, hit, HitEventKey(event_id, hit.rule_id), now,
                       now + AckDeadline(policy, hit.priority), silenced, inhibited);
    if (!outcome.ok()) return outcome.status();
  }
  return absl::OkStatus();
}

absl::Status RiskEngine::OnCheckin(const CheckinEvent& event) {
  auto facts = directory_.GetVolunteer(event.organization_id, event.volunteer_id);
  if (facts.status().code() == absl::StatusCode::kNotFound) return absl::OkStatus();  // erased
  if (!facts.ok()) return facts.status();
  if (!facts->risk_monitoring) return absl::OkStatus();  // no consent: not evaluated, not kept
  if (auto added = store_.AddToHistory(event); !added.ok()) return added;
  auto history = store_.GetHistory(event.organization_id, event.volunteer_id);
  if (!history.ok()) return history.status();
  // Judge the check-in by what was known when it was made: a redelivered older event must not
  // be evaluated against check-ins that came after it.
  *history = HistoryUntil(*std::move(history), event.submit_time);
  history->commitment_hours_per_month = facts->commitment_hours_per_month;
  history->active = facts->active;
  auto policy = store_.GetPolicy(event.organization_id);
  if (!policy.ok()) return policy.status();
  std::vector<RuleHit> hits =
      EvaluateCheckinRules(*policy, *history, event.instrument_id, event.submit_time);
  auto open = store_.OpenAlerts(event.organization_id, event.volunteer_id);
  if (!open.ok()) return open.status();
  if (auto raised =
          Raise(event.organization_id, event.volunteer_id, hits, event.event_id, *policy, &*open);
      !raised.ok()) {
    return raised;
  }
  return ResolveCleared(event, hits, *open);
}

absl::Status RiskEngine::ResolveCleared(const CheckinEvent& event, const std::vector<RuleHit>& hits,
                                        const std::vector<Alert>& open) {
  // Operational (low) alerts close themselves once their condition is gone: any check-in ends
  // checkins_missed; a pulse whose hours no longer exceed the commitment ends
  // hours_over_commitment. Wellbeing alerts always wait for a person.
  std::vector<std::string> cleared{"checkins_missed"};
  if (event.instrument_id == "pulse") cleared.push_back("hours_over_commitment");
  // The alerts open before this event: a rule it raised is in `hits`, so stays open.
  for (const Alert& alert : open) {
    bool clears = std::find(cleared.begin(), cleared.end(), alert.rule_id) != cleared.end();
    bool still = std::any_of(hits.begin(), hits.end(),
                             [&](const RuleHit& hit) { return hit.rule_id == alert.rule_id; });
    if (!clears || still || alert.priority != Priority::kLow) continue;
    auto resolved = store_.Resolve(event.organization_id, alert.id, "peerwell",
                                   Outcome::kNoActionNeeded, "", clock_.Now());
    if (!resolved.ok() && resolved.status().code() != absl::StatusCode::kFailedPrecondition) {
      return resolved.status();
    }
  }
  return absl::OkStatus();
}

absl::Status RiskEngine::OnIncident(const IncidentEvent& event) {
  // No consent needed (the volunteer asked), but a volunteer the directory no longer knows was
  // erased: an event about them read afterwards must not raise an alert about them again.
  auto facts = directory_.GetVolunteer(event.organization_id, event.volunteer_id);
  if (facts.status().code() == absl::StatusCode::kNotFound) return absl::OkStatus();  // erased
  if (!facts.ok()) return facts.status();
  auto policy = store_.GetPolicy(event.organization_id);
  if (!policy.ok()) return policy.status();
  return Raise(event.organization_id, event.volunteer_id,
               {CriticalIncidentHit(event.incident_type, event.occur_time)}, event.event_id,
               *policy);
}

absl::Status RiskEngine::OnSupport(const SupportEvent& event) {
  auto facts = directory_.GetVolunteer(event.organization_id, event.volunteer_id);
  if (facts.status().code() == absl::StatusCode::kNotFound) return absl::OkStatus();  // erased
  if (!facts.ok()) return facts.status();
  auto policy = store_.GetPolicy(event.organization_id);
  if (!policy.ok()) return policy.status();
  return Raise(event.organization_id, event.volunteer_id,
               {SupportRequestedHit(event.source, event.urgent)}, event.event_id, *policy);
}

absl::Status RiskEngine::OnSupervisionOverdue(const SupervisionOverdueEvent& event) {
  auto facts = directory_.GetVolunteer(event.organization_id, event.volunteer_id);
  if (facts.status().code() == absl::StatusCode::kNotFound) return absl::OkStatus();  // erased
  if (!facts.ok()) return facts.status();
  if (!facts->active) return absl::OkStatus();
  auto hit = SupervisionOverdueHit(event.days_overdue);
  if (!hit.has_value()) return absl::OkStatus();
  auto policy = store_.GetPolicy(event.organization_id);
  if (!policy.ok()) return policy.status();
  return Raise(event.organization_id, event.volunteer_id, {*hit}, event.event_id, *policy);
}

absl::Status RiskEngine::OnSupervised(const std::string& organization_id,
                                      const std::string& volunteer_id) {
  auto open = store_.OpenAlerts(organization_id, volunteer_id);
  if (!open.ok()) return open.status();
  for (const Alert& alert : *open) {
    if (alert.rule_id != "supervision_overdue") continue;
    auto resolved = store_.Resolve(organization_id, alert.id, "peerwell", Outcome::kNoActionNeeded,
                                   "", clock_.Now());
    if (!resolved.ok() && resolved.status().code() != absl::StatusCode::kFailedPrecondition) {
      return resolved.status();
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<int> RiskEngine::SweepMissedCheckins(int batch) {
  absl::Time now = clock_.Now();
  // Candidates quiet for the shortest gap any policy may set; each organisation's own gap is
  // then checked per person.
  int offset = sweep_offset_.load();
  auto quiet = store_.QuietVolunteers(now - kMinCheckinsMissedAfter, offset, batch);
  if (!quiet.ok()) return quiet.status();
  sweep_offset_ = static_cast<int>(quiet->size()) < batch ? 0 : offset + batch;
  int looked = 0;
  for (const auto& volunteer : *quiet) {
    ++looked;
    auto facts = directory_.GetVolunteer(volunteer.organization_id, volunteer.volunteer_id);
    if (facts.status().code() == absl::StatusCode::kNotFound) continue;
    if (!facts.ok()) return facts.status();
    if (!facts->risk_monitoring) continue;
    auto policy = store_.GetPolicy(volunteer.organization_id);
    if (!policy.ok()) return policy.status();
    VolunteerHistory history;
    history.last_checkin = volunteer.last_checkin;
    history.active = facts->active;
    auto hit = CheckinsMissedHit(*policy, history, now);
    if (!hit.has_value()) continue;
    // One alert per gap: the gap is named by the volunteer and the check-in it follows (the
    // name keys the organisation's processed events, so it must not be shared by volunteers).
    std::string gap = absl::StrCat("missed-", volunteer.volunteer_id, "-",
                                   absl::ToUnixMicros(volunteer.last_checkin));
    if (auto raised =
            Raise(volunteer.organization_id, volunteer.volunteer_id, {*hit}, gap, *policy);
        !raised.ok()) {
      return raised;
    }
  }
  return looked;
}

absl::StatusOr<int> Escalator::EscalateDue() {
  constexpr int kBatch = 200;
  absl::Time now = clock_.Now();
  auto due = store_.DueDeadlines(now, kBatch);
  if (!due.ok()) return due.status();
  int escalated = 0;
  for (const DueDeadline& deadline : *due) {
    auto policy = store_.GetPolicy(deadline.organization_id);
    if (!policy.ok()) return policy.status();
    auto alert = store_.GetAlert(deadline.organization_id, deadline.alert_id);
    if (!alert.ok()) return alert.status();
    if (!alert->has_value()) continue;
    auto done =
        store_.Escalate(deadline.organization_id, deadline.alert_id, now, policy->max_escalations,
                        now + AckDeadline(*policy, (*alert)->alert.priority));
    if (!done.ok()) return done.status();
    if (*done) ++escalated;
  }
  return escalated;
}

absl::StatusOr<long long> Escalator::Overdue(absl::Duration grace) {
  return store_.CountDeadlinesUntil(clock_.Now() - grace);
}

}  // namespace peerwell::alerts
