#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "services/checkin/checkin.h"
#include "services/common/create_request.h"

namespace peerwell::checkin {

// Free text arrives here already sealed (NoteCipher): the store never sees plain notes.
struct SealedCheckin {
  Checkin checkin;  // checkin.note is empty
  std::string sealed_note;
};
struct SealedIncident {
  Incident incident;
  std::string sealed_description;
};
struct SealedSupportRequest {
  SupportRequest request;
  std::string sealed_note;
};

struct CheckinQuery {
  std::string instrument_id;  // empty: any
  absl::Time start_time = absl::InfinitePast();
  absl::Time end_time = absl::InfiniteFuture();
  int page_size = 50;
  std::string position;  // opaque, from a previous page
};

struct CheckinPage {
  std::vector<SealedCheckin> checkins;  // newest first
  std::string next_position;
};

// A page of one volunteer's incidents or support requests, newest first; next_position as in
// CheckinPage.
struct IncidentPage {
  std::vector<SealedIncident> incidents;
  std::string next_position;
};
struct SupportRequestPage {
  std::vector<SealedSupportRequest> requests;
  std::string next_position;
};

// Which of one volunteer's check-ins to list: skip `offset`, then at most `limit`.
struct CheckinIdRange {
  std::string volunteer_id;
  int offset = 0;
  int limit = 0;
};

// Storage of check-ins. Each create is one atomic write that also publishes its events
// (checkin.submitted, incident.reported, support.requested) and is idempotent by request.
struct CheckinTimes {
  std::map<std::string, absl::Time> last_by_instrument;  // the instruments that have a check-in
  std::vector<absl::Time> who5_since;                    // WHO-5 check-ins since `since`
  std::vector<absl::Time> incidents_since;               // incident reports since `since`
};

class CheckinStore {
 public:
  virtual ~CheckinStore() = default;

  // `support` is set when a pulse asked to talk: stored and announced in the same write.
  // The check-in path's write is asynchronous: no thread waits for it (docs/PERFORMANCE.md), and
  // `done` runs on the Redis client's I/O thread (or at once, on the caller's, when the client is
  // stopping), so it must not block.
  using CreatedDone = absl::AnyInvocable<void(absl::StatusOr<Created>) &&>;
  virtual void CreateCheckin(const SealedCheckin& checkin,
                             const std::optional<SealedSupportRequest>& support,
                             const CreateRequest& request, CreatedDone done) = 0;
  virtual absl::StatusOr<Created> CreateIncident(const SealedIncident& incident,
                                                 const CreateRequest& request) = 0;
  virtual absl::StatusOr<Created> CreateSupportRequest(const SealedSupportRequest& support,
                                                       const CreateRequest& request) = 0;

  virtual absl::StatusOr<std::optional<SealedCheckin>> GetCheckin(
      const std::string& organization_id, const std::string& checkin_id) = 0;
  virtual absl::StatusOr<std::optional<SealedIncident>> GetIncident(
      const std::string& organization_id, const std::string& incident_id) = 0;
  virtual absl::StatusOr<std::optional<SealedSupportRequest>> GetSupportRequest(
      const std::string& organization_id, const std::string& support_request_id) = 0;
  virtual absl::StatusOr<CheckinPage> ListCheckins(const std::string& organization_id,
                                                   const std::string& volunteer_id,
                                                   const CheckinQuery& query) = 0;
  // `position` is empty for the first page, else the previous page's next_position.
  virtual absl::StatusOr<IncidentPage> ListIncidents(const std::string& organization_id,
                                                     const std::string& volunteer_id, int page_size,
                                                     const std::string& position) = 0;
  virtual absl::StatusOr<SupportRequestPage> ListSupportRequests(const std::string& organization_id,
                                                                 const std::string& volunteer_id,
                                                                 int page_size,
                                                                 const std::string& position) = 0;
  // What due check-ins are computed from, read from the indexes alone in one round trip.
  virtual absl::StatusOr<CheckinTimes> GetCheckinTimes(const std::string& organization_id,
                                                       const std::string& volunteer_id,
                                                       const std::vector<std::string>& instruments,
                                                       absl::Time since) = 0;

  // For each range, the ids of that volunteer's check-ins of `instrument_id` (empty: any) made in
  // [start, end), oldest first; one round trip for all of them, no record loaded.
  virtual absl::StatusOr<std::vector<std::vector<std::string>>> ListCheckinIds(
      const std::string& organization_id, const std::vector<CheckinIdRange>& ranges,
      const std::string& instrument_id, absl::Time start, absl::Time end) = 0;
  // The check-ins of `ids` that exist, in that order, in one round trip; notes are not read.
  virtual absl::StatusOr<std::vector<Checkin>> GetCheckins(const std::string& organization_id,
                                                           const std::vector<std::string>& ids) = 0;

  virtual absl::StatusOr<CheckinSettings> GetSettings(const std::string& organization_id) = 0;
  virtual absl::Status SetSettings(const std::string& organization_id,
                                   const CheckinSettings& settings) = 0;

  // Erasing a volunteer, step by step; each step is idempotent and leaves what it has not reached
  // findable by a later run, so an erasure that crashed half way is finished by running it again.
  // The volunteer's wrapped data key: without it none of their sealed texts opens.
  virtual absl::Status DeleteDataKey(const std::string& organization_id,
                                     const std::string& volunteer_id) = 0;
  // Their check-ins, incidents and support requests with every index entry naming them.
  virtual absl::Status DeleteVolunteerRecords(const std::string& organization_id,
                                              const std::string& volunteer_id) = 0;
  // The request (idempotency) keys of the organisation that name the person.
  virtual absl::Status DeletePersonRequests(const std::string& organization_id,
                                            const std::string& person_id) = 0;
  // The entries of the organisation's event stream and of its dead letters that name the person.
  virtual absl::Status DeletePersonEvents(const std::string& organization_id,
                                          const std::string& person_id) = 0;
};

}  // namespace peerwell::checkin
