#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "services/common/api_key_secret.h"
#include "services/common/caller.h"
#include "services/common/clock.h"
#include "services/supervision/schedule.h"
#include "services/supervision/supervision.h"
#include "services/supervision/supervision_store.h"

namespace peerwell::supervision {

enum class PersonRole { kVolunteer, kSupervisor, kCoordinator };

// What scheduling needs to know about a person, from the directory.
struct PersonFacts {
  std::string person_id;
  PersonRole role = PersonRole::kVolunteer;
  // Scheduled only while active; inactive people are no longer with the organisation (a break
  // is not that).
  enum class Status { kActive, kOnBreak, kInactive } status = Status::kActive;
  bool active() const { return status == Status::kActive; }
  std::string timezone;   // IANA; empty reads as UTC
  std::optional<QuietHours> quiet_hours;
  std::vector<std::string> supervisor_ids;
  absl::Time create_time = absl::InfinitePast();
};

// The directory, as the supervision domain sees it (DirectoryPeople adapts the gRPC client).
class PeopleDirectory {
 public:
  virtual ~PeopleDirectory() = default;
  // NOT_FOUND when the person is not in the organisation.
  virtual absl::StatusOr<PersonFacts> GetPerson(const std::string& organization_id,
                                                const std::string& person_id) = 0;
  virtual absl::StatusOr<std::vector<PersonFacts>> ListPeople(const std::string& organization_id,
                                                              PersonRole role) = 0;
};

// Occurrences of a series exist at least this far ahead (topped up as time passes).
inline constexpr absl::Duration kSeriesHorizon = absl::Hours(24 * 7 * 12);
inline constexpr absl::Duration kMaxSessionDuration = absl::Hours(8);
inline constexpr absl::Duration kMinSessionDuration = absl::Minutes(5);
inline constexpr absl::Duration kDebriefDuration = absl::Minutes(60);
// A debrief is offered at least this far ahead, so the volunteer has time to answer: the offer
// lapses when its session would begin.
inline constexpr absl::Duration kDebriefNotice = absl::Hours(1);
inline constexpr size_t kMaxTitleChars = 200;
inline constexpr size_t kMaxReasonChars = 500;
inline constexpr int kMaxSupervisors = 10;
inline constexpr int kMaxParticipants = 100;
inline constexpr int kMaxCapacity = 500;
// Calendar feeds a person may have at once.
inline constexpr int kMaxCalendarFeedsPerPerson = 10;

struct SessionQuery {
  absl::Time start_time = absl::InfinitePast();
  absl::Time end_time = absl::InfiniteFuture();
  std::vector<SessionKind> kinds;    // empty: any
  std::vector<SessionState> states;  // empty: any
  int page_size = 50;
  std::string position;
  bool open_to_join = false;  // the sessions the caller may join instead of a person's
};

struct ProposeSlotsInput {
  std::string volunteer_id;
  SessionKind kind = SessionKind::kIndividual;
  absl::Duration duration = absl::ZeroDuration();
  absl::Time window_start = absl::InfinitePast();
  absl::Time window_end = absl::InfinitePast();
  int max_results = 10;
};

// The fields of a policy update that were named in the update mask.
struct PolicyUpdate {
  std::optional<absl::Duration> cadence;
  std::optional<absl::Duration> debrief_offer_window;
  std::optional<absl::Duration> debrief_buffer;
  std::optional<bool> require_two_facilitators;
};

// A critical incident, as the check-in service announced it.
struct IncidentReported {
  std::string event_id;
  std::string organization_id;
  std::string volunteer_id;
  std::string incident_id;
  absl::Time report_time;
};

template <typename T>
struct Page {
  std::vector<T> items;
  std::string next_position;
};

// The rules of supervision scheduling: who may see and change what, conflicts, seats, series,
// cadence and debrief offers. A volunteer books and joins for themselves and sees the sessions
// they take part in; a supervisor manages their availability and sessions and sees their
// volunteers'; a coordinator everything in the organisation. A person's calendar feeds are theirs
// and their coordinators' to create, list and revoke.
class SupervisionService {
 public:
  SupervisionService(SupervisionStore& store, PeopleDirectory& people, const Clock& clock,
                     const Secrets& secrets)
      : store_(store), people_(people), clock_(clock), secrets_(secrets) {}

