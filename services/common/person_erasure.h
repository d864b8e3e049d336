#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "grpcpp/channel.h"
#include "peerwell/directory/v1/directory.grpc.pb.h"
#include "services/common/auth.h"
#include "services/common/events.h"

namespace peerwell {

// How a service takes part in erasing a person (docs/PRIVACY.md). The directory publishes
// `person.erased` on its event stream; each service reads it in a consumer group, erases what it
// holds about the person — data keys first, so that a copy left anywhere cannot be opened — and
// tells the directory it is done. Erasing must be idempotent: the event may come again, and the
// directory announces an unfinished erasure again until every service has reported.
inline constexpr absl::string_view kPersonErasedEvent = "person.erased";

struct ErasedPerson {
  std::string organization_id;
  std::string person_id;
  std::string erasure_id;
};

// The erasure a `person.erased` entry announces; nullopt for any other entry.
std::optional<ErasedPerson> ErasedPersonOf(const StreamEntry& entry);

// Tells the directory that this service has erased an erasure's person
// (DirectoryService/ReportErasure, as role `service` for the person's organisation).
class ErasureReporter {
 public:
  ErasureReporter(std::shared_ptr<grpc::Channel> directory, std::string service_name,
                  std::string jwt_secret);
  // UNAVAILABLE while the directory cannot be reached, so that the consumer keeps retrying.
  absl::Status Report(const ErasedPerson& erased);

 private:
  std::unique_ptr<directory::v1::DirectoryService::Stub> stub_;
  ServiceTokens tokens_;
};

using ErasureStep = std::function<absl::Status(const ErasedPerson&)>;

// A consumer's handling of a `person.erased` entry: `erase`, then `report` (an ErasureReporter's
// Report; the directory records its own part directly). Any other entry is OK, for a consumer
// group that reads the directory's events only for erasures.
absl::Status HandlePersonErased(const StreamEntry& entry, const ErasureStep& erase,
                                const ErasureStep& report);

}  // namespace peerwell
