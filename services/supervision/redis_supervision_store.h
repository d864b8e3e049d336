#pragma once

#include <vector>

#include "services/common/person_records.h"
#include "services/common/redis_client.h"
#include "services/supervision/supervision_store.h"

namespace peerwell::supervision {

// The supervision store on Redis: the only code that knows the key layout (docs/ARCHITECTURE.md).
// Every change is one Lua script: version and busy-time checks first, then the session hashes,
// their indexes and the events, so two changes racing for a seat or a person's time cannot both
// land.
class RedisSupervisionStore final : public SupervisionStore {
 public:
  explicit RedisSupervisionStore(RedisClient& redis) : redis_(redis) {}

  // Every kind of key the service keeps that can name a person or hold data about them, and the
  // export's family that shows it (or why none does).
  static const std::vector<PersonKeyFamily>& PersonKeyFamilies();

  absl::StatusOr<std::optional<Availability>> GetAvailability(
      const std::string& organization_id, const std::string& supervisor_id) override;
  absl::StatusOr<std::vector<Availability>> GetAvailabilities(
      const std::string& organization_id, const std::vector<std::string>& supervisor_ids) override;
  absl::Status SetAvailability(const std::string& organization_id,
                               const Availability& availability) override;
  absl::StatusOr<std::optional<Session>> GetSession(const std::string& organization_id,
                                                    const std::string& session_id) override;
  absl::StatusOr<std::vector<Session>> GetSessions(
      const std::string& organization_id, const std::vector<std::string>& session_ids) override;
  absl::StatusOr<std::map<std::string, std::vector<BusyInterval>>> BusyIntervals(
      const std::string& organization_id, const std::vector<std::string>& person_ids,
      absl::Time from, absl::Time to) override;
  absl::StatusOr<SessionIndexPage> ListSessionIds(const std::string& organization_id,
                                                  const std::string& person_id, absl::Time from,
                                                  absl::Time to, int limit,
                                                  const std::string& position) override;
  absl::StatusOr<std::vector<std::string>> SeriesSessionIds(const std::string& organization_id,
                                                            const std::string& series_id,
                                                            absl::Time from) override;
  absl::StatusOr<Created> Apply(const std::string& organization_id, const Commit& commit,
                                const CreateRequest& request, const std::string& result) override;
  absl::StatusOr<std::optional<std::string>> EarlierResult(const std::string& organization_id,
                                                           const CreateRequest& request) override;
  absl::StatusOr<std::optional<Series>> GetSeries(const std::string& organization_id,
                                                  const std::string& series_id) override;
  absl::StatusOr<std::vector<Series>> GetSeveralSeries(
      const std::string& organization_id, const std::vector<std::string>& series_ids) override;
  absl::StatusOr<std::vector<std::string>> SeriesToTopUp(const std::string& organization_id,
                                                         absl::Time horizon, int limit) override;
  absl::StatusOr<std::vector<std::string>> ExpiredOffers(const std::string& organization_id,
                                                         absl::Time now, int limit) override;
  absl::StatusOr<SupervisionPolicy> GetPolicy(const std::string& organization_id) override;
  absl::Status SetPolicy(const std::string& organization_id,
                         const SupervisionPolicy& policy) override;
  absl::StatusOr<std::map<std::string, absl::Time>> LastSupervised(
      const std::string& organization_id) override;
  absl::StatusOr<CadenceMarks> GetCadenceMarks(const std::string& organization_id,
                                               const std::string& volunteer_id) override;
  absl::StatusOr<bool> PublishOverdueOnce(const std::string& organization_id,
                                          const std::string& volunteer_id, const std::string& gap,
                                          const DomainEvent& event) override;
  absl::StatusOr<std::optional<CalendarFeed>> GetCalendarFeed(const std::string& organization_id,
                                                              const std::string& feed_id) override;
  absl::StatusOr<std::vector<CalendarFeed>> ListCalendarFeeds(
      const std::string& organization_id, const std::string& person_id) override;
  absl::StatusOr<bool> AddCalendarFeed(const CalendarFeed& feed, int limit) override;
  absl::StatusOr<bool> RemoveCalendarFeed(const CalendarFeed& feed) override;
  absl::Status AddOrganization(const std::string& organization_id) override;
  absl::StatusOr<std::vector<std::string>> Organizations() override;
  absl::StatusOr<std::vector<Series>> SeriesNaming(const std::string& organization_id,
                                                   const std::string& person_id) override;
  absl::Status RemovePersonRecords(const std::string& organization_id,
                                   const std::string& person_id) override;
  absl::Status RemovePersonRequests(const std::string& organization_id,
                                    const std::string& person_id) override;
  absl::Status RemovePersonEvents(const std::string& organization_id,
                                  const std::string& person_id) override;

 private:
  RedisClient& redis_;
};

}  // namespace peerwell::supervision