  absl::StatusOr<Availability> SetAvailability(const Caller& caller,
                                               const std::string& supervisor_id,
                                               Availability availability);
  absl::StatusOr<Availability> GetAvailability(const Caller& caller,
                                               const std::string& supervisor_id);
  absl::StatusOr<Session> CreateSession(const Caller& caller, Session input,
                                        const std::string& request_id);
  absl::StatusOr<Session> GetSession(const Caller& caller, const std::string& session_id);
  absl::StatusOr<Page<Session>> ListSessions(const Caller& caller, const std::string& person_id,
                                             const SessionQuery& query);
  absl::StatusOr<std::vector<Slot>> ProposeSlots(const Caller& caller, ProposeSlotsInput input);
  absl::StatusOr<Session> JoinSession(const Caller& caller, const std::string& session_id,
                                      const std::string& person_id);
  absl::StatusOr<Session> LeaveSession(const Caller& caller, const std::string& session_id,
                                       const std::string& person_id);
  absl::StatusOr<Session> CancelSession(const Caller& caller, const std::string& session_id,
                                        const std::string& reason, SeriesScope scope);
  absl::StatusOr<Session> RescheduleSession(const Caller& caller, const std::string& session_id,
                                            absl::Time start_time,
                                            std::optional<absl::Duration> duration,
                                            SeriesScope scope);
  absl::StatusOr<Session> RecordAttendance(const Caller& caller, const std::string& session_id,
                                           const std::vector<Attendance>& attendance);
  absl::StatusOr<Session> RespondToOffer(const Caller& caller, const std::string& session_id,
                                         bool accept);
  absl::StatusOr<SupervisionPolicy> GetPolicy(const Caller& caller);
  absl::StatusOr<SupervisionPolicy> UpdatePolicy(const Caller& caller, const PolicyUpdate& update);
  absl::StatusOr<Page<OverdueVolunteer>> ListOverdue(const Caller& caller, int page_size,
                                                     const std::string& position);
  absl::StatusOr<std::string> ExportCalendar(const Caller& caller, const std::string& person_id);
  // At most kMaxCalendarFeedsPerPerson per person (FAILED_PRECONDITION beyond).
  absl::StatusOr<CreatedCalendarFeed> CreateCalendarFeed(const Caller& caller,
                                                         const std::string& person_id);
  // Oldest first.
  absl::StatusOr<std::vector<CalendarFeed>> ListCalendarFeeds(const Caller& caller,
                                                              const std::string& person_id);
  absl::StatusOr<CalendarFeed> RevokeCalendarFeed(const Caller& caller, const std::string& feed_id);
  // The calendar a feed serves, for whoever holds its token (the token is the credential, so
  // there is no caller). NOT_FOUND for a token that is malformed, unknown, altered or revoked,
  // and when the feed's person left the organisation (inactive) or is gone from the directory;
  // nothing in the answer tells these apart.
  absl::StatusOr<std::string> CalendarOfFeed(const std::string& token);

  // For the directory's export of a person's data (role service): every record the service
  // holds about them in the caller's organisation; empty when it holds none.
  absl::StatusOr<PersonRecords> ExportPerson(const Caller& caller, const std::string& person_id);

  // --- Work without a caller: events and the periodic sweep ---------------------------------
  // Offers the volunteer a debrief at the first free time inside the policy's window, with their
  // own supervisor when they have time (another supervisor otherwise); at most once per incident.
  absl::Status OfferDebrief(const IncidentReported& incident);
  absl::Status RegisterOrganization(const std::string& organization_id);
  // Erases what the service holds about a person (GDPR article 17; the directory's
  // person.erased). A session or series that concerned only them and the people running it
  // (their individual sessions and debriefs, a group they alone had joined) is deleted; one
  // shared with others goes on without them (a session run by an erased supervisor keeps its
  // participants, with no supervisor if it had no other); a series left with nobody to run it
  // is deleted too. Then their availability, calendar feeds, cadence marks, request ids and
  // events. Idempotent and safe to run again after a crash at any step; a person the service
  // never heard of is OK.
  absl::Status ErasePerson(const std::string& organization_id, const std::string& person_id);
  // For every organisation: tops series up to the horizon, lets unanswered offers lapse, and
  // publishes supervision.overdue once per gap for volunteers past the cadence.
  absl::Status Sweep();

