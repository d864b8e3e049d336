#pragma once

#include "services/common/organization_registry.h"
#include "services/common/person_records.h"
#include "services/common/redis_client.h"
#include "services/directory/directory_store.h"

namespace peerwell::directory {

// The directory's storage in Redis: the only code that knows the directory's key layout
// (docs/ARCHITECTURE.md lists it). Multi-key writes are Lua scripts or MULTI/EXEC and include the
// XADD of their event on the organisation's "pw:{<org>}:events:directory".
class RedisDirectoryStore final : public DirectoryStore {
 public:
  // The kinds of key the directory keeps that can hold data about a person, and where
  // ExportPersonData shows each (services/common/person_records.h).
  static const std::vector<PersonKeyFamily>& PersonKeyFamilies();

  explicit RedisDirectoryStore(RedisClient& redis);

  absl::StatusOr<Created> CreateOrganization(const Organization& organization,
                                             const CreateRequest& request) override;
  absl::StatusOr<std::optional<Organization>> GetOrganization(
      const std::string& organization_id) override;
  absl::StatusOr<Created> CreatePerson(const Person& person, const CreateRequest& request,
                                       bool only_if_no_coordinator) override;
  absl::StatusOr<std::optional<Person>> GetPerson(const std::string& organization_id,
                                                  const std::string& person_id) override;
  absl::StatusOr<Page<Person>> ListPeople(const std::string& organization_id,
                                          const PageRequest& page,
                                          const std::function<bool(const Person&)>& keep) override;
  absl::StatusOr<std::vector<std::string>> ListSuperviseeIds(
      const std::string& organization_id, const std::string& supervisor_id) override;
  absl::Status UpdatePerson(const Person& updated, const std::vector<PersonField>& fields) override;
  absl::Status SetSupervision(const std::string& organization_id, const std::string& volunteer_id,
                              const std::string& supervisor_id, bool assigned,
                              size_t max_supervisors, absl::Time now) override;
  absl::StatusOr<Consent> GetConsent(const std::string& organization_id,
                                     const std::string& volunteer_id) override;
  absl::Status SetConsent(const std::string& organization_id, const std::string& volunteer_id,
                          const Consent& consent) override;
  absl::StatusOr<CreatedApiKeyRecord> CreateApiKey(const ApiKey& api_key,
                                                   const CreateRequest& request,
                                                   const std::string& sealed_secret) override;
  absl::StatusOr<std::optional<ApiKey>> GetApiKey(const std::string& organization_id,
                                                  const std::string& api_key_id) override;
  absl::StatusOr<Page<ApiKey>> ListApiKeys(const std::string& organization_id,
                                           const PageRequest& page) override;
  absl::Status RevokeApiKey(const std::string& organization_id, const std::string& api_key_id,
                            absl::Time now) override;
  absl::StatusOr<Created> CreateErasure(const Erasure& erasure, const Person& person,
                                        const std::vector<std::string>& supervisee_ids,
                                        const CreateRequest& request,
                                        const AuditRecord& audit) override;
  absl::StatusOr<std::optional<Erasure>> GetErasure(const std::string& organization_id,
                                                    const std::string& erasure_id) override;
  absl::StatusOr<Erasure> CompleteErasurePart(const std::string& organization_id,
                                              const std::string& erasure_id,
                                              const std::string& service, absl::Time now) override;
  absl::StatusOr<std::vector<Erasure>> ClaimDueErasures(absl::Time now, absl::Time next,
                                                        int limit) override;
  absl::Status AnnounceErasure(const Erasure& erasure, absl::Time now) override;
  absl::StatusOr<bool> RewriteAppendOnlyFile(const Erasure& erasure) override;
  absl::Status EraseTraces(const std::string& organization_id, const std::string& person_id,
                           absl::string_view keep_rpc) override;
  absl::StatusOr<std::vector<Consent>> ListConsentHistory(const std::string& organization_id,
                                                          const std::string& volunteer_id) override;
  absl::StatusOr<Page<AuditRecord>> ListAuditRecords(const std::string& organization_id,
                                                     const AuditQuery& query,
                                                     const PageRequest& page) override;

 private:
  absl::StatusOr<std::vector<std::optional<Person>>> LoadPeople(
      const std::string& organization_id, const std::vector<std::string>& ids);

  RedisClient& redis_;
  ScheduleView erasures_due_;  // the organisations' erasures to announce
};

}  // namespace peerwell::directory
