#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "services/checkin/aggregates.h"
#include "services/checkin/checkin.h"
#include "services/checkin/checkin_store.h"
#include "services/common/audit_record.h"
#include "services/common/blocking.h"
#include "services/common/caller.h"
#include "services/common/clock.h"
#include "services/common/pseudonymizer.h"
#include "services/common/text_cipher.h"

namespace peerwell::checkin {

// What the check-in service needs to know about a person, from the directory.
struct PersonFacts {
  bool is_volunteer = false;
  bool active = true;
  std::vector<std::string> supervisor_ids;
};

// The directory, as the domain sees it (DirectoryPeople adapts the gRPC client).
class PeopleDirectory {
 public:
  virtual ~PeopleDirectory() = default;
  // NOT_FOUND when the person is not in the organisation.
  virtual absl::StatusOr<PersonFacts> GetPerson(const std::string& organization_id,
                                                const std::string& person_id) = 0;
  // The volunteer's share_scores_with_supervisor consent.
  virtual absl::StatusOr<bool> SharesScores(const std::string& organization_id,
                                            const std::string& volunteer_id) = 0;
  // The volunteers of the organisation who consented to research_export.
  virtual absl::StatusOr<std::vector<std::string>> ResearchVolunteers(
      const std::string& organization_id) = 0;
};

// Check-in notes and incident descriptions are sealed under the volunteer's data key.
using NoteCipher = TextCipher;
// Where the check-in service keeps volunteers' data keys, and the AAD label of their texts.
inline const DataKeyFamily kNoteKeys{"checkin", "peerwell note"};

inline constexpr size_t kMaxNoteChars = 2000;
inline constexpr size_t kMaxDescriptionChars = 4000;
inline constexpr absl::Duration kBaselineWindow = absl::Hours(24 * 90);
inline constexpr absl::Duration kDefaultTrendWindow = absl::Hours(24 * 180);

// The median of the values of `points` in the 90 days before the last point, and the change of
// the last point from it. Points must be oldest first.
Trend ComputeTrend(std::vector<TrendPoint> points);

// Which instruments are due at `now`: cadence instruments never completed or last completed a
// cadence ago, and a who5 follow-up 7 and 30 days after each incident until one is completed.
std::vector<DueCheckin> ComputeDueCheckins(const CheckinSettings& settings,
                                           const std::map<std::string, absl::Time>& last_submit,
                                           const std::vector<absl::Time>& who5_times,
                                           const std::vector<absl::Time>& incident_times,
                                           absl::Time now);

struct SubmitCheckinInput {
  std::string volunteer_id;
  std::string instrument_id;
  std::vector<Answer> answers;
  CheckinContext context;
  std::string note;
  std::string request_id;
  std::optional<absl::Time> submit_time;  // imports by the platform operator only
};

struct ReportIncidentInput {
  std::string volunteer_id;
  IncidentType type = IncidentType::kUnspecified;
  std::optional<absl::Time> occur_time;
  std::string description;
  std::string request_id;
};

struct RequestSupportInput {
  std::string volunteer_id;
  Urgency urgency = Urgency::kUnspecified;
  std::string note;
  std::string request_id;
};

struct AggregateQuery {
  std::string scale_id;
  std::optional<AggregatePeriod> period;
  std::optional<absl::Time> start_time;
  std::optional<absl::Time> end_time;
  bool by_session_kind = false;
};

// The scopes of partners' API keys that the check-in service answers to.
inline constexpr char kAggregatesScope[] = "aggregates:read";
inline constexpr char kExportsScope[] = "exports:read";

inline constexpr int kMaxExportPageSize = 200;

// Records of one kind that one read of a person's export takes: years of check-ins in a few.
inline constexpr int kPersonRecordsPage = 500;

struct ExportQuery {
  std::optional<absl::Time> updated_start_time;
  std::optional<absl::Time> updated_end_time;
  int page_size = 50;
  std::string position;  // opaque, from a previous page
};

// A check-in as a partner receives it: pseudonyms instead of ids, the day instead of the time,
// no note and no context.
struct ExportedCheckin {
  std::string export_id;
  std::string subject_pseudonym;
  std::string instrument_id;
  int instrument_version = 0;
  std::string authored_date;  // YYYY-MM-DD, UTC
  std::vector<Answer> answers;
  std::vector<Score> scores;
};

struct ExportPage {
  std::vector<ExportedCheckin> checkins;
  std::string next_position;
};

// The rules of check-ins: a volunteer submits for themselves; scores, notes and trends are the
// volunteer's, shown to their supervisors and coordinators only with share_scores_with_supervisor
// consent (notes never), and every such read is audited.
class CheckinService {
 public:
  // `executor` runs what must block after an asynchronous write (reading a replayed check-in).
  CheckinService(CheckinStore& store, PeopleDirectory& people, NoteCipher& cipher, AuditSink& audit,
                 const Pseudonymizer& pseudonyms, const Clock& clock, TaskQueue& executor)
      : store_(store),
        people_(people),
        cipher_(cipher),
        audit_(audit),
        pseudonyms_(pseudonyms),
        clock_(clock),
        executor_(executor) {}