 private:
  absl::StatusOr<Session> LoadVisible(const Caller& caller, const std::string& session_id);
  absl::StatusOr<bool> MaySee(const Caller& caller, const Session& session);
  absl::StatusOr<bool> MaySeePerson(const Caller& caller, const std::string& person_id);
  // Whether `caller` manages `person_id`'s calendar feeds: the person themselves, or a
  // coordinator for anyone in the organisation. NOT_FOUND for people the caller may not see
  // (ExportCalendar's rule), PERMISSION_DENIED for those they see but whose feeds are not theirs
  // to manage (a supervisor's volunteers).
  absl::Status MayManageFeeds(const Caller& caller, const std::string& person_id);
  // The RFC 5545 calendar of a person's sessions, from 90 days ago on.
  absl::StatusOr<std::string> CalendarOf(const std::string& organization_id,
                                         const std::string& person_id);
  absl::Status MayManage(const Caller& caller, const Session& session);
  // A supervisor or coordinator of the organisation; NOT_FOUND for anyone else.
  absl::StatusOr<PersonFacts> LoadSupervisor(const std::string& organization_id,
                                             const std::string& person_id);
  // The conflicts that do not race (people, roles, availability, quiet hours, facilitators,
  // seats named at creation); adds the busy checks that do to `commit`. People named anew must
  // be active; people already in a session (moved, or its series topped up) may be on a break.
  absl::Status CheckSession(const std::string& organization_id, const Session& session,
                            const SupervisionPolicy& policy, bool people_named_anew,
                            Commit& commit);
  // The latest attended supervision of a volunteer that counts for the cadence, other than
  // `except` (for attendance corrected from present).
  absl::StatusOr<std::optional<absl::Time>> LatestSupervision(const std::string& organization_id,
                                                              const std::string& volunteer_id,
                                                              const std::string& except);
  // The pool as slot candidates (availability, busy times in [busy_from, busy_to), weekly load);
  // the volunteer's busy times go into `request` when `volunteer_id` is set.
  absl::StatusOr<std::vector<SlotCandidate>> LoadCandidates(
      const std::string& organization_id, const std::vector<PersonFacts>& pool, bool own,
      const std::string& volunteer_id, absl::Time busy_from, absl::Time busy_to,
      SlotRequest& request);
  // Applies `commit` and answers the session `session_id` as written (with its new version).
  absl::StatusOr<Session> ApplyAndReturn(const std::string& organization_id, const Commit& commit,
                                         const std::string& session_id);
  absl::StatusOr<std::vector<Session>> NewOccurrences(const Series& series, absl::Time from,
                                                      absl::Time until);
  absl::StatusOr<std::vector<OverdueVolunteer>> ComputeOverdue(const std::string& organization_id,
                                                               const std::string& supervisor_id);
  absl::Status TopUpSeries(const std::string& organization_id, const std::string& series_id);
  absl::Status LapseOffer(const std::string& organization_id, const std::string& session_id);
  absl::Status SweepOrganization(const std::string& organization_id);
  // ErasePerson's steps. A series the person leaves empty stops generating (still naming them,
  // so that an erasure that crashed finds it again) and is deleted after its occurrences: true
  // then.
  absl::StatusOr<bool> TakeOutOfSeries(const std::string& organization_id,
                                       const std::string& series_id, const std::string& person_id);
  absl::Status DeleteSeries(const std::string& organization_id, const std::string& series_id);
  absl::Status TakeOutOfSession(const std::string& organization_id, const std::string& session_id,
                                const std::string& person_id);
  // Retries `attempt` while it answers ABORTED (a concurrent change): it re-reads each time.
  template <typename Attempt>
  auto Retrying(Attempt attempt) -> decltype(attempt());

  SupervisionStore& store_;
  PeopleDirectory& people_;
  const Clock& clock_;
  const Secrets& secrets_;
};

}  // namespace peerwell::supervision
