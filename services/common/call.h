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
#include "services/common/blocking.h"
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

// Finishes one unary call, exactly once, from whichever thread: a finisher dropped without being
// called finishes its call as INTERNAL rather than leave the client waiting. A finisher given to
// work that runs inside `scope` does not finish on WouldBlock there: it marks the scope blocked,
// and the work is run again where it may wait.
class CallFinisher {
 public:
  CallFinisher(grpc::ServerUnaryReactor* reactor, absl::string_view rpc,
               NonBlockingScope* scope = nullptr)
      : reactor_(reactor), rpc_(rpc), scope_serial_(scope != nullptr ? scope->serial() : 0) {}
  CallFinisher(CallFinisher&& other) noexcept
      : reactor_(std::exchange(other.reactor_, nullptr)),
        rpc_(other.rpc_),
        scope_serial_(other.scope_serial_) {}
  CallFinisher& operator=(CallFinisher&&) = delete;
  ~CallFinisher();

  void operator()(const absl::Status& status) &&;

 private:
  grpc::ServerUnaryReactor* reactor_;
  absl::string_view rpc_;  // a literal
  uint64_t scope_serial_;  // 0: none
};

// Runs unary handlers the same way everywhere: authenticate, then run the work under the call's
// deadline, then finish the reactor exactly once. The work runs on the bounded executor (Run), or
// on gRPC's thread until something would wait (RunAsync).
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

  // As Run, for work that ends in an asynchronous write: `work` is
  // `void(const Caller&, CallFinisher) const`, and the call is answered when it calls the
  // finisher (after filling the response), possibly from another thread after `work` returned.
  // It runs on gRPC's thread, where nothing may wait (NonBlockingScope), and so without a hand-off
  // while the caches it needs hold what it asks; when something would wait, it runs again from
  // the start on the executor. So `work` must answer WouldBlock before it changes anything.
  template <typename Work>
  grpc::ServerUnaryReactor* RunAsync(grpc::CallbackServerContext* context, absl::string_view rpc,
                                     Work work) {
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    {
      NonBlockingScope scope;
      Attempt(*context, CallFinisher(reactor, rpc, &scope), work);
      if (!scope.blocked()) return reactor;
    }
    bool queued = executor_.Submit([this, context, reactor, rpc, work = std::move(work)] {
      Attempt(*context, CallFinisher(reactor, rpc), work);
    });
    if (!queued) {
      reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "server is overloaded"));
    }
    return reactor;
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
      absl::Status status = Refusal(*context, deadline);
      if (status.ok()) status = work();
      reactor->Finish(ToGrpcStatus(status, rpc));
    });
    if (!queued) {
      reactor->Finish(grpc::Status(grpc::StatusCode::UNAVAILABLE, "server is overloaded"));
    }
    return reactor;
  }

  // Why a call that waited for the executor is not served after all (OK: it is).
  static absl::Status Refusal(grpc::CallbackServerContext& context, absl::Time deadline);

  template <typename Work>
  void Attempt(grpc::CallbackServerContext& context, CallFinisher finish, const Work& work) {
    absl::Time deadline = absl::FromChrono(context.deadline());
    ScopedDeadline scoped(deadline);
    absl::Status refused = Refusal(context, deadline);
    if (!refused.ok()) return std::move(finish)(refused);
    auto caller = AuthenticateCall(authenticator_, context);
    if (!caller.ok()) return std::move(finish)(caller.status());
    work(*caller, std::move(finish));
  }

  BoundedExecutor& executor_;
  const Authenticator& authenticator_;
};

}  // namespace peerwell
