#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "google/protobuf/struct.pb.h"

namespace peerwell {

// A kind of Redis key a store keeps that can hold data about a person, and where a person's
// export shows it. Each store lists its families (e.g. RedisCheckinStore::PersonKeyFamilies);
// tests/privacy scans Redis after a workload and fails on a key about a person that matches no
// family, so a new kind of key cannot be left out of the export unnoticed.
struct PersonKeyFamily {
  // A glob over the key name (`*` any run of characters), the organisation written `{*}`:
  // "pw:{*}:checkin:checkin:*".
  std::string pattern;
  // The export's record family that shows what the key holds ("checkins"), or empty when the
  // key holds nothing the person does not get otherwise.
  std::string exported_as;
  // Why not, when exported_as is empty ("idempotency: the id of a record exported as checkins").
  std::string not_exported_because;
};

// A service's part of a person's export (ExportPersonRecordsResponse.records): record families
// to lists of records, each in the protobuf JSON mapping of the service's own API message, so
// the person reads their data as any API client would.
class PersonRecordsBuilder {
 public:
  explicit PersonRecordsBuilder(google::protobuf::Struct* records) : records_(*records) {}

  // Appends `record` to `family`; a family is present (possibly empty) once named.
  absl::Status Add(absl::string_view family, const google::protobuf::Message& record);
  // Names a family with no records yet, so that an empty family reads as "none", not "unknown".
  void Declare(absl::string_view family);

 private:
  google::protobuf::ListValue& Family(absl::string_view family);
  google::protobuf::Struct& records_;
};

}  // namespace peerwell
