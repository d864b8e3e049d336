#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "services/common/audit_record.h"

namespace peerwell::directory {

enum class Role { kUnspecified = 0, kVolunteer = 1, kSupervisor = 2, kCoordinator = 3 };
enum class PersonStatus { kUnspecified = 0, kActive = 1, kOnBreak = 2, kInactive = 3 };

struct Organization {
  std::string id;
  std::string display_name;
  absl::Time create_time;
};

struct QuietHours {
  std::string start;  // "HH:MM" local
  std::string end;
};

struct Qualification {
  std::string kind;
  std::optional<absl::Time> expire_time;
};

struct Person {
  std::string id;
  std::string organization_id;
  std::string display_name;
  Role role = Role::kUnspecified;
  PersonStatus status = PersonStatus::kUnspecified;
  std::string timezone;
  std::vector<std::string> supervisor_ids;
  std::optional<QuietHours> quiet_hours;
  int32_t commitment_hours_per_month = 0;
  std::vector<Qualification> qualifications;
  bool lived_experience = false;
  absl::Time create_time = absl::InfinitePast();
  absl::Time update_time = absl::InfinitePast();
  // Bumped by every write; updates are refused (ABORTED) when it moved under them.
  int64_t version = 0;
};

// The fields of a person that UpdatePerson can replace, as named in an update_mask.
enum class PersonField {
  kDisplayName,
  kRole,
  kStatus,
  kTimezone,
  kQuietHours,
  kCommitmentHoursPerMonth,
  kQualifications,
  kLivedExperience,
};
absl::string_view PersonFieldName(PersonField field);

struct PersonUpdate {
  Person values;  // values.id names the person
  std::vector<PersonField> fields;
};

struct Consent {
  bool risk_monitoring = false;
  bool share_scores_with_supervisor = false;
  bool research_export = false;
  // InfinitePast when the volunteer has never set consent (all defaults off).
  absl::Time update_time = absl::InfinitePast();
};

struct ApiKey {
  std::string id;
  std::string organization_id;
  std::string display_name;
  std::vector<std::string> scopes;
  std::string secret_hash;
  absl::Time create_time = absl::InfinitePast();
  std::optional<absl::Time> revoke_time;
};

struct CreatedApiKey {
  ApiKey api_key;
  std::string secret;  // shown once
};

// Which audit records a listing asks for; empty or absent means any.
struct AuditQuery {
  std::string subject_id;
  std::string reader_id;
  std::optional<absl::Time> start_time;
  std::optional<absl::Time> end_time;
};

// An audit record as ListAuditRecords shows it.
struct ListedAuditRecord {
  AuditRecord record;
  // The reader's name when the directory knows it: a person's display name, an API key's.
  std::string reader_display_name;
};

// One service's part of a person's export: its ExportPersonRecords answer as a JSON object.
struct ServiceRecords {
  std::string service;  // "checkin", …
  std::string json;
};

// Everything about a person, for ExportPersonData.
struct PersonExport {
  Person person;
  std::optional<Consent> consent;  // volunteers only
  // Every consent the volunteer set, oldest first (GDPR art. 7(1): consent can be shown).
  std::vector<Consent> consent_history;
  std::vector<ListedAuditRecord> audit_records;  // who read their data, newest first
  std::vector<ServiceRecords> services;
  absl::Time export_time;
};

enum class ErasureState { kUnspecified = 0, kInProgress = 1, kDone = 2 };

// One service's part of an erasure: done once it reported.
struct ErasureProgress {
  std::string service;
  std::optional<absl::Time> done_time;
};

// A person's erasure (ErasePerson): the one record about them that stays.
struct Erasure {
  std::string id;
  std::string organization_id;
  std::string person_id;
  Role role = Role::kUnspecified;
  std::string erased_by;
  ErasureState state = ErasureState::kUnspecified;
  std::vector<ErasureProgress> services;
  absl::Time create_time = absl::InfinitePast();
  std::optional<absl::Time> complete_time;
};

// How long an unfinished erasure waits before it is announced again: a service that was down
// reads the first announcement when it is back, this is for one whose consumer gave up.
inline constexpr absl::Duration kErasureAnnounceInterval = absl::Minutes(1);

// Every service that holds data about people, each erasing its own part of a person.
const std::vector<std::string>& ErasingServices();

// The scopes a partner key may carry.
const std::vector<std::string>& KnownApiKeyScopes();

struct PeopleFilter {
  Role role = Role::kUnspecified;  // unspecified: any
  PersonStatus status = PersonStatus::kUnspecified;
};

// A page of a listing: page_size already normalised, position opaque to the domain's callers
// (the handler wraps it into a signed page token).
struct PageRequest {
  int page_size = 50;
  std::string position;
};

template <typename T>
struct Page {
  std::vector<T> items;
  std::string next_position;  // empty on the last page
};

}  // namespace peerwell::directory
