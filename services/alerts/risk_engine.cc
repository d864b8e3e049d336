#include "services/alerts/risk_engine.h"

#include <algorithm>
#include <set>
#include <variant>

#include "absl/strings/str_cat.h"
#include "services/common/ids.h"

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

std::vector<HitToRecord> HitsToRecord(const std::vector<RuleHit>& hits, const std::string& event_id,
                                      const VolunteerState& state, absl::Time now) {
  bool incident_open = std::any_of(state.open.begin(), state.open.end(), [](const Alert& alert) {
    return alert.rule_id == "critical_incident";
  });
  std::vector<HitToRecord> records;
  for (const RuleHit& hit : hits) {
    // A critical incident is never silenced; while one is open, medium and low are inhibited.
    bool silenced = state.silenced && hit.priority != Priority::kCritical;
    bool inhibited = incident_open && hit.priority <= Priority::kMedium;
    records.push_back({hit, HitEventKey(event_id, hit.rule_id),
                       now + AckDeadline(state.policy, hit.priority), silenced, inhibited});
  }
  return records;
}

absl::Status RiskEngine::Raise(const std::string& organization_id, const std::string& volunteer_id,
                               const std::vector<RuleHit>& hits, const std::string& event_id,
                               const VolunteerState& state, absl::Time now) {
  if (hits.empty()) return absl::OkStatus();
  return store_
      .TriggerAll(organization_id, volunteer_id, HitsToRecord(hits, event_id, state, now), now)
      .status();
}

namespace {

// At most this many later check-ins are judged again with one that came late.
constexpr size_t kMaxCheckinsJudgedAgain = 100;

// The rules on the last of `checkins` (oldest first), as it was when it was made.
std::vector<RuleHit> JudgeCheckin(const std::vector<CheckinEvent>& checkins,
                                  const VolunteerFacts& facts, const AlertPolicy& policy) {
  VolunteerHistory history = HistoryOf(checkins);
  history.commitment_hours_per_month = facts.commitment_hours_per_month;
  history.active = facts.active;
  const CheckinEvent& last = checkins.back();
  return EvaluateCheckinRules(policy, history, last.instrument_id, last.submit_time);
}

const std::string& OrganizationOf(const RiskEvent& event) {
  return std::visit([](const auto& e) -> const std::string& { return e.organization_id; }, event);
}
const std::string& VolunteerOf(const RiskEvent& event) {
  return std::visit([](const auto& e) -> const std::string& { return e.volunteer_id; }, event);
}
const std::string& EventIdOf(const RiskEvent& event) {
  return std::visit([](const auto& e) -> const std::string& { return e.event_id; }, event);
}

}  // namespace

