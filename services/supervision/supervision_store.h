#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "services/common/create_request.h"
#include "services/supervision/schedule.h"
#include "services/supervision/supervision.h"

namespace peerwell::supervision {

// A person's time that must still be free when a change is written: checked inside the same
// atomic write, so two changes racing for one supervisor, participant or seat cannot both land.
struct BusyCheck {
  std::string person_id;
  absl::Time start;
  absl::Time end;
  std::string message;  // the FAILED_PRECONDITION message if it is taken ("REASON: …")
  std::vector<std::string> ignore_session_ids;  // the sessions this change rewrites
};

// A session written whole. `session.version` is the version it was read at (0: new); the write
// fails with ABORTED when the stored one moved on, and the caller reads again.
struct SessionChange {
  Session session;
  std::optional<Session> before;  // as read, so that its index entries can be moved
};

// Facts and ids only, never free text: published on the service's event stream.
struct DomainEvent {
  std::string type;
  absl::Time occur_time;
  std::vector<std::pair<std::string, std::string>> fields;
};

// One atomic change: version checks and busy checks first, then every write and event.
struct Commit {
  std::vector<SessionChange> sessions;
  std::vector<Series> series;  // series.version as read (0: new)
  std::vector<BusyCheck> checks;
  std::vector<DomainEvent> events;
  // Volunteers who attended supervision that counts for the cadence, and when it started.
  std::vector<std::pair<std::string, absl::Time>> supervised;
  // Volunteers whose latest such supervision is set back (attendance corrected), or who have
  // none left (nullopt).
  std::vector<std::pair<std::string, std::optional<absl::Time>>> supervised_reset;
  // Erasing a person: sessions and series deleted with every index entry, as read (their
  // versions are checked like those of the records written).
  std::vector<Session> deleted_sessions;
  std::vector<Series> deleted_series;
};

// What the cadence keeps about one volunteer.
struct CadenceMarks {
  std::optional<absl::Time> last_supervised;  // their entry of LastSupervised
  std::optional<std::string> published_gap;   // the gap PublishOverdueOnce last published
};

struct SessionIndexPage {
  std::vector<std::string> session_ids;  // by start time
  std::string next_position;             // empty on the last page
};

// Storage of supervision: availability, sessions and series with their indexes, the policy, the
// last attended supervision per volunteer, calendar feeds, and the organisations the service has
// heard of.
class SupervisionStore {
 public:
  virtual ~SupervisionStore() = default;

  virtual absl::StatusOr<std::optional<Availability>> GetAvailability(
      const std::string& organization_id, const std::string& supervisor_id) = 0;
  // One per id, in order; a supervisor who set none has an empty one.
  virtual absl::StatusOr<std::vector<Availability>> GetAvailabilities(
      const std::string& organization_id, const std::vector<std::string>& supervisor_ids) = 0;
  virtual absl::Status SetAvailability(const std::string& organization_id,
                                       const Availability& availability) = 0;

  virtual absl::StatusOr<std::optional<Session>> GetSession(const std::string& organization_id,
                                                            const std::string& session_id) = 0;
  // The sessions that exist, in the order asked.
  virtual absl::StatusOr<std::vector<Session>> GetSessions(
      const std::string& organization_id, const std::vector<std::string>& session_ids) = 0;
  // Each person's active sessions overlapping [from, to).
  virtual absl::StatusOr<std::map<std::string, std::vector<BusyInterval>>> BusyIntervals(
      const std::string& organization_id, const std::vector<std::string>& person_ids,
      absl::Time from, absl::Time to) = 0;
  // Session ids of a person (the organisation's when `person_id` is empty) starting in
  // [from, to), by start, after `position`.
  virtual absl::StatusOr<SessionIndexPage> ListSessionIds(const std::string& organization_id,
                                                          const std::string& person_id,
                                                          absl::Time from, absl::Time to, int limit,
                                                          const std::string& position) = 0;
  // The ids of a series' occurrences starting at or after `from`, by start.
  virtual absl::StatusOr<std::vector<std::string>> SeriesSessionIds(
      const std::string& organization_id, const std::string& series_id, absl::Time from) = 0;
  // Writes `commit` atomically, at most once per request; `result` is what a replay returns.
  virtual absl::StatusOr<Created> Apply(const std::string& organization_id, const Commit& commit,
                                        const CreateRequest& request,
                                        const std::string& result) = 0;

