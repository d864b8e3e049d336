#pragma once

#include <memory>
#include <string>

#include "grpcpp/channel.h"
#include "grpcpp/support/channel_arguments.h"

namespace peerwell {

// A plaintext channel to a PeerWell service (inside the cluster, SPEC §8). The address may name
// several replicas: "dns:///peerwell-directory-headless:50051" (a headless Service gives one
// address per pod) or "ipv4:127.0.0.1:5001,127.0.0.1:5002". Calls are spread over every replica
// that is up (round_robin) instead of staying on the first one gRPC reaches (pick_first, its
// default), so replicas add capacity and losing one fails only the calls it had in hand.
// `args` lets a caller ask for a connection of its own.
std::shared_ptr<grpc::Channel> ServiceChannel(const std::string& address,
                                              grpc::ChannelArguments args = {});

// For a process that calls with gRPC's callback API (the benchmark tool, test clients): keeps
// the threads that run the callbacks for as long as the process lives. gRPC 1.51 starts them
// with the first channel that calls this way and stops them with the last one; when that last
// reference goes on one of those very threads (a call released just after its callback), they
// wait for themselves and the process aborts ("assertion failed: prior > 0", grpc/grpc#32584).
// A channel that is never destroyed holds them. Idempotent.
void HoldCallbackThreads();

}  // namespace peerwell
