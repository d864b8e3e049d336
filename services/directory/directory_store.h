#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/common/create_request.h"
#include "services/directory/directory.h"

namespace peerwell::directory {

// What CreateApiKey stored or, for a request_id seen before, what the first call stored.
struct CreatedApiKeyRecord {
  std::string api_key_id;
  std::string sealed_secret;  // Secrets::SealForRetry's; empty without a request_id
  bool replayed = false;
};

// Storage of the directory, in domain types. Each write is atomic and publishes the event that
// announces it in the same atomic step: person.created, person.updated, consent.changed.
class DirectoryStore {
 public:
  virtual ~DirectoryStore() = default;

  virtual absl::StatusOr<Created> CreateOrganization(const Organization& organization,
                                                     const CreateRequest& request) = 0;
  virtual absl::StatusOr<std::optional<Organization>> GetOrganization(
      const std::string& organization_id) = 0;

  // Fails with NOT_FOUND when the organisation does not exist, INVALID_ARGUMENT when a
  // supervisor id is not a supervisor of it, and PERMISSION_DENIED when
  // `only_if_no_coordinator` is set and the organisation already has a coordinator.
  virtual absl::StatusOr<Created> CreatePerson(const Person& person, const CreateRequest& request,
                                               bool only_if_no_coordinator) = 0;
  virtual absl::StatusOr<std::optional<Person>> GetPerson(const std::string& organization_id,
                                                          const std::string& person_id) = 0;
  // People in creation order from `page.position`, keeping those `keep` accepts.
  virtual absl::StatusOr<Page<Person>> ListPeople(
      const std::string& organization_id, const PageRequest& page,
      const std::function<bool(const Person&)>& keep) = 0;
  virtual absl::StatusOr<std::vector<std::string>> ListSuperviseeIds(
      const std::string& organization_id, const std::string& supervisor_id) = 0;
  // Replaces the fields of `updated` named in `fields` if the stored version is still
  // `updated.version` (else ABORTED).
  virtual absl::Status UpdatePerson(const Person& updated,
                                    const std::vector<PersonField>& fields) = 0;
  // Adds or removes the assignment. NOT_FOUND for a missing person, FAILED_PRECONDITION for a
  // wrong role or too many supervisors. OK without change when nothing was to do.
  virtual absl::Status SetSupervision(const std::string& organization_id,
                                      const std::string& volunteer_id,
                                      const std::string& supervisor_id, bool assigned,
                                      size_t max_supervisors, absl::Time now) = 0;

  virtual absl::StatusOr<Consent> GetConsent(const std::string& organization_id,
                                             const std::string& volunteer_id) = 0;
  virtual absl::Status SetConsent(const std::string& organization_id,
                                  const std::string& volunteer_id, const Consent& consent) = 0;

  // Remembers `sealed_secret` with the request for the retry window (kRequestIdRetention).
  virtual absl::StatusOr<CreatedApiKeyRecord> CreateApiKey(const ApiKey& api_key,
                                                           const CreateRequest& request,
                                                           const std::string& sealed_secret) = 0;
  virtual absl::StatusOr<std::optional<ApiKey>> GetApiKey(const std::string& organization_id,
                                                          const std::string& api_key_id) = 0;
  virtual absl::StatusOr<Page<ApiKey>> ListApiKeys(const std::string& organization_id,
                                                   const PageRequest& page) = 0;
  // Sets revoke_time unless it is already set.
  virtual absl::Status RevokeApiKey(const std::string& organization_id,
                                    const std::string& api_key_id, absl::Time now) = 0;

  // Erases the person's directory records and starts `erasure` in one step: its record, its
  // entry in the announcement schedule, the `person.erased` event and `audit`, the audit record
  // of the erasure. `supervisee_ids` are a supervisor's volunteers, to take them out of. ABORTED
  // when the person changed since `person` was read; a request_id seen before answers the first
  // erasure's id and erases nothing.
  virtual absl::StatusOr<Created> CreateErasure(const Erasure& erasure, const Person& person,
                                                const std::vector<std::string>& supervisee_ids,
                                                const CreateRequest& request,
                                                const AuditRecord& audit) = 0;
  virtual absl::StatusOr<std::optional<Erasure>> GetErasure(const std::string& organization_id,
                                                            const std::string& erasure_id) = 0;
  // Records that `service` has erased its part; the erasure is done when every service has.
  // NOT_FOUND for an unknown erasure. Answers the erasure as it now stands.
  virtual absl::StatusOr<Erasure> CompleteErasurePart(const std::string& organization_id,
                                                      const std::string& erasure_id,
                                                      const std::string& service,
                                                      absl::Time now) = 0;
  // Erasures whose next announcement is due by `now` (at most `limit`, of every organisation),
  // each moved to `next` in the same step so that replicas sweeping together take each once.
  virtual absl::StatusOr<std::vector<Erasure>> ClaimDueErasures(absl::Time now, absl::Time next,
                                                                int limit) = 0;
  // Publishes `person.erased` again for the services that have not reported.
  virtual absl::Status AnnounceErasure(const Erasure& erasure, absl::Time now) = 0;
  // A done erasure leaves the announcement schedule once Redis has accepted to rewrite its
  // append-only file (whose older copy holds the person's data keys); false when a rewrite
  // already running (which may predate the erasure) made Redis refuse, to be asked again.
  virtual absl::StatusOr<bool> RewriteAppendOnlyFile(const Erasure& erasure) = 0;
  // The directory's own traces of a person besides their records: audit records about them
  // except those of `keep_rpc` (the erasure's), its events naming them except `person.erased`,
  // and request keys whose value is their id.
  virtual absl::Status EraseTraces(const std::string& organization_id, const std::string& person_id,
                                   absl::string_view keep_rpc) = 0;

  // Every consent the volunteer set (SetConsent's values and times), oldest first.
  virtual absl::StatusOr<std::vector<Consent>> ListConsentHistory(
      const std::string& organization_id, const std::string& volunteer_id) = 0;

  // The organisation's audit records matching `query`, newest first, from `page.position` (empty:
  // the newest). A page looks at no more than a bounded number of records, so it may come back
  // short (or empty) with a next position when few records match.
  virtual absl::StatusOr<Page<AuditRecord>> ListAuditRecords(const std::string& organization_id,
                                                             const AuditQuery& query,
                                                             const PageRequest& page) = 0;
};

}  // namespace peerwell::directory
