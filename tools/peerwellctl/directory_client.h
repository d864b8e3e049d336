#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "peerwell/directory/v1/directory.grpc.pb.h"

namespace peerwell::ctl {

namespace v1 = ::peerwell::directory::v1;

// A method of the generated stub, e.g. &v1::DirectoryService::Stub::GetPerson.
template <typename Request, typename Response>
using StubMethod = grpc::Status (v1::DirectoryService::Stub::*)(grpc::ClientContext*,
                                                                const Request&, Response*);

// gRPC's codes are Abseil's codes; the message is kept as the service wrote it.
absl::Status StatusFromGrpc(const grpc::Status& status);

// The directory as the CLI sees it: one channel, and every call bounded by the same timeout
// (SPEC §1.9: deadlines on every outgoing call), so a stuck service never hangs a script.
class DirectoryClient {
 public:
  DirectoryClient(std::string address, absl::Duration timeout);

  const std::string& address() const { return address_; }

  // Calls `method` with `token` as the bearer token (none when empty).
  template <typename Request, typename Response>
  absl::StatusOr<Response> Call(StubMethod<Request, Response> method, const Request& request,
                                absl::string_view token) {
    grpc::ClientContext context;
    Prepare(context, token);
    Response response;
    grpc::Status status = (stub_.get()->*method)(&context, request, &response);
    if (!status.ok()) return StatusFromGrpc(status);
    return response;
  }

 private:
  void Prepare(grpc::ClientContext& context, absl::string_view token) const;

  std::string address_;
  absl::Duration timeout_;
  std::unique_ptr<v1::DirectoryService::Stub> stub_;
};

}  // namespace peerwell::ctl