  absl::StatusOr<std::vector<const Instrument*>> ListInstruments(const Caller& caller);
  // Answers through `done`: at once when the input is refused, else once the write is
  // acknowledged, from the Redis client's I/O thread (no thread waits for the write meanwhile).
  using CheckinDone = absl::AnyInvocable<void(absl::StatusOr<Checkin>) &&>;
  void SubmitCheckin(const Caller& caller, SubmitCheckinInput input, CheckinDone done);
  absl::StatusOr<std::pair<Incident, std::vector<SupportResource>>> ReportCriticalIncident(
      const Caller& caller, ReportIncidentInput input);
  absl::StatusOr<SupportRequest> RequestSupport(const Caller& caller, RequestSupportInput input);
  absl::StatusOr<std::pair<std::vector<Checkin>, std::string>> ListCheckins(
      const Caller& caller, const std::string& volunteer_id, CheckinQuery query);
  absl::StatusOr<Trend> GetTrend(const Caller& caller, const std::string& volunteer_id,
                                 const std::string& scale_id, std::optional<absl::Duration> window);
  absl::StatusOr<std::vector<DueCheckin>> ListDueCheckins(const Caller& caller,
                                                          const std::string& volunteer_id);
  absl::StatusOr<CheckinSettings> GetSettings(const Caller& caller);
  absl::StatusOr<CheckinSettings> UpdateSettings(const Caller& caller,
                                                 const CheckinSettings& settings);
  // Coordinators and keys with aggregates:read; over the volunteers who consented to
  // research_export, with aggregates.h's suppression; periods that have ended only (by default
  // the last 12).
  absl::StatusOr<std::vector<AggregateCell>> GetAggregates(const Caller& caller,
                                                           const AggregateQuery& query);
  // Keys with exports:read: the consenting volunteers' check-ins, by pseudonym then time.
  absl::StatusOr<ExportPage> ExportCheckins(const Caller& caller, const ExportQuery& query);
  // The directory (role service), gathering a person's data export: every record held about
  // them in the token's organisation, texts opened as the volunteer reads them. Someone with no
  // records gets empty lists, not NOT_FOUND.
  absl::StatusOr<PersonRecords> ExportPerson(const Caller& caller, const std::string& person_id);
  // The directory erased the person (`person.erased`, GDPR article 17): everything held about
  // them goes, their data key first, so that their texts are unreadable even if the rest fails.
  // Idempotent, and finishes an erasure that stopped half way; someone unknown here is OK.
  absl::Status ErasePerson(const std::string& organization_id, const std::string& person_id);

 private:
  // Resolves "" to the caller and checks that the caller may submit for that volunteer.
  absl::StatusOr<std::string> SubmitterFor(const Caller& caller, const std::string& volunteer_id);
  // For imports by the platform operator: the named volunteer of the token's organisation.
  absl::StatusOr<std::string> ImportTarget(const Caller& caller, const std::string& volunteer_id);
  // A check-in ready to store: validated, scored, its note sealed. Takes the input's answers.
  struct PreparedCheckin {
    SealedCheckin sealed;
    std::optional<SealedSupportRequest> support;
  };
  absl::StatusOr<PreparedCheckin> PrepareCheckin(const Caller& caller, SubmitCheckinInput& input);
  // Answers a submission once its write is done (on the Redis client's I/O thread).
  void AnswerStored(absl::StatusOr<Created> created, Checkin checkin, absl::Time deadline,
                    CheckinDone done);
  // What a replayed request returns: the check-in its first submission stored, note opened.
  absl::StatusOr<Checkin> StoredCheckin(const std::string& organization_id,
                                        const std::string& checkin_id);
  // Checks that the caller may read the volunteer's scores; audits reads by others.
  absl::StatusOr<std::string> ReaderFor(const Caller& caller, const std::string& volunteer_id,
                                        const char* rpc);

  CheckinStore& store_;
  PeopleDirectory& people_;
  NoteCipher& cipher_;
  AuditSink& audit_;
  const Pseudonymizer& pseudonyms_;
  const Clock& clock_;
  TaskQueue& executor_;
};

}  // namespace peerwell::checkin
