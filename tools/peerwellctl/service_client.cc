#include "tools/peerwellctl/service_client.h"

#include <chrono>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/common/api_key_secret.h"

namespace peerwell::ctl {

absl::Status StatusFromGrpc(const grpc::Status& status) {
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

void PrepareCall(grpc::ClientContext& context, absl::Duration timeout, absl::string_view token) {
  context.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(timeout));
  if (token.empty()) return;
  // A partner's API key travels as itself; its prefix cannot begin a JWT.
  if (absl::StartsWith(token, kApiKeySecret.prefix)) {
    context.AddMetadata("x-api-key", std::string(token));
  } else {
    context.AddMetadata("authorization", absl::StrCat("Bearer ", token));
  }
}

}  // namespace peerwell::ctl
