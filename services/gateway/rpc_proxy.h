#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "grpcpp/client_context.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/client_callback.h"
#include "services/common/config.h"
#include "services/gateway/connect.h"

namespace peerwell::gateway {

// What a call carries from the HTTP request to the service: the client's credentials as they
// came (the services decide what they allow) and its deadline.
struct ForwardedCall {
  std::vector<std::pair<std::string, std::string>> metadata;
  std::optional<absl::Time> deadline;
};

// The services behind the gateway, each reached through a generic stub: the request and response
// travel as protobuf bytes, so one path carries every RPC. Counts the calls in flight, so that
// shutdown can wait until no callback will touch what is about to be destroyed.
class Backends {
 public:
  explicit Backends(const ProcessConfig& config);
  ~Backends();

  // Whether the service `method` belongs to has an address.
  bool Serves(const RpcMethod& method) const;

  // A unary call; `done` runs on a gRPC thread with the status and, when OK, the response bytes,
  // and is destroyed before the call counts as ended. Returns the call's context, to cancel it.
  std::shared_ptr<grpc::ClientContext> CallUnary(const RpcMethod& method, std::string request, const ForwardedCall& call,
                 std::function<void(const grpc::Status&, std::string response)> done);

  // Until no call is in flight, or `timeout`; whether none is.
  bool WaitForCallsToEnd(absl::Duration timeout);

 private:
  friend class ServerStreamCall;
  grpc::GenericStub* StubFor(const RpcMethod& method) const;
  void CallStarted();
  void CallEnded();

  absl::flat_hash_map<std::string, std::unique_ptr<grpc::GenericStub>> stubs_;  // by service
  absl::Mutex mu_;
  int calls_in_flight_ ABSL_GUARDED_BY(mu_) = 0;
};

// A server-streaming call, read one message at a time: the reader asks for the next message only
// when it has passed the last one on, so a client that reads slowly slows the stream down rather
// than filling memory.
class ServerStreamCall final : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  class Reader {
   public:
    virtual ~Reader() = default;
    // The service has sent its initial metadata: the stream is live. Before any message.
    virtual void OnStreamLive() = 0;
    // Each message, on a gRPC thread; call ReadNext() for the one after.
    virtual void OnStreamMessage(std::string message) = 0;
    // Once, last, on a gRPC thread.
    virtual void OnStreamDone(const grpc::Status& status) = 0;
  };

  // Starts the call (the service of `method` must be served) and reads the first message. The
  // call keeps itself and `reader` alive until OnStreamDone has run.
  static std::shared_ptr<ServerStreamCall> Start(Backends& backends, const RpcMethod& method,
                                                 std::string request, const ForwardedCall& call,
                                                 std::shared_ptr<Reader> reader);

  void ReadNext();
  // Ends the call: the reader's OnStreamDone follows with CANCELLED.
  void Cancel();

  void OnReadInitialMetadataDone(bool ok) override;
  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

 private:
  ServerStreamCall(Backends& backends, std::shared_ptr<Reader> reader)
      : backends_(backends), reader_(std::move(reader)) {}

  Backends& backends_;
  grpc::ClientContext context_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
  std::shared_ptr<Reader> reader_;
  std::shared_ptr<ServerStreamCall> self_;  // until OnDone
  std::mutex mu_;
  bool read_pending_ = false;
  bool reads_ended_ = false;
};

}  // namespace peerwell::gateway
