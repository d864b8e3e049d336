#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/alerts/alerts.h"

namespace peerwell::alerts {

// The `event_key` under which Trigger records a rule's hit from one event.
inline std::string HitEventKey(const std::string& event_id, const std::string& rule_id) {
  return event_id + "/" + rule_id;
}

// The alert a rule hit raised or counted another occurrence of (or, for an event processed
// before, the one it named then).
struct TriggerOutcome {
  std::string alert_id;
};

// An alert as stored, its resolution note still sealed (TextCipher; empty when it has none;
// `alert.resolution_note` stays empty): what the reads of alerts that may reach a person give,
// so that the domain opens the note for those who may read the alert and for no one else.
struct SealedAlert {
  Alert alert;
  std::string sealed_note;
};

// An acknowledge deadline that has passed.
struct DueDeadline {
  std::string organization_id;
  std::string alert_id;
};

// Storage of alerts and of the history the risk engine keeps per volunteer. Every change of an
// alert also appends an alert event to the organisation's alert feed in the same atomic write.
class AlertStore {
 public:
  virtual ~AlertStore() = default;

  // Records `hit` for the volunteer, at most once per `event_key`: a new alert when none is open
  // for (volunteer, rule), else one more occurrence of the open one (raising its priority when
  // the hit is higher). `silenced` and `inhibited` mark what is recorded but not notified.
  virtual absl::StatusOr<TriggerOutcome> Trigger(const std::string& organization_id,
                                                 const std::string& volunteer_id,
                                                 const RuleHit& hit, const std::string& event_key,
                                                 absl::Time now, absl::Time ack_deadline,
                                                 bool silenced, bool inhibited) = 0;
  virtual absl::StatusOr<std::optional<SealedAlert>> GetAlert(const std::string& organization_id,
                                                              const std::string& alert_id) = 0;
  // The open alerts of a volunteer (triggered or acknowledged; none has a resolution note).
  virtual absl::StatusOr<std::vector<Alert>> OpenAlerts(const std::string& organization_id,
                                                        const std::string& volunteer_id) = 0;

  // Every alert about the volunteer, in any state, oldest first.
  virtual absl::StatusOr<std::vector<SealedAlert>> VolunteerAlerts(
      const std::string& organization_id, const std::string& volunteer_id) = 0;

  virtual absl::StatusOr<VolunteerHistory> GetHistory(const std::string& organization_id,
                                                      const std::string& volunteer_id) = 0;
  // The check-ins the volunteer's history holds, oldest first, as AddToHistory took them.
  virtual absl::StatusOr<std::vector<CheckinEvent>> HistoryCheckins(
      const std::string& organization_id, const std::string& volunteer_id) = 0;
  // The time of the volunteer's last check-in as the missed-check-in sweep knows it; none
  // before their first.
  virtual absl::StatusOr<std::optional<absl::Time>> LastCheckin(
      const std::string& organization_id, const std::string& volunteer_id) = 0;
  // Adds a check-in to the history unless this event was added before.
  virtual absl::Status AddToHistory(const CheckinEvent& event) = 0;

  struct QuietVolunteer {
    std::string organization_id;
    std::string volunteer_id;
    absl::Time last_checkin;
  };
  // Volunteers (with history) whose last check-in was before `before`, oldest first, skipping
  // the first `offset`.
  virtual absl::StatusOr<std::vector<QuietVolunteer>> QuietVolunteers(absl::Time before, int offset,
                                                                      int limit) = 0;

  virtual absl::StatusOr<AlertPolicy> GetPolicy(const std::string& organization_id) = 0;
  // Whether a silence covers the volunteer at `now`.
  virtual absl::StatusOr<bool> IsSilenced(const std::string& organization_id,
                                          const std::string& volunteer_id, absl::Time now) = 0;

