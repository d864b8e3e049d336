#include "tools/peerwellctl/service_client.h"

#include <chrono>

#include "absl/strings/str_cat.h"

namespace peerwell::ctl {

absl::Status StatusFromGrpc(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

void PrepareCall(grpc::ClientContext& context, absl::Duration timeout, absl::string_view token) {
  context.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(timeout));
  if (!token.empty()) context.AddMetadata("authorization", absl::StrCat("Bearer ", token));
}

}  // namespace peerwell::ctl
