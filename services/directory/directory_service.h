#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "services/common/api_key_secret.h"
#include "services/common/audit_record.h"
#include "services/common/caller.h"
#include "services/common/clock.h"
#include "services/directory/directory.h"
#include "services/directory/directory_store.h"

namespace peerwell::directory {

inline constexpr size_t kMaxSupervisorsPerVolunteer = 10;
inline constexpr size_t kMaxQualifications = 20;
inline constexpr size_t kMaxDisplayNameChars = 100;

// How much of a person a caller may see.
enum class PersonView { kHidden, kNameOnly, kFull };

// Who sees what (SPEC §2): a coordinator and the services see everyone of the organisation; a
// person sees all of themselves; a supervisor sees the volunteers assigned to them; everyone
// sees the display names of the organisation's other people (peers, supervisors, coordinators),
// except that a supervisor does not see volunteers who are not assigned to them.
PersonView ViewOf(const Caller& caller, const Person& person, bool supervises_person);

// Keeps what `view` allows: id, organisation, display name and role for kNameOnly.
Person Redact(const Person& person, PersonView view);

// Field rules shared by create and update; `prefix` is the request field ("person").
absl::Status ValidatePersonField(const Person& person, PersonField field, absl::string_view prefix);

// The other services' parts of a person's export (their ExportPersonRecords answers).
class PersonRecordSources {
 public:
  virtual ~PersonRecordSources() = default;
  // Every service that holds data about people; one that cannot answer fails the whole export,
  // since a partial export must never pass for a complete one.
  virtual absl::StatusOr<std::vector<ServiceRecords>> Collect(const std::string& organization_id,
                                                              const std::string& person_id) = 0;
};

// The directory's rules: tenancy (the organisation is the caller's), roles, visibility,
// validation, idempotency. No gRPC and no Redis here.
class DirectoryService {
 public:
  DirectoryService(DirectoryStore& store, const Clock& clock, AuditSink& audit,
                   const Secrets& secrets, PersonRecordSources& other_services)
      : store_(store),
        clock_(clock),
        audit_(audit),
        secrets_(secrets),
        other_services_(other_services) {}

  absl::StatusOr<Organization> CreateOrganization(const Caller& caller,
                                                  const std::string& display_name,
                                                  const std::string& request_id);
  absl::StatusOr<Person> CreatePerson(const Caller& caller, Person person,
                                      const std::string& request_id);
  absl::StatusOr<Person> GetPerson(const Caller& caller, const std::string& person_id);
  absl::StatusOr<Page<Person>> ListPeople(const Caller& caller, const PeopleFilter& filter,
                                          const PageRequest& page);
  absl::StatusOr<Person> UpdatePerson(const Caller& caller, const PersonUpdate& update);
  absl::StatusOr<Person> AssignSupervisor(const Caller& caller, const std::string& volunteer_id,
                                          const std::string& supervisor_id);
  absl::StatusOr<Person> UnassignSupervisor(const Caller& caller, const std::string& volunteer_id,
                                            const std::string& supervisor_id);

  absl::StatusOr<Consent> GetConsent(const Caller& caller, const std::string& volunteer_id);
  absl::StatusOr<Consent> SetConsent(const Caller& caller, const std::string& volunteer_id,
                                     const Consent& consent);

  // A retry with the same request_id answers the first key and its secret.
  absl::StatusOr<CreatedApiKey> CreateApiKey(const Caller& caller, const std::string& display_name,
                                             const std::vector<std::string>& scopes,
                                             const std::string& request_id);
  absl::StatusOr<Page<ApiKey>> ListApiKeys(const Caller& caller, const PageRequest& page);
  absl::StatusOr<ApiKey> RevokeApiKey(const Caller& caller, const std::string& api_key_id);
  // Everything every service holds about a person (empty id: the caller), for the person or a
  // coordinator of their organisation; a coordinator's export is audited.
  absl::StatusOr<PersonExport> ExportPersonData(const Caller& caller, const std::string& person_id);
  // Who read whose data: a member sees the reads of their own data, a coordinator the
  // organisation's.
  absl::StatusOr<Page<ListedAuditRecord>> ListAuditRecords(const Caller& caller,
                                                           const AuditQuery& query,
                                                           const PageRequest& page);

  // Erases a person (a coordinator, not themselves): their directory records at once, then every
  // service's part as each reads the `person.erased` event. A request_id seen before answers the
  // first erasure.
  absl::StatusOr<Erasure> ErasePerson(const Caller& caller, const std::string& person_id,
                                      const std::string& request_id);
  absl::StatusOr<Erasure> GetErasure(const Caller& caller, const std::string& erasure_id);
  // A service (the caller, role `service`, named by its token) has erased its part.
  absl::StatusOr<Erasure> ReportErasure(const Caller& caller, const std::string& erasure_id);
  // The directory's own part of an erasure, run by its consumer of `person.erased`: the audit
  // records about the person (but the erasure's), its events naming them, request keys naming
  // them; then recorded as done.
  absl::Status EraseOwnTraces(const std::string& organization_id, const std::string& person_id,
                              const std::string& erasure_id);
  // One pass of the erasure sweep (every replica runs it): unfinished erasures are announced
  // again, and once one is done Redis is asked to rewrite its append-only file.
  absl::Status SweepErasures();

  // Who holds a partner key: a live key's organisation and scopes, else UNAUTHENTICATED.
  absl::StatusOr<Caller> AuthenticateApiKey(absl::string_view secret);
  // Whether a member's token still names a member: MemberTokenStatus from the store.
  absl::Status CheckMember(const Caller& caller);

 private:
  absl::StatusOr<Person> LoadVisible(const Caller& caller, const std::string& person_id,
                                     absl::string_view field);
  absl::StatusOr<Person> ChangeSupervision(const Caller& caller, const std::string& volunteer_id,
                                           const std::string& supervisor_id, bool assigned);

  absl::StatusOr<std::vector<ListedAuditRecord>> NameReaders(const std::string& organization_id,
                                                             std::vector<AuditRecord> records);

  DirectoryStore& store_;
  const Clock& clock_;
  AuditSink& audit_;
  const Secrets& secrets_;
  PersonRecordSources& other_services_;
};

}  // namespace peerwell::directory
