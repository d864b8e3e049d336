#include "services/common/channel.h"

#include <chrono>
#include <future>
#include <mutex>

#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/security/credentials.h"

namespace peerwell {

std::shared_ptr<grpc::Channel> ServiceChannel(const std::string& address,
                                              grpc::ChannelArguments args) {
  args.SetLoadBalancingPolicyName("round_robin");
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

void HoldCallbackThreads() {
  // Never destroyed, and reachable from here to the end (so no leak checker calls it lost).
  static std::shared_ptr<grpc::Channel>* held = nullptr;
  static std::once_flag once;
  std::call_once(once, [] {
    // One call makes the channel take its share of the callback threads; the call itself fails
    // at once (its deadline has passed) and nobody listens at the address.
    held = new std::shared_ptr<grpc::Channel>(
        grpc::CreateChannel("127.0.0.1:1", grpc::InsecureChannelCredentials()));
    grpc::GenericStub stub(*held);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now());
    grpc::Slice empty("");
    grpc::ByteBuffer request(&empty, 1);  // a buffer, even if empty: the call must serialize it
    grpc::ByteBuffer response;
    std::promise<void> done;
    stub.UnaryCall(&context, "/peerwell.Hold/Threads", grpc::StubOptions(), &request, &response,
                   [&done](const grpc::Status&) { done.set_value(); });
    done.get_future().wait();
  });
}

}  // namespace peerwell
