#include "services/directory/directory_mapping.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "services/common/person_records.h"
#include "services/common/proto_time.h"
#include "services/common/redis_values.h"
#include "services/common/validation.h"

namespace peerwell::directory {
absl::StatusOr<Person> PersonFromProto(const v1::Person& proto, absl::string_view field) {
  Person person;
  person.id = proto.person_id();
  person.display_name = proto.display_name();
  if (!v1::Role_IsValid(proto.role())) {
    return InvalidField(absl::StrCat(field, ".role"), "is not a known role");
  }
  person.role = static_cast<Role>(proto.role());
  if (!v1::PersonStatus_IsValid(proto.status())) {
    return InvalidField(absl::StrCat(field, ".status"), "is not a known status");
  }
  person.status = static_cast<PersonStatus>(proto.status());
  person.timezone = proto.timezone();
  person.supervisor_ids.assign(proto.supervisor_ids().begin(), proto.supervisor_ids().end());
  if (proto.has_quiet_hours() &&
      !(proto.quiet_hours().start().empty() && proto.quiet_hours().end().empty())) {
    person.quiet_hours = QuietHours{proto.quiet_hours().start(), proto.quiet_hours().end()};
  }
  person.commitment_hours_per_month = proto.commitment_hours_per_month();
  for (int i = 0; i < proto.qualifications_size(); ++i) {
    const auto& q = proto.qualifications(i);
    Qualification qualification;
    qualification.kind = q.kind();
    if (q.has_expire_time()) {
      auto expire = TimestampFromProto(q.expire_time(),
                                       absl::StrCat(field, ".qualifications[", i, "].expire_time"));
      if (!expire.ok()) return expire.status();
      qualification.expire_time = *expire;
    }
    person.qualifications.push_back(std::move(qualification));
  }
  person.lived_experience = proto.lived_experience();
  return person;
}

v1::Person PersonToProto(const Person& person) {
  v1::Person proto;
  proto.set_person_id(person.id);
  proto.set_organization_id(person.organization_id);
  proto.set_display_name(person.display_name);
  proto.set_role(static_cast<v1::Role>(person.role));
  proto.set_status(static_cast<v1::PersonStatus>(person.status));
  proto.set_timezone(person.timezone);
  for (const auto& id : person.supervisor_ids) proto.add_supervisor_ids(id);
  if (person.quiet_hours.has_value()) {
    proto.mutable_quiet_hours()->set_start(person.quiet_hours->start);
    proto.mutable_quiet_hours()->set_end(person.quiet_hours->end);
  }
  proto.set_commitment_hours_per_month(person.commitment_hours_per_month);
  for (const auto& q : person.qualifications) {
    auto* out = proto.add_qualifications();
    out->set_kind(q.kind);
    if (q.expire_time.has_value()) *out->mutable_expire_time() = TimestampToProto(*q.expire_time);
  }
  proto.set_lived_experience(person.lived_experience);
  if (person.create_time != absl::InfinitePast()) {
    *proto.mutable_create_time() = TimestampToProto(person.create_time);
  }
  if (person.update_time != absl::InfinitePast()) {
    *proto.mutable_update_time() = TimestampToProto(person.update_time);
  }
  return proto;
}

absl::StatusOr<std::vector<PersonField>> PersonFieldsFromMask(
    const google::protobuf::FieldMask& mask) {
  static constexpr PersonField kUpdatable[] = {
      PersonField::kDisplayName,    PersonField::kRole,
      PersonField::kStatus,         PersonField::kTimezone,
      PersonField::kQuietHours,     PersonField::kCommitmentHoursPerMonth,
      PersonField::kQualifications, PersonField::kLivedExperience};
  if (mask.paths_size() > static_cast<int>(std::size(kUpdatable))) {
    return InvalidField("update_mask", "names more fields than a person has");
  }
  std::vector<PersonField> fields;
  for (const std::string& path : mask.paths()) {
    if (path == "supervisor_ids") {
      return InvalidField("update_mask", "supervisor_ids change through AssignSupervisor");
    }
    bool found = false;
    for (PersonField field : kUpdatable) {
      if (PersonFieldName(field) == path) {
        if (std::find(fields.begin(), fields.end(), field) == fields.end()) {
          fields.push_back(field);
        }
        found = true;
      }
    }
    if (!found) {
      return InvalidField("update_mask",
                          absl::StrCat("'", path.substr(0, 64), "' is not an updatable field"));
    }
  }
  return fields;
}

absl::StatusOr<PeopleFilter> PeopleFilterFromRequest(const v1::ListPeopleRequest& request) {
  if (!v1::Role_IsValid(request.role())) return InvalidField("role", "is not a known role");
  if (!v1::PersonStatus_IsValid(request.status())) {
    return InvalidField("status", "is not a known status");
  }
  return PeopleFilter{static_cast<Role>(request.role()),
                      static_cast<PersonStatus>(request.status())};
}

v1::Organization OrganizationToProto(const Organization& organization) {
  v1::Organization proto;
  proto.set_organization_id(organization.id);
  proto.set_display_name(organization.display_name);
  *proto.mutable_create_time() = TimestampToProto(organization.create_time);
  return proto;
}

Consent ConsentFromProto(const v1::Consent& proto) {
  Consent consent;
  consent.risk_monitoring = proto.risk_monitoring();
  consent.share_scores_with_supervisor = proto.share_scores_with_supervisor();
  consent.research_export = proto.research_export();
  return consent;
}

v1::Consent ConsentToProto(const Consent& consent) {
  v1::Consent proto;
  proto.set_risk_monitoring(consent.risk_monitoring);
  proto.set_share_scores_with_supervisor(consent.share_scores_with_supervisor);
  proto.set_research_export(consent.research_export);
  if (consent.update_time != absl::InfinitePast()) {
    *proto.mutable_update_time() = TimestampToProto(consent.update_time);
  }
  return proto;
}

v1::ApiKey ApiKeyToProto(const ApiKey& api_key) {
  v1::ApiKey proto;
  proto.set_api_key_id(api_key.id);
  proto.set_display_name(api_key.display_name);
  for (const auto& scope : api_key.scopes) proto.add_scopes(scope);
  *proto.mutable_create_time() = TimestampToProto(api_key.create_time);
  if (api_key.revoke_time.has_value()) {
    *proto.mutable_revoke_time() = TimestampToProto(*api_key.revoke_time);
  }
  return proto;
}

v1::Erasure ErasureToProto(const Erasure& erasure) {
  v1::Erasure proto;
  proto.set_erasure_id(erasure.id);
  proto.set_person_id(erasure.person_id);
  proto.set_state(static_cast<v1::ErasureState>(erasure.state));
  for (const ErasureProgress& progress : erasure.services) {
    v1::ErasureProgress* service = proto.add_services();
    service->set_service(progress.service);
    service->set_done(progress.done_time.has_value());
    if (progress.done_time.has_value()) {
      *service->mutable_done_time() = TimestampToProto(*progress.done_time);
    }
  }
  *proto.mutable_create_time() = TimestampToProto(erasure.create_time);
  if (erasure.complete_time.has_value()) {
    *proto.mutable_complete_time() = TimestampToProto(*erasure.complete_time);
  }
  proto.set_erased_by(erasure.erased_by);
  return proto;
}

absl::StatusOr<AuditQuery> AuditQueryFromRequest(const v1::ListAuditRecordsRequest& request) {
  AuditQuery query;
  query.subject_id = request.subject_id();
  query.reader_id = request.reader_id();
  if (request.has_start_time()) {
    auto start = TimestampFromProto(request.start_time(), "start_time");
    if (!start.ok()) return start.status();
    query.start_time = *start;
  }
  if (request.has_end_time()) {
    auto end = TimestampFromProto(request.end_time(), "end_time");
    if (!end.ok()) return end.status();
    query.end_time = *end;
  }
  return query;
}

v1::AuditRecord AuditRecordToProto(const ListedAuditRecord& listed) {
  const AuditRecord& record = listed.record;
  v1::AuditRecord proto;
  proto.set_reader_id(record.actor_id);
  proto.set_reader_role(std::string(CallerRoleName(record.actor_role)));
  proto.set_reader_display_name(listed.reader_display_name);
  proto.set_subject_id(record.subject_id);
  proto.set_rpc(record.rpc);
  *proto.mutable_time() = TimestampToProto(record.time);
  proto.set_outcome(record.outcome);
  return proto;
}

absl::StatusOr<std::string> PersonExportToJson(const PersonExport& person_export) {
  google::protobuf::Struct directory;
  PersonRecordsBuilder records(&directory);
  for (absl::string_view family : {"person", "consent", "consentHistory", "auditRecords"}) {
    records.Declare(family);
  }
  if (auto added = records.Add("person", PersonToProto(person_export.person)); !added.ok()) {
    return added;
  }
  if (person_export.consent.has_value()) {
    if (auto added = records.Add("consent", ConsentToProto(*person_export.consent)); !added.ok()) {
      return added;
    }
  }
  for (const Consent& consent : person_export.consent_history) {
    if (auto added = records.Add("consentHistory", ConsentToProto(consent)); !added.ok()) {
      return added;
    }
  }
  for (const ListedAuditRecord& listed : person_export.audit_records) {
    if (auto added = records.Add("auditRecords", AuditRecordToProto(listed)); !added.ok()) {
      return added;
    }
  }

  google::protobuf::Struct document;
  auto& fields = *document.mutable_fields();
  fields["schemaVersion"].set_number_value(kPersonExportSchemaVersion);
  fields["personId"].set_string_value(person_export.person.id);
  fields["organizationId"].set_string_value(person_export.person.organization_id);
  fields["exportTime"].set_string_value(Rfc3339(person_export.export_time));
  auto& services = *fields["services"].mutable_struct_value()->mutable_fields();
  *services["directory"].mutable_struct_value() = std::move(directory);
  for (const ServiceRecords& part : person_export.services) {
    google::protobuf::Struct parsed;
    auto status = google::protobuf::util::JsonStringToMessage(part.json, &parsed);
    if (!status.ok()) {
      return absl::InternalError(
          absl::StrCat("the ", part.service, " service's records: ", status.message().as_string()));
    }
    *services[part.service].mutable_struct_value() = std::move(parsed);
  }
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = true;  // a person reads this file
  auto printed = google::protobuf::util::MessageToJsonString(document, &json, options);
  if (!printed.ok()) return absl::InternalError(printed.message().as_string());
  return json;
}

}  // namespace peerwell::directory
