#include "services/directory/directory_service.h"

#include <algorithm>
#include <map>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "services/common/ids.h"
#include "services/common/validation.h"

namespace peerwell::directory {
namespace {

constexpr int kUpdateAttempts = 5;
constexpr absl::string_view kGetConsentRpc = "peerwell.directory.v1.DirectoryService/GetConsent";
constexpr absl::string_view kExportPersonDataRpc =
    "peerwell.directory.v1.DirectoryService/ExportPersonData";
constexpr absl::string_view kErasePersonRpc = "peerwell.directory.v1.DirectoryService/ErasePerson";

bool IsStaff(Role role) { return role == Role::kSupervisor || role == Role::kCoordinator; }

absl::Status NotFound(absl::string_view field) {
  return absl::NotFoundError(absl::StrCat(field, ": no such person"));
}

absl::Status CheckPersonId(absl::string_view field, const std::string& id) {
  if (id.empty()) return InvalidField(field, "is required");
  if (!IsWellFormedId(id, "p")) return InvalidField(field, "is not a person id");
  return absl::OkStatus();
}

absl::Status RequireCoordinator(const Caller& caller, absl::string_view what) {
  if (caller.role != CallerRole::kCoordinator) {
    return absl::PermissionDeniedError(absl::StrCat("only a coordinator may ", what));
  }
  return absl::OkStatus();
}

// The fields a person may change about themselves.
bool SelfEditable(Role role, PersonField field) {
  switch (field) {
    case PersonField::kDisplayName:
    case PersonField::kTimezone:
    case PersonField::kQuietHours:
    case PersonField::kStatus:
      return true;
    case PersonField::kLivedExperience:
      return role == Role::kSupervisor;
    default:
      return false;
  }
}

bool Supervises(const Caller& caller, const Person& person) {
  if (caller.role != CallerRole::kSupervisor || person.role != Role::kVolunteer) return false;
  return std::find(person.supervisor_ids.begin(), person.supervisor_ids.end(), caller.person_id) !=
         person.supervisor_ids.end();
}
}  // namespace

const std::vector<std::string>& ErasingServices() {
  static const auto* services = new std::vector<std::string>{"directory",   "checkin", "alerts",
                                                             "supervision", "network", "webhooks"};
  return *services;
}

absl::string_view PersonFieldName(PersonField field) {
  switch (field) {
    case PersonField::kDisplayName:
      return "display_name";
    case PersonField::kRole:
      return "role";
    case PersonField::kStatus:
      return "status";
    case PersonField::kTimezone:
      return "timezone";
    case PersonField::kQuietHours:
      return "quiet_hours";
    case PersonField::kCommitmentHoursPerMonth:
      return "commitment_hours_per_month";
    case PersonField::kQualifications:
      return "qualifications";
    case PersonField::kLivedExperience:
      return "lived_experience";
  }
  return "unknown";
}

const std::vector<std::string>& KnownApiKeyScopes() {
  static const auto* scopes =
      new std::vector<std::string>{"aggregates:read", "exports:read", "webhooks:manage"};
  return *scopes;
}

PersonView ViewOf(const Caller& caller, const Person& person, bool supervises_person) {
  if (caller.organization_id != person.organization_id) return PersonView::kHidden;
  switch (caller.role) {
    case CallerRole::kCoordinator:
    case CallerRole::kService:
      return PersonView::kFull;
    case CallerRole::kVolunteer:
      return caller.person_id == person.id ? PersonView::kFull : PersonView::kNameOnly;
    case CallerRole::kSupervisor:
      if (caller.person_id == person.id || supervises_person) return PersonView::kFull;
      return IsStaff(person.role) ? PersonView::kNameOnly : PersonView::kHidden;
    case CallerRole::kAdmin:
    case CallerRole::kPartner:
      return PersonView::kHidden;
  }
  return PersonView::kHidden;
}

Person Redact(const Person& person, PersonView view) {
  if (view == PersonView::kFull) return person;
  Person redacted;
  redacted.id = person.id;
  redacted.organization_id = person.organization_id;
  redacted.display_name = person.display_name;
  redacted.role = person.role;
  return redacted;
}

absl::Status ValidatePersonField(const Person& person, PersonField field,
                                 absl::string_view prefix) {
  std::string name = absl::StrCat(prefix, ".", PersonFieldName(field));
  switch (field) {
    case PersonField::kDisplayName:
      return ValidateText(name, person.display_name, 1, kMaxDisplayNameChars);
    case PersonField::kRole:
      if (person.role == Role::kUnspecified) {
        return InvalidField(name, "must be ROLE_VOLUNTEER, ROLE_SUPERVISOR or ROLE_COORDINATOR");
      }
      return absl::OkStatus();
    case PersonField::kStatus:
      if (person.status == PersonStatus::kUnspecified) {
        return InvalidField(name, "must be PERSON_STATUS_ACTIVE, _ON_BREAK or _INACTIVE");
      }
      return absl::OkStatus();
    case PersonField::kTimezone:
      if (!IsIanaTimeZone(person.timezone)) {
        return InvalidField(name, "must be an IANA time zone name such as Europe/London");
      }
      return absl::OkStatus();
    case PersonField::kQuietHours:
      if (!person.quiet_hours.has_value()) return absl::OkStatus();
      if (!ParseLocalTimeOfDay(person.quiet_hours->start).has_value()) {
        return InvalidField(absl::StrCat(name, ".start"), "must be a local time \"HH:MM\"");
      }
      if (!ParseLocalTimeOfDay(person.quiet_hours->end).has_value()) {
        return InvalidField(absl::StrCat(name, ".end"), "must be a local time \"HH:MM\"");
      }
      if (person.quiet_hours->start == person.quiet_hours->end) {
        return InvalidField(name, "start and end must differ");
      }
      return absl::OkStatus();
    case PersonField::kCommitmentHoursPerMonth:
      if (person.commitment_hours_per_month < 0 || person.commitment_hours_per_month > 744) {
        return InvalidField(name, "must be between 0 and 744 hours");
      }
      return absl::OkStatus();
    case PersonField::kQualifications: {
      if (person.qualifications.size() > kMaxQualifications) {
        return InvalidField(name,
                            absl::StrCat("must have at most ", kMaxQualifications, " entries"));
      }
      for (size_t i = 0; i < person.qualifications.size(); ++i) {
        if (auto status = ValidateText(absl::StrCat(name, "[", i, "].kind"),
                                       person.qualifications[i].kind, 1, 64);
            !status.ok()) {
          return status;
        }
      }
      return absl::OkStatus();
    }
    case PersonField::kLivedExperience:
      if (person.lived_experience && person.role == Role::kVolunteer) {
        return InvalidField(name, "is recorded for supervisors and coordinators");
      }
      return absl::OkStatus();
  }
  return absl::OkStatus();
}

absl::StatusOr<Organization> DirectoryService::CreateOrganization(const Caller& caller,
                                                                  const std::string& display_name,
                                                                  const std::string& request_id) {
  if (caller.role != CallerRole::kAdmin) {
    return absl::PermissionDeniedError("only the platform operator may create organisations");
  }
  if (auto status = ValidateText("display_name", display_name, 1, kMaxDisplayNameChars);
      !status.ok()) {
    return status;
  }
  if (!request_id.empty()) {
    if (auto status = ValidateToken("request_id", request_id); !status.ok()) return status;
  }
  Organization organization{NewId("o"), display_name, clock_.Now()};
  auto created = store_.CreateOrganization(organization, {caller.person_id, request_id});
  if (!created.ok()) return created.status();
  auto stored = store_.GetOrganization(created->id);
  if (!stored.ok()) return stored.status();
  if (!stored->has_value()) return absl::InternalError("organisation vanished after create");
  return **stored;
}

absl::StatusOr<Person> DirectoryService::CreatePerson(const Caller& caller, Person person,
                                                      const std::string& request_id) {
  bool first_coordinator = false;
  if (caller.role == CallerRole::kAdmin) {
    if (caller.organization_id.empty()) {
      return absl::PermissionDeniedError(
          "an admin token needs the organisation as its org claim to create its first "
          "coordinator");
    }
    if (person.role != Role::kCoordinator) {
      return absl::PermissionDeniedError(
          "the platform operator creates only an organisation's first coordinator");
    }
    first_coordinator = true;
  } else if (auto status = RequireCoordinator(caller, "create people"); !status.ok()) {
    return status;
  }
  if (person.status == PersonStatus::kUnspecified) person.status = PersonStatus::kActive;
  if (person.timezone.empty()) person.timezone = "UTC";
  for (PersonField field :
       {PersonField::kDisplayName, PersonField::kRole, PersonField::kStatus, PersonField::kTimezone,
        PersonField::kQuietHours, PersonField::kCommitmentHoursPerMonth,
        PersonField::kQualifications, PersonField::kLivedExperience}) {
    if (auto status = ValidatePersonField(person, field, "person"); !status.ok()) return status;
  }
  if (!request_id.empty()) {
    if (auto status = ValidateToken("request_id", request_id); !status.ok()) return status;
  }
  if (!person.supervisor_ids.empty()) {
    if (person.role != Role::kVolunteer) {
      return InvalidField("person.supervisor_ids", "only volunteers have supervisors");
    }
    if (person.supervisor_ids.size() > kMaxSupervisorsPerVolunteer) {
      return InvalidField("person.supervisor_ids",
                          absl::StrCat("at most ", kMaxSupervisorsPerVolunteer, " supervisors"));
    }
    std::set<std::string> unique;
    for (size_t i = 0; i < person.supervisor_ids.size(); ++i) {
      std::string field = absl::StrCat("person.supervisor_ids[", i, "]");
      if (auto status = CheckPersonId(field, person.supervisor_ids[i]); !status.ok()) {
        return status;
      }
      if (!unique.insert(person.supervisor_ids[i]).second) {
        return InvalidField(field, "is listed twice");
      }
    }
  }
  absl::Time now = clock_.Now();
  person.id = NewId("p");
  person.organization_id = caller.organization_id;
  person.create_time = now;
  person.update_time = now;
  person.version = 1;
  auto created = store_.CreatePerson(person, {caller.person_id, request_id}, first_coordinator);
  if (!created.ok()) return created.status();
  auto stored = store_.GetPerson(caller.organization_id, created->id);
  if (!stored.ok()) return stored.status();
  if (!stored->has_value()) return absl::InternalError("person vanished after create");
  return **stored;
}

absl::StatusOr<Person> DirectoryService::LoadVisible(const Caller& caller,
                                                     const std::string& person_id,
                                                     absl::string_view field) {
  if (!caller.IsMember() && caller.role != CallerRole::kService) {
    return absl::PermissionDeniedError("this credential cannot read people");
  }
  if (auto status = CheckPersonId(field, person_id); !status.ok()) return status;
  auto person = store_.GetPerson(caller.organization_id, person_id);
  if (!person.ok()) return person.status();
  if (!person->has_value()) return NotFound(field);
  PersonView view = ViewOf(caller, **person, Supervises(caller, **person));
  // Hidden answers exactly like missing, so that existence does not leak.
  if (view == PersonView::kHidden) return NotFound(field);
  return Redact(**person, view);
}

absl::StatusOr<Person> DirectoryService::GetPerson(const Caller& caller,
                                                   const std::string& person_id) {
  return LoadVisible(caller, person_id, "person_id");
}

absl::StatusOr<Page<Person>> DirectoryService::ListPeople(const Caller& caller,
                                                          const PeopleFilter& filter,
                                                          const PageRequest& page) {
  if (!caller.IsMember() && caller.role != CallerRole::kService) {
    return absl::PermissionDeniedError("this credential cannot list people");
  }
  auto keep = [&](const Person& person) {
    PersonView view = ViewOf(caller, person, Supervises(caller, person));
    if (view == PersonView::kHidden) return false;
    if (filter.role != Role::kUnspecified && person.role != filter.role) return false;
    if (filter.status != PersonStatus::kUnspecified) {
      // Filtering on a field the caller cannot see would reveal it (who is on break), so a
      // status filter matches only people the caller sees in full.
      if (view != PersonView::kFull || person.status != filter.status) return false;
    }
    return true;
  };
  auto listed = store_.ListPeople(caller.organization_id, page, keep);
  if (!listed.ok()) return listed.status();
  for (Person& person : listed->items) {
    person = Redact(person, ViewOf(caller, person, Supervises(caller, person)));
  }
  return listed;
}

absl::StatusOr<Person> DirectoryService::UpdatePerson(const Caller& caller,
                                                      const PersonUpdate& update) {
  if (!caller.IsMember())
    return absl::PermissionDeniedError("this credential cannot update people");
  if (update.fields.empty()) {
    return InvalidField("update_mask", "must name at least one field to update");
  }
  for (int attempt = 0; attempt < kUpdateAttempts; ++attempt) {
    auto current = LoadVisible(caller, update.values.id, "person.person_id");
    if (!current.ok()) return current.status();
    bool self = caller.person_id == current->id;
    if (caller.role != CallerRole::kCoordinator && !self) {
      return absl::PermissionDeniedError("only a coordinator may update other people");
    }
    Person next = *current;
    for (PersonField field : update.fields) {
      if (caller.role != CallerRole::kCoordinator && !SelfEditable(current->role, field)) {
        return absl::PermissionDeniedError(
            absl::StrCat("update_mask: you may not change your own ", PersonFieldName(field)));
      }
      switch (field) {
        case PersonField::kDisplayName:
          next.display_name = update.values.display_name;
          break;
        case PersonField::kRole:
          next.role = update.values.role;
          break;
        case PersonField::kStatus:
          next.status = update.values.status;
          break;
        case PersonField::kTimezone:
          next.timezone = update.values.timezone;
          break;
        case PersonField::kQuietHours:
          next.quiet_hours = update.values.quiet_hours;
          break;
        case PersonField::kCommitmentHoursPerMonth:
          next.commitment_hours_per_month = update.values.commitment_hours_per_month;
          break;
        case PersonField::kQualifications:
          next.qualifications = update.values.qualifications;
          break;
        case PersonField::kLivedExperience:
          next.lived_experience = update.values.lived_experience;
          break;
      }
    }
    for (PersonField field : update.fields) {
      if (auto status = ValidatePersonField(next, field, "person"); !status.ok()) return status;
    }
    if (next.role != current->role) {
      if (self) return absl::PermissionDeniedError("person.role: you may not change your own role");
      if (!current->supervisor_ids.empty()) {
        return absl::FailedPreconditionError(
            "person.role: unassign the volunteer's supervisors before changing their role");
      }
      if (current->role == Role::kSupervisor) {
        auto supervisees = store_.ListSuperviseeIds(caller.organization_id, current->id);
        if (!supervisees.ok()) return supervisees.status();
        if (!supervisees->empty()) {
          return absl::FailedPreconditionError(
              "person.role: unassign the supervisor's volunteers before changing their role");
        }
      }
      if (next.role == Role::kVolunteer && next.lived_experience) next.lived_experience = false;
    }
    if (caller.role != CallerRole::kCoordinator && next.status != current->status) {
      // Volunteers and supervisors take and end breaks themselves; only a coordinator
      // deactivates or reactivates someone.
      bool break_change =
          (current->status == PersonStatus::kActive || current->status == PersonStatus::kOnBreak) &&
          (next.status == PersonStatus::kActive || next.status == PersonStatus::kOnBreak);
      if (!break_change) {
        return absl::PermissionDeniedError(
            "person.status: you may only switch between active and on break");
      }
    }
    next.update_time = clock_.Now();
    std::vector<PersonField> fields = update.fields;
    absl::Status written = store_.UpdatePerson(next, fields);
    if (written.code() == absl::StatusCode::kAborted) continue;  // changed under us: re-read
    if (!written.ok()) return written;
    return LoadVisible(caller, update.values.id, "person.person_id");
  }
  return absl::AbortedError("the person changed concurrently; retry the update");
}

absl::StatusOr<Person> DirectoryService::ChangeSupervision(const Caller& caller,
                                                           const std::string& volunteer_id,
                                                           const std::string& supervisor_id,
                                                           bool assigned) {
  if (auto status = RequireCoordinator(caller, "assign supervisors"); !status.ok()) return status;
  if (auto status = CheckPersonId("volunteer_id", volunteer_id); !status.ok()) return status;
  if (auto status = CheckPersonId("supervisor_id", supervisor_id); !status.ok()) return status;
  absl::Status changed = store_.SetSupervision(caller.organization_id, volunteer_id, supervisor_id,
                                               assigned, kMaxSupervisorsPerVolunteer, clock_.Now());
  if (!changed.ok()) return changed;
  return LoadVisible(caller, volunteer_id, "volunteer_id");
}

absl::StatusOr<Person> DirectoryService::AssignSupervisor(const Caller& caller,
                                                          const std::string& volunteer_id,
                                                          const std::string& supervisor_id) {
  return ChangeSupervision(caller, volunteer_id, supervisor_id, true);
}

absl::StatusOr<Person> DirectoryService::UnassignSupervisor(const Caller& caller,
                                                            const std::string& volunteer_id,
                                                            const std::string& supervisor_id) {
  return ChangeSupervision(caller, volunteer_id, supervisor_id, false);
}

absl::StatusOr<Consent> DirectoryService::GetConsent(const Caller& caller,
                                                     const std::string& volunteer_id) {
  std::string subject = volunteer_id.empty() ? caller.person_id : volunteer_id;
  if (caller.role == CallerRole::kVolunteer && subject != caller.person_id) {
    return absl::PermissionDeniedError("volunteers see only their own consent");
  }
  auto person = LoadVisible(caller, subject, "volunteer_id");
  if (!person.ok()) return person.status();
  if (person->role != Role::kVolunteer) {
    return absl::FailedPreconditionError("volunteer_id: consent is held by volunteers");
  }
  auto consent = store_.GetConsent(caller.organization_id, subject);
  if (caller.person_id != subject && caller.role != CallerRole::kService) {
    AuditRecord record{caller.person_id,
                       caller.role,
                       caller.organization_id,
                       subject,
                       std::string(kGetConsentRpc),
                       absl::StatusCodeToString(consent.status().code()),
                       clock_.Now()};
    if (auto audited = audit_.Append(record); !audited.ok()) return audited;
  }
  return consent;
}

absl::StatusOr<Consent> DirectoryService::SetConsent(const Caller& caller,
                                                     const std::string& volunteer_id,
                                                     const Consent& consent) {
  if (caller.role != CallerRole::kVolunteer ||
      (!volunteer_id.empty() && volunteer_id != caller.person_id)) {
    return absl::PermissionDeniedError("consent is set by the volunteer alone");
  }
  auto person = LoadVisible(caller, caller.person_id, "volunteer_id");
  if (!person.ok()) return person.status();
  if (person->role != Role::kVolunteer) {
    return absl::FailedPreconditionError("volunteer_id: consent is held by volunteers");
  }
  Consent stored = consent;
  stored.update_time = clock_.Now();
  if (auto status = store_.SetConsent(caller.organization_id, caller.person_id, stored);
      !status.ok()) {
    return status;
  }
  return stored;
}

absl::StatusOr<CreatedApiKey> DirectoryService::CreateApiKey(const Caller& caller,
                                                             const std::string& display_name,
                                                             const std::vector<std::string>& scopes,
                                                             const std::string& request_id) {
  if (auto status = RequireCoordinator(caller, "create API keys"); !status.ok()) return status;
  if (auto status = ValidateText("display_name", display_name, 1, kMaxDisplayNameChars);
      !status.ok()) {
    return status;
  }
  if (scopes.empty()) return InvalidField("scopes", "name at least one scope");
  const auto& known = KnownApiKeyScopes();
  std::set<std::string> unique;
  for (size_t i = 0; i < scopes.size(); ++i) {
    std::string field = absl::StrCat("scopes[", i, "]");
    if (std::find(known.begin(), known.end(), scopes[i]) == known.end()) {
      return InvalidField(field,
                          "is not a known scope (aggregates:read, exports:read, "
                          "webhooks:manage)");
    }
    if (!unique.insert(scopes[i]).second) return InvalidField(field, "is listed twice");
  }
  if (!request_id.empty()) {
    if (auto status = ValidateToken("request_id", request_id); !status.ok()) return status;
  }
  ApiKey key;
  key.id = NewId("k");
  key.organization_id = caller.organization_id;
  key.display_name = display_name;
  key.scopes = scopes;
  key.create_time = clock_.Now();
  auto secret = secrets_.NewSecret(key.organization_id, key.id);
  if (!secret.ok()) return secret.status();
  key.secret_hash = secrets_.Hash(*secret);
  // What a sealed secret opens for: this caller's request, nothing else.
  const std::string sealed_for =
      absl::StrCat(caller.organization_id, "/", caller.person_id, "/", request_id);
  std::string sealed;
  if (!request_id.empty()) {
    auto sealed_secret = secrets_.SealForRetry(*secret, sealed_for);
    if (!sealed_secret.ok()) return sealed_secret.status();
    sealed = *std::move(sealed_secret);
  }
  auto created = store_.CreateApiKey(key, {caller.person_id, request_id}, sealed);
  if (!created.ok()) return created.status();
  if (!created->replayed) return CreatedApiKey{key, *secret};
  // A retry: the first call's key, and its secret opened from what the store kept.
  auto first = store_.GetApiKey(caller.organization_id, created->api_key_id);
  if (!first.ok()) return first.status();
  if (!first->has_value()) return absl::InternalError("a retried API key is missing");
  auto first_secret = secrets_.OpenForRetry(created->sealed_secret, sealed_for);
  if (!first_secret.ok()) return first_secret.status();
  return CreatedApiKey{**first, *first_secret};
}

absl::StatusOr<Page<ApiKey>> DirectoryService::ListApiKeys(const Caller& caller,
                                                           const PageRequest& page) {
  if (auto status = RequireCoordinator(caller, "list API keys"); !status.ok()) return status;
  return store_.ListApiKeys(caller.organization_id, page);
}

absl::StatusOr<ApiKey> DirectoryService::RevokeApiKey(const Caller& caller,
                                                      const std::string& api_key_id) {
  if (auto status = RequireCoordinator(caller, "revoke API keys"); !status.ok()) return status;
  if (api_key_id.empty()) return InvalidField("api_key_id", "is required");
  if (!IsWellFormedId(api_key_id, "k")) return InvalidField("api_key_id", "is not an API key id");
  if (auto status = store_.RevokeApiKey(caller.organization_id, api_key_id, clock_.Now());
      !status.ok()) {
    return status;
  }
  auto key = store_.GetApiKey(caller.organization_id, api_key_id);
  if (!key.ok()) return key.status();
  if (!key->has_value()) return absl::NotFoundError("api_key_id: no such API key");
  return **key;
}

absl::StatusOr<PersonExport> DirectoryService::ExportPersonData(const Caller& caller,
                                                                const std::string& person_id) {
  std::string subject = person_id.empty() ? caller.person_id : person_id;
  if (!caller.IsMember() ||
      (subject != caller.person_id && caller.role != CallerRole::kCoordinator)) {
    return absl::PermissionDeniedError(
        "a person's data is exported for the person themselves or a coordinator");
  }
  if (auto status = CheckPersonId("person_id", subject); !status.ok()) return status;
  auto export_data = [&]() -> absl::StatusOr<PersonExport> {
    auto person = store_.GetPerson(caller.organization_id, subject);
    if (!person.ok()) return person.status();
    if (!person->has_value()) return NotFound("person_id");
    PersonExport result;
    result.person = **std::move(person);
    result.export_time = clock_.Now();
    if (result.person.role == Role::kVolunteer) {
      auto consent = store_.GetConsent(caller.organization_id, subject);
      if (!consent.ok()) return consent.status();
      result.consent = *consent;
      auto history = store_.ListConsentHistory(caller.organization_id, subject);
      if (!history.ok()) return history.status();
      result.consent_history = *std::move(history);
    }
    AuditQuery about_subject;
    about_subject.subject_id = subject;
    std::vector<AuditRecord> reads;
    PageRequest page{1000, ""};
    do {
      auto listed = store_.ListAuditRecords(caller.organization_id, about_subject, page);
      if (!listed.ok()) return listed.status();
      for (AuditRecord& record : listed->items) reads.push_back(std::move(record));
      page.position = listed->next_position;
    } while (!page.position.empty());
    auto named = NameReaders(caller.organization_id, std::move(reads));
    if (!named.ok()) return named.status();
    result.audit_records = *std::move(named);
    auto services = other_services_.Collect(caller.organization_id, subject);
    if (!services.ok()) return services.status();
    result.services = *std::move(services);
    return result;
  }();
  if (subject != caller.person_id) {
    AuditRecord record{caller.person_id,
                       caller.role,
                       caller.organization_id,
                       subject,
                       std::string(kExportPersonDataRpc),
                       absl::StatusCodeToString(export_data.status().code()),
                       clock_.Now()};
    if (auto audited = audit_.Append(record); !audited.ok()) return audited;
  }
  return export_data;
}

absl::StatusOr<Page<ListedAuditRecord>> DirectoryService::ListAuditRecords(
    const Caller& caller, const AuditQuery& query, const PageRequest& page) {
  if (!caller.IsMember()) {
    return absl::PermissionDeniedError("audit records are listed for members of the organisation");
  }
  for (auto [field, value] :
       {std::pair<absl::string_view, const std::string&>{"subject_id", query.subject_id},
        {"reader_id", query.reader_id}}) {
    if (!value.empty()) {
      if (auto status = ValidateToken(field, value); !status.ok()) return status;
    }
  }
  if (query.start_time.has_value() && query.end_time.has_value() &&
      *query.start_time > *query.end_time) {
    return InvalidField("start_time", "must not be after end_time");
  }
  AuditQuery allowed = query;
  if (caller.role != CallerRole::kCoordinator) {
    if (!query.subject_id.empty() && query.subject_id != caller.person_id) {
      return absl::PermissionDeniedError(
          "subject_id: only coordinators list the reads of other people's data");
    }
    allowed.subject_id = caller.person_id;
  }
  auto listed = store_.ListAuditRecords(caller.organization_id, allowed, page);
  if (!listed.ok()) return listed.status();
  auto named = NameReaders(caller.organization_id, std::move(listed->items));
  if (!named.ok()) return named.status();
  return Page<ListedAuditRecord>{*std::move(named), listed->next_position};
}

absl::StatusOr<std::vector<ListedAuditRecord>> DirectoryService::NameReaders(
    const std::string& organization_id, std::vector<AuditRecord> records) {
  std::map<std::string, std::string> names;  // by reader id
  std::vector<ListedAuditRecord> named;
  named.reserve(records.size());
  for (AuditRecord& record : records) {
    auto known = names.find(record.actor_id);
    if (known == names.end()) {
      std::string name;
      if (record.actor_role == CallerRole::kPartner) {
        auto key = store_.GetApiKey(organization_id, record.actor_id);
        if (!key.ok()) return key.status();
        if (key->has_value()) name = (*key)->display_name;
      } else if (record.actor_role == CallerRole::kService) {
        name = record.actor_id;  // a service's token names the service
      } else if (record.actor_role != CallerRole::kAdmin) {
        auto person = store_.GetPerson(organization_id, record.actor_id);
        if (!person.ok()) return person.status();
        if (person->has_value()) name = (*person)->display_name;
      }
      known = names.emplace(record.actor_id, std::move(name)).first;
    }
    named.push_back({std::move(record), known->second});
  }
  return named;
}

absl::StatusOr<Erasure> DirectoryService::ErasePerson(const Caller& caller,
                                                      const std::string& person_id,
                                                      const std::string& request_id) {
  if (auto status = RequireCoordinator(caller, "erase a person"); !status.ok()) return status;
  if (auto status = CheckPersonId("person_id", person_id); !status.ok()) return status;
  if (!request_id.empty()) {
    if (auto status = ValidateToken("request_id", request_id); !status.ok()) return status;
  }
  if (person_id == caller.person_id) {
    return absl::FailedPreconditionError(
        "person_id: a coordinator cannot erase themselves; another coordinator can");
  }
  for (int attempt = 1;; ++attempt) {
    auto person = store_.GetPerson(caller.organization_id, person_id);
    if (!person.ok()) return person.status();
    std::vector<std::string> volunteers;
    if (person->has_value() && (*person)->role == Role::kSupervisor) {
      auto supervised = store_.ListSuperviseeIds(caller.organization_id, person_id);
      if (!supervised.ok()) return supervised.status();
      volunteers = *std::move(supervised);
    }
    Erasure erasure;
    erasure.id = NewId("e");
    erasure.organization_id = caller.organization_id;
    erasure.person_id = person_id;
    erasure.erased_by = caller.person_id;
    erasure.state = ErasureState::kInProgress;
    erasure.create_time = clock_.Now();
    for (const std::string& service : ErasingServices()) {
      erasure.services.push_back({service, std::nullopt});
    }
    // Without the person the script answers a replayed request_id, or NOT_FOUND.
    Person known = person->has_value() ? **person : Person{};
    known.id = person_id;
    erasure.role = known.role;
    AuditRecord record{caller.person_id,
                       caller.role,
                       caller.organization_id,
                       person_id,
                       std::string(kErasePersonRpc),
                       "OK",
                       erasure.create_time};
    auto created =
        store_.CreateErasure(erasure, known, volunteers, {caller.person_id, request_id}, record);
    if (created.ok()) {
      if (!created->replayed) return erasure;
      auto first = store_.GetErasure(caller.organization_id, created->id);
      if (!first.ok()) return first.status();
      if (!first->has_value()) return absl::NotFoundError("erasure_id: no such erasure");
      return **std::move(first);
    }
    if (!absl::IsAborted(created.status()) || attempt == kUpdateAttempts) return created.status();
  }
}

absl::StatusOr<Erasure> DirectoryService::GetErasure(const Caller& caller,
                                                     const std::string& erasure_id) {
  if (auto status = RequireCoordinator(caller, "follow an erasure"); !status.ok()) return status;
  if (!IsWellFormedId(erasure_id, "e")) return InvalidField("erasure_id", "is not an erasure id");
  auto erasure = store_.GetErasure(caller.organization_id, erasure_id);
  if (!erasure.ok()) return erasure.status();
  if (!erasure->has_value()) return absl::NotFoundError("erasure_id: no such erasure");
  return **std::move(erasure);
}

absl::StatusOr<Erasure> DirectoryService::ReportErasure(const Caller& caller,
                                                        const std::string& erasure_id) {
  if (caller.role != CallerRole::kService) {
    return absl::PermissionDeniedError("only a PeerWell service reports its part of an erasure");
  }
  if (!IsWellFormedId(erasure_id, "e")) return InvalidField("erasure_id", "is not an erasure id");
  // A service's token names the service.
  return store_.CompleteErasurePart(caller.organization_id, erasure_id, caller.person_id,
                                    clock_.Now());
}

absl::Status DirectoryService::EraseOwnTraces(const std::string& organization_id,
                                              const std::string& person_id,
                                              const std::string& erasure_id) {
  if (auto status = store_.EraseTraces(organization_id, person_id, kErasePersonRpc); !status.ok()) {
    return status;
  }
  return store_.CompleteErasurePart(organization_id, erasure_id, "directory", clock_.Now())
      .status();
}

absl::Status DirectoryService::SweepErasures() {
  absl::Time now = clock_.Now();
  auto due = store_.ClaimDueErasures(now, now + kErasureAnnounceInterval, 100);
  if (!due.ok()) return due.status();
  for (const Erasure& erasure : *due) {
    absl::Status status = erasure.state == ErasureState::kDone
                              ? store_.RewriteAppendOnlyFile(erasure).status()
                              : store_.AnnounceErasure(erasure, now);
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

absl::StatusOr<Caller> DirectoryService::AuthenticateApiKey(absl::string_view secret) {
  auto identity = ParseApiKeySecret(secret);
  if (!identity.ok()) return identity.status();
  auto key = store_.GetApiKey(identity->organization_id, identity->api_key_id);
  if (!key.ok()) return key.status();
  if (!key->has_value() || (*key)->revoke_time.has_value() ||
      !secrets_.Matches(secret, (*key)->secret_hash)) {
    return absl::UnauthenticatedError("invalid credentials: unknown or revoked API key");
  }
  Caller caller;
  caller.person_id = (*key)->id;
  caller.organization_id = (*key)->organization_id;
  caller.role = CallerRole::kPartner;
  caller.scopes = (*key)->scopes;
  return caller;
}

absl::Status DirectoryService::CheckMember(const Caller& caller) {
  auto person = store_.GetPerson(caller.organization_id, caller.person_id);
  if (!person.ok()) return person.status();
  return MemberTokenStatus(person->has_value(),
                           person->has_value() && (*person)->status == PersonStatus::kInactive);
}

}  // namespace peerwell::directory
