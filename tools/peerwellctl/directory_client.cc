#include "tools/peerwellctl/directory_client.h"

#include <chrono>

#include "absl/strings/str_cat.h"

namespace peerwell::ctl {

absl::Status StatusFromGrpc(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

DirectoryClient::DirectoryClient(std::string address, absl::Duration timeout)
    : address_(std::move(address)),
      timeout_(timeout),
      // The services serve plaintext gRPC inside the cluster (SPEC §8); the CLI talks to a
      // port-forward or a local run.
      stub_(v1::DirectoryService::NewStub(
          grpc::CreateChannel(address_, grpc::InsecureChannelCredentials()))) {}

void DirectoryClient::Prepare(grpc::ClientContext& context, absl::string_view token) const {
  context.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(timeout_));
  if (!token.empty()) context.AddMetadata("authorization", absl::StrCat("Bearer ", token));
}

}  // namespace peerwell::ctl
