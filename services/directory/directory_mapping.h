#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/field_mask.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "peerwell/directory/v1/directory.pb.h"
#include "services/directory/directory.h"

namespace peerwell::directory {

// Proto ↔ domain. Conversions from requests validate what only the wire can get wrong (enum
// values outside the contract, timestamps out of range, unknown update_mask paths); the domain
// validates the rest.
absl::StatusOr<Person> PersonFromProto(const v1::Person& proto, absl::string_view field);
v1::Person PersonToProto(const Person& person);
absl::StatusOr<std::vector<PersonField>> PersonFieldsFromMask(
    const google::protobuf::FieldMask& mask);
absl::StatusOr<PeopleFilter> PeopleFilterFromRequest(const v1::ListPeopleRequest& request);

v1::Organization OrganizationToProto(const Organization& organization);
Consent ConsentFromProto(const v1::Consent& proto);
v1::Consent ConsentToProto(const Consent& consent);
v1::ApiKey ApiKeyToProto(const ApiKey& api_key);

v1::Erasure ErasureToProto(const Erasure& erasure);

absl::StatusOr<AuditQuery> AuditQueryFromRequest(const v1::ListAuditRecordsRequest& request);
v1::AuditRecord AuditRecordToProto(const ListedAuditRecord& listed);

// ExportPersonData's document: `schemaVersion` (kPersonExportSchemaVersion), `personId`,
// `organizationId`, `exportTime` and `services`, each service's records by family; the
// directory's own are `person`, `consent`, `consentHistory` and `auditRecords`.
inline constexpr int kPersonExportSchemaVersion = 1;
absl::StatusOr<std::string> PersonExportToJson(const PersonExport& person_export);

}  // namespace peerwell::directory