  // What an earlier Apply with this request returned, if there was one: a retry is answered
  // from it before any check that time or other changes could now fail.
  virtual absl::StatusOr<std::optional<std::string>> EarlierResult(
      const std::string& organization_id, const CreateRequest& request) = 0;

  virtual absl::StatusOr<std::optional<Series>> GetSeries(const std::string& organization_id,
                                                          const std::string& series_id) = 0;
  // The series that exist, in the order asked.
  virtual absl::StatusOr<std::vector<Series>> GetSeveralSeries(
      const std::string& organization_id, const std::vector<std::string>& series_ids) = 0;
  // Series whose occurrences end before `horizon` (they need more), at most `limit`.
  virtual absl::StatusOr<std::vector<std::string>> SeriesToTopUp(const std::string& organization_id,
                                                                 absl::Time horizon, int limit) = 0;
  // Offered sessions whose offer expired at or before `now`.
  virtual absl::StatusOr<std::vector<std::string>> ExpiredOffers(const std::string& organization_id,
                                                                 absl::Time now, int limit) = 0;

  virtual absl::StatusOr<SupervisionPolicy> GetPolicy(const std::string& organization_id) = 0;
  virtual absl::Status SetPolicy(const std::string& organization_id,
                                 const SupervisionPolicy& policy) = 0;

  // Each volunteer's latest attended supervision that counts for the cadence.
  virtual absl::StatusOr<std::map<std::string, absl::Time>> LastSupervised(
      const std::string& organization_id) = 0;
  virtual absl::StatusOr<CadenceMarks> GetCadenceMarks(const std::string& organization_id,
                                                       const std::string& volunteer_id) = 0;
  // Publishes `event` unless one was published for this volunteer and `gap` before: one
  // supervision.overdue per gap. True when it published.
  virtual absl::StatusOr<bool> PublishOverdueOnce(const std::string& organization_id,
                                                  const std::string& volunteer_id,
                                                  const std::string& gap,
                                                  const DomainEvent& event) = 0;

  // Calendar feeds: each feed's record and its person's index, oldest first.
  virtual absl::StatusOr<std::optional<CalendarFeed>> GetCalendarFeed(
      const std::string& organization_id, const std::string& feed_id) = 0;
  virtual absl::StatusOr<std::vector<CalendarFeed>> ListCalendarFeeds(
      const std::string& organization_id, const std::string& person_id) = 0;
  // Writes the feed and its index entry in one step, unless its person has `limit` feeds
  // already: false then, and nothing is written.
  virtual absl::StatusOr<bool> AddCalendarFeed(const CalendarFeed& feed, int limit) = 0;
  // Removes the feed and its index entry in one step; false when it was gone already.
  virtual absl::StatusOr<bool> RemoveCalendarFeed(const CalendarFeed& feed) = 0;

  virtual absl::Status AddOrganization(const std::string& organization_id) = 0;
  virtual absl::StatusOr<std::vector<std::string>> Organizations() = 0;

  // --- Erasing a person (GDPR article 17); each step may run again after a crash ------------
  // Every series of the organisation that names the person among its supervisors or
  // participants, found in the series themselves (not through the person's sessions, which may
  // all have been left or erased already).
  virtual absl::StatusOr<std::vector<Series>> SeriesNaming(const std::string& organization_id,
                                                           const std::string& person_id) = 0;
  // The person's own records and indexes: availability, calendar feeds, cadence marks (their
  // last supervision and the gap announced for them), their session and busy indexes. Called
  // once their sessions were erased or taken from them.
  virtual absl::Status RemovePersonRecords(const std::string& organization_id,
                                           const std::string& person_id) = 0;
  // Request ids the person made, and those whose session is gone: only an erasure deletes a
  // session, so those were theirs (this erasure's, or one that stopped half way).
  virtual absl::Status RemovePersonRequests(const std::string& organization_id,
                                            const std::string& person_id) = 0;
  // Every entry of the organisation's event stream and its dead letters that names the person.
  virtual absl::Status RemovePersonEvents(const std::string& organization_id,
                                          const std::string& person_id) = 0;
};

}  // namespace peerwell::supervision
