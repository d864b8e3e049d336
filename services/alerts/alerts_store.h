#pragma once

#include <array>
#include <functional>
#include <map>
#include <optional>
#include <set>
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

// One due deadline to escalate. The next deadline depends on the alert's priority, which the
// store reads as it escalates: so it is given for every priority (indexed by Priority).
struct Escalation {
  DueDeadline deadline;
  int max_escalations = 0;
  std::array<absl::Time, 5> next_deadline_by_priority;
};

// One rule hit of an event to record (AlertStore::RecordAll).
struct HitToRecord {
  RuleHit hit;
  std::string event_key;  // HitEventKey
  absl::Time ack_deadline;
  bool silenced = false;
  bool inhibited = false;
};

// What judging an event about a volunteer needs, read from the store in one round trip.
struct VolunteerState {
  AlertPolicy policy;
  bool silenced = false;    // a silence covers the time it was read for
  std::vector<Alert> open;  // triggered or acknowledged
  // Read for a check-in only (with the answers of pulses alone, all the rules read, and
  // without organisation and volunteer, the read's): the check-ins up to and including it
  // (last, as given), oldest first, and those after it, oldest first: judged before it came (it
  // was redelivered after a replica died, published out of order, or imported).
  std::vector<CheckinEvent> checkins;
  std::vector<CheckinEvent> later_checkins;
};

// Storage of alerts and of the history the risk engine keeps per volunteer. Every change of an
// alert also appends an alert event to the organisation's alert feed in the same atomic write.
class AlertStore {
 public:
  virtual ~AlertStore() = default;

  // What to record about one volunteer (RecordAll): a check-in to add to the history (as
  // AddToHistory does), if any, and the hits of an event. Each hit is recorded at most once per
  // `event_key`: a new alert when none is open for (volunteer, rule), else one more occurrence
  // of the open one (raising its priority when the hit is higher). `silenced` and `inhibited`
  // mark what is recorded but not notified. Hits are recorded in order (but for one whose script
  // Redis had to be sent again, after a restart, recorded after the others).
  struct Record {
    std::string organization_id;
    std::string volunteer_id;
    const CheckinEvent* checkin = nullptr;
    std::vector<HitToRecord> hits;
  };
  // Every record in one round trip (one fsync'd write for all): per record, the outcome of each
  // of its hits, or what failed.
  virtual std::vector<absl::StatusOr<std::vector<TriggerOutcome>>> RecordAll(
      const std::vector<Record>& records, absl::Time now) = 0;

  // What to read about one volunteer (LoadStates): the policy, whether a silence covers `now`
  // and the open alerts; with a check-in also the history as it stands once the check-in is in
  // it. Reads only: RecordAll adds the check-in.
  struct StateRead {
    std::string organization_id;
    std::string volunteer_id;
    const CheckinEvent* checkin = nullptr;
  };
  // Every read in one round trip: per read, the state or what failed.
  virtual std::vector<absl::StatusOr<VolunteerState>> LoadStates(
      const std::vector<StateRead>& reads, absl::Time now) = 0;

  // RecordAll of one volunteer's hits.
  absl::StatusOr<std::vector<TriggerOutcome>> TriggerAll(const std::string& organization_id,
                                                         const std::string& volunteer_id,
                                                         std::vector<HitToRecord> hits,
                                                         absl::Time now) {
    return std::move(
        RecordAll({{organization_id, volunteer_id, nullptr, std::move(hits)}}, now).front());
  }
  // RecordAll of one hit.
  absl::StatusOr<TriggerOutcome> Trigger(const std::string& organization_id,
                                         const std::string& volunteer_id, const RuleHit& hit,
                                         const std::string& event_key, absl::Time now,
                                         absl::Time ack_deadline, bool silenced, bool inhibited) {
    auto outcomes = TriggerAll(organization_id, volunteer_id,
                               {{hit, event_key, ack_deadline, silenced, inhibited}}, now);
    if (!outcomes.ok()) return outcomes.status();
    return outcomes->front();
  }
  // LoadStates of one volunteer, without a check-in.
  absl::StatusOr<VolunteerState> LoadVolunteerState(const std::string& organization_id,
                                                    const std::string& volunteer_id,
                                                    absl::Time now) {
    return std::move(LoadStates({{organization_id, volunteer_id, nullptr}}, now).front());
  }

  // The alerts of `alert_ids`, in one round trip; nullopt for one that does not exist.
  virtual absl::StatusOr<std::vector<std::optional<SealedAlert>>> GetAlerts(
      const std::string& organization_id, const std::vector<std::string>& alert_ids) = 0;
  absl::StatusOr<std::optional<SealedAlert>> GetAlert(const std::string& organization_id,
                                                      const std::string& alert_id) {
    auto alerts = GetAlerts(organization_id, {alert_id});
    if (!alerts.ok()) return alerts.status();
    return std::move(alerts->front());
  }
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
  // The policies of several organisations, in one round trip.
  virtual absl::StatusOr<std::map<std::string, AlertPolicy>> GetPolicies(
      const std::set<std::string>& organization_ids) = 0;

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
  // Escalates each alert whose deadline is still due at `now` and that is still unacknowledged:
  // one more escalation level, the next deadline for its priority (or none after
  // max_escalations), ALERT_EVENT_TYPE_ESCALATED on the feed and alert.escalated on
  // the organisation's pw:{<org>}:events:alerts, atomically per alert; all in one round trip.
  // Returns how many it escalated: one whose deadline another replica escalated first is not, so
  // each deadline escalates exactly once.
  virtual absl::StatusOr<int> Escalate(absl::Time now, const std::vector<Escalation>& due) = 0;

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
  // events (pw:{<org>}:events:alerts) and their dead letters.
  virtual absl::Status DeleteEventsNaming(const std::string& organization_id,
                                          const std::string& person_id) = 0;
};

}  // namespace peerwell::alerts
