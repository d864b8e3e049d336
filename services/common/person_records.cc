#include "services/common/person_records.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"

namespace peerwell {

google::protobuf::ListValue& PersonRecordsBuilder::Family(absl::string_view family) {
  google::protobuf::Value& value = (*records_.mutable_fields())[std::string(family)];
  return *value.mutable_list_value();
}

void PersonRecordsBuilder::Declare(absl::string_view family) { Family(family); }

absl::Status PersonRecordsBuilder::Add(absl::string_view family,
                                       const google::protobuf::Message& record) {
  // Through JSON text rather than field by field, so that each record reads exactly as the
  // protobuf JSON mapping writes it (Timestamps as RFC 3339, enums by name, int64 as strings).
  std::string json;
  auto printed = google::protobuf::util::MessageToJsonString(record, &json);
  if (!printed.ok()) {
    return absl::InternalError(
        absl::StrCat("exporting a ", record.GetTypeName(), ": ", printed.message().as_string()));
  }
  google::protobuf::Value value;
  auto parsed = google::protobuf::util::JsonStringToMessage(json, &value);
  if (!parsed.ok()) {
    return absl::InternalError(
        absl::StrCat("exporting a ", record.GetTypeName(), ": ", parsed.message().as_string()));
  }
  *Family(family).add_values() = std::move(value);
  return absl::OkStatus();
}

}  // namespace peerwell
