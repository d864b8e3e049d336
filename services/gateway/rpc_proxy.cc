#include "services/gateway/rpc_proxy.h"

#include <vector>

#include "absl/time/clock.h"
#include "grpcpp/support/slice.h"
#include "services/common/channel.h"

namespace peerwell::gateway {
namespace {

grpc::ByteBuffer ToByteBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

std::string FromByteBuffer(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (!buffer.Dump(&slices).ok()) return bytes;
  bytes.reserve(buffer.Length());
  for (const grpc::Slice& slice : slices) {
    bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return bytes;
}

void Prepare(grpc::ClientContext& context, const ForwardedCall& call) {
  for (const auto& [key, value] : call.metadata) context.AddMetadata(key, value);
  if (call.deadline.has_value()) context.set_deadline(absl::ToChronoTime(*call.deadline));
}

}  // namespace

Backends::Backends(const ProcessConfig& config) {
  const std::pair<const char*, const std::string*> addresses[] = {
      {"peerwell.directory.v1.DirectoryService", &config.directory_addr},
      {"peerwell.checkin.v1.CheckinService", &config.checkin_addr},
      {"peerwell.alerts.v1.AlertService", &config.alerts_addr},
      {"peerwell.supervision.v1.SupervisionService", &config.supervision_addr},
      {"peerwell.network.v1.PeerNetworkService", &config.network_addr},
      {"peerwell.gateway.v1.WebhookService", &config.webhooks_addr},
  };
  for (const auto& [service, address] : addresses) {
    if (address->empty()) continue;
    stubs_.emplace(service, std::make_unique<grpc::GenericStub>(ServiceChannel(*address)));
  }
}

Backends::~Backends() { WaitForCallsToEnd(absl::Seconds(5)); }

grpc::GenericStub* Backends::StubFor(const RpcMethod& method) const {
  auto it = stubs_.find(method.descriptor->service()->full_name());
  return it == stubs_.end() ? nullptr : it->second.get();
}

bool Backends::Serves(const RpcMethod& method) const { return StubFor(method) != nullptr; }

void Backends::CallStarted() {
  absl::MutexLock lock(&mu_);
  ++calls_in_flight_;
}

void Backends::CallEnded() {
  absl::MutexLock lock(&mu_);
  --calls_in_flight_;
}

bool Backends::WaitForCallsToEnd(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto none = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return calls_in_flight_ == 0; };
  return mu_.AwaitWithTimeout(absl::Condition(&none), timeout);
}

std::shared_ptr<grpc::ClientContext> Backends::CallUnary(
    const RpcMethod& method, std::string request, const ForwardedCall& call,
    std::function<void(const grpc::Status&, std::string response)> done) {
  struct UnaryState {
    grpc::ClientContext context;
    grpc::ByteBuffer request;
    grpc::ByteBuffer response;
    std::function<void(const grpc::Status&, std::string response)> done;
  };
  auto state = std::make_shared<UnaryState>();
  Prepare(state->context, call);
  state->request = ToByteBuffer(request);
  state->done = std::move(done);
  CallStarted();
  StubFor(method)->UnaryCall(
      &state->context, method.path, grpc::StubOptions(), &state->request, &state->response,
      [this, state](grpc::Status status) {
        state->done(status, status.ok() ? FromByteBuffer(state->response) : std::string());
        state->done = nullptr;
        CallEnded();
      });
  return std::shared_ptr<grpc::ClientContext>(state, &state->context);
}

std::shared_ptr<ServerStreamCall> ServerStreamCall::Start(Backends& backends,
                                                          const RpcMethod& method,
                                                          std::string request,
                                                          const ForwardedCall& call,
                                                          std::shared_ptr<Reader> reader) {
  std::shared_ptr<ServerStreamCall> stream(new ServerStreamCall(backends, std::move(reader)));
  stream->self_ = stream;
  Prepare(stream->context_, call);
  stream->request_ = ToByteBuffer(request);
  backends.CallStarted();
  backends.StubFor(method)->PrepareBidiStreamingCall(&stream->context_, method.path,
                                                     grpc::StubOptions(), stream.get());
  // Held until the reads end: OnDone must not run while the reader may still ask for a message.
  stream->AddHold();
  stream->StartWriteLast(&stream->request_, grpc::WriteOptions());
  stream->read_pending_ = true;
  stream->StartRead(&stream->response_);
  stream->StartCall();
  return stream;
}

void ServerStreamCall::ReadNext() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (read_pending_ || reads_ended_) return;
    read_pending_ = true;
  }
  StartRead(&response_);
}

void ServerStreamCall::Cancel() {
  context_.TryCancel();
  // A read must be pending for the cancellation to end the reads (and release the hold).
  ReadNext();
}

void ServerStreamCall::OnReadInitialMetadataDone(bool ok) {
  if (ok) reader_->OnStreamLive();
}

void ServerStreamCall::OnReadDone(bool ok) {
  std::string message;
  {
    std::lock_guard<std::mutex> lock(mu_);
    read_pending_ = false;
    if (!ok) {
      reads_ended_ = true;
    } else {
      message = FromByteBuffer(response_);
    }
  }
  if (!ok) {
    RemoveHold();
    return;
  }
  reader_->OnStreamMessage(std::move(message));
}

void ServerStreamCall::OnDone(const grpc::Status& status) {
  {
    std::shared_ptr<Reader> reader = std::move(reader_);
    reader->OnStreamDone(status);
  }
  Backends& backends = backends_;
  self_.reset();  // may delete this
  backends.CallEnded();
}

}  // namespace peerwell::gateway
