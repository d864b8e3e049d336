#pragma once

#include <optional>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/server_callback.h"
#include "services/common/auth.h"
#include "services/common/caller.h"
#include "services/common/deadline.h"
#include "services/common/executor.h"

namespace peerwell {

// The one place where absl::Status becomes grpc::Status. INTERNAL and UNKNOWN errors reach the
// client with a generic message; their details go to the log.
grpc::Status ToGrpcStatus(const absl::Status& status, absl::string_view rpc);

std::optional<absl::string_view> MetadataValue(const grpc::ServerContextBase& context,
                                               absl::string_view key);

absl::StatusOr<Caller> AuthenticateCall(const Authenticator& authenticator,
                                        const grpc::ServerContextBase& context);

// Runs unary handlers the same way everywhere: authenticate, then run the work on the bounded
// executor under the call's deadline, then finish the reactor exactly once.
class UnaryCallRunner {
 public:
  UnaryCallRunner(BoundedExecutor& executor, const Authenticator& authenticator)
      : executor_(executor), authenticator_(authenticator) {}

  // `work` is `absl::Status(const Caller&)`; it fills the response before returning OK.
  template <typename Work>
  grpc::ServerUnaryReactor* Run(grpc::CallbackServerContext* context, absl::string_view rpc,
                                Work work) {
    return Serve(context, rpc, [this, context, work = std::move(work)]() mutable -> absl::Status {
      auto caller = AuthenticateCall(authenticator_, *context);
      if (!caller.ok()) return caller.status();
      return work(*caller);
    });
  }

  // For the few calls whose request carries its own capability (a calendar feed's token): no
  // caller is authenticated and the call's metadata is not read, so `work` must check the
  // capability itself. `work` is `absl::Status()`. Deadline, cancellation and the executor as
  // in Run.
  template <typename Work>
  grpc::ServerUnaryReactor* RunWithoutCaller(grpc::CallbackServerContext* context,
                                             absl::string_view rpc, Work work) {
    return Serve(context, rpc, std::move(work));
  }

 private:
  // Runs `work` (`absl::Status()`) on the executor unless the call was cancelled or its deadline
  // passed while it waited, and finishes the reactor exactly once.
  template <typename Work>
  grpc::ServerUnaryReactor* Serve(grpc::CallbackServerContext* context, absl::string_view rpc,
                                  Work work) {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    bool queued = executor_.Submit([context, reactor, rpc, work = std::move(work)]() mutable {
      absl::Time deadline = absl::FromChrono(context->deadline());
      ScopedDeadline scoped(deadline);
      absl::Status status;
      if (context->IsCancelled()) {
        status = absl::CancelledError("the client cancelled the call");
      } else if (absl::Now() >= deadline) {
        status = absl::DeadlineExceededError("deadline passed before the call was served");
      } else {
        status = work();
      }
      reactor->Finish(ToGrpcStatus(status, rpc));
    });
    if (!queued) {
      reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "server is overloaded"));
    }
    return reactor;
  }

  BoundedExecutor& executor_;
  const Authenticator& authenticator_;
};

}  // namespace peerwell
