#pragma once

#include "services/alerts/alerts_store.h"
#include "services/common/organization_registry.h"
#include "services/common/person_records.h"
#include "services/common/redis_client.h"

namespace peerwell::alerts {

// The organisation's alert feed (a stream of alert events), which WatchAlerts follows.
std::string AlertFeedKey(const std::string& organization_id);

// Alerts in Redis: the only code that knows the alert key layout (docs/ARCHITECTURE.md). A
// trigger is one Lua script: idempotent by event, one open alert per volunteer and rule, the
// acknowledge deadline scheduled, and the change appended to the organisation's alert feed.
class RedisAlertStore final : public AlertStore {
 public:
  explicit RedisAlertStore(RedisClient& redis);

  // Every kind of key this store keeps that names a person or holds data about one, and where
  // a person's export (ExportPersonRecords) shows it.
  static const std::vector<PersonKeyFamily>& PersonKeyFamilies();

  std::vector<absl::StatusOr<std::vector<TriggerOutcome>>> RecordAll(
      const std::vector<Record>& records, absl::Time now) override;
  std::vector<absl::StatusOr<VolunteerState>> LoadStates(const std::vector<StateRead>& reads,
                                                         absl::Time now) override;
  absl::StatusOr<std::vector<std::optional<SealedAlert>>> GetAlerts(
      const std::string& organization_id, const std::vector<std::string>& alert_ids) override;
  absl::StatusOr<std::vector<Alert>> OpenAlerts(const std::string& organization_id,
                                                const std::string& volunteer_id) override;
  absl::StatusOr<std::vector<SealedAlert>> VolunteerAlerts(
      const std::string& organization_id, const std::string& volunteer_id) override;
  absl::StatusOr<VolunteerHistory> GetHistory(const std::string& organization_id,
                                              const std::string& volunteer_id) override;
  absl::StatusOr<std::vector<CheckinEvent>> HistoryCheckins(
      const std::string& organization_id, const std::string& volunteer_id) override;
  absl::StatusOr<std::optional<absl::Time>> LastCheckin(const std::string& organization_id,
                                                        const std::string& volunteer_id) override;
  absl::Status AddToHistory(const CheckinEvent& event) override;
  absl::StatusOr<std::vector<QuietVolunteer>> QuietVolunteers(absl::Time before, int offset,
                                                              int limit) override;
  absl::StatusOr<AlertPolicy> GetPolicy(const std::string& organization_id) override;
  absl::StatusOr<std::map<std::string, AlertPolicy>> GetPolicies(
      const std::set<std::string>& organization_ids) override;
  absl::StatusOr<std::pair<std::vector<SealedAlert>, std::optional<absl::Time>>> ListAlerts(
      const std::string& organization_id, absl::Time before, int limit,
      const std::function<bool(const Alert&)>& keep) override;
  absl::StatusOr<SealedAlert> Acknowledge(const std::string& organization_id,
                                          const std::string& alert_id, const std::string& by,
                                          absl::Time now) override;
  absl::StatusOr<SealedAlert> Resolve(const std::string& organization_id,
                                      const std::string& alert_id, const std::string& by,
                                      Outcome outcome, const std::string& note,
                                      absl::Time now) override;
  absl::Status SetPolicy(const std::string& organization_id, const AlertPolicy& policy) override;
  absl::Status CreateSilence(const Silence& silence) override;
  absl::StatusOr<std::optional<Silence>> GetSilence(const std::string& organization_id,
                                                    const std::string& silence_id) override;
  absl::StatusOr<std::vector<Silence>> ListSilences(const std::string& organization_id,
                                                    absl::Time now) override;
  absl::Status DeleteSilence(const Silence& silence) override;
  absl::StatusOr<std::vector<Silence>> VolunteerSilences(const std::string& organization_id,
                                                         const std::string& volunteer_id) override;
  absl::StatusOr<std::vector<DueDeadline>> DueDeadlines(absl::Time now, int limit) override;
  absl::StatusOr<long long> CountDeadlinesUntil(absl::Time time) override;
  absl::StatusOr<int> Escalate(absl::Time now, const std::vector<Escalation>& due) override;
  absl::Status DeleteDataKey(const std::string& organization_id,
                             const std::string& volunteer_id) override;
  absl::Status DeleteVolunteerAlerts(const std::string& organization_id,
                                     const std::string& volunteer_id) override;
  absl::Status DeleteRiskHistory(const std::string& organization_id,
                                 const std::string& volunteer_id) override;
  absl::Status DeleteVolunteerSilences(const std::string& organization_id,
                                       const std::string& volunteer_id) override;
  absl::Status ForgetHandler(const std::string& organization_id,
                             const std::string& person_id) override;
  absl::Status DeleteEventsNaming(const std::string& organization_id,
                                  const std::string& person_id) override;

 private:
  // Clears `fields` of every hash an index names (its members through `record_key`) where the
  // field holds the person's id.
  absl::Status ClearFieldsNaming(const std::string& index,
                                 const std::function<std::string(const std::string&)>& record_key,
                                 const std::vector<std::string>& fields,
                                 const std::string& person_id);
  // Deletes the entries of a stream any of whose fields names the person.
  absl::Status DeleteStreamEntriesNaming(const std::string& stream, const std::string& person_id);

  RedisClient& redis_;
  // The organisations with alerts awaiting acknowledgement, for the escalation sweep.
  ScheduleView deadlines_;
};

}  // namespace peerwell::alerts
