#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
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
