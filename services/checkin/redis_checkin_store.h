#pragma once

#include <vector>

#include "services/checkin/checkin_store.h"
#include "services/common/person_records.h"
#include "services/common/redis_client.h"

namespace peerwell::checkin {

// Check-ins in Redis: the only code that knows the check-in key layout (docs/ARCHITECTURE.md).
// Creates are one idempotent script each, which also XADDs their events on the organisation's
// "pw:{<org>}:events:checkin".
class RedisCheckinStore final : public CheckinStore {
 public:
  explicit RedisCheckinStore(RedisClient& redis) : redis_(redis) {}

  void CreateCheckin(const SealedCheckin& checkin,
                     const std::optional<SealedSupportRequest>& support,
                     const CreateRequest& request, CreatedDone done) override;
  absl::StatusOr<Created> CreateIncident(const SealedIncident& incident,
                                         const CreateRequest& request) override;
  absl::StatusOr<Created> CreateSupportRequest(const SealedSupportRequest& support,
                                               const CreateRequest& request) override;
  absl::StatusOr<std::optional<SealedCheckin>> GetCheckin(const std::string& organization_id,
                                                          const std::string& checkin_id) override;
  absl::StatusOr<std::optional<SealedIncident>> GetIncident(
      const std::string& organization_id, const std::string& incident_id) override;
  absl::StatusOr<std::optional<SealedSupportRequest>> GetSupportRequest(
      const std::string& organization_id, const std::string& support_request_id) override;
  absl::StatusOr<CheckinPage> ListCheckins(const std::string& organization_id,
                                           const std::string& volunteer_id,
                                           const CheckinQuery& query) override;
  absl::StatusOr<IncidentPage> ListIncidents(const std::string& organization_id,
                                             const std::string& volunteer_id, int page_size,
                                             const std::string& position) override;
  absl::StatusOr<SupportRequestPage> ListSupportRequests(const std::string& organization_id,
                                                         const std::string& volunteer_id,
                                                         int page_size,
                                                         const std::string& position) override;
  absl::StatusOr<CheckinTimes> GetCheckinTimes(const std::string& organization_id,
                                               const std::string& volunteer_id,
                                               const std::vector<std::string>& instruments,
                                               absl::Time since) override;
  absl::StatusOr<std::vector<std::vector<std::string>>> ListCheckinIds(
      const std::string& organization_id, const std::vector<CheckinIdRange>& ranges,
      const std::string& instrument_id, absl::Time start, absl::Time end) override;
  absl::StatusOr<std::vector<Checkin>> GetCheckins(const std::string& organization_id,
                                                   const std::vector<std::string>& ids) override;
  absl::StatusOr<CheckinSettings> GetSettings(const std::string& organization_id) override;
  absl::Status SetSettings(const std::string& organization_id,
                           const CheckinSettings& settings) override;
  absl::Status DeleteDataKey(const std::string& organization_id,
                             const std::string& volunteer_id) override;
  absl::Status DeleteVolunteerRecords(const std::string& organization_id,
                                      const std::string& volunteer_id) override;
  absl::Status DeletePersonRequests(const std::string& organization_id,
                                    const std::string& person_id) override;
  absl::Status DeletePersonEvents(const std::string& organization_id,
                                  const std::string& person_id) override;

  // Every kind of key this store writes, and where a person's export shows what it holds.
  static const std::vector<PersonKeyFamily>& PersonKeyFamilies();

 private:
  RedisClient& redis_;
};

// "pw:{<org>}:checkin:datakey:<volunteer>" holds the volunteer's wrapped data key (DataKeyVault,
// kNoteKeys).

}  // namespace peerwell::checkin
