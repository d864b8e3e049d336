#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "peerwell/alerts/v1/alerts.grpc.pb.h"
#include "peerwell/checkin/v1/checkin.grpc.pb.h"
#include "peerwell/directory/v1/directory.grpc.pb.h"
#include "peerwell/gateway/v1/webhooks.grpc.pb.h"
#include "peerwell/network/v1/network.grpc.pb.h"
#include "peerwell/supervision/v1/supervision.grpc.pb.h"
#include "services/common/channel.h"

namespace peerwell::ctl {

// A method of a generated stub, e.g. &directory::v1::DirectoryService::Stub::GetPerson.
template <typename Stub, typename Request, typename Response>
using StubMethod = grpc::Status (Stub::*)(grpc::ClientContext*, const Request&, Response*);

// gRPC's codes are Abseil's codes; the message is kept as the service wrote it.
absl::Status StatusFromGrpc(const grpc::Status& status);

// What every call carries, whichever service it goes to: the deadline (SPEC §1.9: deadlines on
// every outgoing call, so a stuck service never hangs a script) and the credential: a bearer
// token, or a partner's API key (which starts "pwk_").
void PrepareCall(grpc::ClientContext& context, absl::Duration timeout, absl::string_view token);

// A person's export (`person export`) can outgrow gRPC's default 4 MB answer.
inline grpc::ChannelArguments LargeAnswers() {
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(256 << 20);
  return args;
}

// One service as the CLI sees it: one channel, and every call bounded by the same timeout.
// `Service` is a generated service class such as directory::v1::DirectoryService.
template <typename Service>
class ServiceClient {
 public:
  using Stub = typename Service::Stub;

  ServiceClient(std::string address, absl::Duration timeout)
      : address_(std::move(address)),
        timeout_(timeout),
        // The services serve plaintext gRPC inside the cluster (SPEC §8); the CLI talks to a
        // port-forward or a local run. The channel connects on the first call, so a client that
        // a command never uses costs nothing.
        stub_(Service::NewStub(ServiceChannel(address_, LargeAnswers()))) {}

  const std::string& address() const { return address_; }
  // The stub itself, for calls that Call does not fit: a server stream sets its own deadline.
  Stub& stub() { return *stub_; }

  // Calls `method` with `token` as the bearer token (none when empty).
  template <typename Request, typename Response>
  absl::StatusOr<Response> Call(StubMethod<Stub, Request, Response> method, const Request& request,
                                absl::string_view token) {
    grpc::ClientContext context;
    PrepareCall(context, timeout_, token);
    Response response;
    grpc::Status status = (stub_.get()->*method)(&context, request, &response);
    if (!status.ok()) return StatusFromGrpc(status);
    return response;
  }

 private:
  std::string address_;
  absl::Duration timeout_;
  std::unique_ptr<Stub> stub_;
};

using DirectoryClient = ServiceClient<::peerwell::directory::v1::DirectoryService>;
using CheckinClient = ServiceClient<::peerwell::checkin::v1::CheckinService>;
using AlertsClient = ServiceClient<::peerwell::alerts::v1::AlertService>;
using SupervisionClient = ServiceClient<::peerwell::supervision::v1::SupervisionService>;
using NetworkClient = ServiceClient<::peerwell::network::v1::PeerNetworkService>;
using WebhooksClient = ServiceClient<::peerwell::gateway::v1::WebhookService>;

}  // namespace peerwell::ctl
