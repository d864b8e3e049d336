#include "services/common/call.h"

#include "absl/strings/string_view.h"
#include "services/common/log.h"

namespace peerwell {

grpc::Status ToGrpcStatus(const absl::Status& status, absl::string_view rpc) {
  if (status.ok()) return grpc::Status::OK;
  auto code = static_cast<grpc::StatusCode>(status.code());
  if (status.code() == absl::StatusCode::kInternal || status.code() == absl::StatusCode::kUnknown ||
      status.code() == absl::StatusCode::kDataLoss) {
    Log(Severity::kError, "internal error",
        {Field("rpc", std::string(rpc)), Field("error", std::string(status.message()))});
    return grpc::Status(code, "internal error");
  }
  if (status.code() == absl::StatusCode::kUnavailable) {
    Log(Severity::kWarning, "unavailable",
        {Field("rpc", std::string(rpc)), Field("error", std::string(status.message()))});
  }
  return grpc::Status(code, std::string(status.message()));
}

std::optional<absl::string_view> MetadataValue(const grpc::ServerContextBase& context,
                                               absl::string_view key) {
  const auto& metadata = context.client_metadata();
  auto it = metadata.find(grpc::string_ref(key.data(), key.size()));
  if (it == metadata.end()) return std::nullopt;
  return absl::string_view(it->second.data(), it->second.size());
}

absl::StatusOr<Caller> AuthenticateCall(const Authenticator& authenticator,
                                        const grpc::ServerContextBase& context) {
  return authenticator.Authenticate(MetadataValue(context, "authorization"),
                                    MetadataValue(context, "x-api-key"));
}

}  // namespace peerwell
