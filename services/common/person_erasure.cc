#include "services/common/person_erasure.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "grpcpp/client_context.h"
#include "services/common/deadline.h"

namespace peerwell {

std::optional<ErasedPerson> ErasedPersonOf(const StreamEntry& entry) {
  if (entry.deleted || entry.Get("type") != kPersonErasedEvent) return std::nullopt;
  ErasedPerson erased{entry.Get("organization_id"), entry.Get("person_id"),
                      entry.Get("erasure_id")};
  if (erased.organization_id.empty() || erased.person_id.empty() || erased.erasure_id.empty()) {
    return std::nullopt;
  }
  return erased;
}

ErasureReporter::ErasureReporter(std::shared_ptr<grpc::Channel> directory, std::string service_name,
                                 std::string jwt_secret)
    : stub_(directory::v1::DirectoryService::NewStub(std::move(directory))),
      tokens_(std::move(service_name), std::move(jwt_secret)) {}

absl::Status ErasureReporter::Report(const ErasedPerson& erased) {
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer " + tokens_.For(erased.organization_id));
  context.set_deadline(
      absl::ToChronoTime(std::min(CurrentDeadline(), absl::Now() + absl::Seconds(5))));
  directory::v1::ReportErasureRequest request;
  request.set_erasure_id(erased.erasure_id);
  directory::v1::ReportErasureResponse response;
  grpc::Status status = stub_->ReportErasure(&context, request, &response);
  if (status.ok()) return absl::OkStatus();
  // Whatever went wrong, the erasure is not finished until the directory knows: retried.
  return absl::UnavailableError(
      absl::StrCat("reporting erasure ", erased.erasure_id, ": ", status.error_message()));
}

absl::Status HandlePersonErased(const StreamEntry& entry, const ErasureStep& erase,
                                const ErasureStep& report) {
  auto erased = ErasedPersonOf(entry);
  if (!erased.has_value()) return absl::OkStatus();
  if (absl::Status status = erase(*erased); !status.ok()) return status;
  return report(*erased);
}

}  // namespace peerwell