  // Alerts newest first, from index position `before` (exclusive; InfiniteFuture for the first
  // page), keeping those `keep` accepts; at most `limit`, and the position the next page starts
  // from when more may follow. Positions are the index's unique scores, not trigger times, which
  // alerts of one event share.
  virtual absl::StatusOr<std::pair<std::vector<SealedAlert>, std::optional<absl::Time>>> ListAlerts(
      const std::string& organization_id, absl::Time before, int limit,
      const std::function<bool(const Alert&)>& keep) = 0;
  // Triggered -> acknowledged (and off the escalation schedule); acknowledging again is a no-op;
  // FAILED_PRECONDITION once resolved.
  virtual absl::StatusOr<SealedAlert> Acknowledge(const std::string& organization_id,
                                                  const std::string& alert_id,
                                                  const std::string& by, absl::Time now) = 0;
  // Open -> resolved; the dedup key is free again. FAILED_PRECONDITION if already resolved. The
  // note arrives sealed (TextCipher): the store never sees it in plain text.
  virtual absl::StatusOr<SealedAlert> Resolve(const std::string& organization_id,
                                              const std::string& alert_id, const std::string& by,
                                              Outcome outcome, const std::string& note,
                                              absl::Time now) = 0;

  virtual absl::Status SetPolicy(const std::string& organization_id, const AlertPolicy& policy) = 0;

  virtual absl::Status CreateSilence(const Silence& silence) = 0;
  virtual absl::StatusOr<std::optional<Silence>> GetSilence(const std::string& organization_id,
                                                            const std::string& silence_id) = 0;
  // Silences not yet ended at `now`, oldest first.
  virtual absl::StatusOr<std::vector<Silence>> ListSilences(const std::string& organization_id,
                                                            absl::Time now) = 0;
  virtual absl::Status DeleteSilence(const Silence& silence) = 0;
  // Every silence set for the volunteer and not deleted, ended ones too, by end time.
  virtual absl::StatusOr<std::vector<Silence>> VolunteerSilences(
      const std::string& organization_id, const std::string& volunteer_id) = 0;

  // Alerts whose acknowledge deadline is at or before `now` (at most `limit`).
  virtual absl::StatusOr<std::vector<DueDeadline>> DueDeadlines(absl::Time now, int limit) = 0;
  // How many acknowledge deadlines at or before `time` are still scheduled.
  virtual absl::StatusOr<long long> CountDeadlinesUntil(absl::Time time) = 0;
  // Escalates the alert if its deadline is still due and it is still unacknowledged: one more
  // escalation level, the next deadline (or none after max_escalations), ALERT_EVENT_TYPE_ESCALATED
  // on the feed and alert.escalated on pw:events:alerts, atomically. False when there was nothing
  // to do, e.g. because another replica escalated it first: each deadline escalates exactly once.
  virtual absl::StatusOr<bool> Escalate(const std::string& organization_id,
                                        const std::string& alert_id, absl::Time now,
                                        int max_escalations, absl::Time next_deadline) = 0;

  // Erasing a person (docs/PRIVACY.md), one step each. Every step may be run again, and one
  // that stopped part way leaves what is left findable the same way, so that running it again
  // finishes it. A person the store never heard of is OK.

  // Deletes the volunteer's data key: the resolution notes sealed under it no longer open.
  virtual absl::Status DeleteDataKey(const std::string& organization_id,
                                     const std::string& volunteer_id) = 0;
  // Deletes every alert about the volunteer with its open-alert pointer and its entries in the
  // organisation's index and the acknowledge deadlines.
  virtual absl::Status DeleteVolunteerAlerts(const std::string& organization_id,
                                             const std::string& volunteer_id) = 0;
  // Deletes the risk engine's copy of the volunteer's check-ins, the processed markers of those
  // check-ins and of the volunteer's missed-check-in gaps, and their place in the missed-check-in
  // sweep.
  virtual absl::Status DeleteRiskHistory(const std::string& organization_id,
                                         const std::string& volunteer_id) = 0;
  // Deletes the silences set for the volunteer and their index entries.
  virtual absl::Status DeleteVolunteerSilences(const std::string& organization_id,
                                               const std::string& volunteer_id) = 0;
  // Takes a supervisor or coordinator out of others' records, which stay: alerts they
  // acknowledged or resolved and silences they set lose `acknowledged_by`, `resolved_by` and
  // `created_by` where it names them.
  virtual absl::Status ForgetHandler(const std::string& organization_id,
                                     const std::string& person_id) = 0;
  // Deletes every entry that names the person from the organisation's alert feed, the alert
  // events (pw:events:alerts) and their dead letters.
  virtual absl::Status DeleteEventsNaming(const std::string& organization_id,
                                          const std::string& person_id) = 0;
};

}  // namespace peerwell::alerts
