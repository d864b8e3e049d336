#include "services/common/call.h"

#include "absl/strings/ascii.h"
#include "absl/strings/string_view.h"
#include "google/rpc/status.pb.h"
#include "services/common/log.h"

namespace peerwell {
namespace {

// "REASON: details": the reason a refused change names first (Appendix B), if the message has
// one.
absl::string_view ConflictReason(absl::string_view message) {
  size_t colon = message.find(": ");
  if (colon == absl::string_view::npos || colon < 3 || colon > 64) return {};
  absl::string_view reason = message.substr(0, colon);
  for (char c : reason) {
    if (!absl::ascii_isupper(c) && !absl::ascii_isdigit(c) && c != '_') return {};
  }
  return reason;
}

}  // namespace

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
  std::string message(status.message());
  if (absl::string_view reason = ConflictReason(message); !reason.empty()) {
    // Also as google.rpc.ErrorInfo in the status details, for clients that branch on it.
    google::rpc::ErrorInfo info;
    info.set_reason(std::string(reason));
    info.set_domain("peerwell");
    google::rpc::Status details;
    details.set_code(static_cast<int>(code));
    details.set_message(message);
    details.add_details()->PackFrom(info);
    return grpc::Status(code, message, details.SerializeAsString());
  }
  return grpc::Status(code, message);
}

CallFinisher::~CallFinisher() {
  if (reactor_ != nullptr) {
    std::move (*this)(absl::InternalError("the call was dropped without an answer"));
  }
}

void CallFinisher::operator()(const absl::Status& status) && {
  grpc::ServerUnaryReactor* reactor = std::exchange(reactor_, nullptr);
  // Only while the work is still running inside its scope, on the scope's thread.
  NonBlockingScope* current = NonBlockingScope::Current();
  if (scope_serial_ != 0 && current != nullptr && current->serial() == scope_serial_ &&
      IsWouldBlock(status)) {
    current->set_blocked();
    return;
  }
  reactor->Finish(ToGrpcStatus(status, rpc_));
}

absl::Status UnaryCallRunner::Refusal(grpc::CallbackServerContext& context, absl::Time deadline) {
  if (context.IsCancelled()) return absl::CancelledError("the client cancelled the call");
  if (absl::Now() >= deadline) {
    return absl::DeadlineExceededError("deadline passed before the call was served");
  }
  return absl::OkStatus();
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