std::vector<absl::Status> RiskEngine::OnEvents(const std::vector<RiskEvent>& events) {
  const absl::Time now = clock_.Now();
  std::vector<absl::Status> statuses(events.size());
  // The directory first (its client caches): an event about a volunteer it no longer knows was
  // erased, and must not raise or keep anything about them again; a check-in counts only with
  // risk_monitoring consent (without it, it is not evaluated, not kept); supervision_overdue
  // only for an active volunteer. Incidents and support requests always count: the volunteer
  // asked.
  std::vector<size_t> judged;  // events that go on, by index
  std::vector<VolunteerFacts> facts;
  std::vector<std::vector<RuleHit>> fixed_hits;  // what an event other than a check-in raises
  std::vector<AlertStore::StateRead> reads;
  std::vector<VolunteerDirectory::VolunteerRef> refs;
  for (const RiskEvent& event : events) refs.push_back({OrganizationOf(event), VolunteerOf(event)});
  std::vector<absl::StatusOr<VolunteerFacts>> directory_facts = directory_.GetVolunteers(refs);
  for (size_t i = 0; i < events.size(); ++i) {
    const RiskEvent& event = events[i];
    absl::StatusOr<VolunteerFacts>& found = directory_facts[i];
    if (found.status().code() == absl::StatusCode::kNotFound) continue;  // erased
    if (!found.ok()) {
      statuses[i] = found.status();
      continue;
    }
    std::vector<RuleHit> hits;
    const CheckinEvent* checkin = std::get_if<CheckinEvent>(&event);
    if (checkin != nullptr) {
      if (!found->risk_monitoring) continue;
    } else if (const auto* incident = std::get_if<IncidentEvent>(&event)) {
      hits.push_back(CriticalIncidentHit(incident->incident_type, incident->occur_time));
    } else if (const auto* support = std::get_if<SupportEvent>(&event)) {
      hits.push_back(SupportRequestedHit(support->source, support->urgent));
    } else if (const auto* overdue = std::get_if<SupervisionOverdueEvent>(&event)) {
      auto hit = SupervisionOverdueHit(overdue->days_overdue);
      if (!found->active || !hit.has_value()) continue;
      hits.push_back(*std::move(hit));
    }
    judged.push_back(i);
    facts.push_back(*std::move(found));
    fixed_hits.push_back(std::move(hits));
    reads.push_back({OrganizationOf(event), VolunteerOf(event), checkin});
  }
  // What the rules and the recording need, for every event in one round trip (a check-in's
  // history as it stood then, so that a redelivered older event is judged by what was known when
  // it was made; policy, silences, open alerts); then every check-in added and every hit
  // recorded in one more, a write.
  std::vector<size_t> recorded;  // judged positions with a record
  std::vector<std::vector<RuleHit>> hits_of(judged.size());
  std::vector<AlertStore::Record> records;
  auto loaded = store_.LoadStates(reads, now);
  for (size_t k = 0; k < judged.size(); ++k) {
    const RiskEvent& event = events[judged[k]];
    if (!loaded[k].ok()) {
      statuses[judged[k]] = loaded[k].status();
      continue;
    }
    const VolunteerState& state = *loaded[k];
    const CheckinEvent* checkin = reads[k].checkin;
    std::vector<HitToRecord> later_hits;
    if (checkin != nullptr) {
      hits_of[k] = JudgeCheckin(state.checkins, facts[k], state.policy);
      // Check-ins after this one that were published after it too, judged while it waited to
      // be redelivered (its replica died), were judged without it: judge them again with it.
      // Hits are recorded once per event and rule (for 30 days), so only what they missed is
      // new. A check-in published after the later ones (old paper records imported) is
      // history, not late: it judges nothing again.
      const std::vector<CheckinEvent>& later = state.later_checkins;
      auto published_after = [&](size_t i) {
        return StreamIdBefore(checkin->event_id, later[i].event_id);
      };
      // The newest kMaxCheckinsJudgedAgain of them, from `from` on.
      size_t from = later.size();
      for (size_t i = later.size(), found = 0; i-- > 0 && found < kMaxCheckinsJudgedAgain;) {
        if (published_after(i)) {
          from = i;
          ++found;
        }
      }
      // Each judged with every check-in up to it, as it would have been in order.
      std::vector<CheckinEvent> until;
      if (from < later.size()) until = state.checkins;
      for (size_t i = 0; from < later.size() && i < later.size(); ++i) {
        until.push_back(later[i]);
        if (i < from || !published_after(i)) continue;
        for (HitToRecord& hit : HitsToRecord(JudgeCheckin(until, facts[k], state.policy),
                                             later[i].event_id, state, now)) {
          later_hits.push_back(std::move(hit));
        }
      }
    } else {
      hits_of[k] = std::move(fixed_hits[k]);
    }
    recorded.push_back(k);
    records.push_back({OrganizationOf(event), VolunteerOf(event), checkin,
                       HitsToRecord(hits_of[k], EventIdOf(event), state, now)});
    for (HitToRecord& hit : later_hits) records.back().hits.push_back(std::move(hit));
  }
  auto outcomes = store_.RecordAll(records, now);
  for (size_t n = 0; n < recorded.size(); ++n) {
    const size_t k = recorded[n];
    if (!outcomes[n].ok()) {
      statuses[judged[k]] = outcomes[n].status();
      continue;
    }
    // What a check-in clears is the newest check-in's to say: one with later ones (judged
    // already) closes nothing.
    if (const CheckinEvent* checkin = reads[k].checkin;
        checkin != nullptr && loaded[k]->later_checkins.empty()) {
      statuses[judged[k]] = ResolveCleared(*checkin, hits_of[k], loaded[k]->open);
    }
  }
  return statuses;
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
    auto state = store_.LoadVolunteerState(volunteer.organization_id, volunteer.volunteer_id, now);
    if (!state.ok()) return state.status();
    VolunteerHistory history;
    history.last_checkin = volunteer.last_checkin;
    history.active = facts->active;
    auto hit = CheckinsMissedHit(state->policy, history, now);
    if (!hit.has_value()) continue;
    // One alert per gap: the gap is named by the volunteer and the check-in it follows (the
    // name keys the organisation's processed events, so it must not be shared by volunteers).
    std::string gap = absl::StrCat("missed-", volunteer.volunteer_id, "-",
                                   absl::ToUnixMicros(volunteer.last_checkin));
    if (auto raised =
            Raise(volunteer.organization_id, volunteer.volunteer_id, {*hit}, gap, *state, now);
        !raised.ok()) {
      return raised;
    }
  }
  return looked;
}

absl::StatusOr<int> Escalator::EscalateDue() {
  constexpr int kBatch = 200;
  absl::Time now = clock_.Now();
  // Three round trips for a batch of deadlines, however many: the due deadlines, their
  // organisations' policies, and the escalations.
  auto due = store_.DueDeadlines(now, kBatch);
  if (!due.ok()) return due.status();
  if (due->empty()) return 0;
  std::set<std::string> organizations;
  for (const DueDeadline& deadline : *due) organizations.insert(deadline.organization_id);
  auto policies = store_.GetPolicies(organizations);
  if (!policies.ok()) return policies.status();
  std::vector<Escalation> escalations;
  for (DueDeadline& deadline : *due) {
    const AlertPolicy& policy = policies->at(deadline.organization_id);
    Escalation escalation{std::move(deadline), policy.max_escalations, {}};
    for (Priority priority :
         {Priority::kLow, Priority::kMedium, Priority::kHigh, Priority::kCritical}) {
      escalation.next_deadline_by_priority[static_cast<int>(priority)] =
          now + AckDeadline(policy, priority);
    }
    escalations.push_back(std::move(escalation));
  }
  return store_.Escalate(now, escalations);
}

absl::StatusOr<long long> Escalator::Overdue(absl::Duration grace) {
  return store_.CountDeadlinesUntil(clock_.Now() - grace);
}

}  // namespace peerwell::alerts
