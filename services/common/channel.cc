#include "services/common/channel.h"

#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"

namespace peerwell {

std::shared_ptr<grpc::Channel> ServiceChannel(const std::string& address,
                                              grpc::ChannelArguments args) {
  args.SetLoadBalancingPolicyName("round_robin");
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

}  // namespace peerwell
